//! The `schedule` table of a campaign file: exactly one of `at`, `cron`
//! (with its `timezone`), `trigger` (with `delay`, `condition`, `window`)
//! or `optimal = true` (with `within`), each checked with errors that
//! name the field.

use super::{
    Checked, DEFAULT_OPTIMAL_WITHIN, DEFAULT_TRIGGER_WINDOW, OPTIMAL_WITHIN_MAX,
    OPTIMAL_WITHIN_MIN, RawSchedule, Schedule, ScheduleZone, bad,
};
use crate::campaign::cron::CronExpr;
use crate::domain::Timezone;
use crate::segment::audience::Audience;
use std::collections::BTreeSet;

/// The validated schedule of `raw`.
pub(super) fn schedule(raw: &RawSchedule, attributes: &BTreeSet<String>) -> Checked<Schedule> {
    if raw.optimal.is_some() || raw.within.is_some() {
        return optimal(raw);
    }
    match (&raw.at, &raw.cron, &raw.trigger) {
        (Some(at), None, None) => {
            let millis = crate::domain::parse_rfc3339_millis(at)
                .map_err(|e| ("schedule.at".to_owned(), e.0))?;
            Ok(Schedule::At(millis))
        }
        (None, Some(cron), None) => cron_schedule(cron, raw.timezone.as_deref()),
        (None, None, Some(event)) => trigger(event, raw, attributes),
        _ => bad(
            "schedule",
            "give exactly one of at, cron, trigger or optimal = true",
        ),
    }
}

fn cron_schedule(cron: &str, timezone: Option<&str>) -> Checked<Schedule> {
    let cron = CronExpr::parse(cron).map_err(|e| ("schedule.cron".to_owned(), e.reason))?;
    let cron = Box::new(cron);
    let zone = match timezone {
        None => return bad("schedule.timezone", "give an IANA timezone or \"user\""),
        Some("user") => ScheduleZone::User,
        Some(tz) => ScheduleZone::Fixed(
            Timezone::parse(tz).map_err(|e| ("schedule.timezone".to_owned(), e.0))?,
        ),
    };
    Ok(Schedule::Cron { cron, zone })
}

fn trigger(event: &str, raw: &RawSchedule, attributes: &BTreeSet<String>) -> Checked<Schedule> {
    crate::domain::EventKind::parse(event).map_err(|e| ("schedule.trigger".to_owned(), e.0))?;
    if let Some(condition) = &raw.condition {
        Audience::compile(condition, attributes)
            .map_err(|e| ("schedule.condition".to_owned(), e.to_string()))?;
    }
    let window = raw.window.unwrap_or(DEFAULT_TRIGGER_WINDOW);
    if window.get().as_millis() < 1000 {
        return bad("schedule.window", "must be at least 1s (e.g. \"24h\")");
    }
    Ok(Schedule::Trigger {
        event: event.to_owned(),
        delay: raw.delay.unwrap_or_default(),
        condition: raw.condition.clone(),
        window,
    })
}

/// `{ optimal = true, within = "24h" }`: alone (no at, cron, trigger or
/// their options), `within` from one hour to seven days.
fn optimal(raw: &RawSchedule) -> Checked<Schedule> {
    match raw.optimal {
        Some(true) => {}
        Some(false) => {
            return bad(
                "schedule.optimal",
                "must be true (leave it out and give at, cron or trigger instead)",
            );
        }
        None => return bad("schedule.within", "only goes with optimal = true"),
    }
    let others = [
        ("at", raw.at.is_some()),
        ("cron", raw.cron.is_some()),
        ("trigger", raw.trigger.is_some()),
        ("timezone", raw.timezone.is_some()),
        ("delay", raw.delay.is_some()),
        ("condition", raw.condition.is_some()),
        ("window", raw.window.is_some()),
    ];
    if let Some((name, _)) = others.iter().find(|(_, set)| *set) {
        return bad(
            &format!("schedule.{name}"),
            "does not go with optimal = true (an optimal schedule runs once, now, \
             and sends each user at their best hour)",
        );
    }
    let within = raw.within.unwrap_or(DEFAULT_OPTIMAL_WITHIN);
    if within.get() < OPTIMAL_WITHIN_MIN.get() || within.get() > OPTIMAL_WITHIN_MAX.get() {
        return bad(
            "schedule.within",
            format!("{within} is outside 1h..=7d (e.g. \"24h\")"),
        );
    }
    Ok(Schedule::Optimal { within })
}
