//! `/api/v1/campaigns`: list, create (the campaign file as the JSON body,
//! validated like `herald campaign create`; `?draft=true` for a draft),
//! read, replace a draft's file, schedule a draft, pause, resume, cancel,
//! and preview the messages one user would get now.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Id, body_text, engine};
use crate::api::AppState;
use crate::api::error::{ErrorBody, JsonError};
use crate::campaign::engine::CampaignError;
use crate::campaign::lifecycle::Transition;
use crate::campaign::plan::campaign_file;
use crate::campaign::spec::passed_at;
use crate::domain::{millis_to_rfc3339, now_millis};
use crate::store::CampaignRow;

/// A campaign in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignSummary {
    /// Its id.
    pub campaign_id: i64,
    /// Its name.
    pub name: String,
    /// `draft`, `scheduled`, `paused`, `cancelled` or `done`.
    pub status: String,
    /// Creation time (ms since the epoch).
    pub created_at: i64,
    /// Last change (ms since the epoch).
    pub updated_at: i64,
}

/// A campaign with the file it was created from.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignDetail {
    /// The campaign.
    #[serde(flatten)]
    pub summary: CampaignSummary,
    /// The file's format, `json` or `toml`.
    pub format: String,
    /// The campaign file as given.
    pub text: String,
}

/// The id of a created campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// The new campaign's id.
    pub campaign_id: i64,
}

/// What a status change did.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChange {
    /// The campaign.
    pub campaign_id: i64,
    /// Its status now.
    pub status: String,
    /// Its status before.
    pub previous_status: String,
    /// Pending messages cancelled (cancel only).
    pub messages_cancelled: u64,
}

/// One previewed message.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewMessage {
    /// `push`, `email`, `sms` or `webhook`.
    pub channel: String,
    /// The rendered message (its `kind` says which shape).
    #[schema(value_type = Object)]
    pub message: serde_json::Value,
}

/// The messages one user would get now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// The campaign.
    pub campaign_id: i64,
    /// The user.
    pub user_id: String,
    /// One per campaign channel the user can be reached on.
    pub messages: Vec<PreviewMessage>,
}

/// The preview's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The user to preview for.
    pub user: Option<String>,
}

fn summary(row: &CampaignRow) -> CampaignSummary {
    CampaignSummary {
        campaign_id: row.campaign_id,
        name: row.name.clone(),
        status: row.status.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Every campaign.
#[utoipa::path(operation_id = "list_campaigns", get, path = "/api/v1/campaigns", tag = "campaigns",
    security(("bearer" = [])),
    responses((status = 200, body = [CampaignSummary]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<CampaignSummary>>, JsonError> {
    let rows = state.store.campaigns().await?;
    Ok(Json(rows.iter().map(summary).collect()))
}

/// The create query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// Store the campaign as an editable draft, never sent until
    /// `POST /campaigns/{id}/schedule`.
    #[serde(default)]
    pub draft: bool,
    /// Accept a `schedule.at` that has passed (the campaign is then sent
    /// at the scheduler's next tick); without it such a file answers 400.
    #[serde(default)]
    pub now: bool,
}

/// Whether a body is TOML (`Content-Type: application/toml`), else JSON.
fn is_toml(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("toml"))
}

/// Creates a campaign from its file: JSON (or TOML with
/// `Content-Type: application/toml`), validated like `herald campaign create`.
#[utoipa::path(operation_id = "create_campaign", post, path = "/api/v1/campaigns", tag = "campaigns",
    security(("bearer" = [])), params(CreateQuery),
    request_body(content = Object, description = "the campaign file (SPEC §4) as JSON"),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Query(query): Query<CreateQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Created>), JsonError> {
    let text = body_text(body)?;
    let (json, now) = (!is_toml(&headers), now_millis());
    if let Some(at) = passed_at(&text, json, now).filter(|_| !query.draft && !query.now) {
        return Err(JsonError::invalid(
            "schedule.at",
            format!(
                "{} has passed: give a future time, or add ?now=true to send it at the \
                 scheduler's next tick",
                millis_to_rfc3339(at)
            ),
        ));
    }
    let campaign_id = engine(&state)
        .create_from_text(&text, json, query.draft, now)
        .await?;
    Ok((StatusCode::CREATED, Json(Created { campaign_id })))
}

/// Replaces a draft's file (validated like a new campaign); any other
/// status answers 409.
#[utoipa::path(operation_id = "update_campaign", put, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    security(("bearer" = [])), params(("id" = i64, Path, description = "the campaign id")),
    request_body(content = Object, description = "the new campaign file (SPEC §4) as JSON"),
    responses((status = 200, body = CampaignDetail), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CampaignDetail>, JsonError> {
    let text = body_text(body)?;
    engine(&state)
        .update_from_text(id, &text, !is_toml(&headers), "request", now_millis())
        .await?;
    get(State(state), Id(id)).await
}

/// One campaign with its file.
#[utoipa::path(operation_id = "get_campaign", get, path = "/api/v1/campaigns/{id}", tag = "campaigns",
    security(("bearer" = [])), params(("id" = i64, Path, description = "the campaign id")),
    responses((status = 200, body = CampaignDetail), (status = 404, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<CampaignDetail>, JsonError> {
    let row = state
        .store
        .campaign(id)
        .await?
        .ok_or(CampaignError::UnknownCampaign(id))?;
    let (format, text) = campaign_file(&row);
    Ok(Json(CampaignDetail {
        summary: summary(&row),
        format,
        text,
    }))
}

async fn transition(
    state: &AppState,
    id: i64,
    transition: Transition,
) -> Result<Json<StatusChange>, JsonError> {
    let changed = engine(state)
        .change_status(id, transition, now_millis())
        .await?;
    Ok(Json(StatusChange {
        campaign_id: id,
        status: changed.status.to_owned(),
        previous_status: changed.previous_status,
        messages_cancelled: changed.messages_cancelled,
    }))
}

/// Schedules a draft: from now on it runs on its schedule.
#[utoipa::path(operation_id = "schedule_campaign", post, path = "/api/v1/campaigns/{id}/schedule", tag = "campaigns",
    security(("bearer" = [])), params(("id" = i64, Path, description = "the campaign id")),
    responses((status = 200, body = StatusChange), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn schedule(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<StatusChange>, JsonError> {
    transition(&state, id, Transition::Schedule).await
}

/// Pauses a scheduled campaign.
#[utoipa::path(operation_id = "pause_campaign", post, path = "/api/v1/campaigns/{id}/pause", tag = "campaigns",
    security(("bearer" = [])), params(("id" = i64, Path, description = "the campaign id")),
    responses((status = 200, body = StatusChange), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn pause(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<StatusChange>, JsonError> {
    transition(&state, id, Transition::Pause).await
}

/// Schedules a paused campaign again.
#[utoipa::path(operation_id = "resume_campaign", post, path = "/api/v1/campaigns/{id}/resume", tag = "campaigns",
    security(("bearer" = [])), params(("id" = i64, Path, description = "the campaign id")),
    responses((status = 200, body = StatusChange), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn resume(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<StatusChange>, JsonError> {
    transition(&state, id, Transition::Resume).await
}

/// Cancels a campaign and its pending messages.
#[utoipa::path(operation_id = "cancel_campaign", post, path = "/api/v1/campaigns/{id}/cancel", tag = "campaigns",
    security(("bearer" = [])), params(("id" = i64, Path, description = "the campaign id")),
    responses((status = 200, body = StatusChange), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<StatusChange>, JsonError> {
    transition(&state, id, Transition::Cancel).await
}

/// The messages a user would get now, per channel they can be reached on.
#[utoipa::path(operation_id = "preview_campaign", get, path = "/api/v1/campaigns/{id}/preview", tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "the campaign id"), PreviewQuery),
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    Id(id): Id,
    Query(query): Query<PreviewQuery>,
) -> Result<Json<Preview>, JsonError> {
    let user = query
        .user
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| JsonError::invalid("user", "give the user to preview for: ?user=ID"))?;
    let messages = engine(&state).preview(id, &user, now_millis()).await?;
    Ok(Json(Preview {
        campaign_id: id,
        user_id: user,
        messages: messages
            .into_iter()
            .map(|(channel, message)| PreviewMessage {
                channel: channel.as_str().to_owned(),
                message: serde_json::to_value(message).unwrap_or_default(),
            })
            .collect(),
    }))
}
