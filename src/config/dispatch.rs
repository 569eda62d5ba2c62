//! `[dispatch]`: how outbox workers pace, retry and lease their sends.
//!
//! One shared block (retries, backoff, batch, lease) plus one
//! `[dispatch.<channel>]` table per channel with its concurrency and rate.
//! The dispatcher alone reads these (ARCHITECTURE rule 5); adapters never
//! retry on their own.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::values::{Duration, nz};

/// `[dispatch]`: retry, backoff and batching for the outbox workers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchSettings {
    /// Attempts per message, the first send included, before it is marked failed.
    pub max_attempts: NonZeroU32,
    /// Delay before the first retry; doubles on each further attempt (with jitter).
    pub backoff_base: Duration,
    /// Upper bound on any one retry delay (a provider's `Retry-After` may exceed it).
    pub backoff_max: Duration,
    /// Outbox rows a worker claims per round trip to the database.
    pub batch_size: NonZeroU32,
    /// How long a claimed row stays owned by its worker before another may take it
    /// (renewed while its send is in flight); at least twice the longest provider
    /// request timeout, which the dispatcher checks when it builds its adapters.
    pub lease: Duration,
    /// `[dispatch.apns]`: Apple push.
    pub apns: ChannelLimits,
    /// `[dispatch.fcm]`: Firebase Cloud Messaging.
    pub fcm: ChannelLimits,
    /// `[dispatch.email]`: SMTP.
    pub email: ChannelLimits,
    /// `[dispatch.sms]`: Twilio-compatible SMS.
    pub sms: ChannelLimits,
    /// `[dispatch.webhook]`: outgoing webhooks.
    pub webhook: ChannelLimits,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            max_attempts: nz(6),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            batch_size: nz(256),
            lease: Duration::from_secs(60),
            apns: ChannelLimits::unlimited(nz(64)),
            fcm: ChannelLimits::unlimited(nz(64)),
            email: ChannelLimits::unlimited(nz(8)),
            sms: ChannelLimits::unlimited(nz(4)),
            webhook: ChannelLimits::unlimited(nz(16)),
        }
    }
}

impl DispatchSettings {
    /// Checks that need more than one key: the backoff bounds and the lease.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.backoff_max < self.backoff_base {
            return Err(ConfigError::Invalid {
                key: "dispatch.backoff_max",
                reason: format!(
                    "{} is shorter than dispatch.backoff_base ({})",
                    self.backoff_max, self.backoff_base
                ),
            });
        }
        if self.lease.is_zero() {
            return Err(ConfigError::Invalid {
                key: "dispatch.lease",
                reason: "must be longer than 0s".to_owned(),
            });
        }
        Ok(())
    }
}

/// `[dispatch.<channel>]`: how hard one channel may be driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChannelLimits {
    /// Sends in flight at once on this channel.
    pub concurrency: NonZeroU32,
    /// Messages per second across the process; 0 = unlimited.
    pub rate: u32,
}

impl ChannelLimits {
    /// `concurrency` sends in flight and no rate limit.
    pub const fn unlimited(concurrency: NonZeroU32) -> Self {
        Self {
            concurrency,
            rate: 0,
        }
    }

    /// The rate limit in messages per second, or `None` when unlimited.
    pub fn rate_limit(&self) -> Option<NonZeroU32> {
        NonZeroU32::new(self.rate)
    }
}

impl Default for ChannelLimits {
    /// Used only when a table is built outside the loader; the loader starts
    /// from [`DispatchSettings::default`], which has per-channel values.
    fn default() -> Self {
        Self::unlimited(nz(16))
    }
}
