//! Dispatch: outbox workers. A worker claims a batch of due outbox rows
//! under a lease, sends each through its channel adapter within the
//! channel's concurrency and rate limit, and records the attempt with the
//! row's new state: sent, retried later (exponential backoff with jitter,
//! honouring Retry-After), failed, or, when a token is dead, moved to the
//! user's next device or next channel. Adapters only classify outcomes;
//! every retry and pruning decision is made here.
//!
//! ```text
//!   claim (lease) ─► read row ─► limits ─► Channel::send ─► decide ─► finish_attempt
//!   worker.rs        attempt.rs  limits.rs  channels.rs     backoff.rs,  (store; only while
//!                                                           fallback.rs   the lease is ours)
//! ```
//!
//! Before each send the provider's circuit (`circuit`) is asked whether
//! it is open; a provider that refuses herald's credentials or settings
//! opens it, and its messages are held pending, attempts kept, until a
//! probe gets through.
//!
//! [`Worker::step`] does one batch at a given instant (tests drive it);
//! [`Worker::drain`] and [`Worker::run`] loop on the wall clock.
//!
//! Delivery is at least once: a row is only claimed when its lease is
//! free or expired, and an attempt is only recorded by the lease holder,
//! so a crashed worker's rows are sent again after the lease, and a send
//! that outlived its lease may be repeated by the next owner (counted as
//! `lost` by the first). The row's dedup key travels as the apns-id, the
//! email Message-ID and the webhook idempotency key, so such a repeat is
//! recognisable downstream. Retries use equal jitter (see `backoff`).

mod attempt;
mod backoff;
mod channels;
pub mod circuit;
mod drain;
mod fallback;
mod limits;
mod worker;

pub use backoff::{Backoff, MAX_RETRY_DELAY, RetryPolicy};
pub use channels::{ChannelSet, Provider};
pub use circuit::{CircuitState, Circuits, Trip};
pub use drain::{DrainReport, POLL_INTERVAL};
pub use fallback::Fallback;
pub use worker::{Step, Tally, Worker, owner_id};

use crate::channels::apns::ApnsError;
use crate::channels::email::EmailConfigError;
use crate::channels::fcm::FcmError;
use crate::channels::sms::SmsConfigError;
use crate::channels::webhook::WebhookConfigError;
use crate::store::StoreError;

/// Why dispatch could not start or go on. Failed sends are not errors:
/// they are recorded as attempts.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// Claiming, recording or reading the outbox failed.
    #[error("dispatch: {0}")]
    Store(#[from] StoreError),
    /// The `[apns]` settings do not make an adapter.
    #[error("cannot set up the APNs channel: {0}")]
    Apns(#[from] ApnsError),
    /// The `[fcm]` settings do not make an adapter.
    #[error("cannot set up the FCM channel: {0}")]
    Fcm(#[from] FcmError),
    /// The `[email]` settings do not make an adapter.
    #[error("cannot set up the email channel: {0}")]
    Email(#[from] EmailConfigError),
    /// The `[sms]` settings do not make an adapter.
    #[error("cannot set up the SMS channel: {0}")]
    Sms(#[from] SmsConfigError),
    /// The `[webhook]` settings do not make an adapter.
    #[error("cannot set up the webhook channel: {0}")]
    Webhook(#[from] WebhookConfigError),
}
