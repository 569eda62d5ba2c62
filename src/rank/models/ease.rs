//! EASE (Steck, 2019): a closed-form item-item linear autoencoder,
//! `B = I - P / diag(P)` with `P = (XᵀX + λI)⁻¹` and a zero diagonal. It is
//! the strongest single model on small catalogues but cubic in the number of
//! items, so only items with at least [`Ease::min_support`] training
//! interactions take part and [`super::EASE_MAX_ITEMS`] caps its use.
//!
//! With [`Ease::rated_weight`] above 0 the inputs `X` also hold a user's
//! ratings below the positive threshold (weighted) while the targets `Y`
//! stay the positives: `B` predicts what a user likes from everything they
//! rated, with a zero diagonal, so a low rating says something about the
//! *other* items and nothing about the rated item itself. The inputs are
//! whatever training data the model is given: a split has already dropped
//! what happened after a user's temporal cut.
//!
//! Ratings weigh by value: a [`Signal::Liked`] (a 4 of 5) enters inputs and
//! targets at [`Ease::liked_weight`] against 1 for a [`Signal::Loved`] (a
//! 5), and a [`Signal::Disliked`] (below 3) enters the inputs at
//! [`Ease::disliked_weight`] (0 by default: only middling ratings are input).

use super::{Ranker, UserView, position_weights};
use crate::rank::RankError;
use crate::rank::dataset::{Dataset, Interaction, NONE, Signal};
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
    /// Weight of a rating below the positive threshold ([`Signal::Rated`])
    /// in a user's profile, the model's *input* (0 = positives only). The
    /// targets stay the positives: `B` is fitted to predict what a user
    /// likes from everything they rated.
    #[serde(default)]
    pub rated_weight: f32,
    /// Weight of a [`Signal::Liked`] rating, in inputs and targets (a
    /// [`Signal::Loved`] one weighs 1).
    #[serde(default = "one")]
    pub liked_weight: f32,
    /// Input weight of a [`Signal::Disliked`] rating (never a target).
    #[serde(default)]
    pub disliked_weight: f32,
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
            liked_weight: 1.0,
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

    /// The input weight of an interaction: [`Self::rated_weight`] for a
    /// middling rating, [`Self::disliked_weight`] for a low one,
    /// [`Self::liked_weight`] for a 4 of 5, the signal's weight otherwise.
    pub fn input_weight(&self, e: &Interaction) -> f32 {
        match e.signal {
            Signal::Rated => self.rated_weight,
            Signal::Disliked => self.disliked_weight,
            Signal::Liked => self.liked_weight,
            signal => signal.weight(),
        }
    }

    /// The target weight of an interaction: a positive's input weight, the
    /// signal's weight otherwise (0 for ratings below the threshold).
    pub fn target_weight(&self, e: &Interaction) -> f32 {
        match e.signal.is_positive() {
            true => self.input_weight(e),
            false => e.signal.weight(),
        }
    }

    /// The Gram matrix `XᵀX + λI` of the inputs over active items and
    /// `Xᵀ(X − Y)`, the part of it that is not input × target (zero when
    /// inputs and targets coincide).
    fn grams(&self, data: &Dataset) -> (Array2<f32>, Option<Array2<f32>>) {
        let n = self.items.len();
        let mut g = vec![0.0f32; n * n];
        let mut d =
            (self.rated_weight > 0.0 || self.disliked_weight > 0.0).then(|| vec![0.0f32; n * n]);
        let local = match self.window {
            0 => 0.0,
            _ => self.local_weight.max(0.0),
        };
        let mut row: Vec<(usize, f32, f32)> = Vec::new();
        for user in 0..data.user_count() as u32 {
            row.clear();
            row.extend(data.history(user).iter().filter_map(|e| {
                let slot = self.slot.get(e.item as usize).copied().unwrap_or(NONE);
                let x = self.input_weight(e);
                (slot != NONE && x > 0.0).then_some((slot as usize, x, self.target_weight(e)))
            }));
            let pairs = Pairs {
                n,
                row: &row,
                window: self.window,
                local,
            };
            pairs.add_gram(&mut g);
            if let Some(d) = d.as_mut() {
                pairs.add_residual(d);
            }
        }
        symmetrise(&mut g, n);
        for i in 0..n {
            g[i * n + i] += self.lambda;
        }
        let square = |m: Vec<f32>| Array2::from_shape_vec((n, n), m).expect("an n × n matrix");
        (square(g), d.map(square))
    }

    /// Scores every active slot for a history (dense, by slot).
    pub fn dense_scores(&self, user: &UserView<'_>, out: &mut Vec<f32>) {
        self.dense_with(user, self.half_life, out);
    }

    /// Dense scores by slot without recency weighting (`plain`) and with
    /// `half_life` (`recent`), reading each weight row once.
    pub fn dense_both(
        &self,
        user: &UserView<'_>,
        half_life: f32,
        plain: &mut Vec<f32>,
        recent: &mut Vec<f32>,
    ) {
        let n = self.items.len();
        for out in [&mut *plain, &mut *recent] {
            out.clear();
            out.resize(n, 0.0);
        }
        let weights = position_weights(user.history.len(), half_life);
        for (e, w) in user.history.iter().zip(weights) {
            let slot = self.slot.get(e.item as usize).copied().unwrap_or(NONE);
            let x = self.input_weight(e);
            if slot == NONE || x == 0.0 {
                continue;
            }
            let (w0, w1) = (x, x * w);
            let row = &self.weights[slot as usize * n..(slot as usize + 1) * n];
            for ((p, r), b) in plain.iter_mut().zip(recent.iter_mut()).zip(row) {
                *p += w0 * b;
                *r += w1 * b;
            }
        }
    }

    /// Dense scores by slot with another history half-life.
    pub fn dense_with(&self, user: &UserView<'_>, half_life: f32, out: &mut Vec<f32>) {
        let n = self.items.len();
        out.clear();
        out.resize(n, 0.0);
        let weights = position_weights(user.history.len(), half_life);
        for (e, w) in user.history.iter().zip(weights) {
            let slot = self.slot.get(e.item as usize).copied().unwrap_or(NONE);
            let w = w * self.input_weight(e);
            if slot == NONE || w == 0.0 {
                continue;
            }
            let row = &self.weights[slot as usize * n..(slot as usize + 1) * n];
            out.iter_mut().zip(row).for_each(|(o, b)| *o += w * b);
        }
    }
}

/// The default [`Ease::liked_weight`] of a model stored without one.
fn one() -> f32 {
    1.0
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

/// One user's history row (slot, input weight, target weight), oldest
/// first, and how pairs of it are weighted: 1, plus `local` for two
/// entries within `window` positions of each other.
struct Pairs<'a> {
    /// Slots per matrix row.
    n: usize,
    /// The row.
    row: &'a [(usize, f32, f32)],
    /// The local window in positions.
    window: usize,
    /// The extra weight of a local pair.
    local: f32,
}

impl Pairs<'_> {
    fn scale(&self, p: usize, q: usize) -> f32 {
        if p.abs_diff(q) <= self.window {
            1.0 + self.local
        } else {
            1.0
        }
    }

    /// Adds `scale · xa · xb` for each unordered pair once, into the row of
    /// its earlier entry (row-local writes; [`symmetrise`] folds the
    /// triangles together).
    fn add_gram(&self, g: &mut [f32]) {
        for (p, &(a, xa, _)) in self.row.iter().enumerate() {
            let ga = &mut g[a * self.n..(a + 1) * self.n];
            for (q, &(b, xb, _)) in self.row.iter().enumerate().skip(p) {
                ga[b] += self.scale(p, q) * xa * xb;
            }
        }
    }

    /// Adds `scale · xa · (xb − yb)` for every ordered pair whose second
    /// entry is an input but not a target (`Xᵀ(X − Y)`).
    fn add_residual(&self, d: &mut [f32]) {
        let inputs_only: Vec<(usize, usize, f32)> = (self.row.iter().enumerate())
            .filter(|(_, r)| r.1 != r.2)
            .map(|(q, &(b, x, y))| (q, b, x - y))
            .collect();
        if inputs_only.is_empty() {
            return;
        }
        for (p, &(a, xa, _)) in self.row.iter().enumerate() {
            let da = &mut d[a * self.n..(a + 1) * self.n];
            for &(q, b, dx) in &inputs_only {
                da[b] += self.scale(p, q) * xa * dx;
            }
        }
    }
}

/// Folds an `n × n` accumulator whose pairs landed in either triangle
/// into the symmetric matrix.
fn symmetrise(g: &mut [f32], n: usize) {
    for a in 0..n {
        for b in a + 1..n {
            let sum = g[a * n + b] + g[b * n + a];
            g[a * n + b] = sum;
            g[b * n + a] = sum;
        }
    }
}

/// EASE with inputs `X` and targets `Y`: `B = P·XᵀY − P·diag(μ)` with
/// `P = (XᵀX + λI)⁻¹`, `P·XᵀY = I − λP − P·D` for `D = Xᵀ(X − Y)`, and `μ`
/// chosen so the diagonal is zero. Row-major like [`weights_from_inverse`].
fn asymmetric_weights(p: &Array2<f32>, d: &Array2<f32>, lambda: f32) -> Vec<f32> {
    let n = p.nrows();
    let pd = linalg::par_dot(p, d);
    let mu: Vec<f32> = (0..n)
        .map(|b| (1.0 - lambda * p[[b, b]] - pd[[b, b]]) / p[[b, b]])
        .collect();
    let mut weights = vec![0.0f32; n * n];
    for (a, row) in weights.chunks_exact_mut(n.max(1)).enumerate() {
        for (b, w) in row.iter_mut().enumerate() {
            *w = -(lambda + mu[b]) * p[[a, b]] - pd[[a, b]];
        }
        row[a] = 0.0;
    }
    weights
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
        let (mut p, d) = self.grams(data);
        if !linalg::spd_inverse(&mut p) {
            return Err(RankError::Numeric(
                "EASE Gram matrix is not positive definite",
            ));
        }
        self.weights = match d {
            Some(d) => asymmetric_weights(&p, &d, self.lambda),
            None => weights_from_inverse(p),
        };
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

    /// A dataset from (user, item, time, signal) events over five items.
    fn events(users: usize, list: &[(u32, u32, u32, Signal)]) -> Dataset {
        let items = (0..5).map(|i| ItemInput {
            id: format!("i{i}"),
            title: format!("Item {i}"),
            ..ItemInput::default()
        });
        let events = list
            .iter()
            .map(|&(user, item, t, signal)| RawEvent {
                user,
                item,
                t,
                signal,
            })
            .collect();
        let users = Users {
            ids: (0..users).map(|u| format!("u{u}")).collect(),
            segment: vec![NONE; users],
        };
        Dataset::from_events(Catalog::from_items(items), users, events)
    }

    /// Users 0-2 rated item 0 low and liked item 1, users 3-5 liked both,
    /// users 6-8 liked items 2 and 3; item 4 is only ever rated low.
    fn low_ratings() -> Dataset {
        let mut list = Vec::new();
        for u in 0..3 {
            list.extend([
                (u, 0, 10, Signal::Rated),
                (u, 1, 11, Signal::Liked),
                (u, 4, 12, Signal::Rated),
            ]);
        }
        for u in 3..6 {
            list.extend([(u, 0, 10, Signal::Liked), (u, 1, 11, Signal::Liked)]);
        }
        for u in 6..9 {
            list.extend([(u, 2, 10, Signal::Liked), (u, 3, 11, Signal::Liked)]);
        }
        events(9, &list)
    }

    fn view(history: &[Interaction]) -> UserView<'_> {
        UserView {
            user: NONE,
            history,
            segment: NONE,
            now: 100,
        }
    }

    #[test]
    fn the_grams_match_the_products_of_inputs_and_targets_summed_pair_by_pair() {
        let data = low_ratings();
        let mut ease = Ease::new(2.0, 0.0);
        (ease.rated_weight, ease.local_weight, ease.window) = (0.5, 1.0, 1);
        ease.activate(&data);
        let n = ease.items.len();
        let (g, d) = ease.grams(&data);
        let d = d.expect("low ratings make inputs differ from targets");
        let (mut want_g, mut want_d) = (Array2::<f32>::zeros((n, n)), Array2::<f32>::zeros((n, n)));
        for u in 0..data.user_count() as u32 {
            let row: Vec<(usize, f32, f32)> = (data.history(u).iter())
                .filter(|e| ease.slot[e.item as usize] != NONE)
                .map(|e| {
                    (
                        ease.slot[e.item as usize] as usize,
                        ease.input_weight(e),
                        ease.target_weight(e),
                    )
                })
                .collect();
            for (p, &(a, xa, _)) in row.iter().enumerate() {
                for (q, &(b, xb, yb)) in row.iter().enumerate() {
                    let scale = if p.abs_diff(q) <= 1 { 2.0 } else { 1.0 };
                    want_g[[a, b]] += scale * xa * xb;
                    want_d[[a, b]] += scale * xa * (xb - yb);
                }
            }
        }
        (0..n).for_each(|i| want_g[[i, i]] += 2.0);
        assert!(g.iter().zip(&want_g).all(|(x, y)| (x - y).abs() < 1e-5));
        assert!(d.iter().zip(&want_d).all(|(x, y)| (x - y).abs() < 1e-5));
    }

    #[test]
    fn without_low_ratings_the_rated_weight_changes_nothing() {
        let mut plain = Ease::new(1.0, 0.0);
        plain.fit(&data()).unwrap();
        let mut weighted = Ease::new(1.0, 0.0);
        weighted.rated_weight = 0.3;
        weighted.fit(&data()).unwrap();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
        assert!(close(&plain.weights, &weighted.weights));
    }

    #[test]
    fn a_low_rating_is_profile_input_but_never_a_target() {
        let data = low_ratings();
        let mut ease = Ease::new(0.5, 0.0);
        ease.rated_weight = 0.5;
        ease.fit(&data).unwrap();
        // Item 4 has no positive: it is no target, so never scored.
        assert_eq!(ease.slot[4], NONE);
        let n = ease.items.len();
        (0..n).for_each(|i| assert_eq!(ease.weights[i * n + i], 0.0));
        // A low rating of item 0 says the user watched it: it points at
        // what its raters liked (item 1), not at unrelated items (item 2).
        let disliked = [Interaction {
            item: 0,
            t: 50,
            signal: Signal::Rated,
        }];
        let mut scores = [0.0; 3];
        ease.score(&view(&disliked), &[0, 1, 2], &mut scores);
        assert!(scores[1] > scores[2] + 0.05, "{scores:?}");
        assert_eq!(scores[0], 0.0, "the rated item itself gets nothing");
        // Without the rated weight the low rating is no input at all.
        let mut plain = Ease::new(0.5, 0.0);
        plain.fit(&data).unwrap();
        plain.score(&view(&disliked), &[0, 1, 2], &mut scores);
        assert_eq!(scores, [0.0; 3]);
    }

    #[test]
    fn the_low_rating_input_does_not_use_ratings_after_the_temporal_cut() {
        use crate::rank::split::{SplitKind, split};
        // User 0 likes items 1-3 at t 1-3, then rates item 0 low at t 9,
        // after the cut before their held-out newest positive (item 3).
        let mut before = vec![
            (0, 1, 1, Signal::Liked),
            (0, 2, 2, Signal::Liked),
            (0, 3, 3, Signal::Liked),
        ];
        for u in 1..4 {
            before.extend([
                (u, 0, 1, Signal::Rated),
                (u, 1, 2, Signal::Liked),
                (u, 2, 3, Signal::Liked),
                (u, 3, 4, Signal::Liked),
            ]);
        }
        let mut after = before.clone();
        after.push((0, 0, 9, Signal::Rated));
        let held = split(&events(4, &after), SplitKind::UserTemporal, 0.2, 7);
        assert_eq!(held.test[0], vec![3]);
        assert!(held.train.history(0).iter().all(|e| e.item != 0));
        let mut ease = Ease::new(1.0, 0.0);
        ease.rated_weight = 0.3;
        ease.fit(&held.train).unwrap();
        let mut without = ease.clone();
        let cut = split(&events(4, &before), SplitKind::UserTemporal, 0.2, 7);
        without.fit(&cut.train).unwrap();
        assert_eq!(ease.weights, without.weights);
    }

    #[test]
    fn ratings_weigh_by_value_and_a_disliked_one_is_no_input_by_default() {
        let ease = Ease::new(1.0, 0.0);
        let at = |signal| Interaction {
            item: 0,
            t: 0,
            signal,
        };
        let weighted = Ease {
            liked_weight: 0.75,
            rated_weight: 0.3,
            ..ease.clone()
        };
        assert_eq!(weighted.input_weight(&at(Signal::Loved)), 1.0);
        assert_eq!(weighted.input_weight(&at(Signal::Liked)), 0.75);
        assert_eq!(weighted.target_weight(&at(Signal::Liked)), 0.75);
        assert_eq!(weighted.input_weight(&at(Signal::Rated)), 0.3);
        assert_eq!(weighted.target_weight(&at(Signal::Rated)), 0.0);
        assert_eq!(weighted.input_weight(&at(Signal::Disliked)), 0.0);
        // Users 0-2 rated item 0 low and liked item 1: a disliked rating
        // of item 0 is input only with a disliked weight.
        let mut list = Vec::new();
        for u in 0..3 {
            list.extend([(u, 0, 10, Signal::Disliked), (u, 1, 11, Signal::Liked)]);
        }
        for u in 3..6 {
            list.extend([(u, 0, 10, Signal::Liked), (u, 2, 11, Signal::Liked)]);
        }
        let data = events(6, &list);
        let disliked = [at(Signal::Disliked)];
        let mut scores = [0.0; 3];
        let mut plain = Ease::new(0.5, 0.0);
        plain.fit(&data).unwrap();
        plain.score(&view(&disliked), &[0, 1, 2], &mut scores);
        assert_eq!(scores, [0.0; 3]);
        let mut input = Ease::new(0.5, 0.0);
        input.disliked_weight = 0.5;
        input.fit(&data).unwrap();
        input.score(&view(&disliked), &[0, 1, 2], &mut scores);
        assert!(scores[1] > 0.05, "{scores:?}");
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
