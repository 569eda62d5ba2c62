//! The one place API errors become HTTP answers. The public routes answer
//! a few words of HTML for people following a link ([`ApiError`]); the
//! `/api/v1` routes answer `{ "error": { "code", "message", "field" } }`
//! ([`JsonError`]). The cause of a server-side failure goes to the log,
//! never into the body.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::campaign::engine::CampaignError;
use crate::feedback::LinkError;
use crate::report::ReportError;
use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A tracking or unsubscribe link that does not verify (tampered,
    /// forged, truncated, or used on another route): 404, nothing recorded.
    #[error("invalid link: {0}")]
    InvalidLink(#[from] LinkError),
    /// A request the route cannot take, with what it expects: 400.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The database failed: 503, so providers and mail clients retry.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A page failed to render: 500.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidLink(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The heading and sentence shown, free of internal details.
    fn words(&self) -> (&'static str, &'static str) {
        match self {
            Self::InvalidLink(_) => (
                "This link is not valid",
                "It may have been copied incompletely. Please use the link exactly as it appears in the message.",
            ),
            Self::BadRequest(what) => ("Bad request", what),
            Self::Store(_) | Self::Internal(_) => (
                "Something went wrong",
                "We could not complete your request. Please try again in a few minutes.",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::InvalidLink(e) => tracing::debug!(error = %e, "refused a link"),
            Self::BadRequest(_) => tracing::debug!(error = %self, "refused a request"),
            Self::Store(_) | Self::Internal(_) => tracing::error!(error = %self, "request failed"),
        }
        let (title, text) = self.words();
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
             <body style=\"font-family:Helvetica,Arial,sans-serif;max-width:480px;margin:48px auto;padding:0 16px;\">\
             <h1 style=\"font-size:22px;\">{title}</h1><p>{text}</p></body></html>\n"
        );
        (
            self.status(),
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response()
    }
}

/// An `/api/v1` failure, answered as
/// `{ "error": { "code": ..., "message": ..., "field": ... } }`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct JsonError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code, e.g. `invalid` or `unauthorized`.
    pub code: &'static str,
    /// What went wrong and what to do, free of internal detail.
    pub message: String,
    /// The request field at fault, e.g. `events[3].ts`, when there is one.
    pub field: Option<String>,
}

/// The body of a [`JsonError`] (for the OpenAPI document).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` object of an [`ErrorBody`].
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable machine-readable code.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
    /// The request field at fault, if any.
    pub field: Option<String>,
}

impl JsonError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// 400 `invalid`: the request field `field` is wrong.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid", message)
        }
    }

    /// 401 `unauthorized`: no key, or a key herald does not know.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`: the key was revoked.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 `conflict`: the resource's state forbids the action.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413 `too_large`: the body is over the limit.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 503 `unavailable`: the database failed (the cause is logged).
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is unavailable; retry later",
        )
    }

    /// 500 `internal` (the cause is logged, not shown).
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request failed on the server; retry later or check the server log",
        )
    }
}

impl From<StoreError> for JsonError {
    fn from(error: StoreError) -> Self {
        tracing::error!(error = %error, "api request failed in the store");
        Self::unavailable()
    }
}

impl From<CampaignError> for JsonError {
    fn from(error: CampaignError) -> Self {
        match error {
            CampaignError::Spec(e) => Self::invalid(e.field, e.reason),
            CampaignError::Templates { issues, .. } => Self::invalid("variants", issues),
            CampaignError::UnknownCampaign(id) => Self::not_found(format!(
                "no campaign {id}: GET /api/v1/campaigns lists the ids"
            )),
            CampaignError::UnknownUser(id) => Self {
                field: Some("user".into()),
                ..Self::not_found(format!(
                    "no user {id}: import the user first or check the id"
                ))
            },
            e @ (CampaignError::Status { .. }
            | CampaignError::Busy(_)
            | CampaignError::Unconfigured { .. }) => Self::conflict(e.to_string()),
            CampaignError::Store(e) => e.into(),
            CampaignError::Other(e) => {
                tracing::error!(error = %e, "api campaign request failed");
                Self::internal()
            }
        }
    }
}

impl From<ReportError> for JsonError {
    fn from(error: ReportError) -> Self {
        match error {
            ReportError::UnknownCampaign(id) => Self::not_found(format!(
                "no campaign {id}: GET /api/v1/campaigns lists the ids"
            )),
            ReportError::Store(e) => e.into(),
            e => {
                tracing::error!(error = %e, "api report failed");
                Self::internal()
            }
        }
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code, "message": self.message, "field": self.field }
        });
        (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(body),
        )
            .into_response()
    }
}
