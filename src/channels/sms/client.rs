//! `SmsChannel`: one form POST per message to the Twilio-compatible
//! Messages API, HTTP Basic auth, the answer classified by `payload`.

use super::config::{SmsConfig, SmsConfigError};
use super::payload::{classify, form};
use crate::channels::clock::Clock;
use crate::channels::http::{CONNECT_TIMEOUT, retry_after, truncate_reason};
use crate::channels::{Address, Channel, OutboundMessage, Outcome, RenderedMessage};
use crate::domain::Phone;

/// Sends SMS through a Twilio-compatible API.
#[derive(Debug, Clone)]
pub struct SmsChannel {
    /// Connection-pooling HTTP client.
    http: reqwest::Client,
    /// Endpoint, credentials and sender.
    config: SmsConfig,
    /// Reference time for an HTTP-date `Retry-After`.
    clock: Clock,
}

impl SmsChannel {
    /// Builds the HTTP client (HTTP/1.1 or HTTP/2 by ALPN).
    pub fn new(config: SmsConfig, clock: Clock) -> Result<Self, SmsConfigError> {
        crate::channels::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SmsConfigError::Client(e.to_string()))?;
        Ok(Self {
            http,
            config,
            clock,
        })
    }

    /// The adapter for `[sms]` with the system clock.
    pub fn from_settings(settings: &crate::config::SmsSettings) -> Result<Self, SmsConfigError> {
        Self::new(SmsConfig::from_settings(settings)?, Clock::system())
    }

    /// Posts one SMS and classifies the answer.
    async fn send_sms(&self, message: &OutboundMessage) -> Outcome {
        let (Address::Phone(to), RenderedMessage::Sms(sms)) = (&message.address, &message.content)
        else {
            return Outcome::Permanent {
                reason: "sms channel needs a phone address and SMS content".to_owned(),
            };
        };
        if let Err(e) = Phone::parse(to) {
            return Outcome::Permanent {
                reason: format!("invalid number: {e}"),
            };
        }
        let fields = form(
            to,
            &self.config.from,
            &sms.body,
            sms.status_callback.as_deref(),
        );
        let request = self
            .http
            .post(self.config.messages_url.clone())
            .basic_auth(
                &self.config.account_sid,
                Some(self.config.auth_token.expose()),
            )
            .form(&fields);
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                return Outcome::Retry {
                    after: None,
                    reason: truncate_reason(&transport_reason(e)),
                };
            }
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers(), self.clock.now());
        let body = response.text().await.unwrap_or_default();
        classify(status, &body, after)
    }
}

/// A transport error without the URL (which names the account).
fn transport_reason(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    format!("{kind}: {}", error.without_url())
}

#[async_trait::async_trait]
impl Channel for SmsChannel {
    fn name(&self) -> &'static str {
        "sms"
    }

    async fn send(&self, message: &OutboundMessage) -> Outcome {
        self.send_sms(message).await
    }
}
