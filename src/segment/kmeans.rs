//! k-means on standardised features (linfa-clustering), with k chosen by
//! the silhouette score when the operator does not give one. Clusters are
//! renumbered by size, largest first, so segment 0 is the biggest and ids
//! are stable for a seed.

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::KMeans;
use ndarray::{Array2, Axis};
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng as _;

/// The silhouette is quadratic in users: it is computed on a sample.
const SILHOUETTE_SAMPLE: usize = 2_000;

/// A fitted clustering.
#[derive(Debug, Clone)]
pub struct Clustering {
    /// One centroid per row, largest cluster first.
    pub centroids: Array2<f64>,
    /// Each user's cluster.
    pub labels: Vec<usize>,
    /// Users per cluster.
    pub sizes: Vec<u64>,
}

/// Why clustering failed.
#[derive(Debug, thiserror::Error)]
pub enum KMeansError {
    /// Fewer users than clusters, or no users at all.
    #[error("cannot make {k} segments from {users} users")]
    TooFewUsers {
        /// Clusters asked for.
        k: usize,
        /// Users available.
        users: usize,
    },
    /// linfa refused the parameters or data.
    #[error("k-means failed: {0}")]
    Fit(String),
}

/// Fits k-means with `k` clusters.
pub fn fit(data: &Array2<f64>, k: usize, seed: u64) -> Result<Clustering, KMeansError> {
    if k < 1 || data.nrows() < k {
        return Err(KMeansError::TooFewUsers {
            k,
            users: data.nrows(),
        });
    }
    let rng = Xoshiro256Plus::seed_from_u64(seed);
    let model = KMeans::params_with_rng(k, rng)
        .n_runs(4)
        .max_n_iterations(200)
        .tolerance(1e-5)
        .fit(&DatasetBase::from(data.clone()))
        .map_err(|e| KMeansError::Fit(e.to_string()))?;
    let labels = model.predict(data).to_vec();
    Ok(order_by_size(model.centroids().clone(), labels))
}

fn order_by_size(centroids: Array2<f64>, labels: Vec<usize>) -> Clustering {
    let k = centroids.nrows();
    let mut sizes = vec![0u64; k];
    labels.iter().for_each(|&l| sizes[l] += 1);
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut new_id = vec![0; k];
    for (new, &old) in order.iter().enumerate() {
        new_id[old] = new;
    }
    Clustering {
        centroids: centroids.select(Axis(0), &order),
        labels: labels.into_iter().map(|l| new_id[l]).collect(),
        sizes: order.iter().map(|&o| sizes[o]).collect(),
    }
}

/// The index of the nearest centroid.
pub fn nearest(centroids: &Array2<f64>, point: &[f64]) -> (usize, f64) {
    centroids
        .axis_iter(Axis(0))
        .map(|c| {
            c.iter()
                .zip(point)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
        })
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |best, (i, d)| if d < best.1 { (i, d) } else { best },
        )
}

/// Pairwise Euclidean distances of the rows (n x n, row-major).
pub fn distances(data: &Array2<f64>) -> Vec<f64> {
    let n = data.nrows();
    let rows: Vec<Vec<f64>> = data.axis_iter(Axis(0)).map(|r| r.to_vec()).collect();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in (i + 1)..n {
            let d = rows[i]
                .iter()
                .zip(&rows[j])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            out[i * n + j] = d;
            out[j * n + i] = d;
        }
    }
    out
}

/// Mean silhouette of a labelled sample, from its pairwise `distances`:
/// for each point, (b - a) / max(a, b) with a the mean distance to its own
/// cluster and b to the nearest other.
pub fn silhouette(distances: &[f64], labels: &[usize], k: usize) -> f64 {
    let n = labels.len();
    let mut total = 0.0;
    for i in 0..n {
        let mut sums = vec![0.0; k];
        let mut counts = vec![0usize; k];
        for j in (0..n).filter(|&j| j != i) {
            sums[labels[j]] += distances[i * n + j];
            counts[labels[j]] += 1;
        }
        let own = labels[i];
        if counts[own] == 0 {
            continue;
        }
        let a = sums[own] / counts[own] as f64;
        let b = (0..k)
            .filter(|&c| c != own && counts[c] > 0)
            .map(|c| sums[c] / counts[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b).max(1e-12);
        }
    }
    total / n.max(1) as f64
}

/// A deterministic sample of at most `max` rows.
pub fn sample_rows(data: &Array2<f64>, max: usize, seed: u64) -> Array2<f64> {
    if data.nrows() <= max {
        return data.clone();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = sample(&mut rng, data.nrows(), max).into_vec();
    rows.sort_unstable();
    data.select(Axis(0), &rows)
}

/// Tries every k in `range` on a sample and returns the best k with every
/// score, for printing.
pub fn choose_k(
    data: &Array2<f64>,
    range: std::ops::RangeInclusive<usize>,
    seed: u64,
) -> Result<(usize, Vec<(usize, f64)>), KMeansError> {
    let sample = sample_rows(data, SILHOUETTE_SAMPLE, seed);
    let pairwise = distances(&sample);
    let mut scores = Vec::new();
    for k in range.filter(|&k| k <= sample.nrows()) {
        let clustering = fit(&sample, k, seed)?;
        scores.push((k, silhouette(&pairwise, &clustering.labels, k)));
    }
    let best = scores
        .iter()
        .copied()
        .fold(None, |best: Option<(usize, f64)>, s| match best {
            Some(b) if b.1 >= s.1 => Some(b),
            _ => Some(s),
        })
        .ok_or(KMeansError::TooFewUsers {
            k: 2,
            users: data.nrows(),
        })?;
    Ok((best.0, scores))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn three_blobs() -> Array2<f64> {
        let mut rows = Vec::new();
        for (cx, cy, n) in [(0.0, 0.0, 60), (10.0, 0.0, 40), (0.0, 10.0, 20)] {
            for i in 0..n {
                let jitter = (i as f64 * 0.37).sin() * 0.5;
                rows.extend([cx + jitter, cy - jitter]);
            }
        }
        Array2::from_shape_vec((120, 2), rows).unwrap()
    }

    #[test]
    fn silhouette_picks_the_number_of_well_separated_blobs() {
        let (k, scores) = choose_k(&three_blobs(), 2..=6, 7).unwrap();
        assert_eq!(k, 3, "{scores:?}");
    }

    #[test]
    fn clusters_are_numbered_largest_first_and_deterministic_for_a_seed() {
        let a = fit(&three_blobs(), 3, 11).unwrap();
        let b = fit(&three_blobs(), 3, 11).unwrap();
        assert_eq!(a.sizes, vec![60, 40, 20]);
        assert_eq!(a.labels, b.labels);
        assert_eq!(nearest(&a.centroids, &[10.0, 0.0]).0, 1);
    }
}
