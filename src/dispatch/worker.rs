//! The outbox worker and its step: claim one batch of due rows under a
//! lease, send them concurrently within each provider's limits, record
//! every attempt, and say what happened. Time comes in as an argument, so
//! a test drives one step at a chosen instant (ARCHITECTURE rule 7).

use std::sync::Arc;

use futures_util::future::join_all;

use crate::config::DispatchSettings;
use crate::domain::Laps;
use crate::store::Store;

use super::DispatchError;
use super::attempt::{Attempted, Fate, StepClock};
use super::backoff::{RetryPolicy, millis};
use super::channels::ChannelSet;
use super::fallback::Fallback;
use super::limits::Limits;
use crate::store::AttemptRecord;

/// Counts of what a step (or a whole drain) did with the rows it claimed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Rows claimed.
    pub claimed: u64,
    /// Accepted by their provider (`sent`).
    pub delivered: u64,
    /// Failed transiently and scheduled again.
    pub retried: u64,
    /// Given up: permanent error, attempts exhausted, unreadable row,
    /// unconfigured provider, or a dead token with nowhere else to go.
    pub failed: u64,
    /// Moved to the user's next device after a dead token.
    pub redirected: u64,
    /// Replaced by a row on the user's next channel after a dead token.
    pub fell_back: u64,
    /// Lease lost (or about to expire) before the attempt was recorded;
    /// the row is another worker's now, or this one's after the lease.
    pub lost: u64,
    /// Sends that waited for their provider's rate limiter.
    pub throttled: u64,
    /// Kept pending without counting an attempt: the provider's circuit
    /// is open (credentials or settings refused).
    pub held: u64,
}

impl Tally {
    /// Counts one row's fate.
    fn count(&mut self, fate: Fate, throttled: bool) {
        let slot = match fate {
            Fate::Delivered => &mut self.delivered,
            Fate::Retried => &mut self.retried,
            Fate::Failed => &mut self.failed,
            Fate::Redirected => &mut self.redirected,
            Fate::FellBack => &mut self.fell_back,
            Fate::Lost => &mut self.lost,
            Fate::Held => &mut self.held,
        };
        *slot += 1;
        self.throttled += u64::from(throttled);
    }

    /// Adds another tally to this one.
    pub fn add(&mut self, other: &Tally) {
        self.claimed += other.claimed;
        self.delivered += other.delivered;
        self.retried += other.retried;
        self.failed += other.failed;
        self.redirected += other.redirected;
        self.fell_back += other.fell_back;
        self.lost += other.lost;
        self.throttled += other.throttled;
        self.held += other.held;
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A batch was claimed and every row in it attempted.
    Worked(Tally),
    /// Nothing was due.
    Idle {
        /// The earliest `next_attempt_at` (ms) of the pending rows in
        /// scope, `None` when none is left. It may be in the past when
        /// the due rows are leased by another worker or their campaign is
        /// paused.
        next_due: Option<i64>,
    },
}

/// An outbox worker. Several may run at once, in one process or many,
/// against the same database: leases keep them off each other's rows.
pub struct Worker {
    /// This worker's lease owner id, unique among running workers.
    pub(super) owner: String,
    /// The outbox.
    pub(super) store: Store,
    /// The adapters.
    pub(super) channels: ChannelSet,
    /// Batch size and lease.
    pub(super) settings: DispatchSettings,
    /// Attempts and backoff.
    pub(super) retry: RetryPolicy,
    /// Concurrency and rate per provider.
    pub(super) limits: Limits,
    /// The campaign's next channel after a dead token, when plugged in.
    pub(super) fallback: Option<Arc<dyn Fallback>>,
}

impl Worker {
    /// A worker leasing rows as `owner` (unique per running worker, e.g.
    /// [`owner_id`]), with the limits and retry policy of `settings`.
    pub fn new(
        store: Store,
        channels: ChannelSet,
        settings: DispatchSettings,
        owner: impl Into<String>,
    ) -> Self {
        Self {
            owner: owner.into(),
            store,
            channels,
            retry: RetryPolicy::from_settings(&settings),
            limits: Limits::new(&settings),
            settings,
            fallback: None,
        }
    }

    /// Plugs in the campaign's next-channel rule for dead tokens.
    pub fn with_fallback(mut self, fallback: Arc<dyn Fallback>) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// This worker's lease owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Claims one batch due at `now` (ms), of run `run_id` or of every
    /// run, sends it concurrently within each provider's limits, records
    /// every attempt (one transaction per batch), and returns what
    /// happened. A store error on one row is returned after the rest of
    /// the batch has been recorded.
    pub async fn step(&self, now: i64, run_id: Option<i64>) -> Result<Step, DispatchError> {
        let limit = u64::from(self.settings.batch_size.get());
        let lease = millis(self.settings.lease.get());
        let mut laps = Laps::start();
        let rows = (self.store)
            .claim_outbox(&self.owner, now, lease, limit, run_id)
            .await?;
        let claim_us = laps.lap();
        if rows.is_empty() {
            let next_due = self.store.next_due(run_id).await?;
            return Ok(Step::Idle { next_due });
        }
        let clock = StepClock::start(now);
        let results = join_all(rows.iter().map(|row| self.attempt(row, &clock))).await;
        let send_us = laps.lap();
        let mut tally = Tally {
            claimed: rows.len() as u64,
            ..Tally::default()
        };
        let mut records = Vec::with_capacity(rows.len());
        let mut first_error = None;
        for result in results {
            match result {
                Ok((Attempted::Record(record), throttled)) => records.push((*record, throttled)),
                Ok((Attempted::Lost, throttled)) => tally.count(Fate::Lost, throttled),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let metrics = crate::api::metrics::global();
        metrics.observe_attempts(&rows, records.iter().map(|(record, _)| record));
        self.record_batch(records, &mut tally).await?;
        metrics.observe_tally(&tally);
        log_batch(&self.owner, &tally, [claim_us, send_us, laps.lap()]);
        first_error.map_or(Ok(Step::Worked(tally)), Err)
    }

    /// Writes a batch's attempts in one transaction; an attempt whose
    /// lease was lost meanwhile is counted, not an error.
    async fn record_batch(
        &self,
        records: Vec<(AttemptRecord, bool)>,
        tally: &mut Tally,
    ) -> Result<(), DispatchError> {
        let (records, throttled): (Vec<AttemptRecord>, Vec<bool>) = records.into_iter().unzip();
        let applied = self.store.finish_attempts(&records).await?;
        for ((record, throttled), applied) in records.iter().zip(throttled).zip(applied) {
            let fate = if applied {
                Fate::of(&record.update)
            } else {
                tracing::warn!(
                    outbox_id = record.outbox_id,
                    owner = %self.owner,
                    outcome = %record.outcome,
                    "dispatch lease lost before the attempt was recorded"
                );
                Fate::Lost
            };
            tally.count(fate, throttled);
        }
        Ok(())
    }

    /// Releases every lease this worker holds (graceful shutdown).
    pub async fn release(&self) -> Result<u64, DispatchError> {
        Ok(self.store.release_leases(&self.owner).await?)
    }
}

/// A lease owner id unique to this process: `host-pid-n`.
pub fn owner_id(n: u32) -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}-{}-{n}", std::process::id())
}

/// The per-batch telemetry line (debug: `/metrics` carries the counts),
/// with the microseconds spent claiming, sending and recording.
fn log_batch(owner: &str, tally: &Tally, [claim_us, send_us, record_us]: [u64; 3]) {
    tracing::debug!(
        owner,
        claim_us,
        send_us,
        record_us,
        claimed = tally.claimed,
        delivered = tally.delivered,
        retried = tally.retried,
        failed = tally.failed,
        redirected = tally.redirected,
        fell_back = tally.fell_back,
        lost = tally.lost,
        throttled = tally.throttled,
        held = tally.held,
        "dispatch batch"
    );
}
