//! The few dense kernels the models need, without LAPACK: an in-place
//! blocked Gauss-Jordan inverse of a symmetric positive-definite matrix
//! (EASE; rank-`b` updates go through ndarray's matrix product, which runs
//! matrixmultiply's SIMD kernels, split over the available cores), a matrix
//! product split the same way (EASE with low-rating inputs), a small
//! Cholesky solve (ALS, content model) and a scoped-thread helper.

use ndarray::{Array2, ArrayViewMut2, Axis, s};
use std::num::NonZeroUsize;

/// Pivot block width of the blocked inverse.
const BLOCK: usize = 192;

/// Threads to use for data-parallel loops (the machine's cores).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Inverts a symmetric positive-definite matrix in place; `false` when a
/// pivot is not positive (the matrix was not positive definite).
pub fn spd_inverse(a: &mut Array2<f32>) -> bool {
    let n = a.nrows();
    let mut k0 = 0;
    while k0 < n {
        let k1 = (k0 + BLOCK).min(n);
        if !sweep_block(a, k0, k1) {
            return false;
        }
        k0 = k1;
    }
    true
}

/// One Gauss-Jordan step over the pivot block `k0..k1`.
fn sweep_block(a: &mut Array2<f32>, k0: usize, k1: usize) -> bool {
    let b = k1 - k0;
    let Some(pivot) = small_inverse(&a.slice(s![k0..k1, k0..k1]).to_owned()) else {
        return false;
    };
    let column = a.slice(s![.., k0..k1]).to_owned();
    a.slice_mut(s![.., k0..k1]).fill(0.0);
    let mut row = a.slice(s![k0..k1, ..]).to_owned();
    for i in 0..b {
        row[[i, k0 + i]] = 1.0;
    }
    let row = pivot.dot(&row);
    par_rank_update(a.view_mut(), &column, &row);
    a.slice_mut(s![k0..k1, ..]).assign(&row);
    true
}

/// `a -= column · row`, the columns of `a` split over the cores.
fn par_rank_update(a: ArrayViewMut2<f32>, column: &Array2<f32>, row: &Array2<f32>) {
    let n = a.ncols();
    let parts = threads().min(n.div_ceil(256)).max(1);
    let width = n.div_ceil(parts);
    std::thread::scope(|scope| {
        let mut rest = a;
        let mut start = 0;
        while start < n {
            let end = (start + width).min(n);
            let (mut left, right) = rest.split_at(Axis(1), end - start);
            let row_part = row.slice(s![.., start..end]);
            scope.spawn(move || {
                ndarray::linalg::general_mat_mul(-1.0, column, &row_part, 1.0, &mut left)
            });
            rest = right;
            start = end;
        }
    });
}

/// The matrix product `a · b`, the columns of `b` split over the cores.
pub fn par_dot(a: &Array2<f32>, b: &Array2<f32>) -> Array2<f32> {
    let mut out = Array2::<f32>::zeros((a.nrows(), b.ncols()));
    let n = b.ncols();
    let parts = threads().min(n.div_ceil(256)).max(1);
    let width = n.div_ceil(parts).max(1);
    std::thread::scope(|scope| {
        let mut rest = out.view_mut();
        let mut start = 0;
        while start < n {
            let end = (start + width).min(n);
            let (mut left, right) = rest.split_at(Axis(1), end - start);
            let part = b.slice(s![.., start..end]);
            scope.spawn(move || ndarray::linalg::general_mat_mul(1.0, a, &part, 0.0, &mut left));
            rest = right;
            start = end;
        }
    });
    out
}

/// Inverse of a small SPD block by unpivoted Gauss-Jordan in f64.
fn small_inverse(block: &Array2<f32>) -> Option<Array2<f32>> {
    let n = block.nrows();
    let mut m: Vec<f64> = block.iter().map(|&v| f64::from(v)).collect();
    for k in 0..n {
        let p = m[k * n + k];
        if p <= 0.0 || !p.is_finite() {
            return None;
        }
        let inv = 1.0 / p;
        m[k * n + k] = 1.0;
        m[k * n..(k + 1) * n].iter_mut().for_each(|v| *v *= inv);
        let pivot_row: Vec<f64> = m[k * n..(k + 1) * n].to_vec();
        for i in (0..n).filter(|&i| i != k) {
            let f = m[i * n + k];
            m[i * n + k] = 0.0;
            let row = &mut m[i * n..(i + 1) * n];
            row.iter_mut()
                .zip(&pivot_row)
                .for_each(|(v, p)| *v -= f * p);
        }
    }
    Array2::from_shape_vec((n, n), m.into_iter().map(|v| v as f32).collect()).ok()
}

/// Solves `a x = b` for a small SPD `a` (row-major `n × n`) by Cholesky,
/// overwriting `b` with `x`; `false` if `a` is not positive definite.
pub fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut v = a[i * n + j];
            for k in 0..j {
                v -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = v / d;
        }
    }
    for i in 0..n {
        let dot: f64 = (0..i).map(|k| a[i * n + k] * b[k]).sum();
        b[i] = (b[i] - dot) / a[i * n + i];
    }
    for i in (0..n).rev() {
        let dot: f64 = (i + 1..n).map(|k| a[k * n + i] * b[k]).sum();
        b[i] = (b[i] - dot) / a[i * n + i];
    }
    true
}

/// Runs `work(chunk_start, chunk)` over `out` split into one chunk per core.
pub fn par_chunks_mut<T: Send>(
    out: &mut [T],
    min_chunk: usize,
    work: impl Fn(usize, &mut [T]) + Sync,
) {
    let parts = threads().min(out.len().div_ceil(min_chunk.max(1))).max(1);
    let width = out.len().div_ceil(parts).max(1);
    std::thread::scope(|scope| {
        for (i, chunk) in out.chunks_mut(width).enumerate() {
            let work = &work;
            scope.spawn(move || work(i * width, chunk));
        }
    });
}

/// Dot product of two equal-length slices.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_inverse_matches_identity() {
        // A Kac-Murdock-Szego matrix (rho = 0.9) is symmetric positive definite.
        let n = 300;
        let a = Array2::from_shape_fn((n, n), |(i, j)| 0.9f32.powi(i.abs_diff(j) as i32));
        let mut inv = a.clone();
        assert!(spd_inverse(&mut inv));
        let id = a.dot(&inv);
        for i in 0..n {
            for j in 0..n {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((id[[i, j]] - want).abs() < 1e-3, "{i},{j}: {}", id[[i, j]]);
            }
        }
    }

    #[test]
    fn the_parallel_product_matches_the_plain_one() {
        let a = Array2::from_shape_fn((40, 30), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let b = Array2::from_shape_fn((30, 600), |(i, j)| ((i * 5 + j) % 13) as f32 * 0.5);
        let want = a.dot(&b);
        let got = par_dot(&a, &b);
        assert!(want.iter().zip(&got).all(|(w, g)| (w - g).abs() < 1e-3));
    }

    #[test]
    fn cholesky_solves_a_small_system() {
        let mut a = vec![4.0, 1.0, 1.0, 3.0];
        let mut b = vec![1.0, 2.0];
        assert!(cholesky_solve(&mut a, &mut b, 2));
        assert!((b[0] - 1.0 / 11.0).abs() < 1e-12 && (b[1] - 7.0 / 11.0).abs() < 1e-12);
    }
}
