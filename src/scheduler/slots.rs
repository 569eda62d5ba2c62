//! Which schedule slots are due, as pure functions of the schedule, the
//! runs a campaign already has, the user timezones and the time.
//!
//! Catch-up runs only the most recent missed slot. A scheduler that was
//! down over several slots of a cron schedule runs the latest one when it
//! comes back and skips the older ones, as cron(8) and Kubernetes
//! CronJobs do: a backlog of stale "weekly picks" helps nobody. The
//! window searched is (the last slot that ran, or the campaign's
//! creation, now], so a campaign never fires for a slot before it existed.

use crate::campaign::cron::CronExpr;
use crate::campaign::occurrence::{Occurrence, Scope};
use crate::campaign::spec::{Schedule, ScheduleZone};
use crate::store::RunRow;
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Tz;

/// The first span searched backwards from now for the latest slot (ms);
/// it grows fourfold until it reaches the lower bound.
const FIRST_SPAN_MS: i64 = 60_000;

/// The occurrences a campaign's runs served (key, slot instant, scope).
pub fn ran_occurrences(runs: &[RunRow]) -> Vec<Occurrence> {
    runs.iter()
        .map(|r| Occurrence {
            key: r.occurrence.clone(),
            at: r.scheduled_for,
            scope: Occurrence::scope_of(&r.occurrence),
        })
        .collect()
}

/// The slots of `schedule` due at `now` that have not run: an `at`
/// instant once it has passed; for cron, the latest slot after the last
/// one that ran (or after `created_at`), per user timezone in `zones`
/// when the schedule follows the user's clock. An optimal schedule is an
/// `at` of its creation (due at the first tick after it). Triggers are
/// never due here (see `triggers`).
pub fn due_occurrences(
    schedule: &Schedule,
    created_at: i64,
    ran: &[Occurrence],
    zones: &[String],
    now: i64,
) -> Vec<Occurrence> {
    match schedule {
        Schedule::Optimal { .. } => {
            due_occurrences(&Schedule::At(created_at), created_at, ran, zones, now)
        }
        Schedule::At(at) => {
            let slot = Occurrence::at(*at);
            let done = ran.iter().any(|o| o.key == slot.key);
            if *at <= now && !done {
                vec![slot]
            } else {
                vec![]
            }
        }
        Schedule::Cron { cron, zone } => match zone {
            ScheduleZone::Fixed(tz) => {
                let after = last_slot(ran, &Scope::Everyone, "cron:").unwrap_or(created_at);
                latest_slot(cron, tz.tz(), after.max(created_at), now)
                    .map(Occurrence::cron)
                    .into_iter()
                    .collect()
            }
            ScheduleZone::User => zones
                .iter()
                .filter_map(|zone| due_in_zone(cron, zone, created_at, ran, now))
                .collect(),
        },
        Schedule::Trigger { .. } => vec![],
    }
}

/// The latest unrun slot of `cron` read in the user timezone `zone`.
fn due_in_zone(
    cron: &CronExpr,
    zone: &str,
    created_at: i64,
    ran: &[Occurrence],
    now: i64,
) -> Option<Occurrence> {
    let tz: Tz = zone.parse().ok()?;
    let scope = Scope::Timezone(zone.to_owned());
    let after = last_slot(ran, &scope, "cron:").unwrap_or(created_at);
    latest_slot(cron, tz, after.max(created_at), now).map(|ms| Occurrence::cron_in_zone(ms, zone))
}

/// The newest slot instant among the runs of `scope` whose key starts
/// with `prefix`.
fn last_slot(ran: &[Occurrence], scope: &Scope, prefix: &str) -> Option<i64> {
    ran.iter()
        .filter(|o| &o.scope == scope && o.key.starts_with(prefix))
        .map(|o| o.at)
        .max()
}

/// The latest slot of `cron` in `tz` within (`after`, `now`] (ms), found
/// by searching backwards from `now` over growing spans so a frequent
/// expression never walks a long history.
pub fn latest_slot(cron: &CronExpr, tz: Tz, after: i64, now: i64) -> Option<i64> {
    if now <= after {
        return None;
    }
    let mut span = FIRST_SPAN_MS;
    loop {
        let from = now.saturating_sub(span).max(after);
        if let Some(slot) = last_slot_between(cron, tz, from, now) {
            return Some(slot);
        }
        if from == after {
            return None;
        }
        span = span.saturating_mul(4);
    }
}

/// The last slot within (`from`, `now`], walking forwards.
fn last_slot_between(cron: &CronExpr, tz: Tz, from: i64, now: i64) -> Option<i64> {
    let mut cursor = instant(from)?.with_timezone(&tz);
    let mut last = None;
    while let Some(next) = cron.next_after(&cursor, &tz) {
        if next.timestamp_millis() > now {
            break;
        }
        last = Some(next.timestamp_millis());
        cursor = next;
    }
    last
}

fn instant(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// RFC 3339 with the zone's offset, to the second.
pub fn rfc3339_in<Z: TimeZone>(t: &DateTime<Z>) -> String
where
    Z::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The next `n` slots after `now`, RFC 3339 with offset: in the
/// schedule's zone for a fixed timezone, in UTC for `timezone = "user"`
/// (the wall-clock time then applies in each user's zone), the `at`
/// instant while it has not run, nothing for triggers and optimal
/// schedules (those run at the first tick after creation).
pub fn upcoming(schedule: &Schedule, ran: &[Occurrence], now: i64, n: usize) -> Vec<String> {
    let Some(start) = instant(now) else {
        return vec![];
    };
    match schedule {
        Schedule::At(at) => {
            let done = ran.iter().any(|o| o.key == Occurrence::at(*at).key);
            match instant(*at) {
                Some(t) if !done => vec![rfc3339_in(&t)],
                _ => vec![],
            }
        }
        Schedule::Cron { cron, zone } => match zone {
            ScheduleZone::Fixed(tz) => {
                let tz = tz.tz();
                let times = cron.upcoming(&start.with_timezone(&tz), &tz, n);
                times.iter().map(rfc3339_in).collect()
            }
            ScheduleZone::User => cron
                .upcoming(&start, &Utc, n)
                .iter()
                .map(rfc3339_in)
                .collect(),
        },
        Schedule::Trigger { .. } | Schedule::Optimal { .. } => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timezone;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    fn cron(expr: &str, zone: &str) -> Schedule {
        Schedule::Cron {
            cron: Box::new(CronExpr::parse(expr).unwrap()),
            zone: if zone == "user" {
                ScheduleZone::User
            } else {
                ScheduleZone::Fixed(Timezone::parse(zone).unwrap())
            },
        }
    }

    #[test]
    fn an_every_second_cron_finds_the_latest_slot_without_walking_a_year() {
        let c = CronExpr::parse("* * * * * *").unwrap();
        let now = ms("2026-06-01T12:00:00.500Z");
        let slot = latest_slot(&c, chrono_tz::UTC, now - 365 * 86_400_000, now);
        assert_eq!(slot, Some(ms("2026-06-01T12:00:00Z")));
    }

    #[test]
    fn a_cron_with_no_slot_in_the_window_is_not_due() {
        let c = CronExpr::parse("0 10 1 1 *").unwrap();
        let now = ms("2026-06-01T12:00:00Z");
        assert_eq!(
            latest_slot(&c, chrono_tz::UTC, ms("2026-02-01T00:00:00Z"), now),
            None
        );
        assert_eq!(latest_slot(&c, chrono_tz::UTC, now, now), None);
    }

    #[test]
    fn a_slot_that_ran_is_not_due_again() {
        let s = cron("0 10 * * *", "UTC");
        let created = ms("2026-05-01T00:00:00Z");
        let now = ms("2026-06-01T10:00:30Z");
        let due = due_occurrences(&s, created, &[], &[], now);
        assert_eq!(due, vec![Occurrence::cron(ms("2026-06-01T10:00:00Z"))]);
        assert!(due_occurrences(&s, created, &due, &[], now).is_empty());
    }

    #[test]
    fn upcoming_user_zone_times_are_in_utc_and_fixed_ones_carry_the_offset() {
        let now = ms("2026-03-27T12:00:00Z");
        let fixed = upcoming(&cron("0 10 * * *", "Europe/Berlin"), &[], now, 3);
        assert_eq!(
            fixed,
            [
                "2026-03-28T10:00:00+01:00",
                "2026-03-29T10:00:00+02:00",
                "2026-03-30T10:00:00+02:00"
            ]
        );
        let user = upcoming(&cron("0 10 * * *", "user"), &[], now, 1);
        assert_eq!(user, ["2026-03-28T10:00:00+00:00"]);
    }
}
