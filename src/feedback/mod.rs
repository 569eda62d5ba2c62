//! Feedback: what people did with a message, captured through signed
//! links and provider receipts, and turned into `feedback_events` rows.
//!
//! Every tracking and unsubscribe link carries its message's identity
//! (run, user, variant, channel, item, and for clicks the destination URL)
//! in a compact token signed with HMAC-SHA256 ([`links`], format in
//! [`token`]). The HTTP routes (`crate::api`) verify the token before
//! reading it, so a tampered or forged link records nothing, and a click
//! can only redirect where the planner signed it to (no open redirect).
//! Tokens hold no timestamp or nonce: a message's links are the same every
//! time it is planned, so plans stay deterministic. They are signed, not
//! encrypted: whoever holds a link can decode the ids in it, so user ids
//! should be opaque (not email addresses).
//!
//! The key ([`secret::link_key`]): the contents of
//! `security.link_secret_file` when it is set (at least 16 bytes; changing
//! it invalidates every link already sent); otherwise 32 random bytes
//! generated once and kept in the database's `secrets` table (name
//! `link_secret`), shared by every process on that database and surviving
//! restarts. Set the file when links must outlive the database or be
//! verified by another deployment.
//!
//! Events ([`events`]): `click` (every click is kept; rates count distinct
//! users), `open` (email pixel), `unsubscribe` (consent for the link's
//! channel turned off at once, recorded only when it changed, so the
//! page and RFC 8058 one-click POST are idempotent), and the SMS receipts
//! `delivered` / `failed`. Clicks, opens and receipts go through one
//! writer that commits whatever is waiting in one statement
//! ([`recorder`]); every request still answers after its row is durable.

pub mod events;
pub mod links;
pub mod recorder;
pub mod secret;
pub mod token;

pub use links::{LinkError, LinkKey, Linker, without_run_ids};
pub use recorder::Recorder;
pub use secret::link_key;
pub use token::{LinkKind, LinkToken};

use crate::config::ConfigError;
use crate::store::StoreError;

/// Why the feedback machinery could not start or record.
#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    /// The link secret file could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The link secret file is too short to be a key.
    #[error(
        "security.link_secret_file holds {0} bytes: use at least 16 random bytes, e.g. `openssl rand -hex 32 > FILE`"
    )]
    ShortSecret(usize),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
