//! Event triggers: turn events into fires, once per (campaign, user,
//! window), and due fires into a run.
//!
//! Events are read in arrival order, not by their own timestamp: every
//! stored event carries `received_at` (the ingesting process's clock), and
//! the scheduler keeps, per trigger campaign, an [`ArrivalCursor`]: the
//! latest arrival it has read. A late event (stamped 10:00:00, posted
//! after the 10:00:01 tick) arrives after the cursor and is read on the
//! next tick; selecting by timestamp with a cursor at the tick's clock
//! would skip it forever.
//!
//! Why each tick re-reads an overlap ([`OVERLAP_MS`]) behind the cursor:
//! an event is stamped when its insert is built and becomes visible when
//! its transaction commits. On PostgreSQL two writers can commit out of
//! stamp order, and several hosts' clocks differ a little; an event
//! stamped up to [`OVERLAP_MS`] before the newest one already read is
//! still found. Event ids read inside the overlap are remembered, so
//! re-reading costs a select, not a fire each. Recording a fire is also
//! idempotent per window, so reading an event twice is harmless anyway.
//! What the overlap does not cover: a transaction committing more than
//! [`OVERLAP_MS`] after it stamped its events (a large file import),
//! whose events a running scheduler misses; a restarted one finds them
//! (below). Events from before arrivals were recorded hold 0 and are only
//! read by that start-up pass.
//!
//! A fresh scheduler (no cursor yet) reads by timestamp instead: every
//! event stamped within `delay + window` (never before the campaign was
//! created), whatever its arrival, so a restart re-reads the events whose
//! fires might be missing; its cursor starts at the latest arrival, read
//! before that pass.
//!
//! An event stamped before `now - (delay + window)` or before the
//! campaign was created never fires, however late it arrives: its
//! message would be overdue by more than a window (a history import must
//! not send a burst of stale messages).

use crate::store::{TriggerEvent, TriggerFire};
use std::collections::{BTreeSet, HashMap};

/// How far behind its latest read arrival a cursor re-reads (ms).
pub const OVERLAP_MS: i64 = 60_000;

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

    /// The oldest event timestamp that may still fire at `now`: within
    /// `delay + window`, and not before the campaign was created.
    pub fn first_cursor(&self, created_at: i64, now: i64) -> i64 {
        now.saturating_sub(self.lookback_ms()).max(created_at)
    }
}

/// How far one trigger campaign's events were read, by arrival.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArrivalCursor {
    /// The latest `received_at` read (or found before the first pass).
    pub received: i64,
    /// Ids of the events read that arrived within [`OVERLAP_MS`] of
    /// `received`, with their arrival: re-read, but not fired again.
    seen: HashMap<i64, i64>,
}

impl ArrivalCursor {
    /// A cursor at `received` that has read nothing yet.
    pub fn at(received: i64) -> Self {
        Self {
            received,
            seen: HashMap::new(),
        }
    }

    /// Where the next read starts: the overlap behind the cursor, and
    /// never at 0 (rows from before arrivals were recorded).
    pub fn read_from(&self) -> i64 {
        self.received.saturating_sub(OVERLAP_MS).max(1)
    }

    /// The events of `read` not taken before; moves the cursor past them
    /// and forgets ids that fell out of the overlap.
    pub fn take_new(&mut self, read: Vec<TriggerEvent>) -> Vec<TriggerEvent> {
        let fresh: Vec<TriggerEvent> = read
            .into_iter()
            .filter(|e| self.seen.insert(e.event_id, e.received_at).is_none())
            .collect();
        let latest = fresh.iter().map(|e| e.received_at).max().unwrap_or(0);
        self.received = self.received.max(latest);
        let keep_from = self.read_from();
        self.seen.retain(|_, received| *received >= keep_from);
        fresh
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
        arrived(ts, user, ts, ts)
    }

    fn arrived(event_id: i64, user: &str, ts: i64, received_at: i64) -> TriggerEvent {
        TriggerEvent {
            event_id,
            user_id: user.into(),
            ts,
            received_at,
        }
    }

    #[test]
    fn a_cursor_takes_each_event_once_and_re_reads_an_overlap() {
        let mut cursor = ArrivalCursor::at(0);
        assert_eq!(cursor.read_from(), 1, "never the rows without an arrival");
        let first = cursor.take_new(vec![arrived(1, "u1", 5, 100_000)]);
        assert_eq!(first.len(), 1);
        assert_eq!(cursor.read_from(), 100_000 - OVERLAP_MS);
        let again = vec![
            arrived(1, "u1", 5, 100_000),
            arrived(2, "u2", 3, 99_000),
            arrived(3, "u3", 7, 100_500),
        ];
        let ids: Vec<i64> = cursor.take_new(again).iter().map(|e| e.event_id).collect();
        assert_eq!(ids, [2, 3], "a late commit inside the overlap is taken");
        assert_eq!(cursor.received, 100_500);
        cursor.take_new(vec![arrived(4, "u4", 9, 500_000)]);
        assert_eq!(cursor.seen.len(), 1, "ids behind the overlap are forgotten");
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
