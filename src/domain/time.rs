//! Time: RFC 3339 instants stored as milliseconds since the Unix epoch, and
//! IANA timezones (`Europe/Berlin`) validated against the tz database.

use super::Invalid;
use chrono::{DateTime, SecondsFormat, Utc};

/// An IANA timezone name known to the tz database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone(chrono_tz::Tz);

impl Timezone {
    /// Validates a name such as `America/New_York`.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        value
            .trim()
            .parse::<chrono_tz::Tz>()
            .map(Self)
            .map_err(|_| {
                Invalid::new(format!(
                    "`{value}` is not an IANA timezone (e.g. Europe/Berlin, America/New_York)"
                ))
            })
    }

    /// The canonical name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The timezone for date arithmetic.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }
}

/// Parses an RFC 3339 timestamp (`2026-11-28T09:00:00+01:00`) into
/// milliseconds since the Unix epoch.
pub fn parse_rfc3339_millis(value: &str) -> Result<i64, Invalid> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            Invalid::new(format!(
                "`{value}` is not an RFC 3339 timestamp ({e}; e.g. 2026-11-28T09:00:00Z)"
            ))
        })
}

/// Formats milliseconds since the epoch as RFC 3339 in UTC.
pub fn millis_to_rfc3339(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| millis.to_string())
}

/// The current time in milliseconds since the epoch. Only the edges (CLI,
/// server) call this; stages take the time as an argument.
pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// A monotonic stopwatch for stage timings in debug telemetry: each
/// [`Laps::lap`] is the time since the previous lap (or the start).
#[derive(Debug, Clone, Copy)]
pub struct Laps {
    last: std::time::Instant,
}

impl Laps {
    /// Starts timing now.
    pub fn start() -> Self {
        Self {
            last: std::time::Instant::now(),
        }
    }

    /// Microseconds since the previous lap, and starts the next one.
    pub fn lap(&mut self) -> u64 {
        let now = std::time::Instant::now();
        let us = now.duration_since(self.last).as_micros();
        self.last = now;
        u64::try_from(us).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parses_offsets_to_the_same_instant() {
        let a = parse_rfc3339_millis("2026-11-28T10:00:00+01:00").unwrap();
        let b = parse_rfc3339_millis("2026-11-28T09:00:00Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(millis_to_rfc3339(b), "2026-11-28T09:00:00Z");
        assert!(parse_rfc3339_millis("2026-11-28 09:00").is_err());
    }

    #[test]
    fn timezones_must_be_iana_names() {
        assert_eq!(Timezone::parse("Asia/Tokyo").unwrap().name(), "Asia/Tokyo");
        assert!(Timezone::parse("Mars/Olympus").is_err());
        assert!(Timezone::parse("CEST").is_err());
    }

    #[test]
    fn a_lap_is_the_time_since_the_previous_lap() {
        let mut laps = Laps::start();
        std::thread::sleep(std::time::Duration::from_millis(3));
        assert!(laps.lap() >= 3_000);
        std::thread::sleep(std::time::Duration::from_millis(1));
        assert!(laps.lap() >= 1_000);
    }
}
