//! The content model: a bilinear score `x_user · W · y_item`, fitted with
//! linfa-linear as a least-squares regression on the flattened outer product
//! `x_user ⊗ y_item` (the entries of `W` are the regression weights).
//!
//! `x_user`: the user's tag (genre / category) shares, their price level,
//! their segment one-hot and a bias. `y_item`: the item's tags, price
//! quintile within its category, popularity quintile and a bias. Rows are a
//! seeded sample of users' positives (label 1) and random items (label 0).

use super::{Ranker, UserView};
use crate::rank::RankError;
use crate::rank::dataset::{Catalog, Dataset, Interaction, NONE};
use linfa::traits::Fit;
use ndarray::{Array1, Array2, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Most tags used as features (the most frequent ones).
const MAX_TAGS: usize = 12;
/// Most segments one-hot encoded.
const MAX_SEGMENTS: usize = 12;
/// Quantile buckets for price and popularity.
const BUCKETS: usize = 5;
/// Positives sampled per user.
const PER_USER: usize = 4;
/// Most regression rows.
const MAX_ROWS: usize = 1_500;
/// Ridge strength, applied as extra rows `sqrt(RIDGE) · I` with target 0
/// (the outer-product columns are collinear; plain least squares is singular).
const RIDGE: f32 = 1.0;

/// The bilinear content model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Content {
    /// Seed of the row sample.
    pub seed: u64,
    /// Feature slot of each catalogue tag (`NONE` if not used).
    pub tag_slot: Vec<u32>,
    /// Number of tag slots.
    pub tags: usize,
    /// Number of segment slots.
    pub segments: usize,
    /// Number of price buckets (0 when the catalogue has no prices).
    pub price_buckets: usize,
    /// Price percentile within category per item (NaN if unknown).
    pub price_pct: Vec<f32>,
    /// The non-zero entries of each item's `y_item`.
    pub item_y: Vec<Vec<(u32, f32)>>,
    /// `W`, `user_dim × item_dim`, row-major.
    pub weights: Vec<f32>,
}

impl Content {
    /// A content model sampling rows with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    fn user_dim(&self) -> usize {
        self.tags + 1 + self.segments + 1
    }

    fn item_dim(&self) -> usize {
        self.tags + self.price_buckets + BUCKETS + 1
    }

    /// `x_user` from a history and segment.
    pub fn user_vector(&self, history: &[Interaction], segment: u32) -> Vec<f32> {
        let mut x = vec![0.0f32; self.user_dim()];
        let (mut total, mut price, mut priced) = (0.0f32, 0.0f32, 0.0f32);
        for e in history.iter().filter(|e| e.signal.weight() > 0.0) {
            let w = e.signal.weight();
            let entries = self
                .item_y
                .get(e.item as usize)
                .map_or(&[][..], Vec::as_slice);
            for &(j, y) in entries.iter().filter(|(j, _)| (*j as usize) < self.tags) {
                x[j as usize] += w * y;
                total += w * y;
            }
            if let Some(p) = self.price_pct.get(e.item as usize).filter(|p| !p.is_nan()) {
                price += w * p;
                priced += w;
            }
        }
        x[..self.tags]
            .iter_mut()
            .for_each(|v| *v /= total.max(1e-6));
        x[self.tags] = if priced > 0.0 { price / priced } else { 0.5 };
        if (segment as usize) < self.segments {
            x[self.tags + 1 + segment as usize] = 1.0;
        }
        x[self.user_dim() - 1] = 1.0;
        x
    }

    /// The non-zero entries of one item's `y_item`.
    fn item_entries(&self, catalog: &Catalog, item: u32, price: u32, pop: u32) -> Vec<(u32, f32)> {
        let tags = &catalog.tags[item as usize];
        let norm = 1.0 / (tags.len().max(1) as f32).sqrt();
        let mut out: Vec<(u32, f32)> = tags
            .iter()
            .filter_map(|&t| self.tag_slot.get(t as usize).filter(|&&s| s != NONE))
            .map(|&s| (s, norm))
            .collect();
        if price != NONE && self.price_buckets > 0 {
            out.push(((self.tags + price as usize) as u32, 1.0));
        }
        out.push(((self.tags + self.price_buckets + pop as usize) as u32, 1.0));
        out.push((self.item_dim() as u32 - 1, 1.0));
        out
    }

    /// `Wᵀ x` for a user vector.
    fn project(&self, x: &[f32]) -> Vec<f32> {
        let dy = self.item_dim();
        let mut v = vec![0.0f32; dy];
        for (i, &xi) in x.iter().enumerate().filter(|(_, x)| **x != 0.0) {
            v.iter_mut()
                .zip(&self.weights[i * dy..(i + 1) * dy])
                .for_each(|(v, w)| *v += xi * w);
        }
        v
    }

    fn prepare(&mut self, data: &Dataset) {
        let catalog = &data.items;
        let mut counts = vec![0usize; catalog.tag_names.len()];
        catalog
            .tags
            .iter()
            .flatten()
            .for_each(|&t| counts[t as usize] += 1);
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
        self.tag_slot = vec![NONE; counts.len()];
        order
            .iter()
            .take(MAX_TAGS)
            .enumerate()
            .for_each(|(s, &t)| self.tag_slot[t] = s as u32);
        self.tags = order.len().min(MAX_TAGS);
        self.segments = data.users.segment_count().min(MAX_SEGMENTS);
        self.price_pct = price_percentiles(catalog);
        let priced = self.price_pct.iter().any(|p| !p.is_nan());
        self.price_buckets = if priced { BUCKETS } else { 0 };
        let pops = popularity_buckets(data);
        self.item_y = (0..catalog.len() as u32)
            .map(|i| {
                let p = self.price_pct[i as usize];
                self.item_entries(
                    catalog,
                    i,
                    if p.is_nan() { NONE } else { bucket(p) },
                    pops[i as usize],
                )
            })
            .collect();
    }

    /// Flattened outer product of `x` and the item's entries into `row`.
    fn outer(&self, x: &[f32], entries: &[(u32, f32)], row: &mut [f32]) {
        let dy = self.item_dim();
        for (i, &xi) in x.iter().enumerate().filter(|(_, x)| **x != 0.0) {
            for &(j, y) in entries {
                row[i * dy + j as usize] = xi * y;
            }
        }
    }

    /// The seeded regression sample: outer-product rows and 0/1 targets.
    fn sample(&self, data: &Dataset) -> (Array2<f32>, Array1<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let users: Vec<u32> = (0..data.user_count() as u32)
            .filter(|&u| !data.history(u).is_empty())
            .collect();
        let per_user = PER_USER.min(MAX_ROWS / (2 * users.len().max(1))).max(1);
        let dim = self.user_dim() * self.item_dim();
        let (mut rows, mut targets) = (Vec::new(), Vec::new());
        for &u in users.iter().take(MAX_ROWS / 2) {
            let history = data.history(u);
            let x = self.user_vector(history, data.users.segment[u as usize]);
            let positives: Vec<u32> = history
                .iter()
                .filter(|e| e.signal.is_positive())
                .map(|e| e.item)
                .collect();
            for _ in 0..per_user.min(positives.len()) {
                let positive = positives[rng.random_range(0..positives.len())];
                let negative = rng.random_range(0..data.item_count() as u32);
                for (label, item) in [(1.0, positive), (0.0, negative)] {
                    let mut row = vec![0.0f32; dim];
                    self.outer(&x, &self.item_y[item as usize], &mut row);
                    rows.extend(row);
                    targets.push(label);
                }
            }
        }
        for j in 0..dim {
            let mut row = vec![0.0f32; dim];
            row[j] = RIDGE.sqrt();
            rows.extend(row);
            targets.push(0.0);
        }
        let n = targets.len();
        let x = Array2::from_shape_vec((n, dim), rows).unwrap_or_else(|_| Array2::zeros((0, dim)));
        // Column-major: the QR behind linfa-linear walks columns.
        let mut columns = Array2::zeros((x.nrows(), dim).f());
        columns.assign(&x);
        (columns, Array1::from(targets))
    }
}

/// Quintile of a value in `0..=1`.
fn bucket(p: f32) -> u32 {
    ((p * BUCKETS as f32) as u32).min(BUCKETS as u32 - 1)
}

/// Each item's price percentile within its category.
fn price_percentiles(catalog: &Catalog) -> Vec<f32> {
    let mut by_cat: std::collections::HashMap<u32, Vec<u32>> = std::collections::HashMap::new();
    for i in 0..catalog.len() as u32 {
        if !catalog.price[i as usize].is_nan() {
            by_cat
                .entry(catalog.category[i as usize])
                .or_default()
                .push(i);
        }
    }
    let mut pct = vec![f32::NAN; catalog.len()];
    for items in by_cat.values_mut() {
        items.sort_by(|&a, &b| {
            catalog.price[a as usize]
                .total_cmp(&catalog.price[b as usize])
                .then(a.cmp(&b))
        });
        let n = items.len().max(2) - 1;
        items
            .iter()
            .enumerate()
            .for_each(|(r, &i)| pct[i as usize] = r as f32 / n as f32);
    }
    pct
}

/// Popularity quintile per item (by count of positive-weight interactions).
fn popularity_buckets(data: &Dataset) -> Vec<u32> {
    let mut counts = vec![0u32; data.item_count()];
    for u in 0..data.user_count() as u32 {
        data.history(u)
            .iter()
            .filter(|e| e.signal.weight() > 0.0)
            .for_each(|e| counts[e.item as usize] += 1);
    }
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[a].cmp(&counts[b]).then(a.cmp(&b)));
    let mut buckets = vec![0u32; counts.len()];
    let n = order.len().max(1);
    order
        .iter()
        .enumerate()
        .for_each(|(r, &i)| buckets[i] = bucket(r as f32 / n as f32));
    buckets
}

impl Ranker for Content {
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError> {
        self.prepare(data);
        let (x, y) = self.sample(data);
        if y.len() <= self.user_dim() * self.item_dim() {
            self.weights.clear();
            return Ok(());
        }
        let fitted = linfa_linear::LinearRegression::new()
            .with_intercept(false)
            .fit(&linfa::Dataset::new(x, y))
            .map_err(|e| RankError::Regression(e.to_string()))?;
        self.weights = fitted.params().to_vec();
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        if self.weights.is_empty() {
            out.fill(0.0);
            return;
        }
        let v = self.project(&self.user_vector(user.history, user.segment));
        for (o, &item) in out.iter_mut().zip(items) {
            let entries = self
                .item_y
                .get(item as usize)
                .map_or(&[][..], Vec::as_slice);
            *o = entries.iter().map(|&(j, y)| v[j as usize] * y).sum();
        }
    }
}
