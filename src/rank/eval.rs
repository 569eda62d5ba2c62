//! Offline evaluation: rank the whole catalogue minus each user's training
//! positives, for every user with at least one training and one test
//! positive, and average the [`metrics`](super::metrics) over them.

use super::dataset::{Dataset, NONE};
use super::linalg::par_chunks_mut;
use super::metrics::{Metrics, MetricsAccumulator, intra_list_diversity};
use super::models::UserView;
use super::split::Split;

/// A scoring function: user, candidate items, scores out.
pub type ScoreFn<'a> = dyn Fn(&UserView<'_>, &[u32], &mut [f32]) + Sync + 'a;

/// The user's view for ranking at the end of their training history.
pub fn view_of(data: &Dataset, user: u32) -> UserView<'_> {
    let history = data.history(user);
    UserView {
        user,
        history,
        segment: data
            .users
            .segment
            .get(user as usize)
            .copied()
            .unwrap_or(NONE),
        now: history.iter().map(|e| e.t).max().unwrap_or(0),
    }
}

/// Users that are evaluated: at least one training and one test positive.
pub fn evaluated_users(split: &Split) -> Vec<u32> {
    (0..split.train.user_count() as u32)
        .filter(|&u| !split.test[u as usize].is_empty())
        .filter(|&u| {
            split
                .train
                .history(u)
                .iter()
                .any(|e| e.signal.is_positive())
        })
        .collect()
}

/// Every item except the user's training positives.
pub fn candidates_for(data: &Dataset, user: u32, mask: &mut Vec<bool>) -> Vec<u32> {
    mask.clear();
    mask.resize(data.item_count(), false);
    for e in data.history(user).iter().filter(|e| e.signal.is_positive()) {
        mask[e.item as usize] = true;
    }
    (0..data.item_count() as u32)
        .filter(|&i| !mask[i as usize])
        .collect()
}

/// The `k` best items by score (ties by item index).
pub fn top_k(items: &[u32], scores: &[f32], k: usize) -> Vec<u32> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    let better = |&a: &usize, &b: &usize| {
        scores[b]
            .total_cmp(&scores[a])
            .then(items[a].cmp(&items[b]))
    };
    if order.len() > k && k > 0 {
        order.select_nth_unstable_by(k - 1, better);
        order.truncate(k);
    }
    order.sort_by(better);
    order.truncate(k);
    order.into_iter().map(|i| items[i]).collect()
}

/// Ranks for every evaluated user and averages the metrics at `k`.
pub fn evaluate(split: &Split, k: usize, score: &ScoreFn<'_>) -> Metrics {
    let users = evaluated_users(split);
    let lists = rank_lists(split, &users, k, score);
    metrics_of(split, &users, &lists, k)
}

/// Each user's top `k` over the whole catalogue minus their training positives.
pub fn rank_lists(split: &Split, users: &[u32], k: usize, score: &ScoreFn<'_>) -> Vec<Vec<u32>> {
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); users.len()];
    par_chunks_mut(&mut lists, 16, |start, chunk| {
        let mut mask = Vec::new();
        for (offset, list) in chunk.iter_mut().enumerate() {
            let user = users[start + offset];
            let items = candidates_for(&split.train, user, &mut mask);
            let mut scores = vec![0.0; items.len()];
            score(&view_of(&split.train, user), &items, &mut scores);
            *list = top_k(&items, &scores, k);
        }
    });
    lists
}

/// The metrics of ranked lists against the split's test positives.
pub fn metrics_of(split: &Split, users: &[u32], lists: &[Vec<u32>], k: usize) -> Metrics {
    let mut acc = MetricsAccumulator::new(k, split.train.item_count());
    for (user, list) in users.iter().zip(lists) {
        let diversity = intra_list_diversity(list, |a, b| split.train.items.tag_similarity(a, b));
        acc.add(list, &split.test[*user as usize], diversity);
    }
    acc.finish()
}
