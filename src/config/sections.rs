//! The connection sections of the settings: database, server, security and
//! one per provider.
//!
//! Secrets are never values here, only `*_file` paths; each section has a
//! method that reads its secret file on demand into a [`Secret`], with errors
//! naming the key and the path but never the contents. Relative paths are
//! relative to the working directory.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::urls::{DatabaseUrl, HttpUrl, SmtpUrl};
use super::values::{Secret, empty_as_none, nz};

/// Parses a constant default URL; the constants are covered by tests.
fn url<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("built-in default URL is valid")
}

/// Reads the secret file at `path` (set by config key `key`), dropping one
/// trailing newline. `None` when the key is unset.
pub(crate) fn read_secret(
    key: &'static str,
    path: Option<&Path>,
) -> Result<Option<Secret>, ConfigError> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::SecretUnreadable {
        key,
        path: path.to_owned(),
        cause,
    })?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ConfigError::SecretEmpty {
            key,
            path: path.to_owned(),
        });
    }
    tracing::debug!(key, path = %path.display(), "read secret file");
    Ok(Some(Secret::new(text)))
}

/// `[database]`: where herald keeps its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://FILE?mode=rwc` or `postgres://user:pass@host/db`; the password is never shown.
    pub url: DatabaseUrl,
    /// Size of the connection pool.
    pub max_connections: NonZeroU32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: DatabaseUrl::default(),
            max_connections: nz(8),
        }
    }
}

/// `[server]`: the HTTP API and tracking endpoints of `herald serve`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address and port to listen on, e.g. `0.0.0.0:8080`.
    #[serde(deserialize_with = "socket_addr")]
    pub bind: SocketAddr,
    /// Public base URL of tracking and unsubscribe links, as recipients reach it.
    pub public_url: HttpUrl,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: url("http://127.0.0.1:8080"),
        }
    }
}

/// Parses `IP:PORT`, saying what is expected when it is not.
fn socket_addr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.trim().parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "invalid address {text:?}: expected IP:PORT, like \"127.0.0.1:8080\" or \"[::]:8080\""
        ))
    })
}

/// `[security]`: keys that protect public links.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySettings {
    /// File holding the HMAC key that signs tracking and unsubscribe links.
    #[serde(deserialize_with = "empty_as_none")]
    pub link_secret_file: Option<PathBuf>,
}

impl SecuritySettings {
    /// The link-signing key from `security.link_secret_file`, if set.
    pub fn link_secret(&self) -> Result<Option<Secret>, ConfigError> {
        read_secret(
            "security.link_secret_file",
            self.link_secret_file.as_deref(),
        )
    }
}

/// `[apns]`: Apple Push Notification service, token-based (ES256 JWT) auth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApnsSettings {
    /// Base URL; `http://` means HTTP/2 without TLS (prior knowledge), for the sandbox.
    pub endpoint: HttpUrl,
    /// Extra trusted CA certificate (PEM) for a private endpoint.
    #[serde(deserialize_with = "empty_as_none")]
    pub ca_file: Option<PathBuf>,
    /// The `.p8` signing key downloaded from Apple.
    #[serde(deserialize_with = "empty_as_none")]
    pub key_file: Option<PathBuf>,
    /// The 10-character id of that key.
    #[serde(deserialize_with = "empty_as_none")]
    pub key_id: Option<String>,
    /// The Apple developer team id.
    #[serde(deserialize_with = "empty_as_none")]
    pub team_id: Option<String>,
    /// The app's bundle id, sent as `apns-topic`.
    #[serde(deserialize_with = "empty_as_none")]
    pub topic: Option<String>,
}

impl Default for ApnsSettings {
    fn default() -> Self {
        Self {
            endpoint: url("https://api.push.apple.com"),
            ca_file: None,
            key_file: None,
            key_id: None,
            team_id: None,
            topic: None,
        }
    }
}

impl ApnsSettings {
    /// The PEM signing key from `apns.key_file`, if set.
    pub fn key(&self) -> Result<Option<Secret>, ConfigError> {
        read_secret("apns.key_file", self.key_file.as_deref())
    }
}

/// `[fcm]`: Firebase Cloud Messaging HTTP v1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FcmSettings {
    /// Base URL of the FCM API.
    pub endpoint: HttpUrl,
    /// Service-account JSON key; its `token_uri` is where OAuth2 tokens come from.
    #[serde(deserialize_with = "empty_as_none")]
    pub service_account_file: Option<PathBuf>,
    /// The Firebase project id.
    #[serde(deserialize_with = "empty_as_none")]
    pub project_id: Option<String>,
}

impl Default for FcmSettings {
    fn default() -> Self {
        Self {
            endpoint: url("https://fcm.googleapis.com"),
            service_account_file: None,
            project_id: None,
        }
    }
}

impl FcmSettings {
    /// The service-account JSON from `fcm.service_account_file`, if set.
    pub fn service_account(&self) -> Result<Option<Secret>, ConfigError> {
        read_secret(
            "fcm.service_account_file",
            self.service_account_file.as_deref(),
        )
    }
}

/// `[email]`: outgoing mail over SMTP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailSettings {
    /// `smtp://[user@]host:port`, `smtp://...?tls=required` or `smtps://...`.
    pub smtp_url: SmtpUrl,
    /// The `From` mailbox, e.g. `Shop <news@example.com>`.
    #[serde(deserialize_with = "mailbox")]
    pub from: String,
    /// File holding the SMTP password for the user named in `smtp_url`.
    #[serde(deserialize_with = "empty_as_none")]
    pub password_file: Option<PathBuf>,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            smtp_url: url("smtp://127.0.0.1:2525"),
            from: "Herald <herald@localhost>".to_owned(),
            password_file: None,
        }
    }
}

impl EmailSettings {
    /// The SMTP password from `email.password_file`, if set.
    pub fn password(&self) -> Result<Option<Secret>, ConfigError> {
        read_secret("email.password_file", self.password_file.as_deref())
    }
}

/// Accepts a mailbox (`addr@host` or `Name <addr@host>`); full parsing is the
/// email channel's job, this catches empty and obviously wrong values early.
fn mailbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    match text.trim() {
        t if t.contains('@') => Ok(t.to_owned()),
        _ => Err(serde::de::Error::custom(format!(
            "invalid mailbox {text:?}: expected an address like \"Shop <news@example.com>\""
        ))),
    }
}

/// `[sms]`: a Twilio-compatible Messages API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsSettings {
    /// Base URL of the Messages API.
    pub endpoint: HttpUrl,
    /// Account SID, the HTTP Basic user name.
    #[serde(deserialize_with = "empty_as_none")]
    pub account_sid: Option<String>,
    /// File holding the auth token, the HTTP Basic password.
    #[serde(deserialize_with = "empty_as_none")]
    pub auth_token_file: Option<PathBuf>,
    /// Sender number in E.164 form (`+15550001111`) or a sender id.
    #[serde(deserialize_with = "empty_as_none")]
    pub from: Option<String>,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            endpoint: url("https://api.twilio.com"),
            account_sid: None,
            auth_token_file: None,
            from: None,
        }
    }
}

impl SmsSettings {
    /// The auth token from `sms.auth_token_file`, if set.
    pub fn auth_token(&self) -> Result<Option<Secret>, ConfigError> {
        read_secret("sms.auth_token_file", self.auth_token_file.as_deref())
    }
}

/// `[webhook]`: an HTTP endpoint that receives messages as signed JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where to POST; `""` disables the webhook channel.
    #[serde(deserialize_with = "empty_as_none")]
    pub url: Option<HttpUrl>,
    /// File holding the key that signs each request body (HMAC-SHA256).
    #[serde(deserialize_with = "empty_as_none")]
    pub secret_file: Option<PathBuf>,
}

impl WebhookSettings {
    /// The request-signing key from `webhook.secret_file`, if set.
    pub fn secret(&self) -> Result<Option<Secret>, ConfigError> {
        read_secret("webhook.secret_file", self.secret_file.as_deref())
    }
}
