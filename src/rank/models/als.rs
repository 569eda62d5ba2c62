//! Implicit-feedback ALS (Hu, Koren and Volinsky, 2008): user and item
//! factors minimising confidence-weighted squared error on the binary
//! preference matrix, `c = 1 + alpha * weight`. Each half-step solves one
//! small `k × k` system per user (or item) by Cholesky, in parallel. Only
//! item factors are kept: a user's factors are folded in from their history
//! when scored, so new interactions count without retraining. Linear in the
//! number of interactions, it is the collaborative model for large catalogues.
//! [`crate::rank::tune`] picks its hyper-parameters on a validation split.

use super::{Ranker, UserView};
use crate::rank::RankError;
use crate::rank::dataset::Dataset;
use crate::rank::linalg::{cholesky_solve, dot, par_chunks_mut};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Implicit ALS.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Als {
    /// Number of latent factors.
    pub factors: usize,
    /// L2 regularisation.
    pub lambda: f32,
    /// Confidence scale.
    pub alpha: f32,
    /// Alternating iterations.
    pub iterations: usize,
    /// Seed of the initial factors.
    pub seed: u64,
    /// Item factors, `items × factors`, row-major.
    pub item_factors: Vec<f32>,
    /// `YᵀY` of the item factors, `factors × factors`.
    pub gram: Vec<f64>,
}

/// One side's interactions as (other side index, weight) lists.
type Rows = Vec<Vec<(u32, f32)>>;

impl Als {
    /// ALS with `factors` factors, regularisation, confidence and iterations.
    pub fn new(factors: usize, lambda: f32, alpha: f32, iterations: usize, seed: u64) -> Self {
        Self {
            factors,
            lambda,
            alpha,
            iterations,
            seed,
            ..Self::default()
        }
    }

    /// A user's factors from their history (the fold-in solve).
    pub fn user_factors(&self, history: impl Iterator<Item = (u32, f32)>) -> Vec<f32> {
        let k = self.factors;
        let mut a = self.gram.clone();
        let mut b = vec![0.0f64; k];
        let mut any = false;
        for (item, w) in history {
            let Some(y) = self
                .item_factors
                .get(item as usize * k..(item as usize + 1) * k)
            else {
                continue;
            };
            any = true;
            accumulate(&mut a, &mut b, y, self.alpha * w, k);
        }
        if !any {
            return vec![0.0; k];
        }
        (0..k).for_each(|i| a[i * k + i] += f64::from(self.lambda));
        if !cholesky_solve(&mut a, &mut b, k) {
            return vec![0.0; k];
        }
        b.into_iter().map(|v| v as f32).collect()
    }

    /// One item's factors.
    pub fn item(&self, item: u32) -> &[f32] {
        let k = self.factors;
        self.item_factors
            .get(item as usize * k..(item as usize + 1) * k)
            .unwrap_or(&[])
    }
}

/// Adds one observation of confidence `1 + cw` on factor row `y`, to the
/// lower triangle of `a` only (all the Cholesky solve reads).
fn accumulate(a: &mut [f64], b: &mut [f64], y: &[f32], cw: f32, k: usize) {
    let c = f64::from(cw);
    for i in 0..k {
        let yi = f64::from(y[i]);
        b[i] += (1.0 + c) * yi;
        let cyi = c * yi;
        a[i * k..i * k + i + 1]
            .iter_mut()
            .zip(&y[..=i])
            .for_each(|(a, &yj)| *a += cyi * f64::from(yj));
    }
}

/// `FᵀF` of a factor matrix.
fn gram(factors: &[f32], k: usize) -> Vec<f64> {
    let mut g = vec![0.0f64; k * k];
    for row in factors.chunks_exact(k) {
        for i in 0..k {
            let ri = f64::from(row[i]);
            for j in 0..k {
                g[i * k + j] += ri * f64::from(row[j]);
            }
        }
    }
    g
}

/// Solves every row of one side given the other side's factors.
fn half_step(rows: &Rows, other: &[f32], k: usize, lambda: f32, alpha: f32, out: &mut [f32]) {
    let base = gram(other, k);
    par_chunks_mut(out, k * 64, |start, chunk| {
        for (offset, x) in chunk.chunks_exact_mut(k).enumerate() {
            let row = &rows[start / k + offset];
            let mut a = base.clone();
            let mut b = vec![0.0f64; k];
            for &(j, w) in row {
                accumulate(
                    &mut a,
                    &mut b,
                    &other[j as usize * k..(j as usize + 1) * k],
                    alpha * w,
                    k,
                );
            }
            (0..k).for_each(|i| a[i * k + i] += f64::from(lambda));
            let solved = !row.is_empty() && cholesky_solve(&mut a, &mut b, k);
            x.iter_mut()
                .zip(&b)
                .for_each(|(x, v)| *x = if solved { *v as f32 } else { 0.0 });
        }
    });
}

/// User rows and item rows of the positive-weight interactions.
fn both_sides(data: &Dataset) -> (Rows, Rows) {
    let mut users = vec![Vec::new(); data.user_count()];
    let mut items = vec![Vec::new(); data.item_count()];
    for u in 0..data.user_count() as u32 {
        for e in data.history(u).iter().filter(|e| e.signal.weight() > 0.0) {
            users[u as usize].push((e.item, e.signal.weight()));
            items[e.item as usize].push((u, e.signal.weight()));
        }
    }
    (users, items)
}

impl Ranker for Als {
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError> {
        let k = self.factors;
        if k == 0 {
            return Err(RankError::InvalidParam {
                name: "als.factors",
                reason: "must be at least 1".into(),
            });
        }
        let (users, items) = both_sides(data);
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let scale = 0.1 / (k as f32).sqrt();
        let mut y: Vec<f32> = (0..items.len() * k)
            .map(|_| rng.random::<f32>() * scale)
            .collect();
        let mut x = vec![0.0f32; users.len() * k];
        for _ in 0..self.iterations {
            half_step(&users, &y, k, self.lambda, self.alpha, &mut x);
            half_step(&items, &x, k, self.lambda, self.alpha, &mut y);
        }
        self.gram = gram(&y, k);
        self.item_factors = y;
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        let x = self.user_factors(
            user.history
                .iter()
                .map(|e| (e.item, e.signal.weight()))
                .filter(|e| e.1 > 0.0),
        );
        for (o, &item) in out.iter_mut().zip(items) {
            let y = self.item(item);
            *o = if y.is_empty() { 0.0 } else { dot(&x, y) };
        }
    }
}
