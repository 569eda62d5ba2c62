//! OAuth2 access tokens for FCM HTTP v1, from the service account's
//! `token_uri` by the JWT bearer grant (RFC 7523): an RS256 assertion
//! signed with the account's key, posted once, the answer classified.
//!
//! The token endpoint is never hammered:
//! - single flight: one fetch at a time, and callers that waited for it
//!   take its token (or its failure) instead of fetching again;
//! - backoff: after a failure, callers get that failure back without a
//!   request until a delay has passed (1 s, doubling, capped at a minute);
//! - one request per fetch (no hidden retry loop): the dispatcher decides
//!   what a failure means for the message.
//!
//! An answer of 400/401/403 (`invalid_grant`, `invalid_client`,
//! `unauthorized_client`, ...) means the endpoint refused the service
//! account itself ([`TokenFailure::refused`]); anything else (5xx,
//! transport errors, unreadable answers) is transient. A token FCM
//! refused (401) is dropped so the next send fetches a new one.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use super::FcmError;
use crate::channels::http::{CONNECT_TIMEOUT, REQUEST_TIMEOUT, truncate_reason};
use crate::config::Secret;

/// The OAuth scope FCM HTTP v1 requires.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// The JWT bearer grant type.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A token is replaced this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(20);

/// The first wait after a failed fetch; it doubles per failure.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between fetches after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A fetched access token.
#[derive(Debug)]
pub(crate) struct AccessToken {
    /// The bearer value.
    value: String,
    /// When to stop using it.
    refresh_at: Instant,
}

impl AccessToken {
    /// The bearer value.
    pub(crate) fn as_str(&self) -> &str {
        &self.value
    }
}

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenFailure {
    /// The endpoint refused the service account (fix the settings), as
    /// opposed to a transient failure.
    pub refused: bool,
    /// What the endpoint (or the transport) said.
    pub reason: String,
}

/// The last failed fetch.
struct Failed {
    /// What it was.
    failure: TokenFailure,
    /// No new request before this instant.
    retry_at: Instant,
    /// The wait that was applied, doubled on the next failure.
    backoff: Duration,
}

/// The service account's parts the grant needs.
#[derive(Deserialize)]
struct Account {
    /// The assertion's `iss`.
    client_email: String,
    /// The RSA key, PEM.
    private_key: String,
    /// Where to post the assertion; also its `aud`.
    token_uri: String,
    /// The key's id, sent as `kid` when present.
    #[serde(default)]
    private_key_id: Option<String>,
}

/// The assertion's claims.
#[derive(Serialize)]
struct Claims<'a> {
    /// The service account.
    iss: &'a str,
    /// The scope asked for.
    scope: &'a str,
    /// The token endpoint.
    aud: &'a str,
    /// Issued at, Unix seconds.
    iat: u64,
    /// Expires at, Unix seconds (an hour later).
    exp: u64,
}

/// The token endpoint's answer, success or error.
#[derive(Deserialize)]
struct Answer {
    /// The token, on success.
    access_token: Option<String>,
    /// Its lifetime in seconds.
    expires_in: Option<u64>,
    /// The OAuth error code (`invalid_grant`, ...).
    error: Option<String>,
    /// Its description.
    error_description: Option<String>,
}

/// Fetches and caches FCM access tokens.
pub(crate) struct AccessTokens {
    /// Signs the assertions.
    key: EncodingKey,
    /// The assertion's header (RS256, `kid`).
    header: Header,
    /// `client_email`.
    issuer: String,
    /// `token_uri`.
    token_uri: String,
    /// The HTTP client for the token endpoint.
    http: reqwest::Client,
    /// The token in use.
    current: RwLock<Option<Arc<AccessToken>>>,
    /// The last failure, until a fetch succeeds.
    failed: RwLock<Option<Failed>>,
    /// Single flight: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl AccessTokens {
    /// Reads the account; errors never include the key.
    pub(crate) fn new(json: &Secret) -> Result<Self, FcmError> {
        let account: Account = serde_json::from_str(json.expose()).map_err(|_| {
            FcmError::ServiceAccount("needs client_email, private_key and token_uri".into())
        })?;
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(|_| {
            FcmError::ServiceAccount("field `private_key` is not an RSA private key (PEM)".into())
        })?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = account.private_key_id;
        crate::channels::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(FcmError::Client)?;
        Ok(Self {
            key,
            header,
            issuer: account.client_email,
            token_uri: account.token_uri,
            http,
            current: RwLock::new(None),
            failed: RwLock::new(None),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// A valid access token: the cached one, one fetched now, or the last
    /// failure while its backoff lasts.
    pub(crate) async fn bearer(&self) -> Result<Arc<AccessToken>, TokenFailure> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let _flight = self.fetching.lock().await;
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        if let Some(failure) = self.backing_off() {
            return Err(failure);
        }
        match self.fetch().await {
            Ok(token) => {
                tracing::debug!("fetched an FCM access token");
                *self.failed.write().unwrap_or_else(PoisonError::into_inner) = None;
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
                Ok(token)
            }
            Err(failure) => {
                self.note_failure(&failure);
                Err(failure)
            }
        }
    }

    /// Drops `refused` (FCM answered 401 with it) if it is still current.
    pub(crate) fn invalidate(&self, refused: &AccessToken) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|t| t.value == refused.value) {
            *current = None;
        }
    }

    /// The cached token unless it is about to expire.
    fn cached(&self) -> Option<Arc<AccessToken>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|t| Instant::now() < t.refresh_at)
            .cloned()
    }

    /// The last failure, while its backoff lasts.
    fn backing_off(&self) -> Option<TokenFailure> {
        let failed = self.failed.read().unwrap_or_else(PoisonError::into_inner);
        failed
            .as_ref()
            .filter(|f| Instant::now() < f.retry_at)
            .map(|f| f.failure.clone())
    }

    /// Remembers a failure and doubles the wait before the next request.
    fn note_failure(&self, failure: &TokenFailure) {
        let mut failed = self.failed.write().unwrap_or_else(PoisonError::into_inner);
        let backoff = failed
            .as_ref()
            .map_or(FIRST_BACKOFF, |f| (f.backoff * 2).min(MAX_BACKOFF));
        tracing::debug!(reason = %failure.reason, ?backoff, "FCM access token fetch failed");
        *failed = Some(Failed {
            failure: failure.clone(),
            retry_at: Instant::now() + backoff,
            backoff,
        });
    }

    /// One request to the token endpoint.
    async fn fetch(&self) -> Result<Arc<AccessToken>, TokenFailure> {
        let transient = |reason: String| TokenFailure {
            refused: false,
            reason: truncate_reason(&reason),
        };
        let assertion = self
            .assertion()
            .map_err(|e| transient(format!("cannot sign the token request: {e}")))?;
        let form = [
            ("grant_type", GRANT_TYPE),
            ("assertion", assertion.as_str()),
        ];
        let response = (self.http.post(&self.token_uri).form(&form).send().await)
            .map_err(|e| transient(format!("token endpoint unreachable: {}", e.without_url())))?;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        answer(status, &body)
    }

    /// The signed assertion.
    fn assertion(&self) -> Result<String, jsonwebtoken::errors::Error> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = Claims {
            iss: &self.issuer,
            scope: FCM_SCOPE,
            aud: &self.token_uri,
            iat,
            exp: iat + 3600,
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key)
    }
}

/// Classifies the token endpoint's answer.
fn answer(status: u16, body: &str) -> Result<Arc<AccessToken>, TokenFailure> {
    let parsed: Option<Answer> = serde_json::from_str(body).ok();
    if status == 200
        && let Some(Answer {
            access_token: Some(value),
            expires_in,
            ..
        }) = parsed
    {
        let lifetime = Duration::from_secs(expires_in.unwrap_or(3600));
        return Ok(Arc::new(AccessToken {
            value,
            refresh_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN),
        }));
    }
    let reason = match parsed.and_then(|a| a.error.map(|e| (e, a.error_description))) {
        Some((error, Some(description))) => format!("{error}: {description}"),
        Some((error, None)) => error,
        None => format!("HTTP {status}"),
    };
    Err(TokenFailure {
        refused: matches!(status, 400 | 401 | 403),
        reason: truncate_reason(&reason),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_grant_is_a_refusal_and_a_server_error_is_not() {
        let body = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        let refused = answer(400, body).unwrap_err();
        assert!(refused.refused);
        assert_eq!(refused.reason, "invalid_grant: Invalid JWT Signature.");
        let down = answer(503, "<html>").unwrap_err();
        assert_eq!(
            down,
            TokenFailure {
                refused: false,
                reason: "HTTP 503".into()
            }
        );
    }

    #[test]
    fn a_token_is_refreshed_before_it_expires() {
        let token = answer(200, r#"{"access_token":"ya29.x","expires_in":3600}"#).unwrap();
        assert_eq!(token.as_str(), "ya29.x");
        let left = token.refresh_at - Instant::now();
        assert!(
            left <= Duration::from_secs(3600) - EXPIRY_MARGIN,
            "{left:?}"
        );
    }
}
