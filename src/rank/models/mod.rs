//! The rankers behind the [`Ranker`] plug point: baselines (random,
//! popularity), neighbourhood (item-kNN), content (bilinear regression),
//! collaborative (EASE for small catalogues, implicit ALS above
//! [`EASE_MAX_ITEMS`]) and the time signals (trending) the blend mixes in.

pub mod als;
pub mod content;
pub mod ease;
pub mod knn;
pub mod popularity;
pub mod userknn;

use super::RankError;
use super::dataset::{Dataset, Interaction};

/// EASE inverts an items × items matrix (cubic): above this many active
/// items the system switches to implicit ALS.
pub const EASE_MAX_ITEMS: usize = 4_000;

/// What a ranker sees of the user it scores for.
#[derive(Debug, Clone, Copy)]
pub struct UserView<'a> {
    /// Dense user index (may be outside the training users for a new user).
    pub user: u32,
    /// The user's interactions, oldest first.
    pub history: &'a [Interaction],
    /// The user's segment, or [`super::dataset::NONE`].
    pub segment: u32,
    /// The moment the ranking is for, in seconds since the epoch.
    pub now: u32,
}

/// A ranking model: learns from a dataset, then scores candidate items for
/// a user (higher is better). Scores are comparable within one user only.
pub trait Ranker: Send + Sync {
    /// Learns from every interaction of `data`.
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError>;
    /// Writes a score for each of `items` into `out` (same length).
    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]);
}

/// Recency weight of a history position: the newest interaction weighs 1,
/// one `half_life` positions earlier 0.5 (no decay when `half_life` is 0).
pub fn position_weights(len: usize, half_life: f32) -> impl Iterator<Item = f32> {
    (0..len).map(move |i| {
        if half_life <= 0.0 {
            1.0
        } else {
            (-((len - 1 - i) as f32) * std::f32::consts::LN_2 / half_life).exp()
        }
    })
}
