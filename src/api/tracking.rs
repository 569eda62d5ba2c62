//! The tracking routes: `/t/c/{token}` (click: record, then 302 to the
//! signed destination), `/t/o/{token}` (open pixel: record, then a 1x1
//! GIF) and `/t/r/{token}` (SMS StatusCallback: `delivered`, `failed`).
//!
//! The token is verified before anything is read from it or recorded. A
//! click or open whose recording fails still gets its redirect or pixel
//! (a broken link would hurt more than a lost count; the loss is logged).
//! `HEAD` requests (link scanners, prefetchers) get the same answer and
//! record nothing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::domain::now_millis;
use crate::feedback::events::{event, sms_receipt};
use crate::feedback::{LinkError, LinkKind};
use crate::store::NewFeedback;

/// A transparent 1x1 GIF (43 bytes).
pub const PIXEL_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// Records an event whose loss must not break the recipient's request.
async fn record_best_effort(state: &AppState, row: NewFeedback) {
    let kind = row.kind.clone();
    super::metrics::global().tracking_hit(&kind);
    if let Err(e) = state.recorder.record(row).await {
        tracing::error!(%kind, error = %e, "feedback event lost");
    }
}

/// `GET /t/c/{token}`.
pub async fn click(
    State(state): State<AppState>,
    method: Method,
    Path(text): Path<String>,
) -> Result<Response, ApiError> {
    let token = state.links.key().verify(&text, LinkKind::Click)?;
    let location = token
        .destination
        .as_deref()
        .and_then(|d| HeaderValue::from_str(d).ok())
        .ok_or(ApiError::InvalidLink(LinkError::Malformed))?;
    if method != Method::HEAD {
        record_best_effort(&state, event(&token, "click", "link", now_millis())).await;
    }
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
        ],
    )
        .into_response())
}

/// `GET /t/o/{token}`.
pub async fn open(
    State(state): State<AppState>,
    method: Method,
    Path(text): Path<String>,
) -> Result<Response, ApiError> {
    let token = state.links.key().verify(&text, LinkKind::Open)?;
    if method != Method::HEAD {
        record_best_effort(&state, event(&token, "open", "link", now_millis())).await;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PIXEL_GIF,
    )
        .into_response())
}

/// `POST /t/r/{token}`: a Twilio StatusCallback form (`MessageStatus`,
/// `ErrorCode`). Intermediate statuses are acknowledged and not recorded;
/// a store failure answers 503 so the provider retries.
pub async fn receipt(
    State(state): State<AppState>,
    Path(text): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let token = state.links.key().verify(&text, LinkKind::Receipt)?;
    let field = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let status = field("MessageStatus").ok_or(ApiError::BadRequest(
        "a receipt needs a MessageStatus field",
    ))?;
    let code = field("ErrorCode");
    if let Some(row) = sms_receipt(&token, &status, code.as_deref(), now_millis()) {
        state.recorder.record(row).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
