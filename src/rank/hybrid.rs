//! The hybrid ranker herald ships: base models plus a learned blend.
//!
//! [`Hybrid::fit`] holds out the newest (or a random) share of each user's
//! training positives, fits the base models on the rest, trains the blend on
//! the held-out positives against the rest of each user's candidate pool
//! (a linfa-logistic regression, then a few rounds of coordinate ascent on
//! NDCG@10 over the head of each list); meanwhile, on another thread, it
//! fits the final base models on everything. [`Hybrid::fit_with_blend`] skips the validation split and
//! takes a blend learned elsewhere (from campaign clicks, see
//! [`super::blend::ClickExamples`]). Ranking a user pools candidates,
//! computes the features and sorts by the blended score.

use super::RankError;
use super::blend::{Blend, BlendExample, BlendGroup, fit_blend, groups_ndcg, refine_listwise};
use super::dataset::{Dataset, Interaction};
use super::eval::view_of;
use super::features::{BaseModels, COLLAB_RECENT, F, Scratch};
use super::linalg::par_chunks_mut;
use super::models::content::Content;
use super::models::popularity::splitmix;
use super::models::{Ranker, UserView};
use super::split::{SplitKind, split};
use serde::{Deserialize, Serialize};

/// Hyper-parameters of the hybrid (validated by [`HybridParams::validate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HybridParams {
    /// EASE regularisation.
    pub lambda: f32,
    /// EASE's extra weight on co-occurrences within `ease_window` positions.
    pub ease_local_weight: f32,
    /// EASE's local window in history positions.
    pub ease_window: usize,
    /// Fewest positive interactions an item needs to enter EASE (rarer
    /// items cost inversion time and are almost never recommended).
    #[serde(default = "default_min_support")]
    pub ease_min_support: u32,
    /// Weight of a below-threshold rating in EASE's input (the profile it
    /// predicts positives from); 0 uses positives only.
    #[serde(default)]
    pub ease_rated_weight: f32,
    /// Weight of a 4-of-5 rating in EASE's inputs and targets (a 5 weighs 1).
    #[serde(default = "default_liked_weight")]
    pub ease_liked_weight: f32,
    /// Weight of a rating below 3 in EASE's input (0: middling ratings only).
    #[serde(default)]
    pub ease_disliked_weight: f32,
    /// History half-life in positions for the recency-weighted scores.
    pub half_life: f32,
    /// kNN neighbours kept per item.
    pub neighbours: usize,
    /// kNN co-occurrence window in history positions (0 = whole history).
    pub window: usize,
    /// ALS factors.
    pub factors: usize,
    /// ALS regularisation.
    pub als_lambda: f32,
    /// ALS confidence scale.
    pub alpha: f32,
    /// ALS iterations.
    pub iterations: usize,
    /// Popularity decay half-life in days (0 = none).
    pub popularity_half_life: f32,
    /// Short and long trending windows in days.
    pub trend_days: [u32; 2],
    /// Candidates taken from each source into a user's pool.
    pub per_source: usize,
    /// How the blend's validation positives are held out.
    pub validation: SplitKind,
    /// Share of each user's positives held out for the blend.
    pub validation_fraction: f64,
    /// L2 regularisation of the blend.
    pub blend_alpha: f64,
    /// Negatives per user in the blend's training rows.
    pub negatives: usize,
    /// Rounds of listwise (NDCG) coordinate ascent after the regression.
    pub listwise_rounds: usize,
    /// Most validation users the blend learns from (a seeded sample).
    pub blend_users: usize,
    /// Most of them whose rows go into the logistic regression (a seeded
    /// sample; the listwise search uses every one of them).
    #[serde(default = "default_regression_users")]
    pub regression_users: usize,
    /// Largest catalogue for EASE (capped by the built-in limit).
    pub ease_max_items: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for HybridParams {
    fn default() -> Self {
        Self {
            lambda: 200.0,
            ease_local_weight: 1.0,
            ease_window: 5,
            ease_min_support: default_min_support(),
            ease_rated_weight: 0.3,
            ease_liked_weight: default_liked_weight(),
            ease_disliked_weight: 0.0,
            half_life: 20.0,
            neighbours: 100,
            window: 20,
            factors: 32,
            als_lambda: 1.0,
            alpha: 10.0,
            iterations: 8,
            popularity_half_life: 0.0,
            trend_days: [7, 30],
            per_source: 60,
            validation: SplitKind::UserTemporal,
            validation_fraction: 0.3,
            blend_alpha: 1.0,
            negatives: 15,
            listwise_rounds: 1,
            blend_users: 1_000,
            regression_users: default_regression_users(),
            ease_max_items: super::models::EASE_MAX_ITEMS,
            seed: 42,
        }
    }
}

/// Items need five positives to enter EASE: on ML-100k that keeps 98% of
/// the positives and two thirds of the items (a third of the inversion).
fn default_min_support() -> u32 {
    5
}

/// A 4 of 5 says less than a 5: it weighs 0.75 in EASE (picked on the
/// fit's inner validation split of ML-100k; 0.6-0.9 all help).
fn default_liked_weight() -> f32 {
    0.75
}

/// The regression only finds the blend's direction (the listwise search
/// tunes it): 600 users' rows are plenty, and it is single-threaded.
fn default_regression_users() -> usize {
    600
}

impl HybridParams {
    /// Rejects parameters no model can use.
    pub fn validate(&self) -> Result<(), RankError> {
        let bad = |name, reason: &str| {
            Err(RankError::InvalidParam {
                name,
                reason: reason.into(),
            })
        };
        if self.lambda.is_nan() || self.lambda <= 0.0 {
            return bad("lambda", "must be positive");
        }
        if self.half_life.is_nan() || self.half_life < 0.0 {
            return bad("half_life", "must be zero or positive");
        }
        if self.factors == 0 || self.factors > 256 {
            return bad("factors", "must be between 1 and 256");
        }
        if self.validation_fraction.is_nan()
            || self.validation_fraction <= 0.0
            || self.validation_fraction >= 1.0
        {
            return bad("validation_fraction", "must be between 0 and 1");
        }
        if self.per_source == 0 || self.neighbours == 0 {
            return bad("per_source", "pool sizes must be at least 1");
        }
        Ok(())
    }
}

/// A scored recommendation with the features behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Dense item index.
    pub item: u32,
    /// Blended score.
    pub score: f32,
    /// The feature row (for reasons).
    pub features: [f32; F],
}

/// Base models and blend weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hybrid {
    /// The parameters it was fitted with.
    pub params: HybridParams,
    /// The base models, fitted on all the data.
    pub base: BaseModels,
    /// The blend weights.
    pub blend: Blend,
    /// NDCG@10 of the blend on the validation split it was trained on.
    pub validation_ndcg: f64,
}

impl Hybrid {
    /// Fits the base models and the blend on `data`.
    pub fn fit(data: &Dataset, params: &HybridParams) -> Result<Hybrid, RankError> {
        params.validate()?;
        if data.interaction_count() == 0 {
            return Err(RankError::NoData);
        }
        let mut content = Content::new(params.seed);
        content.fit(data)?;
        let (blend, validation_ndcg, base) = std::thread::scope(|scope| {
            // The final base models do not depend on the blend: fitting them
            // beside the validation pipeline keeps both cores busy through
            // its single-threaded stages (regression, listwise search).
            let full = scope.spawn(|| BaseModels::fit(data, params, Some(content.clone())));
            let learned = learn_blend(data, params, &content);
            let base = full
                .join()
                .unwrap_or(Err(RankError::Numeric("a base model fit panicked")));
            learned.and_then(|(blend, ndcg)| base.map(|base| (blend, ndcg, base)))
        })?;
        Ok(Hybrid {
            params: params.clone(),
            base,
            blend,
            validation_ndcg,
        })
    }

    /// Fits the base models on `data` and scores with `blend`, learned
    /// elsewhere (campaign clicks); there is no validation split, so
    /// `validation_ndcg` is `NaN`.
    pub fn fit_with_blend(
        data: &Dataset,
        params: &HybridParams,
        blend: Blend,
    ) -> Result<Hybrid, RankError> {
        params.validate()?;
        if data.interaction_count() == 0 {
            return Err(RankError::NoData);
        }
        if blend.weights.len() != F {
            return Err(RankError::Regression(format!(
                "the blend has {} weights for {F} features",
                blend.weights.len()
            )));
        }
        Ok(Hybrid {
            params: params.clone(),
            base: BaseModels::fit(data, params, None)?,
            blend,
            validation_ndcg: f64::NAN,
        })
    }

    /// Ranks the allowed items for a user, best first, at most `n`.
    pub fn rank(
        &self,
        user: &UserView<'_>,
        allowed: &dyn Fn(u32) -> bool,
        n: usize,
        s: &mut Scratch,
    ) -> Vec<Scored> {
        let pool = self.base.pool(user, allowed, s);
        let rows = self.base.features(user, &pool, s);
        let mut scored: Vec<Scored> = pool
            .iter()
            .zip(rows)
            .map(|(&item, features)| Scored {
                item,
                score: self.blend.score(&features),
                features,
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        scored.truncate(n);
        scored
    }
}

/// Learns the blend on an inner split of `data` (base models fitted on its
/// training part, pools of its validation users); returns the blend and
/// its validation NDCG@10.
fn learn_blend(
    data: &Dataset,
    params: &HybridParams,
    content: &Content,
) -> Result<(Blend, f64), RankError> {
    let clock = std::time::Instant::now();
    let lap = |what: &str| {
        tracing::debug!(
            stage = what,
            ms = clock.elapsed().as_millis() as u64,
            "rank fit"
        )
    };
    let inner = split(
        data,
        params.validation,
        params.validation_fraction,
        params.seed,
    );
    let base = BaseModels::fit(&inner.train, params, Some(content.clone()))?;
    lap("validation base models");
    let groups = blend_groups(&base, &inner.train, &inner.test, params);
    lap("validation pools");
    let examples = examples_from_groups(&regression_sample(&groups, params), params);
    let start = fit_blend(&examples, params.blend_alpha).unwrap_or_else(|_| best_single(&groups));
    lap("blend regression");
    let blend = refine_listwise(&start, &groups, 10, params.listwise_rounds);
    let validation_ndcg = groups_ndcg(&blend, &groups, 10);
    lap("listwise refinement");
    Ok((blend, validation_ndcg))
}

/// The single feature that ranks the validation lists best.
pub fn best_single(groups: &[BlendGroup]) -> Blend {
    (0..F)
        .map(|f| Blend::single(F, f))
        .map(|b| (super::blend::groups_ndcg(&b, groups, 10), b))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map_or_else(|| Blend::single(F, COLLAB_RECENT), |(_, b)| b)
}

/// A seeded sample of at most `params.regression_users` groups.
fn regression_sample(groups: &[BlendGroup], params: &HybridParams) -> Vec<BlendGroup> {
    let all = (0..groups.len() as u32).collect();
    super::compare::sample_users(all, params.regression_users, params.seed)
        .into_iter()
        .map(|g| groups[g as usize].clone())
        .collect()
}

/// Pointwise rows from the groups: every positive and a seeded sample of
/// `params.negatives` negatives per user.
pub fn examples_from_groups(groups: &[BlendGroup], params: &HybridParams) -> Vec<BlendExample> {
    let mut out = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let seed = params.seed ^ (g as u64) << 24;
        let mut negatives: Vec<(u64, usize)> = Vec::new();
        for (k, &label) in group.labels.iter().enumerate() {
            if label {
                out.push(BlendExample {
                    features: group.rows[k].clone(),
                    label: true,
                });
            } else {
                negatives.push((splitmix(seed ^ k as u64), k));
            }
        }
        negatives.sort_unstable();
        for &(_, k) in negatives.iter().take(params.negatives) {
            out.push(BlendExample {
                features: group.rows[k].clone(),
                label: false,
            });
        }
    }
    out
}

/// Listwise groups of every validation user's pool.
pub fn blend_groups(
    base: &BaseModels,
    train: &Dataset,
    held: &[Vec<u32>],
    params: &HybridParams,
) -> Vec<BlendGroup> {
    let users: Vec<u32> = (0..train.user_count() as u32)
        .filter(|&u| {
            !held[u as usize].is_empty() && train.history(u).iter().any(|e| e.signal.is_positive())
        })
        .collect();
    let users = super::compare::sample_users(users, params.blend_users, params.seed);
    let mut groups: Vec<BlendGroup> = vec![
        BlendGroup {
            rows: Vec::new(),
            labels: Vec::new(),
            relevant: 0
        };
        users.len()
    ];
    par_chunks_mut(&mut groups, 16, |start, chunk| {
        let mut s = Scratch::default();
        for (offset, out) in chunk.iter_mut().enumerate() {
            let user = users[start + offset];
            let view = view_of(train, user);
            let owned = positives(view.history);
            let allowed = |i: u32| owned.binary_search(&i).is_err();
            let pool = base.pool(&view, &allowed, &mut s);
            let rows = base.features(&view, &pool, &mut s);
            let held = &held[user as usize];
            *out = BlendGroup {
                labels: pool.iter().map(|i| held.binary_search(i).is_ok()).collect(),
                rows: rows.iter().map(|r| r.to_vec()).collect(),
                relevant: held.len(),
            };
        }
    });
    groups
}

/// The user's positive items, sorted.
pub fn positives(history: &[Interaction]) -> Vec<u32> {
    let mut items: Vec<u32> = history
        .iter()
        .filter(|e| e.signal.is_positive())
        .map(|e| e.item)
        .collect();
    items.sort_unstable();
    items
}

impl Ranker for Hybrid {
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError> {
        *self = Hybrid::fit(data, &self.params)?;
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        let mut sorted = items.to_vec();
        sorted.sort_unstable();
        let allowed = |i: u32| sorted.binary_search(&i).is_ok();
        let mut scratch = Scratch::default();
        let ranked = self.rank(user, &allowed, usize::MAX, &mut scratch);
        out.fill(f32::MIN);
        for r in ranked {
            if let Ok(k) = items.binary_search(&r.item) {
                out[k] = r.score;
            } else if let Some(k) = items.iter().position(|&i| i == r.item) {
                out[k] = r.score;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(user: usize) -> BlendGroup {
        BlendGroup {
            rows: vec![vec![user as f32; F]],
            labels: vec![true],
            relevant: 1,
        }
    }

    #[test]
    fn the_regression_learns_from_a_seeded_sample_of_at_most_regression_users() {
        let groups: Vec<BlendGroup> = (0..50).map(group).collect();
        let params = HybridParams {
            regression_users: 20,
            ..HybridParams::default()
        };
        let sample = regression_sample(&groups, &params);
        assert_eq!(sample.len(), 20);
        assert_eq!(sample, regression_sample(&groups, &params));
        assert!(sample.iter().all(|g| groups.contains(g)));
        let all = HybridParams {
            regression_users: 80,
            ..params
        };
        assert_eq!(regression_sample(&groups, &all), groups);
    }
}
