//! Webhook: each message is POSTed as JSON to `webhook.url`, signed so
//! the receiver can trust it.
//!
//! Headers:
//! - `X-Herald-Timestamp: <unix seconds>`
//! - `X-Herald-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`,
//!   keyed with the contents of `webhook.secret_file`, over the exact body
//!   bytes;
//! - `Idempotency-Key: <outbox message id>`, the same on every retry, so a
//!   receiver can drop duplicates.
//!
//! To verify, a receiver recomputes the HMAC over `timestamp + "." + raw
//! body`, compares it with the header in constant time, and rejects
//! timestamps more than five minutes from its clock ([`verify`] does
//! this). 2xx is delivered; 408, 429 and 5xx retry (Retry-After
//! honoured); any other status is permanent.

mod client;
mod config;
mod payload;

pub use client::WebhookChannel;
pub use config::{WebhookConfig, WebhookConfigError};
pub use payload::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify};
