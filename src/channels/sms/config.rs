//! `SmsConfig`: the `[sms]` settings resolved: the Messages API URL for
//! the account, the Basic-auth pair and the sender.

use std::time::Duration;

use crate::config::{Secret, SmsSettings};

/// Why the SMS adapter cannot be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum SmsConfigError {
    /// A required key is unset.
    #[error("sms.{0} is not set")]
    Missing(&'static str),
    /// The auth token file could not be read.
    #[error(transparent)]
    Secret(#[from] crate::config::ConfigError),
    /// The HTTP client could not be built.
    #[error("SMS HTTP client: {0}")]
    Client(String),
}

/// Everything the SMS adapter needs, resolved.
#[derive(Clone)]
pub struct SmsConfig {
    /// `{endpoint}/2010-04-01/Accounts/{sid}/Messages.json`.
    pub messages_url: url::Url,
    /// Account SID, the Basic-auth user.
    pub account_sid: String,
    /// Auth token, the Basic-auth password.
    pub auth_token: Secret,
    /// Sender number (E.164) or alphanumeric sender id.
    pub from: String,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("messages_url", &self.messages_url.as_str())
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmsConfig {
    /// Resolves `[sms]`; every key but `endpoint` must be set.
    pub fn from_settings(settings: &SmsSettings) -> Result<Self, SmsConfigError> {
        let account_sid = settings
            .account_sid
            .clone()
            .ok_or(SmsConfigError::Missing("account_sid"))?;
        let auth_token = settings
            .auth_token()?
            .ok_or(SmsConfigError::Missing("auth_token_file"))?;
        let from = settings
            .from
            .clone()
            .ok_or(SmsConfigError::Missing("from"))?;
        Ok(Self {
            messages_url: messages_url(settings.endpoint.as_url(), &account_sid),
            account_sid,
            auth_token,
            from,
            timeout: Duration::from_secs(30),
        })
    }
}

/// The account's Messages resource under `endpoint` (which may carry a
/// path prefix).
pub fn messages_url(endpoint: &url::Url, account_sid: &str) -> url::Url {
    let mut url = endpoint.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    let sid: String = url::form_urlencoded::byte_serialize(account_sid.as_bytes()).collect();
    url.set_path(&format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"));
    url.set_query(None);
    url
}
