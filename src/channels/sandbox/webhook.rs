//! A webhook receiver: takes the signed JSON `POST`s of the webhook
//! adapter on any path and checks them as a careful customer would.
//!
//! Checks, in order: the method is `POST` (405), `X-Herald-Timestamp` and
//! `X-Herald-Signature` verify under the shared secret within five minutes
//! of the sandbox clock (401, via [`verify`]), `Idempotency-Key` is present
//! (400) and the body is JSON (400); then the shared faults. A webhook's
//! recipient is its endpoint, so the address the faults are asked about
//! (and the record shows) is the request path: a dead path or `Gone` is
//! 410, `Throttled` 429 with Retry-After, `Internal` 500, `Unavailable`
//! 503, `AuthExpired` 401, `Custom` its status. Success is 200 with an
//! `X-Request-Id` of `wh_` + 32 hex digits, echoed in the JSON body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::faults::Failure;
use super::record::{Received, header_pairs};
use super::server::{bind, serve};
use super::{Running, SandboxError, Shared};
use crate::channels::clock::Clock;
use crate::channels::webhook::{
    IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookConfig, verify,
};
use crate::config::Secret;

/// The record's name for this provider.
pub const PROVIDER: &str = "webhook";
/// The signing secret the sandbox accepts by default.
pub const DEMO_WEBHOOK_SECRET: &str = "sandbox-webhook-secret";
/// The path [`super::Sandbox::demo_webhook_config`] posts to.
pub const DEMO_WEBHOOK_PATH: &str = "/webhook";
/// How far the signing time may be from the sandbox clock, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// The webhook sandbox's settings.
#[derive(Debug, Clone)]
pub struct WebhookSandboxConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The shared HMAC secret signatures must verify under.
    pub secret: String,
}

impl Default for WebhookSandboxConfig {
    /// The demo secret on 127.0.0.1, any port.
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            secret: DEMO_WEBHOOK_SECRET.to_owned(),
        }
    }
}

/// The handler's state.
struct WebhookState {
    /// The settings.
    config: WebhookSandboxConfig,
    /// Faults and record.
    shared: Shared,
    /// The clock signatures are checked against.
    clock: Clock,
}

/// An error answer.
struct Refusal {
    /// HTTP status.
    status: u16,
    /// Why, for the JSON body.
    message: String,
    /// Retry-After, for transient failures.
    retry_after: Option<Duration>,
}

impl Refusal {
    /// A refusal without Retry-After.
    fn new(status: u16, message: &str) -> Self {
        Self {
            status,
            message: message.to_owned(),
            retry_after: None,
        }
    }
}

/// Binds and starts the webhook receiver.
pub(super) async fn start(
    config: &WebhookSandboxConfig,
    shared: &Shared,
) -> Result<Running, SandboxError> {
    let listener = bind(PROVIDER, config.bind).await?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        provider: PROVIDER,
        addr: config.bind,
        source,
    })?;
    let state = Arc::new(WebhookState {
        config: config.clone(),
        shared: shared.clone(),
        clock: Clock::system(),
    });
    let router = Router::new().fallback(receive).with_state(state);
    let handle = serve(PROVIDER, listener, router, None, shared.record.clone());
    Ok(Running {
        url: format!("http://{addr}"),
        handle,
    })
}

impl super::Sandbox {
    /// A webhook adapter configuration posting to this sandbox's receiver
    /// with the demo secret; valid while the receiver runs with its
    /// default settings.
    pub fn demo_webhook_config(&self) -> WebhookConfig {
        WebhookConfig {
            url: super::parse_url(&format!("{}{DEMO_WEBHOOK_PATH}", self.webhook_url)),
            secret: Secret::new(DEMO_WEBHOOK_SECRET),
            timeout: Duration::from_secs(15),
        }
    }
}

/// Any request: checked, recorded, answered.
async fn receive(
    State(state): State<Arc<WebhookState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let refusal = match check(&state, &method, &headers, &body) {
        Ok(()) => injected(&state, &path).await,
        Err(refusal) => Some(refusal),
    };
    state.shared.record.push(Received {
        provider: PROVIDER,
        method: method.as_str().to_owned(),
        path: path.clone(),
        headers: header_pairs(&headers),
        body: body.to_vec(),
        address: Some(path),
        status: refusal.as_ref().map_or(200, |r| r.status),
        at: SystemTime::now(),
    });
    match refusal {
        Some(refusal) => refuse(&refusal),
        None => accept(),
    }
}

/// Method, signature, idempotency key and body, as a receiver checks them.
fn check(
    state: &WebhookState,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    if method != Method::POST {
        return Err(Refusal::new(405, "webhooks are POSTed"));
    }
    if !signed(state, headers, body) {
        return Err(Refusal::new(401, "signature does not verify"));
    }
    header(headers, IDEMPOTENCY_HEADER)
        .filter(|key| !key.is_empty())
        .ok_or_else(|| Refusal::new(400, "Idempotency-Key is required"))?;
    serde_json::from_slice::<serde_json::Value>(body)
        .map(|_| ())
        .map_err(|_| Refusal::new(400, "body is not JSON"))
}

/// Whether the timestamp and signature headers verify over `body`.
fn signed(state: &WebhookState, headers: &HeaderMap, body: &[u8]) -> bool {
    let timestamp = header(headers, TIMESTAMP_HEADER).and_then(|t| t.trim().parse::<i64>().ok());
    let (Some(timestamp), Some(signature)) = (timestamp, header(headers, SIGNATURE_HEADER)) else {
        return false;
    };
    verify(
        state.config.secret.as_bytes(),
        timestamp,
        body,
        signature,
        state.clock.now(),
        TOLERANCE_SECS,
    )
}

/// The value of header `name`, if it is text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// The injected fault for `path`, after its latency.
async fn injected(state: &WebhookState, path: &str) -> Option<Refusal> {
    let decision = state.shared.faults.decide(path);
    decision.wait().await;
    let mut refusal = match decision.failure? {
        Failure::Gone => Refusal::new(410, "endpoint is gone"),
        Failure::Throttled => Refusal::new(429, "too many requests"),
        Failure::Internal => Refusal::new(500, "internal server error"),
        Failure::Unavailable => Refusal::new(503, "service unavailable"),
        Failure::AuthExpired => Refusal::new(401, "credentials expired"),
        Failure::Custom { status, reason } => Refusal::new(status, &reason),
    };
    refusal.retry_after = decision.retry_after;
    Some(refusal)
}

/// 200 with a fresh request id in `X-Request-Id` and the body.
fn accept() -> Response {
    let id = format!("wh_{:032x}", rand::random::<u128>());
    let mut response = axum::Json(json!({ "received": true, "id": id })).into_response();
    if let Ok(value) = id.parse() {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// An error body `{"error"}`, with Retry-After when set.
fn refuse(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "error": refusal.message });
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(after) = refusal.retry_after
        && let Ok(value) = after.as_secs().to_string().parse()
    {
        response.headers_mut().insert("retry-after", value);
    }
    response
}
