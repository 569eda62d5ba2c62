//! Signed links: a [`LinkToken`] followed by the first 16 bytes of its
//! HMAC-SHA256 under the link key, base64url-encoded without padding, put
//! after the route of its kind:
//!
//! ```text
//! {public_url}/t/c/{token}   click: record, then 302 to the signed destination
//! {public_url}/t/o/{token}   open pixel (email)
//! {public_url}/u/{token}     unsubscribe page and RFC 8058 one-click POST
//! {public_url}/t/r/{token}   SMS delivery receipts (Twilio StatusCallback)
//! ```
//!
//! Verification decodes, recomputes the MAC and compares it in constant
//! time before anything in the token is read; a token of another kind than
//! the route's is refused too. A 128-bit tag is far beyond guessing, and
//! keeps links short enough for SMS and push payloads.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::token::{LinkKind, LinkToken};

/// Bytes of the MAC kept in a link.
pub const MAC_LEN: usize = 16;

/// Longest token text accepted (a long destination URL fits many times).
const MAX_TOKEN_CHARS: usize = 12 * 1024;

/// Shortest token text: header, one-byte run id, four lengths, one user
/// byte and the MAC, base64url-encoded.
const MIN_TOKEN_CHARS: usize = (3 + 1 + 4 + 1 + MAC_LEN) * 4 / 3;

/// Why a link was refused. Callers answer all of them alike (the reason is
/// for logs), so a prober learns nothing about which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not base64url, too short or too long, or not a token inside.
    #[error("the link is malformed")]
    Malformed,
    /// The MAC does not match: tampered with, or signed with another key.
    #[error("the link's signature does not match")]
    Forged,
    /// A genuine link used on another kind's route.
    #[error("the link is not for this route")]
    WrongKind,
}

/// The HMAC-SHA256 key of links. Cloning is cheap (the keyed state is
/// copied, not recomputed from the secret).
#[derive(Clone)]
pub struct LinkKey {
    /// HMAC state after absorbing the key.
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

impl LinkKey {
    /// A key from secret bytes (any length).
    pub fn new(secret: &[u8]) -> Self {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .expect("HMAC takes keys of any length");
        Self { mac }
    }

    /// The token text of `token`: its bytes and their truncated MAC,
    /// base64url without padding.
    pub fn sign(&self, token: &LinkToken) -> String {
        let mut bytes = token.to_bytes();
        let mut mac = self.mac.clone();
        mac.update(&bytes);
        let tag = mac.finalize().into_bytes();
        bytes.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The token in `text` if its MAC verifies and it is of `kind`.
    pub fn verify(&self, text: &str, kind: LinkKind) -> Result<LinkToken, LinkError> {
        let bytes = decode(text).ok_or(LinkError::Malformed)?;
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = self.mac.clone();
        mac.update(payload);
        mac.verify_truncated_left(tag)
            .map_err(|_| LinkError::Forged)?;
        let token = LinkToken::from_bytes(payload).ok_or(LinkError::Malformed)?;
        if token.kind != kind {
            return Err(LinkError::WrongKind);
        }
        Ok(token)
    }
}

/// The bytes of a token text that is long enough to hold a MAC.
fn decode(text: &str) -> Option<Vec<u8>> {
    if !(MIN_TOKEN_CHARS..=MAX_TOKEN_CHARS).contains(&text.len()) {
        return None;
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .filter(|b| b.len() > MAC_LEN)
}

/// Builds full link URLs under the public base URL.
#[derive(Debug, Clone)]
pub struct Linker {
    /// `server.public_url` without a trailing slash.
    base: String,
    /// The signing key.
    key: LinkKey,
}

impl Linker {
    /// A linker for links under `public_url`.
    pub fn new(public_url: &str, key: LinkKey) -> Self {
        Self {
            base: public_url.trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// The public base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The signing key.
    pub fn key(&self) -> &LinkKey {
        &self.key
    }

    /// The signed URL of `token` on its kind's route.
    pub fn url(&self, token: &LinkToken) -> String {
        format!("{}{}{}", self.base, token.kind.path(), self.key.sign(token))
    }
}

/// `text` with every signed token in it replaced by its record with the
/// run id set to 0 and no MAC: the same message content in two runs then
/// reads the same, for the plan's payload hash. Tokens are found as runs
/// of base64url characters that decode to a well-formed record, so HTML or
/// JSON escaping around them does not matter.
pub fn without_run_ids(text: &str) -> String {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        if !is_b64(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && is_b64(bytes[at]) {
            at += 1;
        }
        if let Some(record) = run_free(&text[start..at]) {
            out.push_str(&text[copied..start]);
            out.push_str(&record);
            copied = at;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// The run-free form of one token text, if it is one.
fn run_free(text: &str) -> Option<String> {
    let bytes = decode(text)?;
    let mut token = LinkToken::from_bytes(&bytes[..bytes.len() - MAC_LEN])?;
    token.run_id = 0;
    Some(URL_SAFE_NO_PAD.encode(token.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;

    fn token(kind: LinkKind, run_id: i64) -> LinkToken {
        LinkToken {
            kind,
            run_id,
            user_id: "u1".into(),
            variant: "B".into(),
            channel: Channel::Push,
            item_id: Some("i7".into()),
            destination: Some("https://shop.example/i7".into()),
        }
    }

    #[test]
    fn a_signed_token_verifies_and_is_deterministic() {
        let key = LinkKey::new(b"secret");
        let t = token(LinkKind::Click, 42);
        let text = key.sign(&t);
        assert_eq!(text, key.sign(&t));
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(key.verify(&text, LinkKind::Click), Ok(t));
    }

    #[test]
    fn every_single_character_change_is_refused() {
        let key = LinkKey::new(b"secret");
        let text = key.sign(&token(LinkKind::Open, 9));
        for i in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(key.verify(&changed, LinkKind::Open).is_err(), "char {i}");
        }
    }

    #[test]
    fn another_key_or_another_route_is_refused() {
        let key = LinkKey::new(b"secret");
        let forged = LinkKey::new(b"guess").sign(&token(LinkKind::Click, 1));
        assert_eq!(key.verify(&forged, LinkKind::Click), Err(LinkError::Forged));
        let open = key.sign(&token(LinkKind::Open, 1));
        assert_eq!(
            key.verify(&open, LinkKind::Click),
            Err(LinkError::WrongKind)
        );
        assert_eq!(
            key.verify("abc", LinkKind::Click),
            Err(LinkError::Malformed)
        );
        assert_eq!(
            key.verify(&"A".repeat(MAX_TOKEN_CHARS + 4), LinkKind::Click),
            Err(LinkError::Malformed)
        );
    }

    #[test]
    fn urls_sit_under_the_public_base_on_their_kinds_route() {
        let linker = Linker::new("https://t.example/", LinkKey::new(b"k"));
        let url = linker.url(&token(LinkKind::Unsubscribe, 3));
        assert!(url.starts_with("https://t.example/u/"), "{url}");
        let url = linker.url(&token(LinkKind::Receipt, 3));
        assert!(url.starts_with("https://t.example/t/r/"), "{url}");
    }

    #[test]
    fn run_ids_vanish_from_links_but_nothing_else_does() {
        let linker = Linker::new("http://h", LinkKey::new(b"k"));
        let page = |run: i64, item: &str| {
            let mut t = token(LinkKind::Click, run);
            t.item_id = Some(item.into());
            format!(
                r#"{{"html":"<a href=\"{}\">x</a>","n":"/u/7/x"}}"#,
                linker.url(&t)
            )
        };
        assert_eq!(
            without_run_ids(&page(7, "i1")),
            without_run_ids(&page(8, "i1"))
        );
        assert_ne!(
            without_run_ids(&page(7, "i1")),
            without_run_ids(&page(7, "i2"))
        );
        assert_eq!(without_run_ids("no links here"), "no links here");
    }
}
