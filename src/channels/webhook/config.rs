//! `WebhookConfig`: the `[webhook]` settings resolved: target URL and the
//! signing key from `webhook.secret_file`.

use std::time::Duration;

use crate::config::{Secret, WebhookSettings};

/// Why the webhook adapter cannot be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum WebhookConfigError {
    /// `webhook.url` or `webhook.secret_file` is unset.
    #[error("webhook.{0} is not set")]
    Missing(&'static str),
    /// The secret file could not be read.
    #[error(transparent)]
    Secret(#[from] crate::config::ConfigError),
    /// The HTTP client could not be built.
    #[error("webhook HTTP client: {0}")]
    Client(String),
}

/// Everything the webhook adapter needs, resolved.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: url::Url,
    /// HMAC-SHA256 signing key.
    pub secret: Secret,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("host", &self.url.host_str())
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// Resolves `[webhook]`; both keys must be set.
    pub fn from_settings(settings: &WebhookSettings) -> Result<Self, WebhookConfigError> {
        let url = settings
            .url
            .as_ref()
            .ok_or(WebhookConfigError::Missing("url"))?;
        let secret = settings
            .secret()?
            .ok_or(WebhookConfigError::Missing("secret_file"))?;
        Ok(Self {
            url: url.as_url().clone(),
            secret,
            timeout: Duration::from_secs(15),
        })
    }
}
