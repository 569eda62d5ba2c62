//! API keys and the `/api/v1` auth layer. A key is `hk_` + 8 random
//! base64url characters (the visible prefix, stored as is) + `_` + 32
//! random bytes in base64url; only its SHA-256 is stored. A request
//! carries `Authorization: Bearer KEY`: no key or an unknown one is 401,
//! a revoked one 403. The key is found by its prefix and its hash compared
//! in constant time; `last_used_at` is written at most once a minute.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::JsonError;
use crate::domain::now_millis;
use crate::store::{Store, StoreError};

/// How every key starts.
pub const KEY_START: &str = "hk_";

/// Length of the visible prefix (`hk_` and 8 characters).
const PREFIX_LEN: usize = KEY_START.len() + 8;

/// How stale `last_used_at` may get before a request rewrites it (ms).
const TOUCH_EVERY_MS: i64 = 60_000;

/// A freshly generated key: shown once, then only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// The whole key, for the caller.
    pub key: String,
    /// The visible prefix stored with it (`hk_XXXXXXXX`).
    pub prefix: String,
    /// Lowercase hex SHA-256 of the key.
    pub hash: String,
}

/// A random key with its prefix and hash.
pub fn generate_key() -> NewKey {
    let visible = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 6]>());
    let secret = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let prefix = format!("{KEY_START}{visible}");
    let key = format!("{prefix}_{secret}");
    NewKey {
        hash: hash_key(&key),
        key,
        prefix,
    }
}

/// Lowercase hex SHA-256 of a key.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The visible prefix of a well-formed key.
pub(crate) fn prefix_of(key: &str) -> Option<&str> {
    let well_formed = key.starts_with(KEY_START)
        && key.is_char_boundary(PREFIX_LEN)
        && key[PREFIX_LEN..].starts_with('_');
    well_formed.then(|| &key[..PREFIX_LEN])
}

/// Equality in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token of a request, if it has one.
fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// What a presented key turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCheck {
    /// A stored key that is not revoked.
    Valid,
    /// Malformed, not stored, or the hash differs.
    Unknown,
    /// A stored key that was revoked.
    Revoked,
}

/// Checks `key` against the stored keys (found by its prefix, its hash
/// compared in constant time) and, when it is valid, records its use in
/// `last_used_at` at most once a minute. The one key check of the API
/// and the dashboard.
pub async fn check_key(store: &Store, key: &str, now: i64) -> Result<KeyCheck, StoreError> {
    let Some(prefix) = prefix_of(key) else {
        return Ok(KeyCheck::Unknown);
    };
    let Some(row) = store.api_key_by_prefix(prefix).await? else {
        return Ok(KeyCheck::Unknown);
    };
    if !same(hash_key(key).as_bytes(), row.hash.as_bytes()) {
        return Ok(KeyCheck::Unknown);
    }
    if row.revoked_at.is_some() {
        return Ok(KeyCheck::Revoked);
    }
    if row.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY_MS) {
        store.touch_api_key(row.key_id, now).await?;
    }
    Ok(KeyCheck::Valid)
}

/// The auth layer: lets a request with a valid, unrevoked key through.
pub async fn require_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, JsonError> {
    let token = bearer(&request).ok_or_else(|| {
        JsonError::unauthorized(
            "send `Authorization: Bearer KEY`; `herald apikey create NAME` makes a key",
        )
    })?;
    match check_key(&state.store, token, now_millis()).await? {
        KeyCheck::Valid => Ok(next.run(request).await),
        KeyCheck::Unknown => Err(JsonError::unauthorized(
            "unknown API key; `herald apikey list` shows the keys",
        )),
        KeyCheck::Revoked => Err(JsonError::forbidden(
            "this API key was revoked; ask for a new one (`herald apikey create NAME`)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_has_its_prefix_and_hash() {
        let key = generate_key();
        assert!(key.key.starts_with(&key.prefix));
        assert_eq!(prefix_of(&key.key), Some(key.prefix.as_str()));
        assert_eq!(key.hash, hash_key(&key.key));
        assert_eq!(key.hash.len(), 64);
        assert_ne!(generate_key().key, key.key);
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        assert_eq!(prefix_of("nope"), None);
        assert_eq!(prefix_of("hk_short"), None);
        assert_eq!(prefix_of("hk_abcdefghXrest"), None);
        assert_eq!(prefix_of("hk_abcdéfgh_rest"), None);
    }

    #[test]
    fn comparison_needs_equal_bytes() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
