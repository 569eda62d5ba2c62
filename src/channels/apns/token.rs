//! The APNs provider token: an ES256 JWT (`kid` = key id, `iss` = team id,
//! `iat` = issue time) signed with the `.p8` key.
//!
//! Apple rejects a token older than an hour (403 ExpiredProviderToken) and
//! one replaced more often than every 20 minutes (TooManyProviderTokenUpdates),
//! so one token is shared by every send and refreshed after 50 minutes, or
//! at once when APNs calls it expired. Only the token that was refused is
//! dropped, so a burst of 403s on concurrent streams signs one new token,
//! not hundreds.

use std::sync::{Arc, PoisonError, RwLock};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::ApnsError;
use crate::channels::clock::Clock;
use crate::config::Secret;

/// Age after which a token is replaced, in seconds: well inside Apple's hour.
pub const REFRESH_AFTER_SECS: i64 = 50 * 60;

/// The claims Apple reads.
#[derive(Serialize)]
struct Claims<'a> {
    /// The team id.
    iss: &'a str,
    /// Issue time, Unix seconds.
    iat: i64,
}

/// A signed token and when it was issued.
struct Signed {
    /// The JWT, shared with in-flight requests.
    jwt: Arc<str>,
    /// Its `iat`.
    issued_at: i64,
}

/// Signs provider tokens and caches the current one.
pub(crate) struct ProviderToken {
    /// The ES256 key.
    key: EncodingKey,
    /// The JWT header carrying `kid`.
    header: Header,
    /// The team id, `iss`.
    team_id: String,
    /// Source of `iat` and of the token's age.
    clock: Clock,
    /// The token in use, if any.
    current: RwLock<Option<Signed>>,
}

impl ProviderToken {
    /// Parses the PEM key and signs a first token to prove it works. Errors
    /// never include the key.
    pub(crate) fn new(
        key: &Secret,
        key_id: &str,
        team_id: &str,
        clock: Clock,
    ) -> Result<Self, ApnsError> {
        let key =
            EncodingKey::from_ec_pem(key.expose().as_bytes()).map_err(|_| ApnsError::InvalidKey)?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key_id.to_owned());
        let token = Self {
            key,
            header,
            team_id: team_id.to_owned(),
            clock,
            current: RwLock::new(None),
        };
        token.bearer().map_err(|_| ApnsError::InvalidKey)?;
        Ok(token)
    }

    /// The token to send now: the cached one while younger than 50 minutes,
    /// else a newly signed one.
    pub(crate) fn bearer(&self) -> Result<Arc<str>, jsonwebtoken::errors::Error> {
        let now = self.clock.now();
        if let Some(jwt) = self.fresh(now) {
            return Ok(jwt);
        }
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(signed) = current.as_ref().filter(|s| is_fresh(s, now)) {
            return Ok(signed.jwt.clone());
        }
        let jwt: Arc<str> = self.sign(now)?.into();
        tracing::debug!(iat = now, "signed a new APNs provider token");
        *current = Some(Signed {
            jwt: jwt.clone(),
            issued_at: now,
        });
        Ok(jwt)
    }

    /// Drops `refused` if it is still the current token, so the next
    /// [`bearer`](Self::bearer) signs a new one.
    pub(crate) fn invalidate(&self, refused: &str) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.as_ref().is_some_and(|s| &*s.jwt == refused) {
            *current = None;
        }
    }

    /// The cached token, if fresh at `now`.
    fn fresh(&self, now: i64) -> Option<Arc<str>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        current
            .as_ref()
            .filter(|s| is_fresh(s, now))
            .map(|s| s.jwt.clone())
    }

    /// Signs a token issued at `now`.
    fn sign(&self, now: i64) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            iss: &self.team_id,
            iat: now,
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key)
    }
}

/// Whether a token may still be used at `now`. A token "from the future"
/// (the clock went back) is replaced too.
fn is_fresh(signed: &Signed, now: i64) -> bool {
    let age = now - signed.issued_at;
    (0..REFRESH_AFTER_SECS).contains(&age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    const TEST_KEY: &str = include_str!("../sandbox/keys/demo-apns-key.p8");

    fn token_at(now: Arc<AtomicI64>) -> ProviderToken {
        let clock = Clock::from_fn(move || now.load(Ordering::SeqCst));
        ProviderToken::new(&Secret::new(TEST_KEY), "KEY1234567", "TEAM123456", clock).unwrap()
    }

    #[test]
    fn the_token_is_reused_for_fifty_minutes_then_replaced() {
        let now = Arc::new(AtomicI64::new(1_000_000));
        let token = token_at(now.clone());
        let first = token.bearer().unwrap();
        now.fetch_add(REFRESH_AFTER_SECS - 1, Ordering::SeqCst);
        assert_eq!(token.bearer().unwrap(), first);
        now.fetch_add(1, Ordering::SeqCst);
        assert_ne!(token.bearer().unwrap(), first);
    }

    #[test]
    fn invalidating_an_old_token_keeps_the_current_one() {
        let now = Arc::new(AtomicI64::new(1_000_000));
        let token = token_at(now.clone());
        let first = token.bearer().unwrap();
        token.invalidate("some.older.token");
        assert_eq!(token.bearer().unwrap(), first);
        now.fetch_add(1, Ordering::SeqCst);
        token.invalidate(&first);
        assert_ne!(token.bearer().unwrap(), first);
    }

    #[test]
    fn a_key_that_is_not_an_ec_key_is_refused_without_echoing_it() {
        let clock = Clock::fixed(0);
        let bad = Secret::new("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----");
        let err = ProviderToken::new(&bad, "K", "T", clock).err().unwrap();
        assert!(!err.to_string().contains("c2VjcmV0"), "{err}");
    }
}
