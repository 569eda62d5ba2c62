//! `WebhookChannel`: POST the rendered JSON, signed, to `webhook.url`.

use reqwest::header::CONTENT_TYPE;

use super::config::{WebhookConfig, WebhookConfigError};
use super::payload::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::channels::clock::Clock;
use crate::channels::http::{CONNECT_TIMEOUT, retry_after, truncate_reason};
use crate::channels::{Channel, OutboundMessage, Outcome, RenderedMessage};

/// Delivers messages to the customer's HTTP endpoint.
#[derive(Debug, Clone)]
pub struct WebhookChannel {
    /// Connection-pooling HTTP client.
    http: reqwest::Client,
    /// Target and signing key.
    config: WebhookConfig,
    /// Signing time and `Retry-After` reference.
    clock: Clock,
}

impl WebhookChannel {
    /// Builds the HTTP client.
    pub fn new(config: WebhookConfig, clock: Clock) -> Result<Self, WebhookConfigError> {
        crate::channels::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WebhookConfigError::Client(e.to_string()))?;
        Ok(Self {
            http,
            config,
            clock,
        })
    }

    /// The adapter for `[webhook]` with the system clock.
    pub fn from_settings(
        settings: &crate::config::WebhookSettings,
    ) -> Result<Self, WebhookConfigError> {
        Self::new(WebhookConfig::from_settings(settings)?, Clock::system())
    }

    /// Signs and posts one message, classifying the status.
    async fn post(&self, message: &OutboundMessage) -> Outcome {
        let RenderedMessage::Webhook(webhook) = &message.content else {
            return Outcome::Permanent {
                reason: "webhook channel needs webhook content".to_owned(),
            };
        };
        let body = match serde_json::to_vec(&webhook.body) {
            Ok(body) => body,
            Err(e) => {
                return Outcome::Permanent {
                    reason: format!("cannot encode body: {e}"),
                };
            }
        };
        let timestamp = self.clock.now();
        let signature = sign(self.config.secret.expose().as_bytes(), timestamp, &body);
        let request = self
            .http
            .post(self.config.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .header(IDEMPOTENCY_HEADER, message.id.as_str())
            .body(body);
        match request.send().await {
            Ok(response) => self.classify(response),
            Err(e) => Outcome::Retry {
                after: None,
                reason: truncate_reason(&e.without_url().to_string()),
            },
        }
    }

    /// 2xx delivered; 408, 429 and 5xx retry; other statuses permanent.
    fn classify(&self, response: reqwest::Response) -> Outcome {
        let status = response.status();
        if status.is_success() {
            let id = response
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok());
            return Outcome::Delivered {
                provider_id: id.map(str::to_owned),
            };
        }
        let reason = format!("HTTP {status}");
        match status.as_u16() {
            408 | 429 | 500..=599 => Outcome::Retry {
                after: retry_after(response.headers(), self.clock.now()),
                reason,
            },
            _ => Outcome::Permanent { reason },
        }
    }
}

#[async_trait::async_trait]
impl Channel for WebhookChannel {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, message: &OutboundMessage) -> Outcome {
        self.post(message).await
    }
}
