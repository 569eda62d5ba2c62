//! Popularity baselines: random, global and per-segment popularity with an
//! optional time decay, and "trending": what was popular in a window just
//! before the moment a user is ranked for.

use super::{Ranker, UserView};
use crate::rank::RankError;
use crate::rank::dataset::{Dataset, NONE};
use serde::{Deserialize, Serialize};

/// Seconds in a day.
const DAY: f32 = 86_400.0;

/// The random baseline: a seeded hash of (user, item).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RandomRanker {
    /// The seed.
    pub seed: u64,
}

impl Ranker for RandomRanker {
    fn fit(&mut self, _data: &Dataset) -> Result<(), RankError> {
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        for (o, &item) in out.iter_mut().zip(items) {
            let h = splitmix(self.seed ^ (u64::from(user.user) << 32) ^ u64::from(item));
            *o = (h >> 40) as f32;
        }
    }
}

/// A 64-bit mixing function (SplitMix64's finaliser).
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Popularity: summed interaction weights per item, optionally decayed by
/// age and counted per segment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Popularity {
    /// Half-life of an interaction's weight in days (0 = no decay).
    pub half_life_days: f32,
    /// Global weight per item.
    pub global: Vec<f32>,
    /// Weight per segment and item (empty without segments).
    pub by_segment: Vec<Vec<f32>>,
}

impl Popularity {
    /// Popularity with the given decay half-life in days (0 = none).
    pub fn new(half_life_days: f32) -> Self {
        Self {
            half_life_days,
            ..Self::default()
        }
    }

    /// The segment's popularity of `item`, falling back to the global one.
    pub fn segment_score(&self, segment: u32, item: u32) -> f32 {
        let row = self
            .by_segment
            .get(segment as usize)
            .unwrap_or(&self.global);
        row.get(item as usize).copied().unwrap_or(0.0)
    }

    /// Items ordered by decreasing popularity within a segment (or globally).
    pub fn top(&self, segment: u32, n: usize) -> Vec<u32> {
        let row = self
            .by_segment
            .get(segment as usize)
            .unwrap_or(&self.global);
        let mut items: Vec<u32> = (0..row.len() as u32)
            .filter(|&i| row[i as usize] > 0.0)
            .collect();
        items.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]).then(a.cmp(&b)));
        items.truncate(n);
        items
    }
}

impl Ranker for Popularity {
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError> {
        let now = data.latest();
        let segments = data.users.segment_count();
        self.global = vec![0.0; data.item_count()];
        self.by_segment = vec![vec![0.0; data.item_count()]; segments];
        for user in 0..data.user_count() as u32 {
            let segment = data.users.segment[user as usize];
            for e in data.history(user) {
                let w = e.signal.weight() * decay(now.saturating_sub(e.t), self.half_life_days);
                self.global[e.item as usize] += w;
                if segment != NONE {
                    self.by_segment[segment as usize][e.item as usize] += w;
                }
            }
        }
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        for (o, &item) in out.iter_mut().zip(items) {
            *o = self.segment_score(user.segment, item);
        }
    }
}

/// Weight of an event `age` seconds old under a half-life in days.
pub fn decay(age: u32, half_life_days: f32) -> f32 {
    if half_life_days <= 0.0 {
        return 1.0;
    }
    (-(age as f32) / DAY / half_life_days * std::f32::consts::LN_2).exp()
}

/// Trending: positives per item in the `window_days` before the user's
/// moment, from per-day counts with prefix sums.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Trending {
    /// Window length in days.
    pub window_days: u32,
    /// First day (days since the epoch) of the counts.
    pub first_day: u32,
    /// Number of days covered.
    pub days: u32,
    /// `prefix[item * (days + 1) + d]`: weight of the item before day `first_day + d`.
    pub prefix: Vec<f32>,
}

impl Trending {
    /// Trending over a window of `window_days`.
    pub fn new(window_days: u32) -> Self {
        Self {
            window_days,
            ..Self::default()
        }
    }

    /// Weight of `item` in the window ending at `now` (seconds).
    pub fn at(&self, item: u32, now: u32) -> f32 {
        let stride = self.days as usize + 1;
        let base = item as usize * stride;
        let Some(row) = self.prefix.get(base..base + stride) else {
            return 0.0;
        };
        let day = (now / 86_400 + 1)
            .saturating_sub(self.first_day)
            .min(self.days) as usize;
        let start = day.saturating_sub(self.window_days as usize);
        row[day] - row[start]
    }
}

impl Trending {
    /// Weight of `item` over the days `from..=to` (days since the epoch).
    pub fn between(&self, item: u32, from: u32, to: u32) -> f32 {
        let stride = self.days as usize + 1;
        let base = item as usize * stride;
        let Some(row) = self.prefix.get(base..base + stride) else {
            return 0.0;
        };
        let clamp = |d: u32| d.saturating_sub(self.first_day).min(self.days) as usize;
        row[clamp(to.saturating_add(1))] - row[clamp(from)]
    }
}

impl Ranker for Trending {
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError> {
        let all = (0..data.user_count() as u32).flat_map(|u| data.history(u));
        let (lo, hi) = all.fold((u32::MAX, 0), |(lo, hi), e| {
            (lo.min(e.t / 86_400), hi.max(e.t / 86_400))
        });
        self.first_day = if lo == u32::MAX { 0 } else { lo };
        self.days = hi.saturating_sub(self.first_day) + 1;
        let stride = self.days as usize + 1;
        self.prefix = vec![0.0; data.item_count() * stride];
        for user in 0..data.user_count() as u32 {
            for e in data.history(user).iter().filter(|e| e.signal.is_positive()) {
                let d = (e.t / 86_400 - self.first_day) as usize;
                self.prefix[e.item as usize * stride + d + 1] += e.signal.weight();
            }
        }
        for row in self.prefix.chunks_mut(stride) {
            for d in 1..stride {
                row[d] += row[d - 1];
            }
        }
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        for (o, &item) in out.iter_mut().zip(items) {
            *o = self.at(item, user.now);
        }
    }
}
