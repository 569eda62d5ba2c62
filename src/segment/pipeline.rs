//! The feature pipeline's second half, in one place: fill missing values,
//! clip outliers, standardise. Fitted on the training population and stored
//! with the segment model, so a new user is transformed exactly like the
//! users the model was trained on.
//!
//! - Fill: recency of a user with no events is the largest observed
//!   recency (they are the most lapsed); every other missing value is the
//!   column's median.
//! - Clip: each column to its 1st..99th percentile.
//! - Standardise: subtract the mean, divide by the standard deviation (1
//!   for a constant column, so it contributes nothing).
//! - Weight: behaviour (RFM, category mix, price level) counts fully,
//!   engagement a little less, demographics and platforms about half, so
//!   segments are about what people do more than who they are, and a rare
//!   one-hot column (a small country) cannot carve out a segment alone.

use super::features::Feature;
use ndarray::{Array2, ArrayView1, Axis};

/// Fitted fill, clip and scale parameters, one entry per column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pipeline {
    /// Value used where a column is missing.
    pub fill: Vec<f64>,
    /// Lower clip bound (1st percentile).
    pub lo: Vec<f64>,
    /// Upper clip bound (99th percentile).
    pub hi: Vec<f64>,
    /// Mean after filling and clipping.
    pub mean: Vec<f64>,
    /// Standard deviation after filling and clipping (1 when constant).
    pub std: Vec<f64>,
    /// How much the column counts in distances (see [`Feature::weight`]).
    pub weight: Vec<f64>,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn known_sorted(column: ArrayView1<f64>) -> Vec<f64> {
    let mut known: Vec<f64> = column.iter().copied().filter(|v| v.is_finite()).collect();
    known.sort_by(f64::total_cmp);
    known
}

impl Pipeline {
    /// Fits the pipeline on raw values (`NaN` = missing).
    pub fn fit(features: &[Feature], values: &Array2<f64>) -> Pipeline {
        let mut p = Pipeline {
            fill: vec![],
            lo: vec![],
            hi: vec![],
            mean: vec![],
            std: vec![],
            weight: vec![],
        };
        for (j, feature) in features.iter().enumerate() {
            let sorted = known_sorted(values.column(j));
            let (lo, hi) = (percentile(&sorted, 0.01), percentile(&sorted, 0.99));
            let fill = match feature {
                Feature::Recency => sorted.last().copied().unwrap_or(0.0),
                _ => percentile(&sorted, 0.5),
            };
            p.fill.push(fill);
            p.lo.push(lo);
            p.hi.push(hi);
            let cleaned = values.column(j).mapv(|v| p.clean(j, v));
            let mean = cleaned.mean().unwrap_or(0.0);
            let std = cleaned.std(0.0);
            p.mean.push(mean);
            p.std.push(if std > 1e-12 { std } else { 1.0 });
            p.weight.push(feature.weight());
        }
        p
    }

    /// Fills and clips one value of column `j`.
    fn clean(&self, j: usize, value: f64) -> f64 {
        let v = if value.is_finite() {
            value
        } else {
            self.fill[j]
        };
        v.clamp(self.lo[j].min(self.hi[j]), self.hi[j].max(self.lo[j]))
    }

    /// Transforms one user's raw row into the model's space.
    pub fn transform_row(&self, raw: ArrayView1<f64>) -> Vec<f64> {
        raw.iter()
            .enumerate()
            .map(|(j, &v)| self.weight[j] * (self.clean(j, v) - self.mean[j]) / self.std[j])
            .collect()
    }

    /// Transforms every row.
    pub fn transform(&self, raw: &Array2<f64>) -> Array2<f64> {
        let mut out = raw.clone();
        for (mut row, raw_row) in out.axis_iter_mut(Axis(0)).zip(raw.axis_iter(Axis(0))) {
            for (j, v) in self.transform_row(raw_row).into_iter().enumerate() {
                row[j] = v;
            }
        }
        out
    }

    /// Maps a model-space value of column `j` back to standard deviations
    /// from the population mean.
    pub fn to_z(&self, j: usize, value: f64) -> f64 {
        value / self.weight[j]
    }

    /// Maps a model-space value of column `j` back to raw units.
    pub fn to_raw(&self, j: usize, value: f64) -> f64 {
        self.to_z(j, value) * self.std[j] + self.mean[j]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn missing_values_are_filled_outliers_clipped_and_columns_standardised() {
        let features = vec![Feature::Age, Feature::Recency];
        let mut values = array![[f64::NAN, f64::NAN], [500.0, 2.0]];
        for i in 0..201 {
            let row = [10.0 + f64::from(i % 41), f64::from(i % 7)];
            values.push_row(ndarray::ArrayView1::from(&row)).unwrap();
        }
        let p = Pipeline::fit(&features, &values);
        assert_eq!(
            p.fill,
            vec![30.0, 6.0],
            "age by median, recency by the maximum"
        );
        assert!(p.hi[0] < 500.0, "the 500-year-old is clipped");
        let z = p.transform(&values);
        let mean = z.column(0).mean().unwrap();
        assert!(mean.abs() < 1e-9);
        assert!(
            (z.column(0).std(0.0) - p.weight[0]).abs() < 1e-9,
            "unit variance times the weight"
        );
    }

    #[test]
    fn a_constant_column_scales_to_zero_not_nan() {
        let values = array![[1.0], [1.0], [1.0]];
        let p = Pipeline::fit(&[Feature::Frequency], &values);
        assert!(p.transform(&values).iter().all(|v| *v == 0.0));
    }
}
