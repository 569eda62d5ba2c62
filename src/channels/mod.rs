//! Channels: how a rendered message becomes bytes on a provider's wire.
//!
//! One small plug point, [`Channel`]: send one message to one address and
//! return a classified [`Outcome`]. Adapters classify; they never retry,
//! sleep or touch the store: the dispatcher alone decides retries, backoff
//! and dead-token pruning. Each adapter lives in its own folder with the
//! same files (`config.rs`, `client.rs`, `payload.rs`, tests), and every
//! adapter passes the same compliance test against its sandbox provider
//! (`sandbox/`), which speaks the real protocol on loopback.

pub mod apns;
pub mod clock;
pub mod email;
pub mod fcm;
pub mod http;
pub mod message;
pub mod sandbox;
pub mod sms;
pub mod tls;
pub mod webhook;

pub use message::{
    Address, EmailMessage, OutboundMessage, PushMessage, PushPriority, RenderedMessage, SmsMessage,
    WebhookMessage,
};

use std::time::Duration;

/// What happened to one send, as the dispatcher needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider accepted the message.
    Delivered {
        /// The provider's id for it (apns-id, FCM message name, SMTP queue
        /// id, Twilio SID), when it gives one.
        provider_id: Option<String>,
    },
    /// A transient failure: try again later, no sooner than `after` when
    /// the provider said so (Retry-After).
    Retry {
        /// The provider's requested delay, if any.
        after: Option<Duration>,
        /// What went wrong, for the attempt log.
        reason: String,
    },
    /// The message can never be delivered as it is (bad payload, bad
    /// address, rejected by policy); do not retry.
    Permanent {
        /// What went wrong.
        reason: String,
    },
    /// The device token is dead (uninstalled app, expired token):
    /// deactivate it at once and never send to it again.
    TokenGone {
        /// The provider's reason (`Unregistered`, `UNREGISTERED`, ...).
        reason: String,
    },
    /// The provider refused herald itself, not this message: its
    /// credentials or settings (FCM token endpoint `invalid_grant`, APNs
    /// 403 `InvalidProviderToken`, SMTP 535, SMS API 401). Nothing can go
    /// through this provider until an operator fixes `fix`; the
    /// dispatcher opens the provider's circuit and keeps the message
    /// pending.
    Credentials {
        /// The provider's answer.
        reason: String,
        /// The setting to fix, e.g. `[fcm] service_account_file`.
        fix: String,
    },
    /// The provider refused the token for this app (APNs `BadDeviceToken`,
    /// `DeviceTokenNotForTopic`): a dead token when it is one among
    /// successes, a wrong topic or endpoint when most sends get it. The
    /// dispatcher tells which from the provider's recent answers.
    TokenRejected {
        /// The provider's reason.
        reason: String,
        /// The settings to check if most tokens are refused.
        fix: String,
    },
}

impl Outcome {
    /// A short name for logs and metrics: `delivered`, `retry`,
    /// `permanent`, `token_gone`, `credentials`, `token_rejected`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Delivered { .. } => "delivered",
            Outcome::Retry { .. } => "retry",
            Outcome::Permanent { .. } => "permanent",
            Outcome::TokenGone { .. } => "token_gone",
            Outcome::Credentials { .. } => "credentials",
            Outcome::TokenRejected { .. } => "token_rejected",
        }
    }

    /// The provider's reason, if the send failed.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::Delivered { .. } => None,
            Outcome::Retry { reason, .. }
            | Outcome::Permanent { reason }
            | Outcome::TokenGone { reason }
            | Outcome::Credentials { reason, .. }
            | Outcome::TokenRejected { reason, .. } => Some(reason),
        }
    }
}

/// A delivery adapter: APNs, FCM, email, SMS or webhook.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    /// The adapter's name, for logs and metrics (`apns`, `fcm`, `email`,
    /// `sms`, `webhook`).
    fn name(&self) -> &'static str;

    /// Sends one message and classifies the result. Never panics and never
    /// retries by itself; network errors are `Retry`.
    async fn send(&self, message: &OutboundMessage) -> Outcome;
}
