//! Occurrences: the schedule slot a run serves, and which users it covers.
//! The key is stored as `campaign_runs.occurrence` (unique per campaign),
//! so a slot is planned once however many schedulers race for it, and the
//! scope is read back from the key when a run is resumed.
//!
//! Keys: `at:<RFC 3339>` (one-off), `cron:<RFC 3339>` (fixed timezone),
//! `cron:<RFC 3339>@<IANA zone>` (user-timezone cron: only users in that
//! zone), `trigger:<ms>` (users of the fires attached to the run),
//! `manual:<n>` and `dry-run:<n>` (`campaign run`).

use crate::campaign::spec::Schedule;
use chrono::{DateTime, SecondsFormat, Utc};

/// Which users a run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everyone the audience matches.
    Everyone,
    /// Audience members whose timezone is this IANA name (users without
    /// a timezone count as `UTC`).
    Timezone(String),
    /// The users whose trigger fires are attached to the run.
    TriggerFires,
}

/// One schedule slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    /// The stored key (see the module doc).
    pub key: String,
    /// The slot's instant (ms).
    pub at: i64,
    /// Who it covers.
    pub scope: Scope,
}

fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Occurrence {
    /// A one-off `at` slot.
    pub fn at(ms: i64) -> Self {
        Self {
            key: format!("at:{}", rfc3339(ms)),
            at: ms,
            scope: Scope::Everyone,
        }
    }

    /// A cron slot in a fixed timezone.
    pub fn cron(ms: i64) -> Self {
        Self {
            key: format!("cron:{}", rfc3339(ms)),
            at: ms,
            scope: Scope::Everyone,
        }
    }

    /// A user-timezone cron slot: the wall-clock time in `zone`.
    pub fn cron_in_zone(ms: i64, zone: &str) -> Self {
        Self {
            key: format!("cron:{}@{zone}", rfc3339(ms)),
            at: ms,
            scope: Scope::Timezone(zone.to_owned()),
        }
    }

    /// A batch of due trigger fires, collected at `ms`.
    pub fn trigger(ms: i64) -> Self {
        Self {
            key: format!("trigger:{ms}"),
            at: ms,
            scope: Scope::TriggerFires,
        }
    }

    /// The `n`th manual run (`campaign run`), or a dry run.
    pub fn manual(n: u64, at: i64, dry_run: bool) -> Self {
        let kind = if dry_run { "dry-run" } else { "manual" };
        Self {
            key: format!("{kind}:{n}"),
            at,
            scope: Scope::Everyone,
        }
    }

    /// The slot a run started by hand (`campaign run`, the API, the demo)
    /// serves. A one-off campaign (`at`, or `optimal`, whose slot is its
    /// creation) has one slot: the first real run by hand is that slot,
    /// stamped `now`, so the scheduler never sends the campaign again.
    /// Any other run by hand is the `n`th manual run (or a dry run).
    /// `ran` holds the keys of the campaign's runs so far.
    pub fn by_hand(
        schedule: &Schedule,
        created_at: i64,
        ran: &[&str],
        n: u64,
        now: i64,
        dry_run: bool,
    ) -> Self {
        let slot = match schedule {
            Schedule::At(at) => Some(Occurrence::at(*at)),
            Schedule::Optimal { .. } => Some(Occurrence::at(created_at)),
            Schedule::Cron { .. } | Schedule::Trigger { .. } => None,
        };
        match slot {
            Some(slot) if !dry_run && !ran.contains(&slot.key.as_str()) => {
                Occurrence { at: now, ..slot }
            }
            _ => Occurrence::manual(n, now, dry_run),
        }
    }

    /// The scope a stored key stands for.
    pub fn scope_of(key: &str) -> Scope {
        if key.starts_with("trigger:") {
            Scope::TriggerFires
        } else if let Some(zone) = key.strip_prefix("cron:").and_then(|k| k.split_once('@')) {
            Scope::Timezone(zone.1.to_owned())
        } else {
            Scope::Everyone
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_to_their_scope() {
        let ms = 1_764_000_000_000;
        for o in [
            Occurrence::at(ms),
            Occurrence::cron(ms),
            Occurrence::cron_in_zone(ms, "Europe/Berlin"),
            Occurrence::trigger(ms),
            Occurrence::manual(3, ms, true),
        ] {
            assert_eq!(Occurrence::scope_of(&o.key), o.scope, "{}", o.key);
        }
        assert_eq!(
            Occurrence::cron_in_zone(ms, "Asia/Tokyo").key,
            "cron:2025-11-24T16:00:00Z@Asia/Tokyo"
        );
    }

    #[test]
    fn the_first_run_by_hand_of_a_one_off_campaign_is_its_slot() {
        let (at, now) = (1_764_000_000_000, 1_765_000_000_000);
        let once = Schedule::At(at);
        let first = Occurrence::by_hand(&once, 0, &[], 1, now, false);
        assert_eq!(first.key, Occurrence::at(at).key);
        assert_eq!(first.at, now, "stamped when it was run, not at the slot");
        let ran = [first.key.as_str()];
        let second = Occurrence::by_hand(&once, 0, &ran, 2, now, false);
        assert_eq!(second.key, "manual:2");
        let dry = Occurrence::by_hand(&once, 0, &[], 1, now, true);
        assert_eq!(dry.key, "dry-run:1", "a dry run never takes the slot");
    }
}
