//! Last-touch attribution of purchases to runs.
//!
//! A purchase is credited to the user's last click on a message within the
//! click-through window before it; failing that, to the last message
//! delivered to them (or the last run they were held out of, at the run's
//! scheduled time) within the view-through window before it. Only touches
//! at or before the purchase count, so the result is point-in-time correct:
//! nothing later can claim it. The purchase's value is the revenue.
//!
//! Holdout users compete like everyone else: a held-out user whose later
//! purchase follows another campaign's message is credited to that message,
//! exactly as a treated user would be, so the holdout's conversion rate is
//! measured the way the treated one is (lift, see [`super::compare`]).
//! Treated users who clicked get the longer click window, which a holdout
//! user cannot: lift is read with that in mind.
//!
//! Attribution is computed each time a report is made rather than stored:
//! there is no derived table to keep in step with late events, late
//! receipts or a changed window, and a report is reproducible from the raw
//! events alone.

use crate::store::{Store, StoreError, TouchCandidate, TouchKind};
use std::collections::HashMap;

/// The attribution windows, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// Click-through window.
    pub click_ms: i64,
    /// View-through window (also used for holdout users).
    pub view_ms: i64,
}

impl Windows {
    /// The windows of the `[feedback]` settings.
    pub fn from_settings(settings: &crate::config::FeedbackSettings) -> Self {
        Self {
            click_ms: settings.click_window_ms(),
            view_ms: settings.view_window_ms(),
        }
    }
}

/// What one user's purchases credited to one run add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conversion {
    /// Purchases credited through a click.
    pub click_through: u32,
    /// Purchases credited through a delivered message.
    pub view_through: u32,
    /// Purchases of a held-out user within the view window of the run.
    pub holdout: u32,
    /// Their value, in millionths (summed exactly, in any order).
    pub revenue_micros: i64,
}

impl Conversion {
    /// All purchases credited.
    pub fn purchases(&self) -> u32 {
        self.click_through + self.view_through + self.holdout
    }
}

/// Purchases credited per (run, user).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attribution {
    /// Keyed by run id, then user id.
    by_run: HashMap<i64, HashMap<String, Conversion>>,
}

impl Attribution {
    /// What `user` bought credited to `run_id`, if anything.
    pub fn get(&self, run_id: i64, user: &str) -> Option<&Conversion> {
        self.by_run.get(&run_id)?.get(user)
    }

    /// How many (run, user) pairs have a credited purchase.
    pub fn len(&self) -> usize {
        self.by_run.values().map(HashMap::len).sum()
    }

    /// Whether nothing was credited.
    pub fn is_empty(&self) -> bool {
        self.by_run.is_empty()
    }
}

/// A purchase's best touch so far.
struct Best {
    /// Ordering key: clicks first, then the latest touch, then the kind
    /// (a send beats a holdout slot at the same instant), then the run.
    rank: (bool, i64, TouchKind, i64),
    /// The touch's kind.
    kind: TouchKind,
    /// The purchase.
    candidate: TouchCandidate,
}

/// Keeps, for each purchase, its last touch (clicks before views).
pub fn last_touch(
    candidates: impl IntoIterator<Item = (TouchKind, TouchCandidate)>,
) -> Attribution {
    let mut best: HashMap<i64, Best> = HashMap::new();
    for (kind, candidate) in candidates {
        if candidate.touch_ts > candidate.purchase_ts {
            continue;
        }
        let rank = (
            kind == TouchKind::Click,
            candidate.touch_ts,
            kind,
            candidate.run_id,
        );
        match best.get(&candidate.event_id) {
            Some(b) if b.rank >= rank => {}
            _ => {
                best.insert(
                    candidate.event_id,
                    Best {
                        rank,
                        kind,
                        candidate,
                    },
                );
            }
        }
    }
    credit(best.into_values())
}

/// Adds each purchase to its run and user.
fn credit(best: impl Iterator<Item = Best>) -> Attribution {
    let mut by_run: HashMap<i64, HashMap<String, Conversion>> = HashMap::new();
    for Best {
        kind, candidate, ..
    } in best
    {
        let entry = by_run
            .entry(candidate.run_id)
            .or_default()
            .entry(candidate.user_id)
            .or_default();
        match kind {
            TouchKind::Click => entry.click_through += 1,
            TouchKind::View => entry.view_through += 1,
            TouchKind::Holdout => entry.holdout += 1,
        }
        entry.revenue_micros += micros(candidate.value.unwrap_or(0.0));
    }
    Attribution { by_run }
}

/// A value in millionths, rounded.
pub(crate) fn micros(value: f64) -> i64 {
    if value.is_finite() {
        (value * 1_000_000.0).round() as i64
    } else {
        0
    }
}

/// Attributes every purchase in the store to its last touch.
pub async fn attribute(store: &Store, windows: Windows) -> Result<Attribution, StoreError> {
    let mut candidates = Vec::new();
    for (kind, window) in [
        (TouchKind::Click, windows.click_ms),
        (TouchKind::View, windows.view_ms),
        (TouchKind::Holdout, windows.view_ms),
    ] {
        let found = store.attribution_candidates(kind, window).await?;
        candidates.extend(found.into_iter().map(|c| (kind, c)));
    }
    Ok(last_touch(candidates))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(event_id: i64, run_id: i64, touch_ts: i64, purchase_ts: i64) -> TouchCandidate {
        TouchCandidate {
            event_id,
            user_id: "u1".into(),
            purchase_ts,
            value: Some(10.5),
            run_id,
            touch_ts,
        }
    }

    #[test]
    fn a_click_beats_a_later_delivered_message() {
        let a = last_touch([
            (TouchKind::Click, touch(1, 1, 100, 500)),
            (TouchKind::View, touch(1, 2, 400, 500)),
        ]);
        assert_eq!(a.get(1, "u1").map(|c| c.click_through), Some(1));
        assert_eq!(a.get(2, "u1"), None);
    }

    #[test]
    fn the_latest_of_several_views_wins_and_revenue_adds_up() {
        let a = last_touch([
            (TouchKind::View, touch(1, 1, 100, 500)),
            (TouchKind::View, touch(1, 2, 300, 500)),
            (TouchKind::Holdout, touch(2, 2, 300, 900)),
            (TouchKind::View, touch(2, 2, 300, 900)),
        ]);
        let c = a.get(2, "u1").unwrap();
        assert_eq!(
            (c.view_through, c.holdout, c.revenue_micros),
            (2, 0, 21_000_000)
        );
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn a_touch_after_the_purchase_never_gets_credit() {
        let a = last_touch([(TouchKind::Click, touch(1, 1, 600, 500))]);
        assert!(a.is_empty());
    }
}
