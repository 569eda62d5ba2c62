//! The FCM adapter: Firebase Cloud Messaging HTTP v1 over reqwest, for
//! Android and web devices.
//!
//! Not the `fcm` crate: its 0.9 posts to the legacy API Google shut down
//! in 2024, on a hard-coded URL. `payload` builds the v1 message, `token`
//! gets OAuth2 access tokens from the service account's `token_uri` (JWT
//! bearer grant, cached until expiry, one fetch at a time, backing off
//! after failures), `client` posts over one HTTP/2 client, and `response`
//! classifies Google's error JSON. A token endpoint that refuses the
//! service account makes every send a `Credentials` outcome.

mod client;
mod config;
pub mod payload;
mod response;
mod token;

pub use config::{DEFAULT_TTL, FcmConfig};
pub use payload::{FCM_MAX_PAYLOAD, FcmPayloadError, message_json};
pub use token::FCM_SCOPE;

use async_trait::async_trait;

use self::client::FcmClient;
use self::response::{classify, is_unauthenticated};
use self::token::{AccessTokens, TokenFailure};
use crate::channels::clock::Clock;
use crate::channels::{Address, Channel, OutboundMessage, Outcome, PushMessage, RenderedMessage};
use crate::config::{ConfigError, FcmSettings};
use crate::domain::Platform;

/// Why the FCM adapter could not be set up or get a token. Never shows the
/// service account's key.
#[derive(Debug, thiserror::Error)]
pub enum FcmError {
    /// A required `[fcm]` key is unset.
    #[error("fcm.{0} is not set")]
    Missing(&'static str),
    /// The service-account file could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The service-account JSON is unusable.
    #[error("fcm.service_account_file: {0}")]
    ServiceAccount(String),
    /// reqwest refused the client configuration.
    #[error("cannot build the FCM HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// Sends push messages to Android and web devices through FCM.
pub struct FcmChannel {
    /// The HTTP/2 transport.
    client: FcmClient,
    /// OAuth2 access tokens.
    tokens: AccessTokens,
    /// TTL for messages without an expiration.
    default_ttl: std::time::Duration,
    /// Now, for TTLs and Retry-After dates.
    clock: Clock,
}

impl FcmChannel {
    /// An adapter on the system clock.
    pub fn new(config: FcmConfig) -> Result<Self, FcmError> {
        Self::with_clock(config, Clock::system())
    }

    /// An adapter reading time from `clock`.
    pub fn with_clock(config: FcmConfig, clock: Clock) -> Result<Self, FcmError> {
        config::ServiceAccountFields::parse(config.service_account.expose())?;
        Ok(Self {
            client: FcmClient::new(&config.endpoint, &config.project_id)?,
            tokens: AccessTokens::new(&config.service_account)?,
            default_ttl: config.default_ttl,
            clock,
        })
    }

    /// An adapter from `[fcm]` settings.
    pub fn from_settings(settings: &FcmSettings) -> Result<Self, FcmError> {
        Self::new(FcmConfig::from_settings(settings)?)
    }

    /// Builds, authorises and posts one message.
    async fn push(&self, device_token: &str, message: &PushMessage) -> Outcome {
        let now = self.clock.now();
        let body = match message_json(message, device_token, now, self.default_ttl) {
            Ok(body) => body,
            Err(e) => {
                return Outcome::Permanent {
                    reason: e.to_string(),
                };
            }
        };
        let bearer = match self.tokens.bearer().await {
            Ok(bearer) => bearer,
            Err(failure) => return token_failure(failure),
        };
        match self.client.post(body, bearer.as_str(), now).await {
            Ok(reply) => {
                if is_unauthenticated(&reply) {
                    self.tokens.invalidate(&bearer);
                }
                classify(&reply)
            }
            Err(e) => retry(format!("FCM transport error: {e}")),
        }
    }
}

#[async_trait]
impl Channel for FcmChannel {
    fn name(&self) -> &'static str {
        "fcm"
    }

    async fn send(&self, message: &OutboundMessage) -> Outcome {
        match (&message.address, &message.content) {
            (
                Address::Device {
                    platform: Platform::Android | Platform::Web,
                    token,
                },
                RenderedMessage::Push(push),
            ) => self.push(token, push).await,
            _ => Outcome::Permanent {
                reason: "FCM sends push messages to Android and web device tokens only".to_owned(),
            },
        }
    }
}

/// What to fix when the token endpoint refuses the service account.
const FIX_ACCOUNT: &str = "[fcm] service_account_file";

/// The outcome of a send that got no access token.
fn token_failure(failure: TokenFailure) -> Outcome {
    if failure.refused {
        Outcome::Credentials {
            reason: format!(
                "the token endpoint refused the service account ({})",
                failure.reason
            ),
            fix: FIX_ACCOUNT.to_owned(),
        }
    } else {
        retry(format!("FCM OAuth token: {}", failure.reason))
    }
}

/// A `Retry` without a requested delay.
fn retry(reason: String) -> Outcome {
    Outcome::Retry {
        after: None,
        reason,
    }
}
