//! The statistics of the report, on the normal distribution from `statrs`:
//! Wilson score intervals for rates (good coverage for small counts and
//! rates near 0, unlike the textbook Wald interval), the two-proportion
//! z-test with a pooled standard error for comparing variants, Newcombe's
//! hybrid score interval (his method 10, built from two Wilson intervals)
//! for the difference of two rates, and the Katz log interval for the
//! relative lift (risk ratio minus one). Every function returns `None`
//! where the statistic is undefined (no trials, no successes for a ratio)
//! rather than a NaN.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// The confidence level of every interval in the report.
pub const CONFIDENCE: f64 = 0.95;

/// An estimate with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The point estimate.
    pub estimate: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// A two-sided z-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ZTest {
    /// The z statistic (positive when the first rate is higher).
    pub z: f64,
    /// The two-sided p-value.
    pub p_value: f64,
}

/// The standard normal quantile for a two-sided interval at `confidence`
/// (1.959964 for 95 %).
pub fn z_quantile(confidence: f64) -> f64 {
    Normal::standard().inverse_cdf(1.0 - (1.0 - confidence) / 2.0)
}

/// The rate `successes / trials` with its Wilson score interval at
/// [`CONFIDENCE`]; `None` without trials.
pub fn wilson(successes: u64, trials: u64) -> Option<Interval> {
    if trials == 0 {
        return None;
    }
    let (n, z) = (trials as f64, z_quantile(CONFIDENCE));
    let p = successes.min(trials) as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Some(Interval {
        estimate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// Tests whether `x1/n1` and `x2/n2` differ (pooled standard error);
/// `None` when either group is empty. Equal rates of 0 or 1 give z = 0
/// and p = 1.
pub fn two_proportion_test(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<ZTest> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se == 0.0 {
        return Some(ZTest {
            z: 0.0,
            p_value: 1.0,
        });
    }
    let z = (p1 - p2) / se;
    let p_value = (2.0 * Normal::standard().sf(z.abs())).min(1.0);
    Some(ZTest { z, p_value })
}

/// The difference `x1/n1 - x0/n0` with Newcombe's hybrid score interval;
/// `None` when either group is empty.
pub fn difference(x1: u64, n1: u64, x0: u64, n0: u64) -> Option<Interval> {
    let (a, b) = (wilson(x1, n1)?, wilson(x0, n0)?);
    let d = a.estimate - b.estimate;
    let below = ((a.estimate - a.low).powi(2) + (b.high - b.estimate).powi(2)).sqrt();
    let above = ((a.high - a.estimate).powi(2) + (b.estimate - b.low).powi(2)).sqrt();
    Some(Interval {
        estimate: d,
        low: d - below,
        high: d + above,
    })
}

/// The relative lift `(x1/n1) / (x0/n0) - 1` with the Katz log interval
/// of the risk ratio; `None` when a group is empty or has no successes.
pub fn relative_lift(x1: u64, n1: u64, x0: u64, n0: u64) -> Option<Interval> {
    if x1 == 0 || x0 == 0 || n1 == 0 || n0 == 0 {
        return None;
    }
    let (x1, n1, x0, n0) = (x1 as f64, n1 as f64, x0 as f64, n0 as f64);
    let ratio = (x1 / n1) / (x0 / n0);
    let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x0 - 1.0 / n0).max(0.0).sqrt();
    let spread = z_quantile(CONFIDENCE) * se;
    Some(Interval {
        estimate: ratio - 1.0,
        low: (ratio.ln() - spread).exp() - 1.0,
        high: (ratio.ln() + spread).exp() - 1.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    fn bounds(i: Interval, low: f64, high: f64) {
        near(i.low, low, 0.00005);
        near(i.high, high, 0.00005);
    }

    #[test]
    fn the_95_percent_normal_quantile_is_1_96() {
        near(z_quantile(0.95), 1.959964, 1e-6);
    }

    /// Newcombe (1998), "Two-sided confidence intervals for the single
    /// proportion", Statistics in Medicine 17, table I, method 3 (Wilson).
    #[test]
    fn wilson_intervals_match_newcombes_table() {
        bounds(wilson(81, 263).unwrap(), 0.2553, 0.3662);
        bounds(wilson(15, 148).unwrap(), 0.0624, 0.1605);
        bounds(wilson(0, 20).unwrap(), 0.0, 0.1611);
        bounds(wilson(1, 29).unwrap(), 0.0061, 0.1718);
        assert_eq!(wilson(3, 0), None);
    }

    /// Agresti, An Introduction to Categorical Data Analysis, the Physicians'
    /// Health Study (myocardial infarction 189/11034 on placebo, 104/11037 on
    /// aspirin): Pearson X² = 25.01, so z = √25.01 = 5.00, p < 0.0001.
    #[test]
    fn the_two_proportion_test_matches_the_aspirin_study() {
        let t = two_proportion_test(189, 11034, 104, 11037).unwrap();
        near(t.z * t.z, 25.01, 0.01);
        assert!(t.p_value < 0.0001 && t.p_value > 0.0);
        let same = two_proportion_test(0, 10, 0, 20).unwrap();
        assert_eq!((same.z, same.p_value), (0.0, 1.0));
        assert_eq!(two_proportion_test(1, 0, 1, 2), None);
    }

    /// Newcombe (1998), "Interval estimation for the difference between
    /// independent proportions", Statistics in Medicine 17, example (a):
    /// 56/70 − 48/80, method 10 gives 0.0524 to 0.3339.
    #[test]
    fn the_difference_interval_matches_newcombes_example() {
        let d = difference(56, 70, 48, 80).unwrap();
        near(d.estimate, 0.2, 1e-12);
        bounds(d, 0.0524, 0.3339);
        // Agresti's aspirin data: difference 0.0077, interval (0.005, 0.011).
        let a = difference(189, 11034, 104, 11037).unwrap();
        near(a.estimate, 0.0077, 0.00005);
        near(a.low, 0.005, 0.0005);
        near(a.high, 0.011, 0.0005);
    }

    /// Agresti's aspirin data: relative risk 1.82 with interval (1.43, 2.30).
    #[test]
    fn the_relative_lift_is_the_risk_ratio_minus_one_with_its_log_interval() {
        let r = relative_lift(189, 11034, 104, 11037).unwrap();
        near(r.estimate + 1.0, 1.82, 0.005);
        near(r.low + 1.0, 1.43, 0.005);
        near(r.high + 1.0, 2.30, 0.01);
        assert_eq!(relative_lift(0, 100, 5, 100), None);
    }
}
