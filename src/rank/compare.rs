//! `herald rank eval`: every model and baseline fitted on the same split and
//! evaluated side by side (precision, recall, NDCG, MAP at k, coverage,
//! diversity, fit time), plus NDCG against a known ground truth when one
//! exists (the synthetic shop's hidden preferences).

use super::RankError;
use super::dataset::Dataset;
use super::eval::{ScoreFn, evaluated_users, metrics_of, rank_lists};
use super::hybrid::{Hybrid, HybridParams};
use super::linalg::par_chunks_mut;
use super::metrics::Metrics;
use super::models::als::Als;
use super::models::content::Content;
use super::models::ease::Ease;
use super::models::knn::ItemKnn;
use super::models::popularity::{Popularity, RandomRanker, splitmix};
use super::models::{EASE_MAX_ITEMS, Ranker};
use super::split::{Split, SplitKind, split};
use super::tune::tune_als;
use serde::Serialize;
use std::time::Instant;

/// True preference of (user, item), dense indices; `None` if unknown.
pub type Truth<'a> = dyn Fn(u32, u32) -> Option<f64> + Sync + 'a;

/// What `rank eval` runs.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOptions {
    /// Cut-off.
    pub k: usize,
    /// The split.
    pub split: SplitKind,
    /// Share of each user's positives held out.
    pub fraction: f64,
    /// Seed of the split and the user sample.
    pub seed: u64,
    /// Most users evaluated (a seeded sample above it).
    pub max_users: usize,
    /// The hybrid's parameters.
    pub params: HybridParams,
}

/// One row of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelReport {
    /// The model.
    pub model: String,
    /// Held-out metrics (absent when the model was skipped).
    pub metrics: Option<Metrics>,
    /// NDCG@k against the ground truth, when given.
    pub truth_ndcg: Option<f64>,
    /// Seconds to fit.
    pub fit_seconds: f64,
    /// Why the model was skipped, if it was.
    pub skipped: Option<String>,
    /// How the model was configured, when it was tuned.
    pub note: Option<String>,
}

/// The comparison of every model on one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// `user-temporal` or `random`.
    pub split: String,
    /// Cut-off.
    pub k: usize,
    /// Users evaluated.
    pub users: usize,
    /// One row per model.
    pub models: Vec<ModelReport>,
}

/// A seeded sample of at most `max` users (all of them if fewer).
pub fn sample_users(mut users: Vec<u32>, max: usize, seed: u64) -> Vec<u32> {
    if users.len() > max {
        users.sort_by_key(|&u| (splitmix(seed ^ u64::from(u)), u));
        users.truncate(max);
        users.sort_unstable();
    }
    users
}

/// Fits and evaluates every model on `data`.
pub fn compare(
    data: &Dataset,
    opts: &EvalOptions,
    truth: Option<&Truth<'_>>,
) -> Result<EvalReport, RankError> {
    let split = split(data, opts.split, opts.fraction, opts.seed);
    let users = sample_users(evaluated_users(&split), opts.max_users, opts.seed);
    let ctx = Context {
        split: &split,
        users: &users,
        k: opts.k,
        truth,
    };
    let mut params = opts.params.clone();
    params.validation = opts.split;
    let mut models = vec![
        ctx.run("random", &mut RandomRanker { seed: opts.seed }),
        ctx.run("popularity", &mut Popularity::new(0.0)),
        ctx.run("item-knn", &mut ItemKnn::new(params.neighbours, 0.0)),
        ctx.run("content", &mut Content::new(opts.seed)),
    ];
    // The reference configuration (plain EASE, lambda 100); the hybrid uses its own.
    let mut ease = Ease::new(100.0, 0.0);
    models.push(match active(data) <= EASE_MAX_ITEMS {
        true => ctx.run("ease", &mut ease),
        false => skipped(
            "ease",
            "catalogue above the EASE size limit; ALS is used instead",
        ),
    });
    models.push(ctx.run_tuned_als(&params, opts.split)?);
    models.push(ctx.run_hybrid(&params)?);
    Ok(EvalReport {
        split: opts.split.as_str().into(),
        k: opts.k,
        users: users.len(),
        models,
    })
}

fn active(data: &Dataset) -> usize {
    let mut seen = vec![false; data.item_count()];
    (0..data.user_count() as u32)
        .flat_map(|u| data.history(u))
        .for_each(|e| seen[e.item as usize] = true);
    seen.iter().filter(|&&s| s).count()
}

fn skipped(model: &str, why: &str) -> ModelReport {
    ModelReport {
        model: model.into(),
        metrics: None,
        truth_ndcg: None,
        fit_seconds: 0.0,
        skipped: Some(why.into()),
        note: None,
    }
}

/// The split and users every model is judged on.
struct Context<'a> {
    /// The split.
    split: &'a Split,
    /// Evaluated users.
    users: &'a [u32],
    /// Cut-off.
    k: usize,
    /// Ground truth, if any.
    truth: Option<&'a Truth<'a>>,
}

impl Context<'_> {
    fn run(&self, name: &str, model: &mut dyn Ranker) -> ModelReport {
        let start = Instant::now();
        if let Err(e) = model.fit(&self.split.train) {
            return skipped(name, &e.to_string());
        }
        let fit_seconds = start.elapsed().as_secs_f64();
        let model: &dyn Ranker = model;
        self.report(name, fit_seconds, &|u, i, o| model.score(u, i, o))
    }

    /// ALS with hyper-parameters searched on an inner split of the
    /// training data; the fit time includes the search.
    fn run_tuned_als(
        &self,
        params: &HybridParams,
        kind: SplitKind,
    ) -> Result<ModelReport, RankError> {
        let start = Instant::now();
        let first = Als::new(
            params.factors,
            params.als_lambda,
            params.alpha,
            params.iterations,
            params.seed,
        );
        let tuned = tune_als(&self.split.train, &first, kind, params.seed)?;
        let mut model = tuned.model;
        model.fit(&self.split.train)?;
        let fit_seconds = start.elapsed().as_secs_f64();
        let mut report = self.report("als", fit_seconds, &|u, i, o| model.score(u, i, o));
        report.note = Some(format!(
            "tuned on an inner split ({} configurations, validation NDCG@10 {:.4}): {} factors, lambda {}, alpha {}, {} iterations",
            tuned.tried,
            tuned.validation_ndcg,
            model.factors,
            model.lambda,
            model.alpha,
            model.iterations
        ));
        Ok(report)
    }

    fn run_hybrid(&self, params: &HybridParams) -> Result<ModelReport, RankError> {
        let start = Instant::now();
        let hybrid = Hybrid::fit(&self.split.train, params)?;
        let fit_seconds = start.elapsed().as_secs_f64();
        Ok(self.report("hybrid", fit_seconds, &|u, i, o| hybrid.score(u, i, o)))
    }

    fn report(&self, name: &str, fit_seconds: f64, score: &ScoreFn<'_>) -> ModelReport {
        let lists = rank_lists(self.split, self.users, self.k, score);
        let metrics = metrics_of(self.split, self.users, &lists, self.k);
        let truth_ndcg = self
            .truth
            .map(|t| truth_ndcg(self.split, self.users, &lists, self.k, t));
        ModelReport {
            model: name.into(),
            metrics: Some(metrics),
            truth_ndcg,
            fit_seconds,
            skipped: None,
            note: None,
        }
    }
}

/// Mean NDCG@k with the true preference as graded gain; the ideal list is
/// the `k` most preferred candidates (catalogue minus training positives).
pub fn truth_ndcg(
    split: &Split,
    users: &[u32],
    lists: &[Vec<u32>],
    k: usize,
    truth: &Truth<'_>,
) -> f64 {
    let mut per_user = vec![0.0f64; users.len()];
    par_chunks_mut(&mut per_user, 16, |start, chunk| {
        let mut mask = Vec::new();
        for (offset, out) in chunk.iter_mut().enumerate() {
            let user = users[start + offset];
            let candidates = super::eval::candidates_for(&split.train, user, &mut mask);
            let mut gains: Vec<f64> = candidates
                .iter()
                .map(|&i| truth(user, i).unwrap_or(0.0))
                .collect();
            gains.sort_by(|a, b| b.total_cmp(a));
            let ideal = dcg(gains.iter().copied().take(k));
            let got = dcg(lists[start + offset]
                .iter()
                .map(|&i| truth(user, i).unwrap_or(0.0)));
            *out = if ideal > 0.0 { got / ideal } else { 0.0 };
        }
    });
    per_user.iter().sum::<f64>() / per_user.len().max(1) as f64
}

fn dcg(gains: impl Iterator<Item = f64>) -> f64 {
    gains
        .enumerate()
        .map(|(i, g)| g / ((i + 2) as f64).log2())
        .sum()
}
