//! OAuth2 access tokens for FCM HTTP v1, from the service account's
//! `token_uri` by the JWT bearer grant (RFC 7523), through gcp_auth.
//!
//! gcp_auth's `CustomServiceAccount` signs the RS256 assertion, posts it to
//! `token_uri` (plain `http://` works, for the sandbox) and caches the token
//! until 20 seconds before it expires. Two gaps are filled here:
//! - gcp_auth does not re-check its cache after taking its write lock, so
//!   hundreds of concurrent first sends would each fetch a token; a
//!   single-flight lock in front makes that one request;
//! - gcp_auth has no way to drop a cached token, so when FCM answers 401
//!   the account is rebuilt from the JSON, which starts with an empty cache.

use std::sync::{Arc, PoisonError, RwLock};

use gcp_auth::{CustomServiceAccount, Token, TokenProvider};

use super::FcmError;
use crate::config::Secret;

/// The OAuth scope FCM HTTP v1 requires.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// Fetches and caches FCM access tokens.
pub(crate) struct AccessTokens {
    /// The service-account JSON, to rebuild the account after a 401.
    json: Secret,
    /// The gcp_auth account; replaced after a 401.
    account: RwLock<Arc<CustomServiceAccount>>,
    /// The token in use.
    current: RwLock<Option<Arc<Token>>>,
    /// Set by [`AccessTokens::invalidate`]: rebuild before the next fetch.
    stale: std::sync::atomic::AtomicBool,
    /// Single flight: one fetch at a time.
    fetching: tokio::sync::Mutex<()>,
}

impl AccessTokens {
    /// Loads the account; errors never include the key.
    pub(crate) fn new(json: Secret) -> Result<Self, FcmError> {
        let account = account(&json)?;
        Ok(Self {
            json,
            account: RwLock::new(Arc::new(account)),
            current: RwLock::new(None),
            stale: std::sync::atomic::AtomicBool::new(false),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    /// A valid access token: the cached one, or one fetched now.
    pub(crate) async fn bearer(&self) -> Result<Arc<Token>, FcmError> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let _flight = self.fetching.lock().await;
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let account = self.fresh_account()?;
        let token = account
            .token(&[FCM_SCOPE])
            .await
            .map_err(|e| FcmError::Token(e.to_string()))?;
        tracing::debug!(expires_at = %token.expires_at(), "fetched an FCM access token");
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        Ok(token)
    }

    /// Drops `refused` (FCM answered 401 with it) if it is still current.
    pub(crate) fn invalidate(&self, refused: &Token) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current
            .as_ref()
            .is_some_and(|t| t.as_str() == refused.as_str())
        {
            *current = None;
            self.stale.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// The cached token unless it is within gcp_auth's expiry margin.
    fn cached(&self) -> Option<Arc<Token>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().filter(|t| !t.has_expired()).cloned()
    }

    /// The account to fetch with, rebuilt first if a token was refused
    /// (rare: gcp_auth reads the platform's root certificates again).
    fn fresh_account(&self) -> Result<Arc<CustomServiceAccount>, FcmError> {
        if self.stale.swap(false, std::sync::atomic::Ordering::SeqCst) {
            let rebuilt = Arc::new(account(&self.json)?);
            *self.account.write().unwrap_or_else(PoisonError::into_inner) = rebuilt;
        }
        Ok(self
            .account
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
}

/// gcp_auth's account for the JSON. The error names the cause without the
/// key material (gcp_auth's messages are static strings).
fn account(json: &Secret) -> Result<CustomServiceAccount, FcmError> {
    crate::channels::tls::ensure_crypto_provider();
    CustomServiceAccount::from_json(json.expose()).map_err(|e| match e {
        gcp_auth::Error::Json(what, _) => FcmError::ServiceAccount(what.to_owned()),
        gcp_auth::Error::Other(what, _) => FcmError::ServiceAccount(what.to_owned()),
        gcp_auth::Error::Str(what) => FcmError::ServiceAccount(what.to_owned()),
        other => FcmError::ServiceAccount(other.to_string()),
    })
}
