//! `GET /api/v1/segments/{id}/users?after=ID&limit=N`: a keyset page of the
//! user ids in one segment of the active segment model, ascending.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Id;
use crate::api::AppState;
use crate::api::error::{ErrorBody, JsonError};

/// Page size when `limit` is not given.
const DEFAULT_LIMIT: u64 = 100;
/// The largest page served.
const MAX_LIMIT: u64 = 10_000;

/// Where a page starts and how long it is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The last user id of the previous page (none for the first page).
    pub after: Option<String>,
    /// Ids per page, 1 to 10000 (default 100).
    pub limit: Option<u64>,
}

/// One page of a segment's users.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentUsers {
    /// The active segment model.
    pub model_id: i64,
    /// The segment.
    pub segment_id: i32,
    /// The user ids, ascending.
    pub users: Vec<String>,
    /// The `after` of the next page; none on the last page.
    pub next_after: Option<String>,
}

/// The page size asked for, or the error naming the allowed range.
fn limit(raw: Option<u64>) -> Result<u64, JsonError> {
    match raw.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(JsonError::invalid(
            "limit",
            format!("{n} is out of range; use 1 to {MAX_LIMIT}"),
        )),
    }
}

/// A page of the user ids in a segment of the active model.
#[utoipa::path(operation_id = "list_segment_users", get, path = "/api/v1/segments/{id}/users",
    tag = "segments", security(("bearer" = [])),
    params(("id" = i32, Path, description = "the segment number"), PageQuery),
    responses((status = 200, body = SegmentUsers), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Id(id): Id,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SegmentUsers>, JsonError> {
    let Query(query) =
        query.map_err(|_| JsonError::invalid("limit", "`limit` must be a whole number"))?;
    let limit = limit(query.limit)?;
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
    let segments = state.store.segments(model.model_id).await?;
    let segment = segments
        .iter()
        .find(|s| i64::from(s.segment_id) == id)
        .ok_or_else(missing)?
        .segment_id;
    let users = state
        .store
        .segment_users(model.model_id, segment, query.after.as_deref(), limit)
        .await?;
    let next_after = (users.len() as u64 == limit)
        .then(|| users.last().cloned())
        .flatten();
    Ok(Json(SegmentUsers {
        model_id: model.model_id,
        segment_id: segment,
        users,
        next_after,
    }))
}
