//! Hyper-parameter search on an inner validation split: the training data
//! is split again (the evaluation's test positives are never seen), each
//! candidate configuration is fitted on the inner training part and judged
//! by NDCG@10 on the held-out part, one parameter at a time (coordinate
//! search), and the best configuration is refitted on all the training data.
//! On a large shop the search runs on a seeded sample of users.

use super::RankError;
use super::compare::sample_users;
use super::dataset::Dataset;
use super::eval::{evaluated_users, metrics_of, rank_lists};
use super::models::Ranker;
use super::models::als::Als;
use super::split::{SplitKind, split};

/// Most users the search fits on (a seeded sample above it).
const SEARCH_USERS: usize = 20_000;
/// Most validation users judged per configuration.
const JUDGED_USERS: usize = 2_000;
/// Share of each user's positives held out for validation.
const FRACTION: f64 = 0.2;

/// The values tried for each ALS parameter, in search order.
const ALPHAS: [f32; 5] = [1.0, 3.0, 10.0, 30.0, 100.0];
const LAMBDAS: [f32; 4] = [0.3, 3.0, 30.0, 100.0];
const FACTORS: [usize; 3] = [16, 32, 64];
const ITERATIONS: [usize; 3] = [4, 8, 15];

/// The configuration found and how it scored.
#[derive(Debug, Clone)]
pub struct Tuned {
    /// The unfitted model with the chosen hyper-parameters.
    pub model: Als,
    /// Its NDCG@10 on the inner validation split.
    pub validation_ndcg: f64,
    /// Configurations fitted during the search.
    pub tried: usize,
}

/// Searches ALS hyper-parameters on an inner `kind` split of `data`,
/// starting from `start`.
pub fn tune_als(
    data: &Dataset,
    start: &Als,
    kind: SplitKind,
    seed: u64,
) -> Result<Tuned, RankError> {
    let inner = split(&sampled(data, seed), kind, FRACTION, seed ^ 0x5eed);
    let users = sample_users(evaluated_users(&inner), JUDGED_USERS, seed);
    let judge = |m: &Als| -> Result<f64, RankError> {
        let mut m = m.clone();
        m.fit(&inner.train)?;
        let lists = rank_lists(&inner, &users, 10, &|u, i, o| m.score(u, i, o));
        Ok(metrics_of(&inner, &users, &lists, 10).ndcg)
    };
    let mut best = start.clone();
    let mut best_ndcg = judge(&best)?;
    let mut tried = 1;
    for axis in 0..4 {
        for trial in variations(&best, axis) {
            let ndcg = judge(&trial)?;
            tried += 1;
            if ndcg > best_ndcg + 1e-6 {
                (best, best_ndcg) = (trial, ndcg);
            }
        }
    }
    Ok(Tuned {
        model: best,
        validation_ndcg: best_ndcg,
        tried,
    })
}

/// `base` with one parameter (`axis`: alpha, lambda, factors, iterations)
/// set to each of its other values.
fn variations(base: &Als, axis: usize) -> Vec<Als> {
    let with = |f: &dyn Fn(&mut Als)| {
        let mut m = base.clone();
        f(&mut m);
        m
    };
    match axis {
        0 => ALPHAS
            .iter()
            .filter(|&&a| a != base.alpha)
            .map(|&a| with(&|m| m.alpha = a))
            .collect(),
        1 => LAMBDAS
            .iter()
            .filter(|&&l| l != base.lambda)
            .map(|&l| with(&|m| m.lambda = l))
            .collect(),
        2 => FACTORS
            .iter()
            .filter(|&&k| k != base.factors)
            .map(|&k| with(&|m| m.factors = k))
            .collect(),
        _ => ITERATIONS
            .iter()
            .filter(|&&n| n != base.iterations)
            .map(|&n| with(&|m| m.iterations = n))
            .collect(),
    }
}

/// `data` with only a seeded sample of [`SEARCH_USERS`] users' histories.
fn sampled(data: &Dataset, seed: u64) -> Dataset {
    if data.user_count() <= SEARCH_USERS {
        return data.clone();
    }
    let keep = sample_users((0..data.user_count() as u32).collect(), SEARCH_USERS, seed);
    let mut histories = vec![Vec::new(); data.user_count()];
    for u in keep {
        histories[u as usize] = data.history(u).to_vec();
    }
    data.with_histories(histories)
}
