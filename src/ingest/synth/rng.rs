//! Random streams and the few draws the generator needs.
//!
//! Every stage and every user gets its own ChaCha8 stream, keyed by the seed
//! and numbered by (stage, index), so what user 17 does never depends on how
//! many numbers user 16 happened to draw, and the output is byte-identical
//! for a seed whatever the iteration order.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Exp1, Gamma, StandardNormal};

/// The independent streams, one per stage of the generation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    Catalog = 1,
    Lifecycle = 2,
    Profile = 3,
    Events = 4,
    Devices = 5,
}

/// The random stream of `index` within `stage` for `seed`.
pub(crate) fn stream(seed: u64, stage: Stream, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((stage as u64) << 56) | (index & ((1 << 56) - 1)));
    rng
}

/// True with probability `p` (clamped to `0..=1`, so it never panics).
pub(crate) fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A uniform draw in `(0, 1]`, safe to take the logarithm of.
pub(crate) fn open_unit(rng: &mut impl Rng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// A log-normal draw with the given log-mean and log-sd.
pub(crate) fn lognormal(rng: &mut impl Rng, mu: f64, sigma: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    (mu + sigma * z).exp()
}

/// An exponential draw with the given mean.
pub(crate) fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    let e: f64 = Exp1.sample(rng);
    e * mean
}

/// A Gamma(shape, 1) draw; 0 for a non-positive shape.
pub(crate) fn gamma(rng: &mut impl Rng, shape: f64) -> f64 {
    Gamma::new(shape, 1.0).map_or(0.0, |g| g.sample(rng))
}

/// A Beta(a, b) draw; 0.5 for invalid shapes.
pub(crate) fn beta(rng: &mut impl Rng, a: f64, b: f64) -> f64 {
    Beta::new(a, b).map_or(0.5, |d| d.sample(rng))
}

/// `x` rounded to `decimals` decimal places, so the published truth is short
/// and is exactly the value the generator used.
pub(crate) fn rounded(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// Picks from a short weighted list by a linear scan (first entry if all weights are 0).
pub(crate) fn pick<T: Copy>(rng: &mut impl Rng, choices: &[(T, f64)]) -> Option<T> {
    let total: f64 = choices.iter().map(|(_, w)| w).sum();
    let mut target = rng.random::<f64>() * total;
    for &(value, weight) in choices {
        if target < weight {
            return Some(value);
        }
        target -= weight;
    }
    choices.last().map(|&(value, _)| value)
}

/// Picks an element of a slice with probability proportional to `weight`.
pub(crate) fn pick_by<'a, T>(
    rng: &mut impl Rng,
    choices: &'a [T],
    weight: impl Fn(&T) -> f64,
) -> Option<&'a T> {
    let total: f64 = choices.iter().map(&weight).sum();
    let mut target = rng.random::<f64>() * total;
    for choice in choices {
        let w = weight(choice);
        if target < w {
            return Some(choice);
        }
        target -= w;
    }
    choices.last()
}

/// Picks one element of a slice uniformly.
pub(crate) fn one_of<'a, T>(rng: &mut impl Rng, choices: &'a [T]) -> Option<&'a T> {
    if choices.is_empty() {
        return None;
    }
    choices.get(rng.random_range(0..choices.len()))
}

/// Draws `n` sorted uniforms on `[0, 1)` one at a time, in increasing order,
/// without storing them (the minimum of the remaining uniforms, each step).
pub(crate) struct SortedUniforms {
    /// How many values are still to come.
    remaining: u64,
    /// The last value returned (0 before the first).
    last: f64,
}

impl SortedUniforms {
    pub(crate) fn new(n: u64) -> Self {
        Self {
            remaining: n,
            last: 0.0,
        }
    }

    /// The next value, or `None` once `n` values were returned.
    pub(crate) fn next(&mut self, rng: &mut impl Rng) -> Option<f64> {
        if self.remaining == 0 {
            return None;
        }
        let u = open_unit(rng);
        let step = 1.0 - u.powf(1.0 / self.remaining as f64);
        self.last += (1.0 - self.last) * step;
        self.remaining -= 1;
        Some(self.last.min(1.0 - f64::EPSILON))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_uniforms_are_increasing_and_spread_over_the_unit_interval() {
        let mut rng = stream(7, Stream::Events, 3);
        let mut sorted = SortedUniforms::new(10_000);
        let mut values = Vec::new();
        while let Some(v) = sorted.next(&mut rng) {
            values.push(v);
        }
        assert_eq!(values.len(), 10_000);
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
        let below_half = values.iter().filter(|&&v| v < 0.5).count();
        assert!((4_700..5_300).contains(&below_half), "{below_half}");
    }

    #[test]
    fn streams_differ_by_stage_index_and_seed() {
        let first = |seed, stage, index| stream(seed, stage, index).random::<u64>();
        let base = first(1, Stream::Events, 0);
        assert_ne!(base, first(1, Stream::Events, 1));
        assert_ne!(base, first(1, Stream::Devices, 0));
        assert_ne!(base, first(2, Stream::Events, 0));
        assert_eq!(base, first(1, Stream::Events, 0));
    }
}
