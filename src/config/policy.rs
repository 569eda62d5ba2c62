//! Default contact policy: frequency caps and quiet hours.
//!
//! These are the deployment-wide defaults; a campaign file's own `[policy]`
//! uses the same text forms (`"2/day"`, `"22:00-08:00"`) and the same types,
//! so both are validated the same way. The planner applies them; time is
//! passed in, never read here (ARCHITECTURE rule 7).

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, TimeDelta};
use serde::{Deserialize, Serialize};

use super::values::{ValueError, empty_as_none, serde_via_str};

/// `[policy]`: contact rules applied to every campaign unless it sets its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySettings {
    /// Most messages one user may receive per period, e.g. `2/day`; `""` = no cap.
    #[serde(deserialize_with = "empty_as_none")]
    pub frequency_cap: Option<FrequencyCap>,
    /// Local-time window in which nothing is sent, e.g. `22:00-08:00`; `""` = none.
    #[serde(deserialize_with = "empty_as_none")]
    pub quiet_hours: Option<QuietHours>,
}

/// The period a [`FrequencyCap`] counts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    /// A rolling hour.
    Hour,
    /// A rolling day (24 hours).
    Day,
    /// A rolling week (7 days).
    Week,
}

impl Period {
    /// The word used in config text (`hour`, `day`, `week`).
    pub fn name(self) -> &'static str {
        match self {
            Period::Hour => "hour",
            Period::Day => "day",
            Period::Week => "week",
        }
    }

    /// The length of the window the cap counts messages in.
    pub fn length(self) -> TimeDelta {
        match self {
            Period::Hour => TimeDelta::hours(1),
            Period::Day => TimeDelta::days(1),
            Period::Week => TimeDelta::weeks(1),
        }
    }

    /// Parses `hour`, `day` or `week`.
    fn parse(text: &str) -> Option<Self> {
        [Period::Hour, Period::Day, Period::Week]
            .into_iter()
            .find(|p| p.name() == text)
    }
}

/// At most `count` messages per `per`, written `2/day`, `5/week`, `1/hour`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrequencyCap {
    /// How many messages are allowed in one period (at least 1).
    pub count: u32,
    /// The period they are counted over.
    pub per: Period,
}

impl FromStr for FrequencyCap {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let invalid = || {
            ValueError::new(format!(
                "invalid frequency cap {text:?}: expected COUNT/PERIOD with COUNT at least 1 and PERIOD hour, day or week, like \"2/day\""
            ))
        };
        let (count, per) = text.trim().split_once('/').ok_or_else(invalid)?;
        let count: u32 = count.trim().parse().map_err(|_| invalid())?;
        let per = Period::parse(per.trim()).ok_or_else(invalid)?;
        if count == 0 {
            return Err(invalid());
        }
        Ok(Self { count, per })
    }
}

impl fmt::Display for FrequencyCap {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.per.name())
    }
}

serde_via_str!(FrequencyCap, "a frequency cap like \"2/day\"");

/// A daily window, in the recipient's local time, in which nothing is sent:
/// `22:00-08:00` wraps past midnight, `12:00-14:00` does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QuietHours {
    /// First quiet minute.
    pub start: NaiveTime,
    /// First minute sending may resume (exclusive end).
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether `local` (the recipient's wall-clock time) falls inside the window.
    pub fn contains(&self, local: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }
}

impl FromStr for QuietHours {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let invalid = || {
            ValueError::new(format!(
                "invalid quiet hours {text:?}: expected HH:MM-HH:MM with different start and end, like \"22:00-08:00\""
            ))
        };
        let (start, end) = text.trim().split_once('-').ok_or_else(invalid)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| invalid());
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            return Err(invalid());
        }
        Ok(Self { start, end })
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

serde_via_str!(QuietHours, "quiet hours like \"22:00-08:00\"");

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn frequency_caps_parse_count_and_period() {
        let cap: FrequencyCap = "2/day".parse().unwrap();
        assert_eq!(
            cap,
            FrequencyCap {
                count: 2,
                per: Period::Day
            }
        );
        assert_eq!(
            "5 / week".parse::<FrequencyCap>().unwrap().per,
            Period::Week
        );
        assert_eq!(cap.to_string(), "2/day");
        assert_eq!(Period::Week.length(), TimeDelta::days(7));
    }

    #[test]
    fn frequency_caps_refuse_zero_counts_and_unknown_periods() {
        for bad in ["0/day", "2/fortnight", "2", "x/day", "-1/day", "/day"] {
            assert!(bad.parse::<FrequencyCap>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn quiet_hours_that_wrap_midnight_contain_late_and_early_times() {
        let q: QuietHours = "22:00-08:00".parse().unwrap();
        assert!(q.contains(at(23, 30)) && q.contains(at(22, 0)) && q.contains(at(7, 59)));
        assert!(!q.contains(at(8, 0)) && !q.contains(at(12, 0)));
        assert_eq!(q.to_string(), "22:00-08:00");
    }

    #[test]
    fn quiet_hours_within_one_day_contain_only_that_span() {
        let q: QuietHours = "12:00-14:00".parse().unwrap();
        assert!(q.contains(at(13, 0)) && !q.contains(at(14, 0)) && !q.contains(at(11, 0)));
    }

    #[test]
    fn quiet_hours_refuse_malformed_or_empty_windows() {
        for bad in [
            "22:00",
            "25:00-08:00",
            "22:00-22:00",
            "10pm-8am",
            "22:00-08:00:00",
        ] {
            assert!(bad.parse::<QuietHours>().is_err(), "{bad:?} was accepted");
        }
    }
}
