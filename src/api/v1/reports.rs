//! `/api/v1/reports/{campaign_id}`: a campaign's feedback report (the
//! JSON of `herald report --format json`).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::Id;
use crate::api::AppState;
use crate::api::error::{ErrorBody, JsonError};
use crate::report::output::to_json;
use crate::report::{ReportOptions, Windows, build};

/// The campaign's report: groups by run, variant, segment and channel.
#[utoipa::path(operation_id = "get_report", get, path = "/api/v1/reports/{campaign_id}", tag = "reports",
    security(("bearer" = [])),
    params(("campaign_id" = i64, Path, description = "the campaign id")),
    responses((status = 200, description = "the report (as `herald report --format json`)",
        content_type = "application/json", body = Object),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Id(campaign_id): Id,
) -> Result<impl IntoResponse, JsonError> {
    let windows = Windows::from_settings(&state.settings.feedback);
    let report = build(
        &state.store,
        &ReportOptions::new(Some(campaign_id), windows),
    )
    .await?;
    let text = to_json(&report)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text))
}
