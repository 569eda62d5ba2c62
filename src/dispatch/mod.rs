//! Dispatch: outbox workers. A worker claims a batch of due outbox rows
//! under a lease, sends each through its channel adapter within the
//! channel's concurrency and rate limit, and records the attempt with the
//! row's new state: sent, retried later (exponential backoff with jitter,
//! honouring Retry-After), failed, or, when a token is dead, moved to the
//! user's next device or next channel. Adapters only classify outcomes;
//! every retry and pruning decision is made here.
//!
//! ```text
//!   claim (lease, ─► read row ─► limits ─► Channel::send   ─► decide ─► recorder
//!   attempts + 1)    attempt.rs  limits.rs  (lease deadline)   backoff.rs  record.rs (group
//!   worker.rs                               lease.rs renews    fallback.rs commit, store)
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
//! Delivery guarantees:
//!
//! - At most `max_attempts` sends per message. The claim counts the
//!   attempt before anything is sent, and a row claimed once more than
//!   allowed fails ("attempts exhausted ... before a result was
//!   recorded") without a send, whatever happened to the earlier results
//!   (a crash, a lost lease, a provider slower than the lease).
//! - No send outlives its lease: each gets the lease's remaining time
//!   (less a tenth kept for recording) as a deadline, and the lease of the
//!   rows in flight is renewed every third of a lease. No answer by the
//!   deadline is an ambiguous, transient failure: retried with the same id.
//!   `dispatch.lease` must be at least twice the longest provider timeout
//!   (checked when the adapters are built from the settings).
//! - Every result is logged, even one that arrives after the lease was
//!   lost; a delivery then still marks the row `sent` if it is pending,
//!   so no other worker sends it again. Other late outcomes leave the row
//!   to whoever holds it now.
//! - Results are committed as they arrive (a group every few milliseconds
//!   or few dozen results), so a worker killed mid-batch repeats at most
//!   the sends that were in flight (at most the providers' concurrency),
//!   each with its stable dedup key (the apns-id, the email Message-ID, the
//!   webhook idempotency key). The leases of a killed process of this host
//!   are freed when a worker on the host starts, so its rows need not wait
//!   for the lease to expire.
//!
//! Retries use equal jitter (see `backoff`).

mod attempt;
mod backoff;
mod channels;
pub mod circuit;
mod drain;
mod fallback;
mod lease;
mod limits;
mod recheck;
mod owner;
mod record;
mod worker;

pub use backoff::{Backoff, MAX_RETRY_DELAY, RetryPolicy};
pub use channels::{ChannelSet, Provider};
pub use circuit::{CircuitState, Circuits, Trip};
pub use drain::{DrainReport, POLL_INTERVAL};
pub use fallback::Fallback;
pub use owner::{owner_id, owner_is_gone};
pub use worker::{Step, Tally, Worker};

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
    /// `dispatch.lease` leaves a send less time than its provider may take.
    #[error(
        "dispatch.lease = {lease} is shorter than twice the {provider} adapter's request \
         timeout ({timeout}s): a send could outlive its lease and be repeated by another \
         worker; set dispatch.lease to at least {minimum}s"
    )]
    LeaseTooShort {
        /// The configured lease.
        lease: crate::config::Duration,
        /// The provider with the longest timeout.
        provider: Provider,
        /// Its timeout (s).
        timeout: u64,
        /// The shortest lease allowed (s).
        minimum: u64,
    },
}
