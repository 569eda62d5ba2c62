//! The learned blend: a logistic regression (linfa-logistic) over the base
//! models' per-user normalised scores and the time, segment and content
//! signals. It is trained on held-out interactions (a validation split
//! inside the training data) until campaigns have produced enough
//! feedback, then on campaign clicks: every exposure records its feature
//! row ([`features_json`]) when it is planned, and [`ClickExamples`] turns
//! exposures with a known outcome into (features, clicked) rows for
//! [`fit_blend`] once there are at least [`MIN_CLICK_EXPOSURES`] of them
//! with at least [`MIN_CLICKS`] clicks.

use super::RankError;
use super::features::{F, FEATURES};
use super::linalg::par_chunks_mut;
use linfa::traits::Fit;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

/// One training row: feature values and whether the user took the item.
#[derive(Debug, Clone, PartialEq)]
pub struct BlendExample {
    /// Feature values, in [`super::features::FEATURES`] order.
    pub features: Vec<f32>,
    /// Clicked, bought or held-out positive.
    pub label: bool,
}

/// A linear scorer over the features.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Blend {
    /// One weight per feature.
    pub weights: Vec<f32>,
    /// The intercept (irrelevant for ranking, kept for probabilities).
    pub intercept: f32,
}

impl Blend {
    /// A blend that uses one feature alone (the fallback when there is
    /// nothing to learn from).
    pub fn single(features: usize, index: usize) -> Self {
        let mut weights = vec![0.0; features];
        if let Some(w) = weights.get_mut(index) {
            *w = 1.0;
        }
        Self {
            weights,
            intercept: 0.0,
        }
    }

    /// The blended score of one feature row.
    pub fn score(&self, features: &[f32]) -> f32 {
        self.intercept
            + self
                .weights
                .iter()
                .zip(features)
                .map(|(w, x)| w * x)
                .sum::<f32>()
    }

    /// Each feature's contribution to the score.
    pub fn contributions(&self, features: &[f32]) -> Vec<f32> {
        self.weights
            .iter()
            .zip(features)
            .map(|(w, x)| w * x)
            .collect()
    }
}

/// Fits the blend by L2-regularised logistic regression on `examples`.
pub fn fit_blend(examples: &[BlendExample], alpha: f64) -> Result<Blend, RankError> {
    let dim = examples.first().map_or(0, |e| e.features.len());
    let positives = examples.iter().filter(|e| e.label).count();
    if dim == 0 || positives == 0 || positives == examples.len() {
        return Err(RankError::Regression(
            "the blend needs positive and negative examples".into(),
        ));
    }
    let mut x = Array2::<f64>::zeros((examples.len(), dim));
    for (mut row, e) in x.rows_mut().into_iter().zip(examples) {
        if e.features.len() != dim {
            return Err(RankError::Regression("examples differ in length".into()));
        }
        row.iter_mut()
            .zip(&e.features)
            .for_each(|(r, v)| *r = f64::from(*v));
    }
    let y: Array1<usize> = examples.iter().map(|e| usize::from(e.label)).collect();
    let fitted = linfa_logistic::LogisticRegression::default()
        .alpha(alpha)
        .max_iterations(60)
        .fit(&linfa::Dataset::new(x, y))
        .map_err(|e| RankError::Regression(e.to_string()))?;
    // linfa-logistic models the probability of its second label; make the
    // weights point towards `true` whatever order the labels were seen in.
    let sign = if fitted.labels().pos.class == 1 {
        1.0
    } else {
        -1.0
    };
    Ok(Blend {
        weights: fitted.params().iter().map(|w| (sign * w) as f32).collect(),
        intercept: (sign * fitted.intercept()) as f32,
    })
}

/// Exposures with a known outcome needed before clicks train the blend:
/// fewer, and a logistic regression over 12 features mostly fits noise.
pub const MIN_CLICK_EXPOSURES: usize = 500;

/// Clicks needed among them: the positive class must be seen often enough
/// for its weights to mean something.
pub const MIN_CLICKS: usize = 20;

/// The most recent exposures read for click training, to bound memory
/// and fit time on a long history.
pub const MAX_CLICK_EXPOSURES: u64 = 200_000;

/// A feature row as a JSON object by feature name, in [`FEATURES`] order,
/// each value in its shortest exact form (a value that is not finite is
/// written as 0): the training export's `features` column.
pub fn features_json(row: &[f32; F]) -> String {
    let mut out = String::with_capacity(F * 24);
    out.push('{');
    for (i, (name, value)) in FEATURES.iter().zip(row).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        push_value(&mut out, *value);
    }
    out.push('}');
    out
}

/// A feature row as stored with an exposure: a JSON array of the values
/// in [`FEATURES`] order (half the bytes of [`features_json`], written
/// three times per recipient while planning).
pub fn features_compact(row: &[f32; F]) -> String {
    let mut out = String::with_capacity(F * 12);
    out.push('[');
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_value(&mut out, *value);
    }
    out.push(']');
    out
}

/// One value in its shortest exact form, 0 when not finite.
fn push_value(out: &mut String, value: f32) {
    use std::fmt::Write;
    let value = if value.is_finite() { value } else { 0.0 };
    let _ = write!(out, "{value}");
}

/// The feature row of a stored exposure, in [`FEATURES`] order, or `None`
/// when the JSON is neither an array of [`F`] numbers (what planning
/// stores) nor an object naming every feature with a number (exposures
/// stored by earlier versions); an exposure of a model with other
/// features, or planned without a model, gives `None`.
pub fn parse_features(json: &str) -> Option<Vec<f32>> {
    match serde_json::from_str(json).ok()? {
        serde_json::Value::Array(values) if values.len() == F => values
            .iter()
            .map(|v| v.as_f64().map(|v| v as f32))
            .collect(),
        serde_json::Value::Object(map) => FEATURES
            .iter()
            .map(|name| map.get(*name)?.as_f64().map(|v| v as f32))
            .collect(),
        _ => None,
    }
}

/// A stored feature row as the training export shows it: by feature name
/// ([`features_json`]); anything that is not a compact row is shown as
/// stored.
pub fn features_named(stored: &str) -> String {
    if !stored.starts_with('[') {
        return stored.to_owned();
    }
    match parse_features(stored) {
        Some(values) => {
            let mut row = [0.0; F];
            row.copy_from_slice(&values);
            features_json(&row)
        }
        None => stored.to_owned(),
    }
}

/// Exposures with a known outcome as blend training rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClickExamples {
    /// One row per usable exposure; the label is "the user clicked it".
    pub examples: Vec<BlendExample>,
    /// Exposures read whose feature row did not parse (skipped).
    pub skipped: usize,
}

impl ClickExamples {
    /// Rows from `(features JSON, clicked)` pairs.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, bool)>) -> Self {
        let mut out = Self::default();
        for (json, clicked) in rows {
            match parse_features(json) {
                Some(features) => out.examples.push(BlendExample {
                    features,
                    label: clicked,
                }),
                None => out.skipped += 1,
            }
        }
        out
    }

    /// Usable exposures.
    pub fn exposures(&self) -> usize {
        self.examples.len()
    }

    /// Clicked ones among them.
    pub fn clicks(&self) -> usize {
        self.examples.iter().filter(|e| e.label).count()
    }

    /// Whether there are enough exposures and clicks to train on
    /// ([`MIN_CLICK_EXPOSURES`], [`MIN_CLICKS`]).
    pub fn enough(&self) -> bool {
        self.exposures() >= MIN_CLICK_EXPOSURES && self.clicks() >= MIN_CLICKS
    }
}

/// The area under the ROC curve of `blend` on `examples`: the chance a
/// random positive scores above a random negative (ties count half).
/// `NaN` without both classes.
pub fn auc(blend: &Blend, examples: &[BlendExample]) -> f64 {
    let mut scored: Vec<(f32, bool)> = examples
        .iter()
        .map(|e| (blend.score(&e.features), e.label))
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    let positives = scored.iter().filter(|s| s.1).count() as f64;
    let negatives = scored.len() as f64 - positives;
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < scored.len() {
        let j = i + scored[i..]
            .iter()
            .take_while(|s| s.0 == scored[i].0)
            .count();
        let mid_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += mid_rank * scored[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// One user's candidate pool for listwise training.
#[derive(Debug, Clone, PartialEq)]
pub struct BlendGroup {
    /// Feature rows of the pooled items.
    pub rows: Vec<Vec<f32>>,
    /// Whether each pooled item is a held-out positive.
    pub labels: Vec<bool>,
    /// Number of held-out positives (in the pool or not), for the ideal DCG.
    pub relevant: usize,
}

/// Mean NDCG@k of a blend over groups (the groups split over the cores).
pub fn groups_ndcg(blend: &Blend, groups: &[BlendGroup], k: usize) -> f64 {
    let mut per_group = vec![0.0f64; groups.len()];
    par_chunks_mut(&mut per_group, 128, |start, chunk| {
        let mut scores = Vec::new();
        for (out, g) in chunk.iter_mut().zip(&groups[start..]) {
            *out = group_ndcg(blend, g, k, &mut scores);
        }
    });
    per_group.iter().sum::<f64>() / groups.len().max(1) as f64
}

/// NDCG@k of one group's list under `blend` (`scores` is scratch space).
fn group_ndcg(blend: &Blend, g: &BlendGroup, k: usize, scores: &mut Vec<f32>) -> f64 {
    scores.clear();
    scores.extend(g.rows.iter().map(|r| blend.score(r)));
    list_ndcg(scores, g, k)
}

/// NDCG@k of a group's list ordered by `scores` (one per row).
fn list_ndcg(scores: &[f32], g: &BlendGroup, k: usize) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    let better = |a: &usize, b: &usize| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b));
    if order.len() > k && k > 0 {
        order.select_nth_unstable_by(k - 1, better);
        order.truncate(k);
    }
    order.sort_by(better);
    let dcg: f64 = order
        .iter()
        .enumerate()
        .filter(|(_, i)| g.labels[**i])
        .map(|(r, _)| 1.0 / ((r + 2) as f64).log2())
        .sum();
    let idcg: f64 = (0..g.relevant.min(k))
        .map(|r| 1.0 / ((r + 2) as f64).log2())
        .sum();
    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

/// Mean NDCG@k over groups whose rows score `scores` plus `step` times
/// feature `f` (the groups split over the cores): one trial of the
/// listwise search without recomputing every dot product.
fn stepped_ndcg(
    groups: &[BlendGroup],
    scores: &[Vec<f32>],
    (f, step): (usize, f32),
    k: usize,
) -> f64 {
    let mut per_group = vec![0.0f64; groups.len()];
    par_chunks_mut(&mut per_group, 128, |start, chunk| {
        let mut trial = Vec::new();
        for (offset, out) in chunk.iter_mut().enumerate() {
            let (g, base) = (&groups[start + offset], &scores[start + offset]);
            trial.clear();
            trial.extend(base.iter().zip(&g.rows).map(|(s, r)| s + step * r[f]));
            *out = list_ndcg(&trial, g, k);
        }
    });
    per_group.iter().sum::<f64>() / groups.len().max(1) as f64
}

/// Rows of a group kept for the listwise search: the `HEAD` best by the
/// starting blend (items further down rarely reach the top k).
const HEAD: usize = 50;

/// Keeps each group's `HEAD` best rows under `blend`.
fn heads(blend: &Blend, groups: &[BlendGroup]) -> Vec<BlendGroup> {
    groups
        .iter()
        .map(|g| {
            let scores: Vec<f32> = g.rows.iter().map(|r| blend.score(r)).collect();
            let mut order: Vec<usize> = (0..g.rows.len()).collect();
            order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
            order.truncate(HEAD);
            BlendGroup {
                rows: order.iter().map(|&i| g.rows[i].clone()).collect(),
                labels: order.iter().map(|&i| g.labels[i]).collect(),
                relevant: g.relevant,
            }
        })
        .collect()
}

/// Coordinate ascent on NDCG@k (Metzler and Croft, 2007) from `start`
/// over the head of each group: the regression finds the direction, this
/// tunes the weights for the top of the list, which is what users see.
pub fn refine_listwise(start: &Blend, groups: &[BlendGroup], k: usize, rounds: usize) -> Blend {
    let groups = &heads(start, groups);
    let mut best = start.clone();
    let norm: f32 = best.weights.iter().map(|w| w.abs()).sum::<f32>().max(1e-6);
    best.weights.iter_mut().for_each(|w| *w /= norm);
    let mut scores: Vec<Vec<f32>> = groups
        .iter()
        .map(|g| g.rows.iter().map(|r| best.score(r)).collect())
        .collect();
    let mut best_score = stepped_ndcg(groups, &scores, (0, 0.0), k);
    for _ in 0..rounds {
        for f in 0..best.weights.len() {
            for step in [-0.2f32, -0.05, 0.05, 0.2] {
                let score = stepped_ndcg(groups, &scores, (f, step), k);
                if score > best_score + 1e-9 {
                    best.weights[f] += step;
                    for (s, g) in scores.iter_mut().zip(groups) {
                        s.iter_mut()
                            .zip(&g.rows)
                            .for_each(|(s, r)| *s += step * r[f]);
                    }
                    best_score = score;
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests;
