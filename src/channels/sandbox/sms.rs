//! A Twilio-compatible Messages endpoint:
//! `POST /2010-04-01/Accounts/{sid}/Messages.json`.
//!
//! Checks, in Twilio's order and with its error codes: HTTP Basic auth
//! for the path's account (401, 20003), the form fields `To` (21604),
//! `From` (21603) and `Body` (21602, at most 1600 characters: 21617), an
//! E.164 `To` (400, 21211); then the shared faults: a dead number or
//! `Gone` is 400 code 21211, `Throttled` 429 with Retry-After (20429),
//! `Internal` 500, `Unavailable` 503, `AuthExpired` 401, `Custom` its
//! status and code. Success is 201 with a Twilio-shaped message resource
//! whose `sid` is `SM` + 32 hex digits. A `StatusCallback` on a loopback
//! host receives a `delivered` receipt; other hosts are never called.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;

use super::faults::Failure;
use super::record::{Received, header_pairs};
use super::server::{bind, serve};
use super::{Running, SandboxError, Shared, TlsIdentity};
use crate::channels::sms::{SmsConfig, messages_url};
use crate::config::Secret;
use crate::domain::Phone;

/// The record's name for this provider.
pub const PROVIDER: &str = "sms";
/// The demo account SID the sandbox accepts by default.
pub const DEMO_SMS_ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
/// The demo auth token the sandbox accepts by default.
pub const DEMO_SMS_AUTH_TOKEN: &str = "sandbox-sms-auth-token";

/// The SMS sandbox's settings.
#[derive(Debug, Clone)]
pub struct SmsSandboxConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The account SID accepted (Basic user and path segment).
    pub account_sid: String,
    /// The auth token accepted (Basic password).
    pub auth_token: String,
    /// Serve HTTPS with this identity.
    pub tls: Option<TlsIdentity>,
}

impl Default for SmsSandboxConfig {
    /// The demo credentials on 127.0.0.1, any port, plain HTTP.
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            account_sid: DEMO_SMS_ACCOUNT_SID.to_owned(),
            auth_token: DEMO_SMS_AUTH_TOKEN.to_owned(),
            tls: None,
        }
    }
}

/// The handler's state.
struct SmsState {
    /// The settings.
    config: SmsSandboxConfig,
    /// Faults and record.
    shared: Shared,
    /// Client for status callbacks.
    http: reqwest::Client,
}

/// A Twilio error answer.
struct Refusal {
    /// HTTP status.
    status: u16,
    /// Twilio error code.
    code: u64,
    /// Twilio's message.
    message: String,
    /// Retry-After, for 429.
    retry_after: Option<Duration>,
}

impl Refusal {
    /// A refusal without Retry-After.
    fn new(status: u16, code: u64, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            retry_after: None,
        }
    }
}

/// Binds and starts the SMS sandbox.
pub(super) async fn start(
    config: &SmsSandboxConfig,
    shared: &Shared,
) -> Result<Running, SandboxError> {
    crate::channels::tls::ensure_crypto_provider();
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
    let state = Arc::new(SmsState {
        config: config.clone(),
        shared: shared.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default(),
    });
    let router = Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create))
        .fallback(|| async {
            refuse(&Refusal::new(
                404,
                20404,
                "The requested resource was not found",
            ))
        })
        .with_state(state);
    let handle = serve(PROVIDER, listener, router, tls, shared.record.clone());
    Ok(Running {
        url: format!("{scheme}://{addr}"),
        handle,
    })
}

impl super::Sandbox {
    /// An SMS adapter configuration for this sandbox with the demo
    /// account; valid while the SMS sandbox runs with its default settings.
    pub fn demo_sms_config(&self) -> SmsConfig {
        let endpoint = super::parse_url(&self.sms_url);
        SmsConfig {
            messages_url: messages_url(&endpoint, DEMO_SMS_ACCOUNT_SID),
            account_sid: DEMO_SMS_ACCOUNT_SID.to_owned(),
            auth_token: Secret::new(DEMO_SMS_AUTH_TOKEN),
            from: "+15550001111".to_owned(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// `POST /2010-04-01/Accounts/{sid}/Messages.json`.
async fn create(
    State(state): State<Arc<SmsState>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let to = field("To").unwrap_or_default();
    let refusal = match check(&state, &sid, &headers, &field) {
        Ok(()) => injected(&state, &to).await,
        Err(refusal) => Some(refusal),
    };
    state.shared.record.push(Received {
        provider: PROVIDER,
        method: "POST".to_owned(),
        path: format!("/2010-04-01/Accounts/{sid}/Messages.json"),
        headers: header_pairs(&headers),
        body: body.to_vec(),
        address: Some(to.clone()),
        status: refusal.as_ref().map_or(201, |r| r.status),
        at: SystemTime::now(),
    });
    if let Some(refusal) = refusal {
        return refuse(&refusal);
    }
    let message_sid = new_sid();
    let (from, text) = (
        field("From").unwrap_or_default(),
        field("Body").unwrap_or_default(),
    );
    if let Some(callback) = field("StatusCallback").filter(|u| is_loopback(u)) {
        let receipt = vec![
            ("MessageSid", message_sid.clone()),
            ("MessageStatus", "delivered".to_owned()),
            ("AccountSid", sid.clone()),
            ("To", to.clone()),
            ("From", from.clone()),
        ];
        let http = state.http.clone();
        tokio::spawn(async move {
            let _ = http.post(callback).form(&receipt).send().await;
        });
    }
    let resource = json!({
        "sid": message_sid, "account_sid": sid, "to": to, "from": from, "body": text,
        "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
        "uri": format!("/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json"),
    });
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// Auth, then the form, as Twilio checks them.
fn check(
    state: &SmsState,
    sid: &str,
    headers: &HeaderMap,
    field: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Refusal> {
    let config = &state.config;
    let authorized = !state.shared.faults.refuses_credentials()
        && basic_auth(headers)
            .is_some_and(|(u, p)| u == config.account_sid && p == config.auth_token);
    if !authorized || sid != config.account_sid {
        return Err(Refusal::new(401, 20003, "Authenticate"));
    }
    let to = field("To")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Refusal::new(400, 21604, "A 'To' phone number is required."))?;
    field("From")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Refusal::new(400, 21603, "A 'From' phone number is required."))?;
    let body = field("Body")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| Refusal::new(400, 21602, "Message body is required."))?;
    if body.chars().count() > 1600 {
        return Err(Refusal::new(
            400,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        ));
    }
    Phone::parse(&to).map(|_| ()).map_err(|_| {
        Refusal::new(
            400,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        )
    })
}

/// The Basic-auth user and password.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The injected fault for `to`, after its latency.
async fn injected(state: &SmsState, to: &str) -> Option<Refusal> {
    let decision = state.shared.faults.decide(to);
    decision.wait().await;
    let mut refusal = match decision.failure? {
        Failure::Gone => Refusal::new(
            400,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        ),
        Failure::Throttled => Refusal::new(429, 20429, "Too Many Requests"),
        Failure::Internal => Refusal::new(500, 20500, "Internal Server Error"),
        Failure::Unavailable => Refusal::new(503, 20503, "Service Unavailable"),
        Failure::AuthExpired => Refusal::new(401, 20003, "Authenticate"),
        Failure::Custom { status, reason } => {
            Refusal::new(status, reason.parse().unwrap_or(0), &reason)
        }
    };
    refusal.retry_after = decision.retry_after;
    Some(refusal)
}

/// A Twilio error body: `{"code", "message", "more_info", "status"}`.
fn refuse(refusal: &Refusal) -> Response {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({
        "code": refusal.code,
        "message": refusal.message,
        "more_info": format!("https://www.twilio.com/docs/errors/{}", refusal.code),
        "status": refusal.status,
    });
    let mut response = (status, axum::Json(body)).into_response();
    if let Some(after) = refusal.retry_after
        && let Ok(value) = after.as_secs().to_string().parse()
    {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

/// `SM` and 32 hex digits, like Twilio's message SIDs.
fn new_sid() -> String {
    format!("SM{:032x}", rand::random::<u128>())
}

/// Whether a callback URL points at this machine (the only place the
/// sandbox will call).
fn is_loopback(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}
