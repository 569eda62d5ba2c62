//! What the APNs adapter needs, validated once from `[apns]` settings: the
//! endpoint, an optional extra CA, the ES256 signing key and its ids, and
//! the app's topic. A missing key is a configuration error here, at start
//! up, not a failed send later.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::ApnsError;
use crate::config::{ApnsSettings, Secret};

/// How long APNs keeps an undelivered notification when the message sets
/// no expiration of its own: a day, so an offline phone does not get
/// yesterday's offer next week.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The APNs adapter's configuration.
#[derive(Clone, Debug)]
pub struct ApnsConfig {
    /// Base URL: `https://api.push.apple.com`, or `http://` for HTTP/2
    /// without TLS (the sandbox).
    pub endpoint: Url,
    /// Extra trusted CA certificate (PEM) for a private endpoint.
    pub ca_file: Option<PathBuf>,
    /// The `.p8` ES256 signing key (PKCS#8 PEM).
    pub key: Secret,
    /// The 10-character id of that key (`kid`).
    pub key_id: String,
    /// The Apple developer team id (`iss`).
    pub team_id: String,
    /// The app's bundle id, sent as `apns-topic`.
    pub topic: String,
    /// Expiration used when a message has none.
    pub default_ttl: Duration,
}

impl ApnsConfig {
    /// Reads and checks `[apns]`: `key_file`, `key_id`, `team_id` and
    /// `topic` must be set; the key file is read now.
    pub fn from_settings(settings: &ApnsSettings) -> Result<Self, ApnsError> {
        let key = settings.key()?.ok_or(ApnsError::Missing("key_file"))?;
        Ok(Self {
            endpoint: settings.endpoint.as_url().clone(),
            ca_file: settings.ca_file.clone(),
            key,
            key_id: required(&settings.key_id, "key_id")?,
            team_id: required(&settings.team_id, "team_id")?,
            topic: required(&settings.topic, "topic")?,
            default_ttl: DEFAULT_TTL,
        })
    }
}

/// The value of an optional setting that this adapter requires.
fn required(value: &Option<String>, key: &'static str) -> Result<String, ApnsError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(ApnsError::Missing(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_without_a_key_file_are_refused_by_key_name() {
        let err = ApnsConfig::from_settings(&ApnsSettings::default()).unwrap_err();
        assert_eq!(err.to_string(), "apns.key_file is not set");
    }

    #[test]
    fn settings_without_a_topic_are_refused_by_key_name() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.p8");
        std::fs::write(&key, "pem").unwrap();
        let settings = ApnsSettings {
            key_file: Some(key),
            key_id: Some("KEY1234567".into()),
            team_id: Some("TEAM123456".into()),
            ..ApnsSettings::default()
        };
        let err = ApnsConfig::from_settings(&settings).unwrap_err();
        assert_eq!(err.to_string(), "apns.topic is not set");
    }
}
