//! Hold-out splits for offline evaluation and for training the blend.
//!
//! Both splits work per user on the positives (see [`Signal::is_positive`]):
//! `user-temporal` puts each user's newest fraction of positives in test,
//! `random` a seeded random fraction. The test size per user follows RecBole:
//! `floor(fraction * n)`, raised to one when that rounds to zero and the user
//! has at least two positives. Weak and negative interactions stay in train
//! when they happened before the user's first test positive (temporal) or
//! always (random).

use super::dataset::{Dataset, Interaction};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How positives are held out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitKind {
    /// Each user's newest positives go to test.
    UserTemporal,
    /// A random share of each user's positives goes to test.
    Random,
}

impl SplitKind {
    /// The command-line name.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitKind::UserTemporal => "user-temporal",
            SplitKind::Random => "random",
        }
    }
}

/// Training data plus the held-out positives of every user.
#[derive(Debug, Clone)]
pub struct Split {
    /// What the models may learn from.
    pub train: Dataset,
    /// Held-out positive items per user (empty for most cold users).
    pub test: Vec<Vec<u32>>,
}

/// Splits `data`, holding out `fraction` of each user's positives.
pub fn split(data: &Dataset, kind: SplitKind, fraction: f64, seed: u64) -> Split {
    let mut train = Vec::with_capacity(data.user_count());
    let mut test = Vec::with_capacity(data.user_count());
    for user in 0..data.user_count() as u32 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (u64::from(user) << 20));
        let (kept, held) = split_user(data.history(user), kind, fraction, &mut rng);
        train.push(kept);
        test.push(held);
    }
    Split {
        train: data.with_histories(train),
        test,
    }
}

/// How many of `n` positives to hold out.
pub fn test_size(n: usize, fraction: f64) -> usize {
    let exact = fraction * n as f64;
    let size = exact.floor() as usize;
    if size == 0 && exact > 0.0 && n >= 2 {
        1
    } else {
        size.min(n)
    }
}

fn split_user(
    history: &[Interaction],
    kind: SplitKind,
    fraction: f64,
    rng: &mut ChaCha8Rng,
) -> (Vec<Interaction>, Vec<u32>) {
    let mut positives: Vec<usize> = (0..history.len())
        .filter(|&i| history[i].signal.is_positive())
        .collect();
    let n_test = test_size(positives.len(), fraction);
    if n_test == 0 {
        return (history.to_vec(), Vec::new());
    }
    if kind == SplitKind::Random {
        positives.shuffle(rng);
    }
    let held: Vec<usize> = positives[positives.len() - n_test..].to_vec();
    let cutoff = held.iter().map(|&i| history[i].t).min().unwrap_or(u32::MAX);
    let mut is_held = vec![false; history.len()];
    held.iter().for_each(|&i| is_held[i] = true);
    let kept = history
        .iter()
        .enumerate()
        .filter(|&(i, e)| !is_held[i] && keep(e, kind, cutoff, i < held_first(&held)))
        .map(|(_, e)| *e)
        .collect();
    let mut test: Vec<u32> = held.iter().map(|&i| history[i].item).collect();
    test.sort_unstable();
    (kept, test)
}

/// Position of the earliest held-out interaction.
fn held_first(held: &[usize]) -> usize {
    held.iter().copied().min().unwrap_or(usize::MAX)
}

/// Whether a non-held interaction stays in train.
fn keep(e: &Interaction, kind: SplitKind, cutoff: u32, before_first: bool) -> bool {
    match kind {
        SplitKind::Random => true,
        SplitKind::UserTemporal => e.signal.is_positive() || e.t < cutoff || before_first,
    }
}
