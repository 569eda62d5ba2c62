//! The one place API errors become HTTP answers. Bodies are a few words
//! of HTML for people following a link (or plain text for machines); the
//! cause goes to the log, never into the body.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::feedback::LinkError;
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
