//! The raw ceiling of the APNs sandbox: `h2load` (nghttp2) posts the
//! campaign's own APNs body to the same sandbox, over one h2c connection
//! with as many streams in flight as the dispatcher uses, with a valid
//! provider token and the same `apns-*` headers, and no orchestration at
//! all. The push campaign's end-to-end rate is compared with it.

use crate::channels::sandbox::credentials::{
    DEMO_APNS_KEY_ID, DEMO_APNS_KEY_PEM, DEMO_APNS_TEAM_ID, DEMO_APNS_TOPIC,
};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::Command;

/// What one h2load run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ceiling {
    /// Requests sent.
    pub requests: u64,
    /// Requests answered 2xx.
    pub succeeded: u64,
    /// Requests per second h2load reported.
    pub per_second: f64,
    /// Streams in flight on the one connection.
    pub streams: u32,
}

/// A provider token for the sandbox's demo key (ES256, `kid`, `iss`,
/// `iat`), as the adapter signs it.
fn bearer(now_secs: i64) -> anyhow::Result<String> {
    let key = jsonwebtoken::EncodingKey::from_ec_pem(DEMO_APNS_KEY_PEM.as_bytes())
        .context("reading the sandbox's APNs key")?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(DEMO_APNS_KEY_ID.to_owned());
    let claims = serde_json::json!({"iss": DEMO_APNS_TEAM_ID, "iat": now_secs});
    jsonwebtoken::encode(&header, &claims, &key).context("signing an APNs provider token")
}

/// Runs h2load against `apns_url` with `body` as the payload; `None`
/// when h2load is not installed.
pub fn measure(
    apns_url: &str,
    body: &str,
    requests: u64,
    streams: u32,
    dir: &Path,
) -> anyhow::Result<Option<Ceiling>> {
    if Command::new("h2load").arg("--version").output().is_err() {
        tracing::warn!("h2load not found (apt-get install nghttp2-client); no ceiling measured");
        return Ok(None);
    }
    let file = dir.join("h2load-body.json");
    std::fs::write(&file, body).with_context(|| format!("writing {}", file.display()))?;
    let token = "a".repeat(64);
    let url = format!("{}/3/device/{token}", apns_url.trim_end_matches('/'));
    let auth = format!(
        "authorization: bearer {}",
        bearer(chrono::Utc::now().timestamp())?
    );
    let output = Command::new("h2load")
        .args(["-n", &requests.to_string(), "-c", "1"])
        .args(["-m", &streams.to_string()])
        .args(["-H", &auth, "-H", &format!("apns-topic: {DEMO_APNS_TOPIC}")])
        .args(["-H", "apns-push-type: alert", "-H", "apns-priority: 10"])
        .args(["-H", "apns-expiration: 0"])
        .arg("-d")
        .arg(&file)
        .arg(&url)
        .output()
        .context("running h2load")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("h2load failed ({}): {text}", output.status);
    }
    let (per_second, succeeded) =
        parse(&text).with_context(|| format!("reading h2load's summary from: {text}"))?;
    Ok(Some(Ceiling {
        requests,
        succeeded,
        per_second,
        streams,
    }))
}

/// Requests per second and 2xx count from h2load's summary
/// (`finished in 1.23s, 81234.56 req/s, ...` and `status codes: 1000 2xx, ...`).
fn parse(text: &str) -> Option<(f64, u64)> {
    let rate = text
        .lines()
        .find(|l| l.starts_with("finished in"))?
        .split(", ")
        .find_map(|part| part.strip_suffix(" req/s"))?
        .trim()
        .parse()
        .ok()?;
    let ok = text
        .lines()
        .find(|l| l.starts_with("status codes:"))?
        .trim_start_matches("status codes:")
        .split(", ")
        .find_map(|part| part.trim().strip_suffix(" 2xx"))?
        .parse()
        .ok()?;
    Some((rate, ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_and_successes_are_read_from_h2loads_summary() {
        let text = "starting benchmark...\n\
            finished in 2.50s, 40000.00 req/s, 3.52MB/s\n\
            requests: 100000 total, 100000 started, 100000 done, 99990 succeeded, 10 failed, 0 errored, 0 timeout\n\
            status codes: 99990 2xx, 0 3xx, 10 4xx, 0 5xx\n";
        assert_eq!(parse(text), Some((40000.0, 99990)));
    }

    #[test]
    fn a_summary_without_figures_reads_as_none() {
        assert_eq!(parse("error"), None);
    }
}
