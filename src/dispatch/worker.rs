//! The outbox worker and its step: claim one batch of due rows under a
//! lease (which counts an attempt on each), send them concurrently within
//! each provider's limits while the lease of the rows in flight is
//! renewed, record every result as it arrives (group commit), and say
//! what happened. Time comes in as an argument, so a test drives one step
//! at a chosen instant (ARCHITECTURE rule 7).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::future::join_all;
use tokio::sync::mpsc;

use crate::config::DispatchSettings;
use crate::domain::Laps;
use crate::store::Store;

use super::DispatchError;
use super::attempt::{Fate, StepClock};
use super::backoff::{RetryPolicy, millis};
use super::channels::ChannelSet;
use super::fallback::Fallback;
use super::lease::StepLease;
use super::limits::Limits;
use super::owner::owner_is_gone;
use super::record::{Recording, RowResult};
use crate::api::metrics::Metrics;
use crate::store::OutboxRow;

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
    /// Lease lost: the lease ran out before the send (nothing sent), or
    /// another worker held the row when the result came (the attempt is
    /// logged, the row left to that worker).
    pub lost: u64,
    /// Sends that waited for their provider's rate limiter.
    pub throttled: u64,
    /// Kept pending without counting an attempt: the provider's circuit
    /// is open (credentials or settings refused).
    pub held: u64,
    /// Not sent: the user was erased, unsubscribed or withdrew consent,
    /// or the device was deactivated, after planning.
    pub skipped: u64,
}

impl Tally {
    /// Counts one row's fate.
    pub(super) fn count(&mut self, fate: Fate, throttled: bool) {
        let slot = match fate {
            Fate::Delivered => &mut self.delivered,
            Fate::Retried => &mut self.retried,
            Fate::Failed => &mut self.failed,
            Fate::Redirected => &mut self.redirected,
            Fate::FellBack => &mut self.fell_back,
            Fate::Lost => &mut self.lost,
            Fate::Held => &mut self.held,
            Fate::Skipped => &mut self.skipped,
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
        self.skipped += other.skipped;
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A batch was claimed and every row in it attempted and recorded.
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
    /// Whether the leases of gone processes of this host were freed (once
    /// per worker, when it starts serving).
    pub(super) freed_gone: AtomicBool,
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
            freed_gone: AtomicBool::new(false),
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
    /// run (each claim counts an attempt), sends it concurrently within
    /// each provider's limits and the lease's deadline, records every
    /// result as it arrives, and returns what happened once all are
    /// recorded. A store error is returned after the rest of the batch has
    /// been recorded.
    pub async fn step(&self, now: i64, run_id: Option<i64>) -> Result<Step, DispatchError> {
        let limit = u64::from(self.settings.batch_size.get());
        let lease = millis(self.settings.lease.get());
        self.free_gone_leases().await;
        let mut laps = Laps::start();
        let rows = (self.store)
            .claim_outbox(&self.owner, now, lease, limit, run_id)
            .await?;
        let claim_us = laps.lap();
        if rows.is_empty() {
            let next_due = self.store.next_due(run_id).await?;
            return Ok(Step::Idle { next_due });
        }
        let mut tally = Tally {
            claimed: rows.len() as u64,
            ..Tally::default()
        };
        let rows = self.skip_stale(rows, now, &mut tally).await?;
        let clock = StepClock::start(now);
        let lease = StepLease::new(&rows, now, lease);
        let metrics = crate::api::metrics::global();
        let (send_us, error) = self
            .send_and_record(&rows, &clock, &lease, metrics, &mut tally)
            .await;
        metrics.observe_tally(&tally);
        let record_us = laps.lap().saturating_sub(send_us);
        log_batch(&self.owner, &tally, [claim_us, send_us, record_us]);
        error.map_or(Ok(Step::Worked(tally)), Err)
    }

    /// Sends the rows and records their results as they arrive, renewing
    /// the lease of the rows in flight meanwhile; the microseconds until
    /// the last send ended, and the first error.
    async fn send_and_record(
        &self,
        rows: &[OutboxRow],
        clock: &StepClock,
        lease: &StepLease,
        metrics: &Metrics,
        tally: &mut Tally,
    ) -> (u64, Option<DispatchError>) {
        let (results, received) = mpsc::unbounded_channel::<RowResult>();
        let began = Instant::now();
        let sending = async move {
            let sends = rows.iter().map(|row| {
                let results = results.clone();
                async move {
                    let result = self.attempt(row, clock, lease).await;
                    let _ = results.send((row.outbox_id, result));
                }
            });
            join_all(sends).await;
            u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX)
        };
        let recording = Recording {
            rows,
            lease,
            metrics,
        };
        let recorded = self.record_results(received, recording, tally);
        tokio::select! {
            done = async { tokio::join!(sending, recorded) } => done,
            never = self.keep_leases(lease, clock) => match never {},
        }
    }

    /// Frees the outbox leases held by processes of this host that no
    /// longer exist (a worker or `campaign run` killed mid-batch), once
    /// per worker, before its first claim, so their rows need not wait for
    /// the leases to expire. A store error is logged: the leases expire.
    async fn free_gone_leases(&self) {
        if self.freed_gone.swap(true, Ordering::AcqRel) {
            return;
        }
        let freed = async {
            for holder in self.store.outbox_lease_owners().await? {
                if owner_is_gone(&holder) {
                    let freed = self.store.release_leases(&holder).await?;
                    tracing::info!(%holder, freed, owner = %self.owner, "outbox leases of a gone process freed");
                }
            }
            Ok::<_, DispatchError>(())
        };
        if let Err(error) = freed.await {
            tracing::warn!(owner = %self.owner, %error, "could not free the leases of gone processes");
        }
    }

    /// Releases every lease this worker holds (graceful shutdown).
    pub async fn release(&self) -> Result<u64, DispatchError> {
        Ok(self.store.release_leases(&self.owner).await?)
    }
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
        skipped = tally.skipped,
        "dispatch batch"
    );
}
