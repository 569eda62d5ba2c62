//! An APNs-compatible HTTP/2 server that checks what Apple checks and
//! answers as Apple does (status codes and `{"reason": ...}` bodies).
//!
//! `POST /3/device/{token}`, in this order: the provider token (ES256
//! signature against the configured public key, `kid`, `iss`, `iat` no
//! older than an hour: 403 MissingProviderToken / InvalidProviderToken /
//! ExpiredProviderToken), the `apns-*` headers (400 MissingTopic,
//! TopicDisallowed, InvalidPushType, BadPriority, BadExpirationDate,
//! BadCollapseId, BadMessageId), the device token (64 hex, 400
//! BadDeviceToken), the payload (400 PayloadEmpty, 413 PayloadTooLarge
//! over 4096 bytes), then the injected faults (410 Unregistered with a
//! timestamp for dead tokens). A verified token is cached, as Apple does,
//! so signature checks do not dominate a benchmark.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jsonwebtoken::{Algorithm, DecodingKey};

use super::credentials::{
    DEMO_APNS_KEY_ID, DEMO_APNS_PUBLIC_KEY_PEM, DEMO_APNS_TEAM_ID, DEMO_APNS_TOPIC,
};
use super::faults::Failure;
use super::jwt::Jwt;
use super::record::{Received, header_pairs};
use super::server::{ServerHandle, bind, serve};
use super::{Running, SandboxError, Shared, TlsIdentity};

/// The record's name for this provider.
pub const PROVIDER: &str = "apns";

/// Apple's payload limit, in bytes.
const MAX_PAYLOAD: usize = 4096;

/// Push types Apple accepts in `apns-push-type`.
const PUSH_TYPES: [&str; 9] = [
    "alert",
    "background",
    "location",
    "voip",
    "complication",
    "fileprovider",
    "mdm",
    "liveactivity",
    "pushtotalk",
];

/// The APNs sandbox's settings.
#[derive(Debug, Clone)]
pub struct ApnsSandboxConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The team id tokens must name (`iss`).
    pub team_id: String,
    /// The key id tokens must name (`kid`).
    pub key_id: String,
    /// The only topic accepted.
    pub topic: String,
    /// The signing key's public half (PEM); signatures are not checked
    /// when `None`.
    pub public_key_pem: Option<String>,
    /// Serve HTTPS with this identity instead of h2c.
    pub tls: Option<TlsIdentity>,
}

impl Default for ApnsSandboxConfig {
    /// The demo credentials on 127.0.0.1, any port, without TLS.
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            team_id: DEMO_APNS_TEAM_ID.to_owned(),
            key_id: DEMO_APNS_KEY_ID.to_owned(),
            topic: DEMO_APNS_TOPIC.to_owned(),
            public_key_pem: Some(DEMO_APNS_PUBLIC_KEY_PEM.to_owned()),
            tls: None,
        }
    }
}

/// The handler's state.
struct ApnsState {
    /// The settings.
    config: ApnsSandboxConfig,
    /// The parsed public key.
    key: Option<DecodingKey>,
    /// Tokens whose signature and ids were verified, with their `iat`.
    verified: Mutex<HashMap<String, i64>>,
    /// Faults and record.
    shared: Shared,
    /// Source of generated apns-ids.
    ids: AtomicU64,
}

/// A refusal: status, Apple's reason, and extras.
struct Refusal {
    /// HTTP status.
    status: u16,
    /// Apple's reason string.
    reason: String,
    /// Retry-After, for transient failures.
    retry_after: Option<Duration>,
}

impl Refusal {
    /// A refusal without Retry-After.
    fn new(status: u16, reason: &str) -> Self {
        Self {
            status,
            reason: reason.to_owned(),
            retry_after: None,
        }
    }
}

/// Binds and starts the APNs sandbox.
pub(super) async fn start(
    config: &ApnsSandboxConfig,
    shared: &Shared,
) -> Result<Running, SandboxError> {
    let key = match &config.public_key_pem {
        Some(pem) => {
            Some(
                DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| SandboxError::Key {
                    provider: PROVIDER,
                    reason: e.to_string(),
                })?,
            )
        }
        None => None,
    };
    let tls = config
        .tls
        .as_ref()
        .map(TlsIdentity::server_config)
        .transpose()?;
    let listener = bind(PROVIDER, config.bind).await?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        provider: PROVIDER,
        addr: config.bind,
        source,
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let state = Arc::new(ApnsState {
        config: config.clone(),
        key,
        verified: Mutex::new(HashMap::new()),
        shared: shared.clone(),
        ids: AtomicU64::new(1),
    });
    let router = Router::new()
        .route("/3/device/{token}", post(push))
        .fallback(|| async { reply(&Refusal::new(404, "BadPath"), None) })
        .with_state(state);
    let handle: ServerHandle = serve(PROVIDER, listener, router, tls, shared.record.clone());
    Ok(Running {
        url: format!("{scheme}://{addr}"),
        handle,
    })
}

/// `POST /3/device/{token}`.
async fn push(
    State(state): State<Arc<ApnsState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let apns_id = headers
        .get("apns-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| generated_id(&state.ids));
    let refusal = match check(&state, &token, &headers, &body) {
        Ok(()) => injected(&state, &token).await,
        Err(refusal) => Some(refusal),
    };
    let status = refusal.as_ref().map_or(200, |r| r.status);
    state.shared.record.push(Received {
        provider: PROVIDER,
        method: "POST".to_owned(),
        path: format!("/3/device/{token}"),
        headers: header_pairs(&headers),
        body: body.to_vec(),
        address: Some(token),
        status,
        at: SystemTime::now(),
    });
    match refusal {
        Some(refusal) => reply(&refusal, Some(&apns_id)),
        None => (StatusCode::OK, [("apns-id", apns_id)]).into_response(),
    }
}

/// Apple's checks, in order.
fn check(state: &ApnsState, token: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    check_auth(state, headers)?;
    check_headers(&state.config.topic, headers)?;
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::new(400, "BadDeviceToken"));
    }
    match body.len() {
        0 => Err(Refusal::new(400, "PayloadEmpty")),
        n if n > MAX_PAYLOAD => Err(Refusal::new(413, "PayloadTooLarge")),
        _ => Ok(()),
    }
}

/// The provider token: present, signed, for this key and team, fresh;
/// refused while the faults refuse credentials (a revoked key).
fn check_auth(state: &ApnsState, headers: &HeaderMap) -> Result<(), Refusal> {
    if state.shared.faults.refuses_credentials() {
        return Err(Refusal::new(403, "InvalidProviderToken"));
    }
    let value = header(headers, "authorization")
        .ok_or_else(|| Refusal::new(403, "MissingProviderToken"))?;
    let token = value
        .strip_prefix("bearer ")
        .or_else(|| value.strip_prefix("Bearer "))
        .ok_or_else(|| Refusal::new(403, "InvalidProviderToken"))?;
    let iat =
        verified_iat(state, token).ok_or_else(|| Refusal::new(403, "InvalidProviderToken"))?;
    let now = unix_now();
    if now - iat > 3600 {
        return Err(Refusal::new(403, "ExpiredProviderToken"));
    }
    if iat - now > 300 {
        return Err(Refusal::new(403, "InvalidProviderToken"));
    }
    Ok(())
}

/// The token's `iat` if its signature and ids check out (cached).
fn verified_iat(state: &ApnsState, token: &str) -> Option<i64> {
    let mut verified = state
        .verified
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(iat) = verified.get(token) {
        return Some(*iat);
    }
    let jwt = Jwt::parse(token)?;
    let signed = match &state.key {
        Some(key) => jwt.verify(key, Algorithm::ES256),
        None => jwt.header_str("alg") == Some("ES256"),
    };
    let ids = jwt.header_str("kid") == Some(state.config.key_id.as_str())
        && jwt.claim_str("iss") == Some(state.config.team_id.as_str());
    let iat = jwt.claim_i64("iat").filter(|_| signed && ids)?;
    if verified.len() > 1000 {
        verified.clear();
    }
    verified.insert(token.to_owned(), iat);
    Some(iat)
}

/// The `apns-*` headers.
fn check_headers(topic: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    let bad = |reason| Err(Refusal::new(400, reason));
    match header(headers, "apns-topic") {
        None => return bad("MissingTopic"),
        Some(t) if t != topic => return bad("TopicDisallowed"),
        _ => {}
    }
    if header(headers, "apns-push-type").is_some_and(|t| !PUSH_TYPES.contains(&t)) {
        return bad("InvalidPushType");
    }
    if header(headers, "apns-priority").is_some_and(|p| !matches!(p, "10" | "5" | "1")) {
        return bad("BadPriority");
    }
    if header(headers, "apns-expiration").is_some_and(|e| e.parse::<u64>().is_err()) {
        return bad("BadExpirationDate");
    }
    if header(headers, "apns-collapse-id").is_some_and(|c| c.len() > 64) {
        return bad("BadCollapseId");
    }
    if header(headers, "apns-id").is_some_and(|id| !is_uuid(id)) {
        return bad("BadMessageId");
    }
    Ok(())
}

/// The injected fault for a valid request, after the injected latency.
async fn injected(state: &ApnsState, token: &str) -> Option<Refusal> {
    let decision = state.shared.faults.decide(token);
    decision.wait().await;
    let failure = decision.failure?;
    let (status, reason) = match &failure {
        Failure::Throttled => (429, "TooManyRequests"),
        Failure::Internal => (500, "InternalServerError"),
        Failure::Unavailable => (503, "ServiceUnavailable"),
        Failure::Gone => (410, "Unregistered"),
        Failure::AuthExpired => (403, "ExpiredProviderToken"),
        Failure::Custom { status, reason } => (*status, reason.as_str()),
    };
    Some(Refusal {
        status,
        reason: reason.to_owned(),
        retry_after: decision.retry_after,
    })
}

/// Apple's error response.
fn reply(refusal: &Refusal, apns_id: Option<&str>) -> Response {
    let mut body = serde_json::json!({ "reason": refusal.reason });
    if refusal.status == 410 {
        body["timestamp"] = serde_json::json!(unix_now().saturating_mul(1000));
    }
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    if let Some(id) = apns_id.and_then(|id| id.parse().ok()) {
        headers.insert("apns-id", id);
    }
    if let Some(after) = refusal.retry_after {
        headers.insert("retry-after", after.as_secs().into());
    }
    response
}

/// A header as text.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// Whether `id` is a canonical 8-4-4-4-12 hex UUID.
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths = groups.iter().map(|g| g.len()).collect::<Vec<_>>();
    lengths == [8, 4, 4, 4, 12]
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A UUID-shaped id for requests that sent none.
fn generated_id(ids: &AtomicU64) -> String {
    let n = ids.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// Now, Unix seconds.
fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs).unwrap_or(i64::MAX)
}
