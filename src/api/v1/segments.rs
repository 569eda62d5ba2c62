//! `/api/v1/segments`: the active segment model's segments, described in
//! words, with their sizes and centroids.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::Id;
use crate::api::AppState;
use crate::api::error::{ErrorBody, JsonError};
use crate::store::SegmentRow;

/// One segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Segment {
    /// Its number within the model (0 = largest).
    pub segment_id: i32,
    /// The plain-words description.
    pub description: String,
    /// Users assigned at training time.
    pub size: i64,
    /// The centroid: feature name → raw value.
    #[schema(value_type = Object)]
    pub centroid: serde_json::Value,
}

/// The active model's segments.
#[derive(Debug, Serialize, ToSchema)]
pub struct Segments {
    /// The active segment model (its version), none before `herald segment train`.
    pub model_id: Option<i64>,
    /// Its segments, largest first.
    pub segments: Vec<Segment>,
}

fn segment(row: SegmentRow) -> Segment {
    Segment {
        segment_id: row.segment_id,
        description: row.description,
        size: row.size,
        centroid: serde_json::from_str(&row.centroid).unwrap_or_default(),
    }
}

/// The active model's segments (empty before any training).
#[utoipa::path(operation_id = "list_segments", get, path = "/api/v1/segments", tag = "segments",
    security(("bearer" = [])),
    responses((status = 200, body = Segments), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Segments>, JsonError> {
    let Some(model) = state.store.active_segment_model().await? else {
        return Ok(Json(Segments {
            model_id: None,
            segments: Vec::new(),
        }));
    };
    let rows = state.store.segments(model.model_id).await?;
    Ok(Json(Segments {
        model_id: Some(model.model_id),
        segments: rows.into_iter().map(segment).collect(),
    }))
}

/// One segment of the active model.
#[utoipa::path(operation_id = "get_segment", get, path = "/api/v1/segments/{id}", tag = "segments",
    security(("bearer" = [])), params(("id" = i32, Path, description = "the segment number")),
    responses((status = 200, body = Segment), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, Id(id): Id) -> Result<Json<Segment>, JsonError> {
    let missing = || {
        JsonError::not_found(format!(
            "no segment {id} in the active model; GET /api/v1/segments lists them"
        ))
    };
    let model = state
        .store
        .active_segment_model()
        .await?
        .ok_or_else(missing)?;
    let rows = state.store.segments(model.model_id).await?;
    rows.into_iter()
        .find(|r| i64::from(r.segment_id) == id)
        .map(|r| Json(segment(r)))
        .ok_or_else(missing)
}
