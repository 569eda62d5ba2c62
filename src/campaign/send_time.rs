//! Send-time optimisation: each user's best local hour, learned from the
//! times of their `open` and `click` feedback, and the instant a campaign
//! with `schedule = { optimal = true, within = "24h" }` holds their
//! message until.
//!
//! The model is an additive (Dirichlet) prior over the 24 local hours:
//! a user's posterior weight of hour `h` is their own count of opens and
//! clicks in `h` plus [`PRIOR_WEIGHT`] (alpha = 5) times the normalised
//! histogram of their segment (under the run's segment model), or of
//! everyone when they have no segment or their segment has no feedback.
//! A user with many events follows their own clock; a user with one click
//! is pulled toward their segment's hour; a user with none gets it. When
//! nobody has any feedback yet, the prior is [`fallback_prior`], a bump
//! around [`FALLBACK_HOUR`] (19:00 local, the evening peak of shop traffic
//! that the synthetic shop also draws its users' best hours around).
//!
//! Events arrive as counts per quarter hour since the epoch (`ts /
//! 900 000`) and are put into local hours here, per user timezone: every
//! timezone offset in use is a whole number of quarter hours, so a quarter
//! hour lies in one local hour, and converting instants (not offsets) is
//! exact across daylight-saving changes.
//!
//! The slot: among the instants from the run's time to `within` after it
//! (the run's time itself, then each later top of a local hour), the one
//! whose hour has the largest posterior weight, the earliest on ties;
//! candidates the caller disallows (quiet hours) are skipped. Everything
//! is a pure function of counts, zones and time, so a plan is repeatable.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// Weights per local hour, index 0 = 00:00-00:59.
pub type Hours = [f64; 24];

/// Length of the buckets the store counts events in (ms).
pub const QUARTER_MS: i64 = 15 * 60 * 1000;

/// Alpha: how many events' worth of weight the segment's histogram adds
/// to a user's own counts.
pub const PRIOR_WEIGHT: f64 = 5.0;

/// The local hour of the prior used when no one has feedback yet.
pub const FALLBACK_HOUR: u32 = 19;

/// The local hour of instant `ms` in `tz`.
pub fn local_hour(ms: i64, tz: Tz) -> u32 {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&tz)
        .hour()
}

/// Adds `(quarter, count)` buckets to `hours` in the local time of `tz`.
pub fn add_quarters(hours: &mut Hours, quarters: &[(i64, i64)], tz: Tz) {
    for &(quarter, count) in quarters {
        let hour = local_hour(quarter.saturating_mul(QUARTER_MS), tz);
        hours[hour as usize] += count.max(0) as f64;
    }
}

/// `hours` scaled to sum to 1, or `None` when it is empty.
pub fn normalised(hours: &Hours) -> Option<Hours> {
    let total: f64 = hours.iter().sum();
    (total > 0.0).then(|| hours.map(|h| h / total))
}

/// The prior when no one has feedback: a bump around [`FALLBACK_HOUR`]
/// (weight `exp(-d^2 / 8)` at `d` hours from it, around the clock).
pub fn fallback_prior() -> Hours {
    let mut hours = [0.0; 24];
    for (h, w) in hours.iter_mut().enumerate() {
        let diff = (h as i64 - i64::from(FALLBACK_HOUR)).rem_euclid(24);
        let d = diff.min(24 - diff) as f64;
        *w = (-(d * d) / 8.0).exp();
    }
    normalised(&hours).unwrap_or(hours)
}

/// A user's posterior weights: own counts plus alpha times the prior.
pub fn posterior(own: &Hours, prior: &Hours, alpha: f64) -> Hours {
    std::array::from_fn(|h| own[h] + alpha * prior[h])
}

/// The hour with the largest weight (the earliest on ties).
pub fn best_hour(weights: &Hours) -> u32 {
    let mut best = 0;
    for h in 1..24 {
        if weights[h] > weights[best] {
            best = h;
        }
    }
    best as u32
}

/// The hour histograms of every segment and of everyone, the prior a
/// run's users are shrunk toward.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentHours {
    /// Counts per local hour by segment.
    segments: BTreeMap<i32, Hours>,
    /// Counts per local hour over every user (with a segment or not).
    global: Hours,
}

impl SegmentHours {
    /// Adds one user's (or one timezone's) quarter-hour counts to
    /// `segment` (none: only to the global histogram).
    pub fn add(&mut self, segment: Option<i32>, quarters: &[(i64, i64)], tz: Tz) {
        let mut hours = [0.0; 24];
        add_quarters(&mut hours, quarters, tz);
        for (g, h) in self.global.iter_mut().zip(hours) {
            *g += h;
        }
        if let Some(segment) = segment {
            let into = self.segments.entry(segment).or_insert([0.0; 24]);
            for (s, h) in into.iter_mut().zip(hours) {
                *s += h;
            }
        }
    }

    /// The normalised prior of a user in `segment`: the segment's
    /// histogram, else everyone's, else [`fallback_prior`].
    pub fn prior(&self, segment: Option<i32>) -> Hours {
        segment
            .and_then(|s| self.segments.get(&s))
            .and_then(normalised)
            .or_else(|| normalised(&self.global))
            .unwrap_or_else(fallback_prior)
    }
}

/// The instant to send at: within `[now, now + within_ms]`, the run's
/// time or a later top of a local hour in `tz`, whose hour weighs most in
/// `weights` (the earliest on ties), among those `allowed` accepts.
/// `None` when it accepts none of them.
pub fn send_slot(
    weights: &Hours,
    tz: Tz,
    now: i64,
    within_ms: i64,
    allowed: impl Fn(i64) -> bool,
) -> Option<i64> {
    let mut best: Option<(i64, f64)> = None;
    for (at, hour) in candidates(tz, now, within_ms) {
        let weight = weights[hour as usize];
        if allowed(at) && best.is_none_or(|(_, w)| weight > w) {
            best = Some((at, weight));
        }
    }
    best.map(|(at, _)| at)
}

/// `(instant, local hour)`: `now`, then each top of a local hour up to
/// `now + within_ms`, in time order; a local hour skipped by a
/// daylight-saving change is no candidate, a repeated one counts once.
pub fn candidates(tz: Tz, now: i64, within_ms: i64) -> Vec<(i64, u32)> {
    let Some(start) = DateTime::<Utc>::from_timestamp_millis(now) else {
        return Vec::new();
    };
    let local = start.with_timezone(&tz);
    let mut out = vec![(now, local.hour())];
    let end = now.saturating_add(within_ms.max(0));
    let top = local
        .naive_local()
        .with_minute(0)
        .and_then(|t| t.with_second(0));
    let Some(mut wall) = top.and_then(|t| t.with_nanosecond(0)) else {
        return out;
    };
    // Daylight saving moves wall clocks by at most a few hours.
    let last = wall + Duration::milliseconds(within_ms.max(0)) + Duration::hours(3);
    while wall < last {
        wall += Duration::hours(1);
        let Some(at) = instant_of(tz, wall) else {
            continue;
        };
        if at > end {
            break;
        }
        if at > now {
            out.push((at, wall.hour()));
        }
    }
    out
}

/// The first instant a local wall-clock time happens in `tz`, if it does.
fn instant_of(tz: Tz, wall: NaiveDateTime) -> Option<i64> {
    tz.from_local_datetime(&wall)
        .earliest()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests;
