//! Offline ranking metrics with binary gain: precision, recall, NDCG and
//! MAP at k per user, averaged over the evaluated users, plus catalogue
//! coverage and intra-list diversity of the recommended lists.
//!
//! Conventions (the protocol, as RecBole): NDCG's ideal DCG and
//! MAP's normaliser run over `min(|test|, k)` relevant positions.

use serde::{Deserialize, Serialize};

/// Averages of one model's lists over the evaluated users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Precision at k.
    pub precision: f64,
    /// Recall at k.
    pub recall: f64,
    /// NDCG at k.
    pub ndcg: f64,
    /// Mean average precision at k.
    pub map: f64,
    /// Share of the catalogue recommended to at least one user.
    pub coverage: f64,
    /// Mean pairwise dissimilarity within a list.
    pub diversity: f64,
    /// Users evaluated.
    pub users: usize,
}

/// Precision at k: hits in the top k over k.
pub fn precision_at(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    if k == 0 {
        return 0.0;
    }
    hits(ranked, relevant, k) as f64 / k as f64
}

/// Recall at k: hits in the top k over the number of relevant items.
pub fn recall_at(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    hits(ranked, relevant, k) as f64 / relevant.len() as f64
}

/// NDCG at k with binary gain; IDCG over `min(|relevant|, k)` positions.
pub fn ndcg_at(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let ideal: f64 = (0..relevant.len().min(k)).map(discount).sum();
    if ideal == 0.0 {
        return 0.0;
    }
    let dcg: f64 = top(ranked, k)
        .iter()
        .enumerate()
        .filter(|(_, item)| relevant.contains(item))
        .map(|(i, _)| discount(i))
        .sum();
    dcg / ideal
}

/// Average precision at k, normalised by `min(|relevant|, k)`.
pub fn average_precision_at(ranked: &[u32], relevant: &[u32], k: usize) -> f64 {
    let norm = relevant.len().min(k);
    if norm == 0 {
        return 0.0;
    }
    let mut found = 0usize;
    let mut sum = 0.0;
    for (i, item) in top(ranked, k).iter().enumerate() {
        if relevant.contains(item) {
            found += 1;
            sum += found as f64 / (i + 1) as f64;
        }
    }
    sum / norm as f64
}

/// Mean pairwise `1 - similarity` within one list (0 for lists under two).
pub fn intra_list_diversity(list: &[u32], similarity: impl Fn(u32, u32) -> f32) -> f64 {
    let mut sum = 0.0;
    let mut pairs = 0usize;
    for (i, &a) in list.iter().enumerate() {
        for &b in &list[i + 1..] {
            sum += 1.0 - f64::from(similarity(a, b));
            pairs += 1;
        }
    }
    if pairs == 0 { 0.0 } else { sum / pairs as f64 }
}

fn top(ranked: &[u32], k: usize) -> &[u32] {
    &ranked[..ranked.len().min(k)]
}

fn hits(ranked: &[u32], relevant: &[u32], k: usize) -> usize {
    top(ranked, k)
        .iter()
        .filter(|i| relevant.contains(i))
        .count()
}

fn discount(position: usize) -> f64 {
    1.0 / ((position + 2) as f64).log2()
}

/// Accumulates per-user metrics into averages.
#[derive(Debug, Clone)]
pub struct MetricsAccumulator {
    /// The cut-off.
    k: usize,
    /// Sums of the per-user metrics.
    sums: Metrics,
    /// Whether each item was recommended to someone.
    seen: Vec<bool>,
}

impl MetricsAccumulator {
    /// An accumulator for lists cut at `k` over a catalogue of `items` items.
    pub fn new(k: usize, items: usize) -> Self {
        Self {
            k,
            sums: Metrics::default(),
            seen: vec![false; items],
        }
    }

    /// Adds one user's ranked list, relevant items and list diversity.
    pub fn add(&mut self, ranked: &[u32], relevant: &[u32], diversity: f64) {
        let k = self.k;
        self.sums.precision += precision_at(ranked, relevant, k);
        self.sums.recall += recall_at(ranked, relevant, k);
        self.sums.ndcg += ndcg_at(ranked, relevant, k);
        self.sums.map += average_precision_at(ranked, relevant, k);
        self.sums.diversity += diversity;
        self.sums.users += 1;
        for &item in top(ranked, k) {
            if let Some(seen) = self.seen.get_mut(item as usize) {
                *seen = true;
            }
        }
    }

    /// The averages.
    pub fn finish(&self) -> Metrics {
        let n = self.sums.users.max(1) as f64;
        let covered = self.seen.iter().filter(|&&s| s).count();
        Metrics {
            precision: self.sums.precision / n,
            recall: self.sums.recall / n,
            ndcg: self.sums.ndcg / n,
            map: self.sums.map / n,
            coverage: covered as f64 / self.seen.len().max(1) as f64,
            diversity: self.sums.diversity / n,
            users: self.sums.users,
        }
    }
}
