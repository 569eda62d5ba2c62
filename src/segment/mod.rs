//! Segments: who the users are, in groups a marketer can read.
//!
//! Features come from the store (RFM, category shares, price level,
//! engagement, demographics, platforms: `features`), go through one fitted
//! pipeline (fill, clip, standardise: `pipeline`), and are clustered with
//! k-means (`kmeans`, k chosen by silhouette when not given). Every segment
//! is described in words from its centroid (`describe`). The model is
//! versioned in the store with every user's assignment; a new user is
//! assigned with the stored pipeline and centroids, without retraining.
//! Audiences are CEL expressions over user facts (`audience`), bounded in
//! size (`cel_limits`) and checked before use (`cel_check`).

pub mod audience;
pub mod cel_check;
pub mod cel_limits;
pub mod describe;
pub mod features;
pub mod kmeans;
pub mod model;
pub mod pipeline;

pub use model::SegmentModel;

use crate::store::{NewSegmentModel, SegmentRow, Store, StoreError};
use features::RawFeatures;
use ndarray::Axis;
use pipeline::Pipeline;

/// The k range tried when `--k` is not given.
pub const K_RANGE: std::ops::RangeInclusive<usize> = 2..=8;

/// How to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Number of segments; chosen by silhouette when `None`.
    pub k: Option<usize>,
    /// Seed for k-means and the silhouette sample.
    pub seed: u64,
    /// "Now" for recency, milliseconds since the epoch.
    pub now: i64,
}

/// What training did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    /// The stored model's id (its version).
    pub model_id: i64,
    /// The number of segments.
    pub k: usize,
    /// Silhouette per k tried (empty when k was given).
    pub silhouette: Vec<(usize, f64)>,
    /// The segments: id, description, size.
    pub segments: Vec<(i32, String, i64)>,
}

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Clustering failed (for example, fewer users than segments).
    #[error(transparent)]
    KMeans(#[from] kmeans::KMeansError),
    /// No model has been trained yet.
    #[error("no segment model yet: run `herald segment train`")]
    NoModel,
    /// The stored model could not be read.
    #[error("stored segment model {0} is unreadable: {1}")]
    BadModel(i64, String),
}

/// Trains a segment model on every user and stores it as the active one.
pub async fn train(store: &Store, options: &TrainOptions) -> Result<TrainReport, SegmentError> {
    let started = std::time::Instant::now();
    let raw = features::compute(store, options.now).await?;
    tracing::info!(users = raw.user_ids.len(), elapsed = ?started.elapsed(), "segment features read");
    let pipeline = Pipeline::fit(&raw.features, &raw.values);
    let data = pipeline.transform(&raw.values);
    let (k, scores) = match options.k {
        Some(k) => (k, Vec::new()),
        None => kmeans::choose_k(&data, K_RANGE, options.seed)?,
    };
    tracing::info!(k, elapsed = ?started.elapsed(), "segment count chosen");
    let clustering = kmeans::fit(&data, k, options.seed)?;
    tracing::info!(elapsed = ?started.elapsed(), "k-means fitted");
    let model = SegmentModel {
        features: raw.features.clone(),
        pipeline,
        centroids: clustering
            .centroids
            .axis_iter(Axis(0))
            .map(|c| c.to_vec())
            .collect(),
    };
    let segments = segment_rows(&model, &clustering.sizes);
    let assignments = assignments(&raw, &model, &clustering.labels, &data);
    let silhouette = scores.iter().find(|(s, _)| *s == k).map(|(_, v)| *v);
    let params =
        serde_json::to_string(&model).map_err(|e| SegmentError::BadModel(0, e.to_string()))?;
    let model_id = store
        .save_segment_model(NewSegmentModel {
            k: k as i32,
            params,
            silhouette,
            segments: &segments,
            assignments: &assignments,
            now: options.now,
        })
        .await?;
    Ok(TrainReport {
        model_id,
        k,
        silhouette: scores,
        segments: segments
            .into_iter()
            .map(|s| (s.segment_id, s.description, s.size))
            .collect(),
    })
}

fn segment_rows(model: &SegmentModel, sizes: &[u64]) -> Vec<SegmentRow> {
    (0..model.centroids.len())
        .map(|s| SegmentRow {
            segment_id: s as i32,
            description: describe::describe(&model.features, &model.pipeline, &model.centroids[s]),
            size: sizes[s] as i64,
            centroid: serde_json::Value::Object(model.raw_centroid(s)).to_string(),
        })
        .collect()
}

fn assignments(
    raw: &RawFeatures,
    model: &SegmentModel,
    labels: &[usize],
    data: &ndarray::Array2<f64>,
) -> Vec<(String, i32, f64)> {
    raw.user_ids
        .iter()
        .zip(labels)
        .zip(data.axis_iter(Axis(0)))
        .map(|((user, &label), z)| {
            let c = &model.centroids[label];
            let d = z
                .iter()
                .zip(c)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            (user.clone(), label as i32, d)
        })
        .collect()
}

/// The active model and its stored id.
pub async fn active_model(store: &Store) -> Result<(i64, SegmentModel), SegmentError> {
    let row = store
        .active_segment_model()
        .await?
        .ok_or(SegmentError::NoModel)?;
    let model = serde_json::from_str(&row.params)
        .map_err(|e| SegmentError::BadModel(row.model_id, e.to_string()))?;
    Ok((row.model_id, model))
}

/// Assigns every user who has no segment under the active model yet (new
/// users since training), without retraining; returns how many.
pub async fn assign_new_users(store: &Store, now: i64) -> Result<usize, SegmentError> {
    let (model_id, model) = active_model(store).await?;
    let known = store.segment_assignments(model_id).await?;
    let raw = features::compute(store, now).await?;
    let new: Vec<(String, i32, f64)> = raw
        .user_ids
        .iter()
        .zip(raw.values.axis_iter(Axis(0)))
        .filter(|(user, _)| !known.contains_key(*user))
        .map(|(user, row)| {
            let (segment, distance) = assign_by_name(&model, &raw, row);
            (user.clone(), segment as i32, distance)
        })
        .collect();
    store.assign_segments(model_id, &new).await?;
    Ok(new.len())
}

/// Assigns a raw row whose columns may differ from the model's (a category
/// that is new since training): columns are matched by name and a column
/// the row lacks counts as missing.
fn assign_by_name(
    model: &SegmentModel,
    raw: &RawFeatures,
    row: ndarray::ArrayView1<f64>,
) -> (usize, f64) {
    let aligned: Vec<f64> = model
        .features
        .iter()
        .map(|f| {
            raw.features
                .iter()
                .position(|g| g == f)
                .map_or(f64::NAN, |j| row[j])
        })
        .collect();
    model.assign(ndarray::ArrayView1::from(&aligned))
}
