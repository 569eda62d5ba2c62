//! User-kNN: the items liked by the users whose histories overlap most with
//! this user's (cosine on positive-weight items). It adds user-user evidence
//! the item-item models miss. Each item keeps its most recent users only
//! ([`MAX_USERS_PER_ITEM`]), so a user costs `O(history × cap)` even on a
//! large shop; above [`MAX_USERS`] users it is switched off.

use super::{Ranker, UserView};
use crate::rank::RankError;
use crate::rank::dataset::Dataset;
use serde::{Deserialize, Serialize};

/// Users remembered per item (the most recent ones).
const MAX_USERS_PER_ITEM: usize = 500;
/// Above this many users the model stays empty (it would have to store
/// every history); the blend then gives its feature no weight.
pub const MAX_USERS: usize = 200_000;

/// The user-kNN model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UserKnn {
    /// Neighbours per user.
    pub neighbours: usize,
    /// `offsets[i]..offsets[i + 1]` indexes item `i`'s users.
    pub offsets: Vec<u32>,
    /// Users of each item.
    pub users: Vec<u32>,
    /// `user_offsets[u]..user_offsets[u + 1]` indexes user `u`'s items.
    pub user_offsets: Vec<u32>,
    /// Items of each user.
    pub items: Vec<u32>,
}

impl UserKnn {
    /// User-kNN with `neighbours` neighbours.
    pub fn new(neighbours: usize) -> Self {
        Self {
            neighbours,
            ..Self::default()
        }
    }

    fn users_of(&self, item: u32) -> &[u32] {
        let i = item as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.users[a as usize..b as usize],
            _ => &[],
        }
    }

    fn items_of(&self, user: u32) -> &[u32] {
        let u = user as usize;
        match (self.user_offsets.get(u), self.user_offsets.get(u + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Adds the user's scores into a dense per-item accumulator, listing
    /// the items it made non-zero in `touched`; `overlap` is scratch space,
    /// all zeros on entry and on exit.
    pub fn accumulate(
        &self,
        user: &UserView<'_>,
        acc: &mut [f32],
        overlap: &mut Vec<u32>,
        touched: &mut Vec<u32>,
    ) {
        let mine: Vec<u32> = user
            .history
            .iter()
            .filter(|e| e.signal.weight() > 0.0)
            .map(|e| e.item)
            .collect();
        if mine.is_empty() || self.offsets.is_empty() {
            return;
        }
        overlap.resize(self.user_offsets.len().saturating_sub(1), 0);
        let mut near = Vec::new();
        for &item in &mine {
            for &v in self.users_of(item).iter().filter(|&&v| v != user.user) {
                if overlap[v as usize] == 0 {
                    near.push(v);
                }
                overlap[v as usize] += 1;
            }
        }
        let mut sims: Vec<(u32, f32)> = near
            .into_iter()
            .map(|v| {
                (
                    v,
                    overlap[v as usize] as f32
                        / ((mine.len() * self.items_of(v).len().max(1)) as f32).sqrt(),
                )
            })
            .collect();
        sims.iter().for_each(|&(v, _)| overlap[v as usize] = 0);
        let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if sims.len() > self.neighbours && self.neighbours > 0 {
            sims.select_nth_unstable_by(self.neighbours - 1, better);
            sims.truncate(self.neighbours);
        }
        for (v, s) in sims {
            for &item in self.items_of(v) {
                if let Some(a) = acc.get_mut(item as usize) {
                    if *a == 0.0 && s > 0.0 {
                        touched.push(item);
                    }
                    *a += s;
                }
            }
        }
    }
}

impl Ranker for UserKnn {
    fn fit(&mut self, data: &Dataset) -> Result<(), RankError> {
        self.offsets.clear();
        self.users.clear();
        self.user_offsets.clear();
        self.items.clear();
        if data.user_count() > MAX_USERS {
            return Ok(());
        }
        let mut by_item: Vec<Vec<(u32, u32)>> = vec![Vec::new(); data.item_count()];
        self.user_offsets = vec![0];
        self.items.clear();
        for u in 0..data.user_count() as u32 {
            for e in data.history(u).iter().filter(|e| e.signal.weight() > 0.0) {
                self.items.push(e.item);
                by_item[e.item as usize].push((e.t, u));
            }
            self.user_offsets.push(self.items.len() as u32);
        }
        self.offsets = vec![0];
        self.users.clear();
        for mut list in by_item {
            list.sort_unstable_by(|a, b| b.cmp(a));
            self.users
                .extend(list.iter().take(MAX_USERS_PER_ITEM).map(|x| x.1));
            self.offsets.push(self.users.len() as u32);
        }
        Ok(())
    }

    fn score(&self, user: &UserView<'_>, items: &[u32], out: &mut [f32]) {
        let mut acc = vec![0.0f32; self.offsets.len().saturating_sub(1)];
        self.accumulate(user, &mut acc, &mut Vec::new(), &mut Vec::new());
        for (o, &item) in out.iter_mut().zip(items) {
            *o = acc.get(item as usize).copied().unwrap_or(0.0);
        }
    }
}
