//! A trained segmentation as data: the feature columns, the fitted
//! pipeline and the centroids. Serialised into the store as the model's
//! `params`, so any process can assign a new user without retraining.

use super::features::Feature;
use super::kmeans;
use super::pipeline::Pipeline;
use ndarray::{Array2, ArrayView1};

/// The parameters of one segment model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegmentModel {
    /// The feature columns, in order.
    pub features: Vec<Feature>,
    /// Fill, clip and scale, fitted at training time.
    pub pipeline: Pipeline,
    /// Standardised centroids, one row per segment (0 = largest).
    pub centroids: Vec<Vec<f64>>,
}

impl SegmentModel {
    /// The centroids as a matrix.
    fn centroid_matrix(&self) -> Array2<f64> {
        let k = self.centroids.len();
        let d = self.features.len();
        let flat: Vec<f64> = self.centroids.iter().flatten().copied().collect();
        Array2::from_shape_vec((k, d), flat).unwrap_or_else(|_| Array2::zeros((k, d)))
    }

    /// The segment of one user's raw feature row, and the distance to it.
    pub fn assign(&self, raw: ArrayView1<f64>) -> (usize, f64) {
        let z = self.pipeline.transform_row(raw);
        let (segment, d2) = kmeans::nearest(&self.centroid_matrix(), &z);
        (segment, d2.sqrt())
    }

    /// A centroid in raw units, by feature name, for display.
    pub fn raw_centroid(&self, segment: usize) -> serde_json::Map<String, serde_json::Value> {
        self.features
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let raw = self.pipeline.to_raw(j, self.centroids[segment][j]);
                (f.name(), serde_json::json!((raw * 1000.0).round() / 1000.0))
            })
            .collect()
    }
}
