//! The worker's two questions to the circuits, one on each side of a
//! send: may this row go now (else it is held until the next probe), and
//! what does the provider's answer mean for it (a credentials failure or
//! a refusal of most tokens holds it; a refused token among successes is
//! dead). A held row keeps its attempts: its record is an
//! `OutboxUpdate::Hold`, which gives the row back without counting an
//! attempt or logging a delivery attempt.

use crate::channels::Outcome;
use crate::dispatch::channels::Provider;
use crate::dispatch::worker::Worker;
use crate::store::{AttemptRecord, OutboxRow, OutboxUpdate};

use super::{Admission, Answer, Trip};

/// What an answer means for its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Decide as usual on this outcome (never `Credentials` or
    /// `TokenRejected`: a refused token becomes `TokenGone` or `Retry`).
    Proceed(Outcome),
    /// Keep the row pending until `until` (ms) without burning an attempt.
    Hold {
        /// When it is due again: the circuit's next probe.
        until: i64,
        /// Why the circuit is open.
        trip: Trip,
    },
}

impl Worker {
    /// Before a send at `now`: `Ok(probe)` to send (as the circuit's probe
    /// or not), or the hold record when `provider`'s circuit is open.
    pub(in crate::dispatch) fn admit(
        &self,
        row: &OutboxRow,
        provider: Provider,
        now: i64,
    ) -> Result<bool, Box<AttemptRecord>> {
        match self.channels.circuits().admit(provider, now) {
            Admission::Send => Ok(false),
            Admission::Probe => Ok(true),
            Admission::Hold { until, trip } => {
                Err(Box::new(self.held(row, "held", [now, now], until, &trip)))
            }
        }
    }

    /// After a send: feeds the answer to the circuit; the outcome to
    /// decide on, or the hold record.
    pub(in crate::dispatch) fn settle(
        &self,
        row: &OutboxRow,
        provider: Provider,
        outcome: Outcome,
        probe: bool,
        [started_at, finished_at]: [i64; 2],
    ) -> Result<Outcome, Box<AttemptRecord>> {
        let kind = outcome.kind();
        let answer = Answer {
            provider,
            outbox_id: row.outbox_id,
            probe,
            last_attempt: self.last_attempt(row),
            now: finished_at,
        };
        match self.channels.circuits().judge(answer, outcome) {
            Judged::Proceed(outcome) => Ok(outcome),
            Judged::Hold { until, trip } => {
                let times = [started_at, finished_at];
                Err(Box::new(self.held(row, kind, times, until, &trip)))
            }
        }
    }

    /// Whether the attempt being made on `row` is its last allowed one
    /// (the claim counted it: `row.attempts` includes this one).
    fn last_attempt(&self, row: &OutboxRow) -> bool {
        let this = u32::try_from(row.attempts).unwrap_or(1);
        this >= self.retry.max_attempts
    }

    /// The record that holds `row` until `until`.
    fn held(
        &self,
        row: &OutboxRow,
        outcome: &str,
        [started_at, finished_at]: [i64; 2],
        until: i64,
        trip: &Trip,
    ) -> AttemptRecord {
        AttemptRecord {
            outbox_id: row.outbox_id,
            owner: self.owner.clone(),
            attempt: row.attempts,
            outcome: outcome.to_owned(),
            detail: Some(format!("held, circuit open: {trip}")),
            provider_message_id: None,
            retry_after_ms: None,
            started_at,
            finished_at,
            deactivate_device: None,
            update: OutboxUpdate::Hold {
                next_attempt_at: until,
            },
        }
    }
}
