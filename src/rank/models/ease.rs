//! EASE (Steck, 2019): a closed-form item-item linear autoencoder,
//! `B = I - P / diag(P)` with `P = (XᵀX + λI)⁻¹` and a zero diagonal. It is
//! the strongest single model on small catalogues but cubic in the number of
//! items, so only items with at least [`Ease::min_support`] training
//! interactions take part and [`super::EASE_MAX_ITEMS`] caps its use.

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
    /// Fewest weighted interactions an item needs to take part: rarer items
    /// add rows to the cubic inversion but are almost never recommended.
    pub min_support: u32,
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

    /// Items that take part: those with at least [`Self::min_support`]
    /// positive-weight training interactions.
    fn activate(&mut self, data: &Dataset) {
        let mut support = vec![0u32; data.item_count()];
        for user in 0..data.user_count() as u32 {
            for e in data.history(user) {
                if e.signal.weight() > 0.0 {
                    support[e.item as usize] += 1;
                }
            }
        }
        let least = self.min_support.max(1);
        self.items = (0..data.item_count() as u32)
            .filter(|&i| support[i as usize] >= least)
            .collect();
        self.slot = vec![NONE; data.item_count()];
        for (slot, &item) in self.items.iter().enumerate() {
            self.slot[item as usize] = slot as u32;
        }
    }

    /// The Gram matrix `XᵀX + λI` over active items.
    fn gram(&self, data: &Dataset) -> Array2<f32> {
        let n = self.items.len();
        let mut g = Array2::<f32>::zeros((n, n));
        let mut row: Vec<(usize, f32)> = Vec::new();
        for user in 0..data.user_count() as u32 {
            row.clear();
            row.extend(data.history(user).iter().filter_map(|e| {
                let slot = self.slot[e.item as usize];
                let w = e.signal.weight();
                (slot != NONE && w > 0.0).then_some((slot as usize, w))
            }));
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

/// `B = -P / diag(P)` column by column with a zero diagonal, walked row by
/// row (the matrix is row-major).
fn weights_from_inverse(p: Array2<f32>) -> Vec<f32> {
    let n = p.nrows();
    let inv_diag: Vec<f32> = (0..n).map(|j| -1.0 / p[[j, j]]).collect();
    let mut weights = p.into_raw_vec_and_offset().0;
    for (i, row) in weights.chunks_exact_mut(n.max(1)).enumerate() {
        row.iter_mut().zip(&inv_diag).for_each(|(v, d)| *v *= d);
        row[i] = 0.0;
    }
    weights
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
        self.weights = weights_from_inverse(p);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::dataset::{Catalog, ItemInput, RawEvent, Signal, Users};

    /// Item 0 liked by four users, item 1 by three, item 2 by one.
    fn data() -> Dataset {
        let items = (0..3).map(|i| ItemInput {
            id: format!("i{i}"),
            title: format!("Item {i}"),
            ..ItemInput::default()
        });
        let likes: [&[u32]; 4] = [&[0, 1, 2], &[0, 1], &[0, 1], &[0]];
        let events = likes
            .iter()
            .enumerate()
            .flat_map(|(u, items)| {
                items.iter().map(move |&item| RawEvent {
                    user: u as u32,
                    item,
                    t: 1_000 + item,
                    signal: Signal::Liked,
                })
            })
            .collect();
        let users = Users {
            ids: (0..4).map(|u| format!("u{u}")).collect(),
            segment: vec![NONE; 4],
        };
        Dataset::from_events(Catalog::from_items(items), users, events)
    }

    #[test]
    fn items_below_the_minimum_support_are_left_out_of_the_inversion() {
        let mut ease = Ease::new(1.0, 0.0);
        ease.min_support = 2;
        ease.fit(&data()).unwrap();
        assert_eq!(ease.items, vec![0, 1]);
        assert_eq!(ease.slot[2], NONE);
        assert_eq!(ease.weights.len(), 4);
        assert_eq!((ease.weights[0], ease.weights[3]), (0.0, 0.0));
        let mut all = Ease::new(1.0, 0.0);
        all.fit(&data()).unwrap();
        assert_eq!(all.items, vec![0, 1, 2]);
    }
}
