//! Per-user privacy requests over HTTP: export everything held about a
//! user, and erase the user's personal data, stored ranking models
//! included (see [`crate::rank::privacy`]). They sit behind the
//! authenticated `/api/v1` router at `GET /api/v1/users/{id}/export` and
//! `POST /api/v1/users/{id}/erase`.

use axum::Json;
use axum::extract::{Path, State};

use super::AppState;
use super::error::JsonError;
use crate::rank::RankError;
use crate::rank::privacy;
use crate::store::{Erasure, UserExport};

/// Longest user id accepted, as the import format allows.
const MAX_USER_ID: usize = 256;

/// A failed request: the store's errors as usual, the rest logged.
fn failed(error: RankError) -> JsonError {
    match error {
        RankError::Store(e) => e.into(),
        e => {
            tracing::error!(error = %e, "privacy request failed");
            JsonError::internal()
        }
    }
}

/// Refuses an empty or overlong user id.
fn checked(user_id: &str) -> Result<&str, JsonError> {
    if user_id.trim().is_empty() || user_id.len() > MAX_USER_ID {
        return Err(JsonError::invalid(
            "id",
            format!("a user id is 1 to {MAX_USER_ID} characters"),
        ));
    }
    Ok(user_id)
}

/// Export: the user's data as one JSON document; 404 when herald holds
/// nothing about the user.
#[utoipa::path(operation_id = "export_user", get, path = "/api/v1/users/{id}/export", tag = "users",
    security(("bearer" = [])), params(("id" = String, Path, description = "the user id")),
    responses((status = 200, description = "everything held about the user"),
        (status = 404, body = super::error::ErrorBody), (status = 401, body = super::error::ErrorBody)))]
pub async fn export_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Json<UserExport>, JsonError> {
    let export = privacy::export_user(&state.store, checked(&user_id)?)
        .await
        .map_err(failed)?;
    if export.is_empty() {
        return Err(JsonError::not_found(format!(
            "no data held for user {user_id}"
        )));
    }
    Ok(Json(export))
}

/// Erase: removes the user's personal data, keeps anonymous aggregates;
/// answers what was done. Idempotent: a second call answers zeros.
#[utoipa::path(operation_id = "erase_user", post, path = "/api/v1/users/{id}/erase", tag = "users",
    security(("bearer" = [])), params(("id" = String, Path, description = "the user id")),
    responses((status = 200, description = "what was erased or pseudonymised"),
        (status = 401, body = super::error::ErrorBody)))]
pub async fn erase_user(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Json<Erasure>, JsonError> {
    let erasure = privacy::erase_user(&state.store, checked(&user_id)?)
        .await
        .map_err(failed)?;
    Ok(Json(erasure))
}
