//! Cron expressions as crontab(5) users write them, run by the `cron`
//! crate. Five fields (minute first) or six (seconds first). Day-of-week
//! numbers mean what crontab says (0 or 7 = Sunday, 1 = Monday, ...), not
//! the crate's own convention (1 = Sunday): numbers and names are expanded
//! to an explicit list of names before the crate sees them.
//!
//! Occurrences are computed on wall-clock time and then placed in a
//! timezone, so "10:00 every Saturday" stays at 10:00 local across DST
//! changes. A wall-clock time that does not exist (the hour skipped in
//! spring) fires at the first valid minute after the gap; a time that
//! happens twice (autumn) fires once, at the first.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use std::str::FromStr;

/// A parsed cron expression.
#[derive(Debug, Clone)]
pub struct CronExpr {
    /// As the user wrote it.
    source: String,
    /// The crate's schedule, fed wall-clock times as if they were UTC.
    schedule: cron::Schedule,
}

/// Why an expression was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cron `{expr}`: {reason}")]
pub struct CronError {
    /// The expression.
    pub expr: String,
    /// What is wrong.
    pub reason: String,
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

impl CronExpr {
    /// Parses a five- or six-field expression.
    pub fn parse(source: &str) -> Result<CronExpr, CronError> {
        let error = |reason: String| CronError {
            expr: source.to_owned(),
            reason,
        };
        let fields: Vec<&str> = source.split_whitespace().collect();
        let mut six: Vec<String> = match fields.len() {
            5 => std::iter::once("0")
                .chain(fields.iter().copied())
                .map(str::to_owned)
                .collect(),
            6 => fields.iter().map(|f| (*f).to_owned()).collect(),
            n => {
                return Err(error(format!(
                    "expected 5 fields (minute hour day month weekday) or 6 (with seconds first), got {n}"
                )));
            }
        };
        six[5] = weekdays(&six[5]).map_err(error)?;
        let schedule =
            cron::Schedule::from_str(&six.join(" ")).map_err(|e| error(e.to_string()))?;
        Ok(CronExpr {
            source: source.to_owned(),
            schedule,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The first occurrence strictly after `after`, in `tz`.
    pub fn next_after<Z: TimeZone>(&self, after: &DateTime<Z>, tz: &Z) -> Option<DateTime<Z>> {
        let wall = after.naive_local();
        let floating = Utc.from_utc_datetime(&wall);
        self.schedule
            .after(&floating)
            .map(|t| place(tz, t.naive_utc()))
            .find(|t| t > after)
    }

    /// The next `n` occurrences after `after`, in `tz`.
    pub fn upcoming<Z: TimeZone>(&self, after: &DateTime<Z>, tz: &Z, n: usize) -> Vec<DateTime<Z>> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = after.clone();
        while out.len() < n {
            let Some(next) = self.next_after(&cursor, tz) else {
                break;
            };
            cursor = next.clone();
            out.push(next);
        }
        out
    }
}

/// Places a wall-clock time in `tz`: the earlier of two, or the first
/// valid minute after a gap.
fn place<Z: TimeZone>(tz: &Z, wall: NaiveDateTime) -> DateTime<Z> {
    let mut probe = wall;
    for _ in 0..(24 * 60) {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t,
            LocalResult::Ambiguous(earlier, _) => return earlier,
            LocalResult::None => probe += Duration::minutes(1),
        }
    }
    tz.from_utc_datetime(&wall)
}

/// Rewrites a crontab day-of-week field as an explicit list of names.
fn weekdays(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok(field.to_owned());
    }
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .map_err(|_| format!("bad step `{s}` in weekday field"))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = match range {
            "*" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None => {
                    let d = day(r)?;
                    (d, if step > 1 { 6 } else { d })
                }
            },
        };
        let hi = if hi < lo { hi + 7 } else { hi };
        for d in (lo..=hi).step_by(step.max(1)) {
            days[d % 7] = true;
        }
    }
    let names: Vec<&str> = (0..7).filter(|&d| days[d]).map(|d| DAYS[d]).collect();
    Ok(names.join(","))
}

/// A crontab day: 0-7 (0 and 7 = Sunday) or a three-letter name.
fn day(token: &str) -> Result<usize, String> {
    if let Ok(n) = token.parse::<usize>() {
        return if n <= 7 {
            Ok(n % 7)
        } else {
            Err(format!("weekday {n} is not 0-7"))
        };
    }
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(token))
        .ok_or_else(|| format!("`{token}` is not a weekday (0-7 or Sun..Sat)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;

    fn at(tz: &chrono_tz::Tz, s: &str) -> DateTime<chrono_tz::Tz> {
        tz.from_local_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
            .unwrap()
    }

    #[test]
    fn crontab_weekday_numbers_mean_sunday_zero_monday_one() {
        let cron = CronExpr::parse("0 9 * * 1-5").unwrap();
        // 2026-11-28 is a Saturday: the next weekday run is Monday the 30th
        let next = cron
            .next_after(&at(&Berlin, "2026-11-28 12:00"), &Berlin)
            .unwrap();
        assert_eq!(next, at(&Berlin, "2026-11-30 09:00"));
        let sunday = CronExpr::parse("0 9 * * 7").unwrap();
        assert_eq!(
            sunday
                .next_after(&at(&Berlin, "2026-11-28 12:00"), &Berlin)
                .unwrap(),
            at(&Berlin, "2026-11-29 09:00")
        );
        assert_eq!(weekdays("0,6").unwrap(), "Sun,Sat");
        assert_eq!(weekdays("Mon-Fri").unwrap(), "Mon,Tue,Wed,Thu,Fri");
    }

    #[test]
    fn six_fields_take_seconds_first_and_other_counts_are_rejected() {
        assert!(CronExpr::parse("0 0 10 * * Sat").is_ok());
        let err = CronExpr::parse("0 10 * *").unwrap_err();
        assert!(err.to_string().contains("expected 5 fields"), "{err}");
        assert!(CronExpr::parse("0 9 * * 8").is_err());
    }

    #[test]
    fn local_wall_clock_time_survives_the_dst_change() {
        let cron = CronExpr::parse("0 10 * * *").unwrap();
        let runs = cron.upcoming(&at(&New_York, "2026-03-07 12:00"), &New_York, 2);
        assert_eq!(runs[0].naive_local().to_string(), "2026-03-08 10:00:00");
        assert_eq!(
            runs[0].with_timezone(&Utc).to_rfc3339(),
            "2026-03-08T14:00:00+00:00"
        );
        assert_eq!(
            runs[1].with_timezone(&Utc).to_rfc3339(),
            "2026-03-09T14:00:00+00:00"
        );
        let before = cron
            .next_after(&at(&New_York, "2026-03-06 12:00"), &New_York)
            .unwrap();
        assert_eq!(
            before.with_timezone(&Utc).to_rfc3339(),
            "2026-03-07T15:00:00+00:00"
        );
    }

    #[test]
    fn a_time_skipped_by_dst_fires_after_the_gap_and_a_repeated_one_fires_once() {
        let cron = CronExpr::parse("30 2 * * *").unwrap();
        let spring = cron
            .next_after(&at(&New_York, "2026-03-07 12:00"), &New_York)
            .unwrap();
        assert_eq!(spring.naive_local().to_string(), "2026-03-08 03:00:00");
        let autumn = CronExpr::parse("30 1 * * *").unwrap();
        let runs = autumn.upcoming(&at(&New_York, "2026-10-31 12:00"), &New_York, 2);
        assert_eq!(
            runs[0].with_timezone(&Utc).to_rfc3339(),
            "2026-11-01T05:30:00+00:00"
        );
        assert_eq!(runs[1].naive_local().to_string(), "2026-11-02 01:30:00");
    }
}
