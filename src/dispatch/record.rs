//! Group commit of a step's results. Every send hands its result to the
//! recorder as soon as it has one; the recorder commits whatever has
//! arrived in one transaction (waiting a couple of milliseconds for a few
//! dozen when only a handful are there), then takes what accumulated
//! meanwhile. So a result is durable milliseconds after it arrives, and a
//! worker killed mid-batch repeats at most the sends in flight (the
//! provider concurrency), not the whole claimed batch.

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::api::metrics::Metrics;
use crate::store::{AttemptRecord, OutboxRow};

use super::DispatchError;
use super::attempt::{Attempted, Fate};
use super::lease::StepLease;
use super::worker::{Tally, Worker};

/// One row's result: its id, and what its attempt left to record with
/// whether it was rate limited.
pub(super) type RowResult = (i64, Result<(Attempted, bool), DispatchError>);

/// The most results one commit takes.
const GROUP_MAX: usize = 512;

/// A group smaller than this waits up to [`LINGER`] for more results.
const GROUP_TARGET: usize = 32;

/// How long a small group waits for more results before it commits.
const LINGER: Duration = Duration::from_millis(2);

/// What the recorder needs besides the results.
pub(super) struct Recording<'a> {
    /// The step's claimed rows (for the metrics' provider labels).
    pub rows: &'a [OutboxRow],
    /// The step's lease: recorded rows leave its renewals.
    pub lease: &'a StepLease,
    /// The process metrics.
    pub metrics: &'a Metrics,
}

impl Worker {
    /// Records results as they arrive, a group per commit, until every
    /// sender is done; counts them in `tally`. A store error does not stop
    /// the recorder (later groups may still commit): the first is
    /// returned at the end.
    pub(super) async fn record_results(
        &self,
        mut results: UnboundedReceiver<RowResult>,
        recording: Recording<'_>,
        tally: &mut Tally,
    ) -> Option<DispatchError> {
        let mut first_error = None;
        let mut group = Vec::with_capacity(GROUP_MAX);
        while next_group(&mut results, &mut group).await {
            let ids: Vec<i64> = group.iter().map(|(id, _)| *id).collect();
            let written = self.record_group(&recording, group.drain(..), tally);
            if let Err(e) = written.await {
                first_error.get_or_insert(e);
            }
            recording.lease.done(ids);
        }
        first_error
    }

    /// Writes one group's attempts in one transaction and counts them.
    async fn record_group(
        &self,
        recording: &Recording<'_>,
        group: impl Iterator<Item = RowResult>,
        tally: &mut Tally,
    ) -> Result<(), DispatchError> {
        let mut records = Vec::new();
        let mut throttled = Vec::new();
        let mut first_error = None;
        for (_, result) in group {
            match result {
                Ok((Attempted::Record(record), t)) => {
                    records.push(*record);
                    throttled.push(t);
                }
                Ok((Attempted::Lost, t)) => tally.count(Fate::Lost, t),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        (recording.metrics).observe_attempts(recording.rows, &records);
        let applied = self.store.finish_attempts(&records).await?;
        for ((record, throttled), applied) in records.iter().zip(throttled).zip(applied) {
            tally.count(self.fate(record, applied), throttled);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// What an attempt came to once written: its update's fate, or `Lost`
    /// when another worker holds the row now (the attempt is logged, the
    /// row left to that worker).
    fn fate(&self, record: &AttemptRecord, applied: bool) -> Fate {
        if applied {
            return Fate::of(&record.update);
        }
        tracing::warn!(
            outbox_id = record.outbox_id,
            owner = %self.owner,
            outcome = %record.outcome,
            "dispatch lease lost before the attempt was recorded; the attempt is logged, \
             the row left to its owner"
        );
        Fate::Lost
    }
}

/// Waits for the next group of results into `group`: whatever is there,
/// and, when that is only a handful, what else arrives within
/// [`LINGER`]. False once every sender is done and nothing is left.
async fn next_group(
    results: &mut UnboundedReceiver<RowResult>,
    group: &mut Vec<RowResult>,
) -> bool {
    if results.recv_many(group, GROUP_MAX).await == 0 {
        return false;
    }
    if group.len() < GROUP_TARGET {
        let more = async {
            while group.len() < GROUP_TARGET
                && results.recv_many(group, GROUP_MAX - group.len()).await > 0
            {}
        };
        let _ = tokio::time::timeout(LINGER, more).await;
    }
    true
}
