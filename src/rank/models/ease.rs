//! EASE (Steck, 2019): a closed-form item-item linear autoencoder,
//! `B = I - P / diag(P)` with `P = (XᵀX + λI)⁻¹` and a zero diagonal. It is
//! the strongest single model on small catalogues but cubic in the number of
//! items, so only items with at least one training interaction take part
//! and [`super::EASE_MAX_ITEMS`] caps its use.

use super::{Ranker, UserView, position_weights};
use crate::rank::RankError;
use crate::rank::dataset::{Dataset, NONE};
use crate::rank::linalg;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The EASE model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Ease {
    /// L2 regularisation λ.
    pub lambda: f32,
    /// History recency half-life in positions (0 = plain EASE).
    pub half_life: f32,
    /// Extra weight of co-occurrences within [`Self::window`] positions of
    /// each other in a user's time-ordered history (0 = plain EASE). Items
    /// taken in the same sitting say more about each other than items a
    /// year apart; this adds that "local" Gram matrix to the global one.
    pub local_weight: f32,
    /// Width of the local window in history positions.
    pub window: usize,
    /// Row/column of each catalogue item in `weights` ([`NONE`] if inactive).
    pub slot: Vec<u32>,
    /// Catalogue item of each slot.
    pub items: Vec<u32>,
    /// The `slots × slots` item-item weights, row-major.
    pub weights: Vec<f32>,
}

impl Ease {
    /// EASE with regularisation `lambda` and history half-life (positions).
    pub fn new(lambda: f32, half_life: f32) -> Self {
        Self {
            lambda,
            half_life,
            ..Self::default()
        }
    }

    /// Items that take part: those with a positive training weight.
    fn activate(&mut self, data: &Dataset) {
        self.slot = vec![NONE; data.item_count()];
        self.items.clear();
        for user in 0..data.user_count() as u32 {
            for e in data
                .history(user)
                .iter()
                .filter(|e| e.signal.weight() > 0.0)
            {
                if self.slot[e.item as usize] == NONE {
                    self.slot[e.item as usize] = 0;
                }
            }
        }
        for (item, slot) in self.slot.iter_mut().enumerate() {
            if *slot != NONE {
                *slot = self.items.len() as u32;
                self.items.push(item as u32);
            }
        }
    }

    /// The Gram matrix `XᵀX + λI` over active items.
    fn gram(&self, data: &Dataset) -> Array2<f32> {
        let n = self.items.len();
        let mut g = Array2::<f32>::zeros((n, n));
        let mut row: Vec<(usize, f32)> = Vec::new();
        for user in 0..data.user_count() as u32 {
            row.clear();
            row.extend(
                data.history(user)
                    .iter()
                    .filter(|e| e.signal.weight() > 0.0)
                    .map(|e| (self.slot[e.item as usize] as usize, e.signal.weight())),
            );
            add_pairs(&mut g, &row, row.len(), 1.0);
            if self.local_weight > 0.0 && self.window > 0 {
                add_pairs(&mut g, &row, self.window, self.local_weight);
            }
        }
        for i in 0..n {
            g[[i, i]] += self.lambda;
        }
        g
    }

    /// Scores every active slot for a history (dense, by slot).
    pub fn dense_scores(&self, user: &UserView<'_>, out: &mut Vec<f32>) {
        self.dense_with(user, self.half_life, out);
    }

    /// Dense scores by slot with another history half-life.
    pub fn dense_with(&self, user: &UserView<'_>, half_life: f32, out: &mut Vec<f32>) {
        let n = self.items.len();
        out.clear();
        out.resize(n, 0.0);
        let weights = position_weights(user.history.len(), half_life);
        for (e, w) in user.history.iter().zip(weights) {
            let slot = self.slot.get(e.item as usize).copied().unwrap_or(NONE);
            let w = w * e.signal.weight();
            if slot == NONE || w == 0.0 {
                continue;
            }
            let row = &self.weights[slot as usize * n..(slot as usize + 1) * n];
            out.iter_mut().zip(row).for_each(|(o, b)| *o += w * b);
        }
    }
}

/// Adds `scale · wa · wb` for every pair of a history row within `window` positions.
fn add_pairs(g: &mut Array2<f32>, row: &[(usize, f32)], window: usize, scale: f32) {
    for (p, &(a, wa)) in row.iter().enumerate() {
        for &(b, wb) in &row[p.saturating_sub(window)..(p + window + 1).min(row.len())] {
            g[[a, b]] += scale * wa * wb;
        }
    }
}

impl Ranker for Ease {
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError> {
        self.activate(data);
        if self.items.len() > super::EASE_MAX_ITEMS {
            return Err(RankError::TooLarge {
                model: "ease",
                items: self.items.len(),
            });
        }
        let mut p = self.gram(data);
        if !linalg::spd_inverse(&mut p) {
            return Err(RankError::Numeric(
                "EASE Gram matrix is not positive definite",
            ));
        }
        let n = self.items.len();
        for j in 0..n {
            let d = p[[j, j]];
            for i in 0..n {
                p[[i, j]] = if i == j { 0.0 } else { -p[[i, j]] / d };
            }
        }
        self.weights = p.into_raw_vec_and_offset().0;
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        let mut dense = Vec::new();
        self.dense_scores(user, &mut dense);
        for (o, &item) in out.iter_mut().zip(items) {
            let slot = self.slot.get(item as usize).copied().unwrap_or(NONE);
            *o = if slot == NONE {
                f32::MIN
            } else {
                dense[slot as usize]
            };
        }
    }
}
