//! Candidates: what may be recommended to a user (in-stock items the user
//! has not already bought or rated; views and carts stay eligible, a
//! reminder of a viewed item is a good push) and the pool the blend ranks,
//! the union of each signal's best allowed items. On a large catalogue the
//! pool comes from sparse sources only (kNN neighbours, popularity lists),
//! so a user costs `O(pool)`, not `O(items)`.

use super::dataset::{Catalog, Interaction};
use super::features::{BaseModels, Collab, Scratch};
use super::models::{EASE_MAX_ITEMS, UserView, position_weights};

/// The owned (bought or rated) items of a history, sorted.
pub fn owned(history: &[Interaction]) -> Vec<u32> {
    let mut items: Vec<u32> = history
        .iter()
        .filter(|e| e.signal.is_owned())
        .map(|e| e.item)
        .collect();
    items.sort_unstable();
    items
}

/// Whether `item` may be recommended given the sorted owned items.
pub fn eligible(catalog: &Catalog, owned: &[u32], item: u32) -> bool {
    catalog
        .in_stock
        .get(item as usize)
        .copied()
        .unwrap_or(false)
        && owned.binary_search(&item).is_err()
}

impl BaseModels {
    /// Fills the scratch buffers for a user and returns their pool.
    pub fn pool(
        &self,
        user: &UserView<'_>,
        allowed: &dyn Fn(u32) -> bool,
        s: &mut Scratch,
    ) -> Vec<u32> {
        let n = self.items();
        s.knn.resize(n, 0.0);
        s.mark.resize(n, false);
        s.extra.iter_mut().for_each(|e| e.resize(n, 0.0));
        self.knn
            .accumulate_touched(user, &mut s.knn, &mut s.touched);
        self.knn
            .accumulate_with(user, self.half_life, &mut s.extra[1]);
        self.user_knn
            .accumulate(user, &mut s.extra[0], &mut s.overlap, &mut s.touched_users);
        let p = self.per_source;
        let mut pool = Vec::new();
        let mut take = |items: &mut dyn Iterator<Item = u32>, pool: &mut Vec<u32>| {
            for item in items.filter(|&i| allowed(i)).take(p) {
                if !s.mark[item as usize] {
                    s.mark[item as usize] = true;
                    pool.push(item);
                }
            }
        };
        // Small catalogues rank every allowed item by the dense signals;
        // decide what is allowed once.
        let open: Vec<u32> = match n <= EASE_MAX_ITEMS || matches!(self.collab, Collab::Ease(_)) {
            true => (0..n as u32).filter(|&i| allowed(i)).collect(),
            false => Vec::new(),
        };
        let any = |_: u32| true;
        if let Collab::Ease(ease) = &self.collab {
            let [plain, recent] = &mut s.dense;
            ease.dense_both(user, self.half_life, plain, recent);
            for by_slot in s.dense.iter_mut() {
                let mut dense = vec![0.0f32; n];
                ease.items
                    .iter()
                    .zip(by_slot.iter())
                    .for_each(|(&i, &v)| dense[i as usize] = v);
                *by_slot = dense;
            }
            let d = &s.dense;
            take(
                &mut top_of(&d[1], open.clone(), p, &any).into_iter(),
                &mut pool,
            );
            take(
                &mut top_of(&d[0], open.clone(), p, &any).into_iter(),
                &mut pool,
            );
        }
        take(
            &mut top_of(&s.knn, s.touched.clone(), p, allowed).into_iter(),
            &mut pool,
        );
        take(
            &mut top_of(&s.extra[0], s.touched_users.clone(), p, allowed).into_iter(),
            &mut pool,
        );
        let top = self.tops.get(user.segment as usize).or(self.tops.last());
        take(&mut top.into_iter().flatten().copied(), &mut pool);
        for tag in self.favourite_tags(user) {
            take(&mut self.by_tag[tag as usize].iter().copied(), &mut pool);
        }
        if n <= EASE_MAX_ITEMS {
            let trend: Vec<f32> = (0..n as u32)
                .map(|i| self.trend_long.at(i, user.now))
                .collect();
            take(&mut top_of(&trend, open, p, &any).into_iter(), &mut pool);
        } else {
            take(&mut self.trend_top.iter().copied(), &mut pool);
        }
        pool.iter().for_each(|&i| s.mark[i as usize] = false);
        pool
    }

    /// The user's three most frequent tags, recent interactions first.
    fn favourite_tags(&self, user: &UserView<'_>) -> Vec<u16> {
        let mut counts: Vec<(u16, f32)> = Vec::new();
        let weights = position_weights(user.history.len(), self.half_life.max(1.0));
        for (e, w) in user.history.iter().zip(weights) {
            for &t in self
                .tags
                .get(e.item as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                match counts.iter_mut().find(|c| c.0 == t) {
                    Some(c) => c.1 += w,
                    None => counts.push((t, w)),
                }
            }
        }
        counts.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        counts.into_iter().take(3).map(|c| c.0).collect()
    }
}

/// The `p` best allowed items of `items` by `scores`.
pub(crate) fn top_of(
    scores: &[f32],
    mut items: Vec<u32>,
    p: usize,
    allowed: &dyn Fn(u32) -> bool,
) -> Vec<u32> {
    items.retain(|&i| allowed(i) && scores[i as usize] > 0.0);
    let better = |a: &u32, b: &u32| {
        scores[*b as usize]
            .total_cmp(&scores[*a as usize])
            .then(a.cmp(b))
    };
    if items.len() > p && p > 0 {
        items.select_nth_unstable_by(p - 1, better);
        items.truncate(p);
    }
    items.sort_by(better);
    items
}
