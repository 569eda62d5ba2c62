//! An FCM HTTP v1 server with its OAuth2 token endpoint.
//!
//! `POST /token` takes the JWT bearer grant a service account makes
//! (RS256 assertion, checked against the configured public key, `aud` =
//! this token URI, `exp` within the hour, the firebase.messaging scope) and
//! issues short opaque access tokens; each request is recorded as provider
//! `fcm-oauth`, so tests can count them. `POST
//! /v1/projects/{project}/messages:send` checks the bearer (401
//! UNAUTHENTICATED), the project (403 SENDER_ID_MISMATCH) and the message
//! (400 INVALID_ARGUMENT: JSON, token format, string data values, reserved
//! keys, 4096 bytes), then applies the injected faults, answering with
//! Google's error JSON. Faults do not apply to the token endpoint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jsonwebtoken::DecodingKey;
use serde_json::{Value, json};

use super::credentials::{DEMO_FCM_CLIENT_EMAIL, DEMO_FCM_PROJECT_ID, DEMO_FCM_PUBLIC_KEY_PEM};
use super::faults::Failure;
use super::record::{Received, header_pairs};
use super::server::{bind, serve};
use super::{Running, SandboxError, Shared};
use crate::domain::{DeviceToken, Platform};

mod oauth;

/// The record's name for `messages:send` requests.
pub const PROVIDER: &str = "fcm";

/// The record's name for token requests.
pub const OAUTH_PROVIDER: &str = "fcm-oauth";

/// The path of the token endpoint.
pub const TOKEN_PATH: &str = "/token";

/// FCM's notification + data limit, in bytes.
const MAX_PAYLOAD: usize = 4096;

/// The FCM sandbox's settings.
#[derive(Debug, Clone)]
pub struct FcmSandboxConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The only project accepted.
    pub project_id: String,
    /// The service account's email, required as the assertion's `iss`;
    /// any issuer when `None`.
    pub client_email: Option<String>,
    /// The service account's public key (PEM); assertion signatures are not
    /// checked when `None`.
    pub public_key_pem: Option<String>,
    /// Lifetime of issued access tokens.
    pub token_lifetime: Duration,
}

impl Default for FcmSandboxConfig {
    /// The demo service account on 127.0.0.1, any port, hour-long tokens.
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            project_id: DEMO_FCM_PROJECT_ID.to_owned(),
            client_email: Some(DEMO_FCM_CLIENT_EMAIL.to_owned()),
            public_key_pem: Some(DEMO_FCM_PUBLIC_KEY_PEM.to_owned()),
            token_lifetime: Duration::from_secs(3600),
        }
    }
}

/// The handlers' state.
struct FcmState {
    /// The settings.
    config: FcmSandboxConfig,
    /// The parsed public key.
    key: Option<DecodingKey>,
    /// This server's token URI, the assertion's required `aud`.
    token_uri: String,
    /// Issued access tokens and when they expire.
    issued: Mutex<HashMap<String, Instant>>,
    /// Counter behind access tokens and message names.
    serial: AtomicU64,
    /// Faults and record.
    shared: Shared,
}

impl FcmState {
    /// The next serial number.
    fn next(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    /// The issued-token table.
    fn issued(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.issued.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Binds and starts the FCM sandbox; `Running::url` is the API base, the
/// token URI is `{url}/token`.
pub(super) async fn start(
    config: &FcmSandboxConfig,
    shared: &Shared,
) -> Result<Running, SandboxError> {
    let key = match &config.public_key_pem {
        Some(pem) => {
            Some(
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| SandboxError::Key {
                    provider: PROVIDER,
                    reason: e.to_string(),
                })?,
            )
        }
        None => None,
    };
    let listener = bind(PROVIDER, config.bind).await?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        provider: PROVIDER,
        addr: config.bind,
        source,
    })?;
    let url = format!("http://{addr}");
    let state = Arc::new(FcmState {
        config: config.clone(),
        key,
        token_uri: format!("{url}{TOKEN_PATH}"),
        issued: Mutex::new(HashMap::new()),
        serial: AtomicU64::new(1),
        shared: shared.clone(),
    });
    let router = Router::new()
        .route(TOKEN_PATH, post(oauth::token))
        .route("/v1/projects/{project}/messages:send", post(send))
        .with_state(state);
    let handle = serve(PROVIDER, listener, router, None, shared.record.clone());
    Ok(Running { url, handle })
}

/// `POST /v1/projects/{project}/messages:send`.
async fn send(
    State(state): State<Arc<FcmState>>,
    Path(project): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let message = serde_json::from_slice::<Value>(&body).ok();
    let address = message
        .as_ref()
        .and_then(|m| m.pointer("/message/token"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let result = match check(&state, &project, &headers, message.as_ref()) {
        Ok(token) => injected(&state, &headers, &token).await,
        Err(refusal) => Err(refusal),
    };
    let response = match result {
        Ok(()) => sent(&state, &project),
        Err(refusal) => refusal.into_response(),
    };
    state.shared.record.push(Received {
        provider: PROVIDER,
        method: "POST".to_owned(),
        path: format!("/v1/projects/{project}/messages:send"),
        headers: header_pairs(&headers),
        body: body.to_vec(),
        address,
        status: response.status().as_u16(),
        at: SystemTime::now(),
    });
    response
}

/// The success body: the message's resource name.
fn sent(state: &FcmState, project: &str) -> Response {
    let name = format!("projects/{project}/messages/0:{:016x}", state.next());
    (StatusCode::OK, axum::Json(json!({ "name": name }))).into_response()
}

/// Bearer, project and message checks; the device token when all pass.
fn check(
    state: &FcmState,
    project: &str,
    headers: &HeaderMap,
    message: Option<&Value>,
) -> Result<String, GoogleError> {
    check_bearer(state, headers)?;
    if project != state.config.project_id {
        return Err(GoogleError::new(403, "SenderId mismatch").code("SENDER_ID_MISMATCH"));
    }
    let message = message
        .and_then(|m| m.get("message"))
        .ok_or_else(|| GoogleError::invalid("Invalid JSON payload received."))?;
    let token = message
        .get("token")
        .and_then(Value::as_str)
        .ok_or_else(|| GoogleError::invalid("Recipient of the message is not set."))?;
    if DeviceToken::parse(Platform::Android, token).is_err() {
        return Err(GoogleError::invalid(
            "The registration token is not a valid FCM registration token",
        ));
    }
    check_content(message)?;
    Ok(token.to_owned())
}

/// The access token is one this server issued and it has not expired.
fn check_bearer(state: &FcmState, headers: &HeaderMap) -> Result<(), GoogleError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| {
        state
            .issued()
            .get(t)
            .is_some_and(|exp| *exp > Instant::now())
    });
    if valid {
        Ok(())
    } else {
        Err(GoogleError::unauthenticated())
    }
}

/// Data values are strings, no reserved keys, payload within the limit.
fn check_content(message: &Value) -> Result<(), GoogleError> {
    let empty = serde_json::Map::new();
    let data = match message.get("data") {
        None => &empty,
        Some(Value::Object(data)) => data,
        Some(_) => return Err(GoogleError::invalid("Invalid value at 'message.data'")),
    };
    if let Some((i, _)) = data.iter().enumerate().find(|(_, (_, v))| !v.is_string()) {
        let text = format!("Invalid value at 'message.data[{i}].value' (TYPE_STRING)");
        return Err(GoogleError::invalid(&text));
    }
    let reserved = |k: &str| {
        matches!(k, "from" | "notification" | "message_type")
            || k.starts_with("google.")
            || k.starts_with("gcm.")
    };
    if let Some(key) = data.keys().find(|k| reserved(k)) {
        return Err(GoogleError::invalid(&format!(
            "Invalid data payload key: {key}"
        )));
    }
    let size = message
        .get("notification")
        .map_or(0, |n| n.to_string().len())
        + Value::Object(data.clone()).to_string().len();
    if size > MAX_PAYLOAD {
        return Err(GoogleError::invalid("Android message is too big"));
    }
    Ok(())
}

/// The injected fault for a valid request, after the injected latency. An
/// injected `AuthExpired` also revokes the bearer, as Google would.
async fn injected(state: &FcmState, headers: &HeaderMap, token: &str) -> Result<(), GoogleError> {
    let decision = state.shared.faults.decide(token);
    decision.wait().await;
    let Some(failure) = decision.failure else {
        return Ok(());
    };
    let error = match failure {
        Failure::Throttled => {
            GoogleError::new(429, "Quota exceeded for sending messages.").code("QUOTA_EXCEEDED")
        }
        Failure::Internal => GoogleError::new(500, "Internal error encountered.").code("INTERNAL"),
        Failure::Unavailable => {
            GoogleError::new(503, "The service is currently unavailable.").code("UNAVAILABLE")
        }
        Failure::Gone => {
            GoogleError::new(404, "Requested entity was not found.").code("UNREGISTERED")
        }
        Failure::AuthExpired => {
            revoke(state, headers);
            GoogleError::unauthenticated()
        }
        Failure::Custom { status, reason } => {
            GoogleError::new(status, "Injected failure.").code(&reason)
        }
    };
    Err(error.retry_after(decision.retry_after))
}

/// Forgets the request's access token.
fn revoke(state: &FcmState, headers: &HeaderMap) {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = token {
        state.issued().remove(token);
    }
}

/// Google's error response.
struct GoogleError {
    /// HTTP status.
    status: u16,
    /// `message`.
    message: String,
    /// FCM's `errorCode`, when it gives one.
    error_code: Option<String>,
    /// Retry-After.
    retry_after: Option<Duration>,
}

impl GoogleError {
    /// An error with a message and no FCM code.
    fn new(status: u16, message: &str) -> Self {
        Self {
            status,
            message: message.to_owned(),
            error_code: None,
            retry_after: None,
        }
    }

    /// A 400 INVALID_ARGUMENT.
    fn invalid(message: &str) -> Self {
        Self::new(400, message).code("INVALID_ARGUMENT")
    }

    /// A 401 for a missing, unknown or expired access token.
    fn unauthenticated() -> Self {
        Self::new(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        )
    }

    /// Adds FCM's error code.
    fn code(mut self, code: &str) -> Self {
        self.error_code = Some(code.to_owned());
        self
    }

    /// Adds Retry-After.
    fn retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }
}

impl IntoResponse for GoogleError {
    fn into_response(self) -> Response {
        let details: Vec<Value> = self
            .error_code
            .iter()
            .map(|code| {
                json!({
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": code,
                })
            })
            .collect();
        let body = json!({"error": {
            "code": self.status,
            "message": self.message,
            "status": canonical_status(self.status),
            "details": details,
        }});
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.as_secs().into());
        }
        response
    }
}

/// Google's canonical status name for an HTTP status.
fn canonical_status(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    }
}
