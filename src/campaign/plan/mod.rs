//! The campaign planner behind [`Engine`](super::engine::Engine): it turns
//! one run of a campaign into the plan (one decision per user in scope),
//! the outbox rows that send it and the exposures that record which items
//! each user was shown.
//!
//! Per page of users (keyset order, so a killed planner resumes after the
//! last page it wrote): scope (timezone slot or trigger batch), audience
//! (CEL), contact policy ([`policy::decide`](super::policy::decide):
//! holdout, consent and channel fallback, frequency cap, quiet hours),
//! each sender's best hour under an optimal schedule (`timing.rs`),
//! recommendations for the users sent to, the render context, one message
//! per user rendered for the chosen channel, and the address it goes to.
//! A render error for one user suppresses that user (`render_error`), it
//! never aborts the run.
//!
//! The plan is deterministic: the same data, models and campaign give the
//! same rows. Nothing reads the clock (time is an argument), nothing
//! iterates a hash map into a payload, and `payload_hash` is taken over the
//! payload with the run's own identifiers (the message id and the run id
//! in links) written as placeholders, so two runs over the same data
//! (two dry runs) compare equal row for row.
//!
//! Links: item URLs, the deep link, the unsubscribe link, the email open
//! pixel and the SMS receipt URL are signed tracking links (see
//! `context.rs` and [`crate::feedback`]); they carry the run id, which the
//! payload hash leaves out like the message id.

mod context;
mod create;
mod create_text;
mod explain;
mod fallback;
mod message;
mod page;
mod preview;
mod providers;
mod ranking;
mod run;
mod setup;
mod timing;

pub use create::campaign_file;
pub(crate) use create::{create, load, open, open_by_hand};
pub(crate) use create_text::{create_text, update_text};
pub(crate) use explain::explain;
pub(crate) use fallback::CampaignFallback;
pub(crate) use preview::{preview, preview_text};
pub(crate) use run::{finish_if_drained, plan};

use super::policy::Rules;
use super::spec::CampaignSpec;
use crate::config::Settings;
use sha2::{Digest, Sha256};

/// Users read per page of the plan.
pub const PAGE_USERS: u64 = 1000;

/// How long the planner lease lasts without renewal (ms); renewed per page.
pub const PLANNER_LEASE_MS: i64 = 60 * 1000;

/// The message id of a (run, user): a UUID (version 8, RFC 9562) made
/// from SHA-256 of both, stable across retries and re-plans, used as the
/// outbox dedup key, the apns-id and the push `message_id` data.
pub fn dedup_key(run_id: i64, user_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(run_id.to_le_bytes())
        .chain_update(user_id.as_bytes())
        .finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The stored payload hash: hex SHA-256 of the payload JSON with the
/// run's own identifiers (`dedup_key`, the run id inside signed links, and
/// `/u/{run_id}/` in plain links) replaced by placeholders, so the same
/// content in two runs hashes alike.
pub fn payload_hash(payload: &str, run_id: i64, dedup_key: &str) -> String {
    let normalized = crate::feedback::without_run_ids(payload)
        .replace(dedup_key, "{message_id}")
        .replace(&format!("/u/{run_id}/"), "/u/{run_id}/");
    hex(&Sha256::digest(normalized.as_bytes()))
}

/// The run seed: fixed by (campaign, occurrence key).
pub fn seed(campaign_id: i64, occurrence: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(campaign_id.to_le_bytes())
        .chain_update(occurrence.as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 1) as i64
}

/// The contact rules in force: the campaign's `[policy]` over the
/// configured defaults, key by key.
pub fn rules(spec: &CampaignSpec, settings: &Settings) -> Rules {
    let own = spec.policy.unwrap_or(super::spec::Policy {
        frequency_cap: None,
        quiet_hours: None,
    });
    Rules {
        frequency_cap: own.frequency_cap.or(settings.policy.frequency_cap),
        quiet_hours: own.quiet_hours.or(settings.policy.quiet_hours),
    }
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dedup_key_is_a_stable_uuid_per_run_and_user() {
        let key = dedup_key(7, "u1");
        assert_eq!(key, dedup_key(7, "u1"));
        assert_ne!(key, dedup_key(8, "u1"));
        assert_ne!(key, dedup_key(7, "u2"));
        let parts: Vec<usize> = key.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12], "{key}");
        assert!(key.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(&key[14..15], "8", "version 8: {key}");
    }

    #[test]
    fn payload_hashes_ignore_the_runs_own_identifiers() {
        let a = format!(r#"{{"id":"{}","u":"http://h/u/7/u1"}}"#, dedup_key(7, "u1"));
        let b = format!(r#"{{"id":"{}","u":"http://h/u/9/u1"}}"#, dedup_key(9, "u1"));
        assert_eq!(
            payload_hash(&a, 7, &dedup_key(7, "u1")),
            payload_hash(&b, 9, &dedup_key(9, "u1"))
        );
        assert_ne!(
            payload_hash(&a, 7, &dedup_key(7, "u1")),
            payload_hash(&b.replace("u1\"}", "u2\"}"), 9, &dedup_key(9, "u1"))
        );
    }

    #[test]
    fn seeds_are_fixed_by_campaign_and_occurrence() {
        assert_eq!(seed(1, "manual:1"), seed(1, "manual:1"));
        assert_ne!(seed(1, "manual:1"), seed(1, "manual:2"));
        assert!(seed(2, "at:2026-01-01T00:00:00Z") >= 0);
    }
}
