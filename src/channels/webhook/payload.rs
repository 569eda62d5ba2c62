//! The webhook signature: `X-Herald-Signature: sha256=<hex>` where hex is
//! HMAC-SHA256 over `"{timestamp}.{body}"` keyed with the webhook secret,
//! and `X-Herald-Timestamp` is that timestamp in Unix seconds.
//!
//! A receiver recomputes the HMAC over the exact bytes it received, with
//! the timestamp header, compares in constant time, and rejects a
//! timestamp older than a few minutes (replay). [`verify`] does all three.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Header carrying the signing time.
pub const TIMESTAMP_HEADER: &str = "X-Herald-Timestamp";
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Herald-Signature";
/// Header carrying the outbox message id.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`.
fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Herald-Signature` value: `sha256=<lower-case hex>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Checks a received request: the signature matches (constant-time) and
/// the timestamp is within `tolerance_secs` of `now`.
pub fn verify(
    secret: &[u8],
    timestamp: i64,
    body: &[u8],
    signature: &str,
    now: i64,
    tolerance_secs: i64,
) -> bool {
    if (now - timestamp).abs() > tolerance_secs {
        return false;
    }
    let Some(bytes) = signature.strip_prefix("sha256=").and_then(decode_hex) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&bytes).is_ok()
}

/// Lower- or upper-case hex to bytes.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_reject_tampering_and_replays() {
        let sig = sign(b"key", 1_700_000_000, b"{\"a\":1}");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify(
            b"key",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_060,
            300
        ));
        assert!(!verify(
            b"key",
            1_700_000_000,
            b"{\"a\":2}",
            &sig,
            1_700_000_060,
            300
        ));
        assert!(!verify(
            b"other",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_000_060,
            300
        ));
        assert!(!verify(
            b"key",
            1_700_000_000,
            b"{\"a\":1}",
            &sig,
            1_700_001_000,
            300
        ));
    }
}
