//! The APNs adapter: token-based (ES256 JWT) HTTP/2 pushes to Apple, or to
//! any APNs-compatible endpoint such as the sandbox.
//!
//! `payload` builds the body and `apns-*` headers with a2's types, `token`
//! signs and caches the provider token, `client` posts over one HTTP/2
//! client (many streams, few connections), and `response` classifies the
//! answer. [`ApnsChannel`] ties them together behind the [`Channel`] trait.

mod client;
mod config;
pub mod payload;
mod response;
mod token;

pub use config::{ApnsConfig, DEFAULT_TTL};
pub use payload::{APNS_MAX_PAYLOAD, ApnsPayloadError, payload_json};
pub use token::REFRESH_AFTER_SECS;

use async_trait::async_trait;

use self::client::ApnsClient;
use self::payload::RequestContext;
use self::response::{Reason, classify};
use self::token::ProviderToken;
use crate::channels::clock::Clock;
use crate::channels::tls::TlsError;
use crate::channels::{Address, Channel, OutboundMessage, Outcome, PushMessage, RenderedMessage};
use crate::config::{ApnsSettings, ConfigError};
use crate::domain::Platform;

/// Why the APNs adapter could not be set up. Never shows the key.
#[derive(Debug, thiserror::Error)]
pub enum ApnsError {
    /// A required `[apns]` key is unset.
    #[error("apns.{0} is not set")]
    Missing(&'static str),
    /// The key file could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The key file is not a P-256 private key in PKCS#8 PEM form.
    #[error("apns.key_file is not an ES256 signing key (expected the .p8 PKCS#8 PEM from Apple)")]
    InvalidKey,
    /// `apns.ca_file` could not be used.
    #[error("apns.ca_file: {0}")]
    Tls(#[from] TlsError),
    /// reqwest refused the client configuration.
    #[error("cannot build the APNs HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Sends push messages to iOS devices through APNs.
pub struct ApnsChannel {
    /// The HTTP/2 transport.
    client: ApnsClient,
    /// The cached provider token.
    token: ProviderToken,
    /// `apns-topic`.
    topic: String,
    /// Expiration for messages without one.
    default_ttl: std::time::Duration,
    /// Now, for tokens, expirations and Retry-After dates.
    clock: Clock,
}

impl ApnsChannel {
    /// An adapter on the system clock.
    pub fn new(config: ApnsConfig) -> Result<Self, ApnsError> {
        Self::with_clock(config, Clock::system())
    }

    /// An adapter reading time from `clock` (tests move it).
    pub fn with_clock(config: ApnsConfig, clock: Clock) -> Result<Self, ApnsError> {
        let token =
            ProviderToken::new(&config.key, &config.key_id, &config.team_id, clock.clone())?;
        Ok(Self {
            client: ApnsClient::new(&config.endpoint, config.ca_file.as_deref())?,
            token,
            topic: config.topic,
            default_ttl: config.default_ttl,
            clock,
        })
    }

    /// An adapter from `[apns]` settings.
    pub fn from_settings(settings: &ApnsSettings) -> Result<Self, ApnsError> {
        Self::new(ApnsConfig::from_settings(settings)?)
    }

    /// Builds, signs and posts one notification.
    async fn push(&self, id: &str, device_token: &str, message: &PushMessage) -> Outcome {
        let now = self.clock.now();
        let context = RequestContext {
            apns_id: id,
            topic: &self.topic,
            now,
            default_ttl: self.default_ttl,
        };
        let request = match payload::request(message, device_token, context) {
            Ok(request) => request,
            Err(e) => {
                return Outcome::Permanent {
                    reason: e.to_string(),
                };
            }
        };
        let bearer = match self.token.bearer() {
            Ok(bearer) => bearer,
            Err(_) => return retry("cannot sign the APNs provider token".to_owned()),
        };
        match self.client.post(device_token, request, &bearer, now).await {
            Ok(reply) => {
                if reply.status == 403
                    && Reason::parse(403, &reply.body).is_expired_provider_token()
                {
                    self.token.invalidate(&bearer);
                }
                classify(&reply, id)
            }
            Err(e) => retry(format!("APNs transport error: {e}")),
        }
    }
}

#[async_trait]
impl Channel for ApnsChannel {
    fn name(&self) -> &'static str {
        "apns"
    }

    async fn send(&self, message: &OutboundMessage) -> Outcome {
        let (token, push) = match (&message.address, &message.content) {
            (
                Address::Device {
                    platform: Platform::Ios,
                    token,
                },
                RenderedMessage::Push(push),
            ) => (token, push),
            _ => return permanent("APNs sends push messages to iOS device tokens only"),
        };
        if !is_hex_token(token) {
            return Outcome::TokenGone {
                reason: "BadDeviceToken (not a hexadecimal APNs token)".to_owned(),
            };
        }
        self.push(&message.id, token, push).await
    }
}

/// APNs device tokens are hexadecimal; anything else is refused before it
/// reaches a URL path.
fn is_hex_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A `Retry` without a requested delay.
fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        after: None,
        reason,
    }
}

/// A `Permanent` outcome.
fn permanent(reason: &str) -> Outcome {
    Outcome::Permanent {
        reason: reason.to_owned(),
    }
}
