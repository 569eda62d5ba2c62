//! HTTP pieces shared by the HTTP/2 push adapters: one reqwest client per
//! adapter that speaks HTTP/2 only (prior knowledge on `http://`, ALPN `h2`
//! on `https://`), so many concurrent sends become streams over a few
//! connections, and the `Retry-After` parser every adapter needs.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How long one request may take before it counts as a transport error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening a connection (TCP and TLS) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds an HTTP/2-only client trusting the platform roots plus
/// `extra_roots` (from a `ca_file`).
pub fn http2_client(
    extra_roots: Vec<reqwest::Certificate>,
) -> Result<reqwest::Client, reqwest::Error> {
    super::tls::ensure_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(Duration::from_secs(60))
        .http2_keep_alive_while_idle(true)
        .tcp_nodelay(true)
        .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")));
    if !extra_roots.is_empty() {
        builder = builder.tls_certs_merge(extra_roots);
    }
    builder.build()
}

/// The delay a response asks for in `Retry-After`: delta-seconds, or an
/// HTTP date taken relative to `now` (Unix seconds). `None` when absent or
/// unreadable.
pub fn retry_after(headers: &HeaderMap, now: i64) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let seconds = date.timestamp().saturating_sub(now).max(0);
    Some(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// Cuts a provider's error text to a length fit for an attempt log.
pub fn truncate_reason(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(
            retry_after(&with_retry_after("120"), 0),
            Some(Duration::from_secs(120))
        );
        let now = 1_445_412_480; // Wed, 21 Oct 2015 07:28:00 GMT
        let date = with_retry_after("Wed, 21 Oct 2015 07:29:00 GMT");
        assert_eq!(retry_after(&date, now), Some(Duration::from_secs(60)));
        assert_eq!(retry_after(&with_retry_after("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn long_reasons_are_truncated_on_a_character_boundary() {
        let long = "é".repeat(300);
        assert_eq!(truncate_reason(&long).chars().count(), 203);
        assert_eq!(truncate_reason("short"), "short");
    }
}
