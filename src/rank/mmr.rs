//! Maximal marginal relevance (Carbonell and Goldstein, 1998): re-ranks a
//! scored list so each next item balances its relevance against its
//! similarity to the items already picked. `lambda = 1` keeps the order;
//! lower values trade relevance for variety.

use super::hybrid::Scored;

/// Picks `n` items from `ranked` (best first) by MMR with trade-off
/// `lambda` in `0..=1` and item similarity `sim` in `0..=1`.
pub fn mmr(ranked: &[Scored], n: usize, lambda: f32, sim: impl Fn(u32, u32) -> f32) -> Vec<Scored> {
    let lambda = lambda.clamp(0.0, 1.0);
    let (lo, hi) = ranked.iter().fold((f32::MAX, f32::MIN), |(lo, hi), s| {
        (lo.min(s.score), hi.max(s.score))
    });
    let span = (hi - lo).max(1e-9);
    let relevance: Vec<f32> = ranked.iter().map(|s| (s.score - lo) / span).collect();
    let mut left: Vec<usize> = (0..ranked.len()).collect();
    let mut max_sim = vec![0.0f32; ranked.len()];
    let mut picked: Vec<Scored> = Vec::with_capacity(n.min(ranked.len()));
    while picked.len() < n && !left.is_empty() {
        let value = |i: usize| lambda * relevance[i] - (1.0 - lambda) * max_sim[i];
        let Some((pos, best)) = left
            .iter()
            .copied()
            .enumerate()
            .max_by(|&(_, a), &(_, b)| value(a).total_cmp(&value(b)).then(b.cmp(&a)))
        else {
            break;
        };
        left.swap_remove(pos);
        left.sort_unstable();
        for &i in &left {
            max_sim[i] = max_sim[i].max(sim(ranked[best].item, ranked[i].item));
        }
        picked.push(ranked[best].clone());
    }
    picked
}
