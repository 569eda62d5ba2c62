//! The contact policy: one pure function decides, for one user and one
//! campaign run, whether to send, on which channel and variant, when, or
//! why not. Every "not sent" has a reason, so `campaign explain` can say
//! it. Time and history are passed in, so every rule is testable.
//!
//! Order: holdout (deterministic by hashing campaign and user) → channel
//! fallback (the first listed channel the user consented to and can be
//! reached on) → frequency cap (messages already sent in the trailing
//! period, across campaigns) → quiet hours (deferred to the end of the
//! window in the user's timezone, not dropped).

use super::spec::{CampaignSpec, Variant};
use crate::config::{FrequencyCap, QuietHours};
use crate::domain::Channel;
use crate::store::UserFactRow;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sha2::{Digest, Sha256};

/// Why a user is not sent to (or not now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// In the control group: recorded, never sent.
    Holdout,
    /// Reachable on a listed channel but consented to none of them.
    NoConsent,
    /// No listed channel has an address (device, email, phone).
    NoReachableChannel,
    /// Already received `cap` messages in the period.
    FrequencyCapped(FrequencyCap),
    /// Inside quiet hours; sent when they end.
    QuietHours,
}

impl Reason {
    /// The stored reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Holdout => "holdout",
            Reason::NoConsent => "no_consent",
            Reason::NoReachableChannel => "no_reachable_channel",
            Reason::FrequencyCapped(_) => "frequency_capped",
            Reason::QuietHours => "quiet_hours",
        }
    }

    /// A sentence for `campaign explain`.
    pub fn explain(&self) -> String {
        match self {
            Reason::Holdout => "in the holdout control group, which is never sent to".into(),
            Reason::NoConsent => {
                "has an address on a campaign channel but no consent for it".into()
            }
            Reason::NoReachableChannel => {
                "has no device, email or phone for any campaign channel".into()
            }
            Reason::FrequencyCapped(cap) => format!("already reached the frequency cap of {cap}"),
            Reason::QuietHours => {
                "inside quiet hours in their timezone; deferred to the end of them".into()
            }
        }
    }
}

/// What to do with one user in one run.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Send `variant` on `channel`, no earlier than `not_before` (ms).
    Send {
        /// The variant's name.
        variant: String,
        /// The channel.
        channel: Channel,
        /// Deferral (quiet hours), if any.
        not_before: Option<i64>,
    },
    /// Do not send; `variant` is what the user would have got.
    Skip {
        /// The variant the user is assigned to (for holdout analysis).
        variant: String,
        /// Why.
        reason: Reason,
    },
}

/// The contact rules in force for a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// Cap across campaigns.
    pub frequency_cap: Option<FrequencyCap>,
    /// Quiet window in each user's local time.
    pub quiet_hours: Option<QuietHours>,
}

/// A number in [0, 1) fixed by (campaign, user): the same user always
/// lands in the same bucket of the same campaign.
pub fn bucket(campaign_id: i64, user_id: &str) -> f64 {
    let digest = Sha256::new()
        .chain_update(campaign_id.to_le_bytes())
        .chain_update(user_id.as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// The variant for a bucket past the holdout: cumulative weights over the
/// rest of [0, 1).
fn variant_for(variants: &[Variant], holdout: f64, bucket: f64) -> &Variant {
    let position = if holdout < 1.0 {
        (bucket - holdout).max(0.0) / (1.0 - holdout)
    } else {
        0.0
    };
    let mut cumulative = 0.0;
    for v in variants {
        cumulative += v.weight;
        if position < cumulative {
            return v;
        }
    }
    &variants[variants.len() - 1]
}

/// The first listed channel the user can be reached on with consent, or
/// the reason there is none.
pub fn pick_channel(channels: &[Channel], user: &UserFactRow) -> Result<Channel, Reason> {
    let mut reachable_somewhere = false;
    for &channel in channels {
        let (reachable, consent) = match channel {
            Channel::Push => (
                !user.platforms.is_empty(),
                user.consents.get("push").copied(),
            ),
            Channel::Email => (
                user.profile.contains_key("email"),
                user.consents.get("email").copied(),
            ),
            Channel::Sms => (
                user.profile.contains_key("phone"),
                user.consents.get("sms").copied(),
            ),
            Channel::Webhook => (true, Some(true)),
        };
        reachable_somewhere |= reachable;
        if reachable && consent == Some(true) {
            return Ok(channel);
        }
    }
    Err(if reachable_somewhere {
        Reason::NoConsent
    } else {
        Reason::NoReachableChannel
    })
}

/// The end of the quiet window containing `now` in `tz`, or `None` when
/// `now` is outside it.
pub fn quiet_until<Z: TimeZone>(
    quiet: &QuietHours,
    now: DateTime<Utc>,
    tz: &Z,
) -> Option<DateTime<Utc>> {
    let local = now.with_timezone(tz);
    if !quiet.contains(local.time()) {
        return None;
    }
    let mut day = local.date_naive();
    if quiet.start > quiet.end && local.time() >= quiet.start {
        day = day.succ_opt()?;
    }
    let end = day.and_time(quiet.end);
    let placed = tz.from_local_datetime(&end).earliest().or_else(|| {
        tz.from_local_datetime(&(end + Duration::hours(1)))
            .earliest()
    })?;
    Some(placed.with_timezone(&Utc))
}

/// Decides for one user. `sent_in_period` counts messages the user got in
/// the cap's trailing period, across campaigns; `now` is the run's time.
pub fn decide(
    spec: &CampaignSpec,
    campaign_id: i64,
    rules: &Rules,
    user: &UserFactRow,
    sent_in_period: u32,
    now: DateTime<Utc>,
) -> Decision {
    let b = bucket(campaign_id, &user.user_id);
    let variant = variant_for(&spec.variants, spec.holdout, b).name.clone();
    let skip = |reason| Decision::Skip {
        variant: variant.clone(),
        reason,
    };
    if b < spec.holdout {
        return skip(Reason::Holdout);
    }
    let channel = match pick_channel(&spec.channels, user) {
        Ok(c) => c,
        Err(reason) => return skip(reason),
    };
    if let Some(cap) = rules
        .frequency_cap
        .filter(|cap| sent_in_period >= cap.count)
    {
        return skip(Reason::FrequencyCapped(cap));
    }
    let tz = user
        .profile
        .get("timezone")
        .and_then(|t| t.as_str())
        .and_then(|t| t.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    let not_before = rules
        .quiet_hours
        .and_then(|q| quiet_until(&q, now, &tz))
        .map(|t| t.timestamp_millis());
    Decision::Send {
        variant,
        channel,
        not_before,
    }
}

#[cfg(test)]
mod tests;
