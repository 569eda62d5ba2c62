//! Item-kNN on co-occurrence: cosine similarity between items' weighted
//! user vectors, keeping each item's top neighbours. A user's score for an
//! item sums the similarities to the items in their history, newer history
//! weighing more. It also names the history item behind a recommendation.

use super::{Ranker, UserView, position_weights};
use crate::rank::RankError;
use crate::rank::dataset::{Dataset, Interaction};
use crate::rank::linalg::par_chunks_mut;
use serde::{Deserialize, Serialize};

/// Longest history (newest interactions) a user contributes to co-occurrence.
const MAX_HISTORY: usize = 200;

/// The item-kNN model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ItemKnn {
    /// Neighbours kept per item.
    pub neighbours: usize,
    /// History recency half-life in positions (0 = none).
    pub half_life: f32,
    /// `None`: cosine similarity. `Some(beta)`: RP3beta, the three-step
    /// random-walk probability item → user → item, divided by the target
    /// item's popularity to the power `beta`.
    pub rp3_beta: Option<f32>,
    /// Count co-occurrences only within this many positions of each other
    /// in a user's time-ordered history (0 = anywhere): a sequence-aware
    /// similarity ("rated right after X").
    pub window: usize,
    /// `offsets[i]..offsets[i + 1]` indexes item `i`'s neighbours.
    pub offsets: Vec<u32>,
    /// Neighbour items, by decreasing similarity.
    pub items: Vec<u32>,
    /// Their cosine similarities.
    pub sims: Vec<f32>,
}

/// Per item, its (user, weight, position in the user's history) entries.
type ByItem = Vec<Vec<(u32, f32, u32)>>;

/// Item → (user, weight, position) lists over positive-weight interactions,
/// and each item's weight norm.
fn inverted(data: &Dataset) -> (ByItem, Vec<f32>) {
    let mut by_item = vec![Vec::new(); data.item_count()];
    let mut norms = vec![0.0f32; data.item_count()];
    for user in 0..data.user_count() as u32 {
        for (p, e) in recent(data.history(user)).iter().enumerate() {
            let w = e.signal.weight();
            if w > 0.0 {
                by_item[e.item as usize].push((user, w, p as u32));
                norms[e.item as usize] += w * w;
            }
        }
    }
    norms.iter_mut().for_each(|n| *n = n.sqrt());
    (by_item, norms)
}

fn recent(history: &[Interaction]) -> &[Interaction] {
    &history[history.len().saturating_sub(MAX_HISTORY)..]
}

impl ItemKnn {
    /// Item-kNN keeping `neighbours` per item with a history half-life.
    pub fn new(neighbours: usize, half_life: f32) -> Self {
        Self {
            neighbours,
            half_life,
            ..Self::default()
        }
    }

    /// RP3beta neighbours instead of cosine ones.
    pub fn rp3(neighbours: usize, half_life: f32, beta: f32) -> Self {
        Self {
            rp3_beta: Some(beta),
            ..Self::new(neighbours, half_life)
        }
    }

    /// Item `i`'s neighbours and similarities.
    pub fn neighbours_of(&self, item: u32) -> (&[u32], &[f32]) {
        let i = item as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => (
                &self.items[a as usize..b as usize],
                &self.sims[a as usize..b as usize],
            ),
            _ => (&[], &[]),
        }
    }

    /// Adds the user's kNN scores into a dense per-item accumulator.
    pub fn accumulate(&self, user: &UserView<'_>, acc: &mut [f32]) {
        self.accumulate_with(user, self.half_life, acc);
    }

    /// [`Self::accumulate`] with another history half-life.
    pub fn accumulate_with(&self, user: &UserView<'_>, half_life: f32, acc: &mut [f32]) {
        let weights = position_weights(user.history.len(), half_life);
        for (e, w) in user.history.iter().zip(weights) {
            let w = w * e.signal.weight();
            let (items, sims) = self.neighbours_of(e.item);
            for (&n, &s) in items.iter().zip(sims) {
                if let Some(a) = acc.get_mut(n as usize) {
                    *a += w * s;
                }
            }
        }
    }

    /// Like [`Self::accumulate`], also listing the items it touched.
    pub fn accumulate_touched(&self, user: &UserView<'_>, acc: &mut [f32], touched: &mut Vec<u32>) {
        let weights = position_weights(user.history.len(), self.half_life);
        for (e, w) in user.history.iter().zip(weights) {
            let w = w * e.signal.weight();
            let (items, sims) = self.neighbours_of(e.item);
            for (&n, &s) in items.iter().zip(sims) {
                if let Some(a) = acc.get_mut(n as usize) {
                    if *a == 0.0 && w * s > 0.0 {
                        touched.push(n);
                    }
                    *a += w * s;
                }
            }
        }
    }

    /// The history item most similar to `item` (for "similar to X").
    pub fn because(&self, history: &[Interaction], item: u32) -> Option<(u32, f32)> {
        let (items, sims) = self.neighbours_of(item);
        history
            .iter()
            .filter_map(|e| {
                items
                    .iter()
                    .position(|&n| n == e.item)
                    .map(|p| (e.item, sims[p]))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// Top neighbours of one item from a dense co-occurrence row.
/// Empty `norms` keeps the raw accumulated values.
fn top_neighbours(
    item: usize,
    acc: &[f32],
    touched: &[u32],
    norms: &[f32],
    k: usize,
) -> Vec<(u32, f32)> {
    let norm = |j: usize| {
        if norms.is_empty() {
            1.0
        } else {
            (norms[item] * norms[j]).max(1e-12)
        }
    };
    let mut row: Vec<(u32, f32)> = touched
        .iter()
        .filter(|&&j| j as usize != item)
        .map(|&j| (j, acc[j as usize] / norm(j as usize)))
        .collect();
    let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if row.len() > k && k > 0 {
        row.select_nth_unstable_by(k - 1, better);
        row.truncate(k);
    }
    row.sort_by(better);
    row
}

impl Ranker for ItemKnn {
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError> {
        let (by_item, norms) = inverted(data);
        let mut rows: Vec<Vec<(u32, f32)>> = vec![Vec::new(); data.item_count()];
        let k = self.neighbours;
        let beta = self.rp3_beta;
        let window = self.window;
        let user_scale: Vec<f32> = (0..data.user_count() as u32)
            .map(|u| match beta {
                Some(_) => {
                    1.0 / recent(data.history(u))
                        .iter()
                        .map(|e| e.signal.weight())
                        .sum::<f32>()
                        .max(1e-6)
                }
                None => 1.0,
            })
            .collect();
        let degree: Vec<f32> = by_item
            .iter()
            .map(|users| users.iter().map(|u| u.1).sum())
            .collect();
        par_chunks_mut(&mut rows, 64, |start, chunk| {
            let mut acc = vec![0.0f32; data.item_count()];
            let mut touched = Vec::new();
            for (offset, row) in chunk.iter_mut().enumerate() {
                let item = start + offset;
                for &(user, wu, p) in &by_item[item] {
                    let wu = wu * user_scale[user as usize];
                    let history = recent(data.history(user));
                    let (lo, hi) = match window {
                        0 => (0, history.len()),
                        w => (
                            (p as usize).saturating_sub(w),
                            (p as usize + w + 1).min(history.len()),
                        ),
                    };
                    for e in &history[lo..hi] {
                        let w = e.signal.weight();
                        if w > 0.0 {
                            if acc[e.item as usize] == 0.0 {
                                touched.push(e.item);
                            }
                            acc[e.item as usize] += wu * w;
                        }
                    }
                }
                *row = match beta {
                    None => top_neighbours(item, &acc, &touched, &norms, k),
                    Some(beta) => {
                        for &j in &touched {
                            acc[j as usize] /=
                                degree[item].max(1e-6) * degree[j as usize].max(1e-6).powf(beta);
                        }
                        top_neighbours(item, &acc, &touched, &[], k)
                    }
                };
                touched.iter().for_each(|&j| acc[j as usize] = 0.0);
                touched.clear();
            }
        });
        self.offsets = Vec::with_capacity(rows.len() + 1);
        self.offsets.push(0);
        self.items.clear();
        self.sims.clear();
        for row in rows {
            self.items.extend(row.iter().map(|r| r.0));
            self.sims.extend(row.iter().map(|r| r.1));
            self.offsets.push(self.items.len() as u32);
        }
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        let mut acc = vec![0.0f32; self.offsets.len().saturating_sub(1)];
        self.accumulate(user, &mut acc);
        for (o, &item) in out.iter_mut().zip(items) {
            *o = acc.get(item as usize).copied().unwrap_or(0.0);
        }
    }
}
