//! When users joined, how active they are, and how the exact number of
//! events is shared out among them.
//!
//! Each user's lifecycle comes from its own stream, so it can be drawn twice
//! (once to total the weights, once while writing) with identical results;
//! the [`Allocator`] then rounds cumulative shares so that the per-user
//! counts add up to exactly the requested number of events.

use rand::Rng;

use super::rng::{Stream, chance, exponential, lognormal, rounded, stream};

/// Seconds in an hour and in a day.
pub(crate) const HOUR: i64 = 3_600;
pub(crate) const DAY: i64 = 86_400;
/// Log-sd of the per-user activity (heavy tail: a few very busy users).
const ACTIVITY_SIGMA: f64 = 1.3;
/// Share of users who sign up during the history rather than before it.
const NEW_USER_SHARE: f64 = 0.35;
/// Mean age, in days, of accounts created before the history.
const OLD_ACCOUNT_MEAN_DAYS: f64 = 400.0;
/// Unix seconds of 1980-01-01 and 9000-01-01, the accepted range.
const MIN_START: i64 = 315_532_800;
const MAX_END: i64 = 221_845_392_000;

/// The event history: whole hours `[start_hour, end_hour)` inside `[end - days, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// `end - days` in Unix seconds (items and accounts predate it).
    pub start_ts: i64,
    /// `end` in Unix seconds.
    pub end_ts: i64,
    /// First hour (hours since the epoch) events may fall in.
    pub start_hour: i64,
    /// Hour (since the epoch) at which events stop, exclusive.
    pub end_hour: i64,
}

impl Window {
    /// The window ending at `end_ts` after `days` days, if within 1980..9000.
    pub(crate) fn new(end_ts: i64, days: u32) -> Option<Self> {
        let start_ts = end_ts - i64::from(days) * DAY;
        if start_ts < MIN_START || end_ts > MAX_END {
            return None;
        }
        let start_hour = (start_ts + HOUR - 1).div_euclid(HOUR);
        let end_hour = end_ts.div_euclid(HOUR);
        Some(Self {
            start_ts,
            end_ts,
            start_hour,
            end_hour,
        })
    }

    /// The last second an event may carry.
    pub(crate) fn last_second(&self) -> i64 {
        self.end_hour * HOUR - 1
    }
}

/// One user's account age and activity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lifecycle {
    /// Sign-up time, Unix seconds, strictly before any of the user's events.
    pub signup: i64,
    /// First hour (since the epoch) the user can be active in.
    pub first_hour: i64,
    /// Relative intensity, events per active hour; mean 1 over users.
    pub activity: f64,
    /// Expected share of the events: activity times active hours.
    pub weight: f64,
}

/// Draws user `index`'s lifecycle from its own stream.
pub(crate) fn draw_lifecycle(seed: u64, index: u64, window: &Window) -> Lifecycle {
    let mut rng = stream(seed, Stream::Lifecycle, index);
    let mu = -ACTIVITY_SIGMA * ACTIVITY_SIGMA / 2.0;
    let activity = rounded(lognormal(&mut rng, mu, ACTIVITY_SIGMA), 4);
    let late_limit = window.end_ts - DAY;
    let (signup, first_hour) = if late_limit > window.start_ts && chance(&mut rng, NEW_USER_SHARE) {
        let signup = rng.random_range(window.start_ts..late_limit);
        (signup, signup.div_euclid(HOUR) + 1)
    } else {
        let age_days = exponential(&mut rng, OLD_ACCOUNT_MEAN_DAYS).min(5.0 * 365.0);
        let signup = window.start_ts - 1 - (age_days * DAY as f64) as i64;
        (signup, window.start_hour)
    };
    let active_hours = (window.end_hour - first_hour).max(1) as f64;
    Lifecycle {
        signup,
        first_hour,
        activity,
        weight: activity * active_hours,
    }
}

/// The sum of all users' weights (first pass over the lifecycles).
pub(crate) fn total_weight(seed: u64, users: u64, window: &Window) -> f64 {
    (0..users)
        .map(|i| draw_lifecycle(seed, i, window).weight)
        .sum()
}

/// Shares out exactly `events` rows over users in order, in proportion to
/// their weights, by rounding the cumulative share (so the counts telescope).
pub(crate) struct Allocator {
    /// The total to share out.
    events: u64,
    /// The sum of all weights, from [`total_weight`].
    total_weight: f64,
    /// Sum of the weights seen so far.
    cumulative: f64,
    /// Rows handed out so far.
    assigned: u64,
}

impl Allocator {
    pub(crate) fn new(events: u64, total_weight: f64) -> Self {
        Self {
            events,
            total_weight,
            cumulative: 0.0,
            assigned: 0,
        }
    }

    /// The number of events of the next user; the last user takes the rest.
    pub(crate) fn next(&mut self, weight: f64, last: bool) -> u64 {
        self.cumulative += weight;
        let target = if last {
            self.events
        } else if self.total_weight > 0.0 {
            let share = self.cumulative / self.total_weight;
            ((share * self.events as f64).round() as u64).min(self.events)
        } else {
            self.assigned
        };
        let target = target.max(self.assigned);
        let count = target - self.assigned;
        self.assigned = target;
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> Window {
        Window::new(1_793_491_200, 180).expect("valid window")
    }

    #[test]
    fn the_allocator_hands_out_exactly_the_requested_events() {
        let w = window();
        let total = total_weight(9, 1_000, &w);
        let mut alloc = Allocator::new(12_345, total);
        let sum: u64 = (0..1_000)
            .map(|i| alloc.next(draw_lifecycle(9, i, &w).weight, i == 999))
            .sum();
        assert_eq!(sum, 12_345);
    }

    #[test]
    fn signups_precede_the_first_active_hour() {
        let w = window();
        for i in 0..2_000 {
            let life = draw_lifecycle(3, i, &w);
            assert!(life.signup < life.first_hour * HOUR);
            assert!(life.first_hour >= w.start_hour && life.first_hour < w.end_hour);
        }
    }

    #[test]
    fn windows_outside_the_supported_years_are_refused() {
        assert!(Window::new(0, 10).is_none());
        assert!(Window::new(MAX_END + 1, 10).is_none());
    }
}
