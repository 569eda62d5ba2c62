//! Event triggers: turn events into fires, once per (campaign, user,
//! window), and due fires into a run.
//!
//! The scheduler keeps a cursor per trigger campaign: the instant up to
//! which events were read. A fresh scheduler starts `delay + window` back
//! (never before the campaign was created), so a restart re-reads the
//! events whose fires might be missing; recording a fire is idempotent
//! per window, so reading an event twice is harmless.

use crate::store::{TriggerEvent, TriggerFire};
use std::collections::BTreeSet;

/// How many due fires one run takes; the rest go to the next tick's run.
pub const FIRES_PER_RUN: u64 = 10_000;

/// A trigger schedule, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The event name that fires it.
    pub event: String,
    /// How long after the event the message is due.
    pub delay_ms: i64,
    /// The dedup window: at most one fire per user per window.
    pub window_ms: i64,
}

impl Trigger {
    /// How far back a fresh scheduler reads events: a fire may still be
    /// pending for any event within `delay + window`.
    pub fn lookback_ms(&self) -> i64 {
        self.delay_ms.saturating_add(self.window_ms)
    }

    /// Where reading starts when the scheduler has no cursor yet.
    pub fn first_cursor(&self, created_at: i64, now: i64) -> i64 {
        now.saturating_sub(self.lookback_ms()).max(created_at)
    }
}

/// The window an event falls in: `floor(ts / window)`.
pub fn window_key(ts: i64, window_ms: i64) -> String {
    ts.div_euclid(window_ms.max(1)).to_string()
}

/// The fires for a batch of events: one per (user, window), due `delay`
/// after the first event of the window in the batch.
pub fn fires_for(events: &[TriggerEvent], trigger: &Trigger) -> Vec<TriggerFire> {
    let mut seen = BTreeSet::new();
    events
        .iter()
        .filter_map(|e| {
            let key = window_key(e.ts, trigger.window_ms);
            seen.insert((e.user_id.clone(), key.clone()))
                .then(|| TriggerFire {
                    user_id: e.user_id.clone(),
                    window_key: key,
                    fire_at: e.ts.saturating_add(trigger.delay_ms),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(user: &str, ts: i64) -> TriggerEvent {
        TriggerEvent {
            user_id: user.into(),
            ts,
        }
    }

    #[test]
    fn one_fire_per_user_and_window_due_after_the_delay() {
        let trigger = Trigger {
            event: "cart".into(),
            delay_ms: 7_200_000,
            window_ms: 86_400_000,
        };
        let day = 86_400_000;
        let events = [
            event("u1", 10 * day + 5),
            event("u1", 10 * day + 9),
            event("u2", 10 * day + 7),
            event("u1", 11 * day + 1),
        ];
        let fires = fires_for(&events, &trigger);
        assert_eq!(fires.len(), 3);
        assert_eq!(fires[0].window_key, "10");
        assert_eq!(fires[0].fire_at, 10 * day + 5 + 7_200_000);
        assert_eq!(fires[2].window_key, "11");
    }

    #[test]
    fn a_fresh_cursor_looks_back_delay_plus_window_but_not_before_creation() {
        let trigger = Trigger {
            event: "cart".into(),
            delay_ms: 10,
            window_ms: 100,
        };
        assert_eq!(trigger.first_cursor(0, 1_000), 890);
        assert_eq!(trigger.first_cursor(950, 1_000), 950);
        assert_eq!(window_key(-1, 100), "-1");
    }
}
