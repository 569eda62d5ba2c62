//! The hand-off: when the process that plans a run also sends it, the
//! planner writes each page's due outbox rows already leased to this
//! process's worker and passes them over in memory, so sending a row costs
//! no claim (no `UPDATE ... RETURNING` rewriting every row under the
//! database's write lock). The lease is the same one a claim takes: should
//! the process die, the rows wait out the lease and any worker claims them.
//!
//! ```text
//!   planner page ─► write_plan_page(lease) ─► HandOff::give ─► Intake ─► Worker::work (lanes)
//!                                                                        then drain the rest
//! ```
//!
//! The queue holds a few batches: a planner ahead of its senders waits,
//! which keeps memory flat however large the run.

use std::time::Instant;

use tokio::sync::{Mutex, mpsc, watch};

use crate::store::{OutboxLease, OutboxRow};

use super::DispatchError;
use super::attempt::StepClock;
use super::backoff::millis;
use super::drain::DrainReport;
use super::worker::{Tally, Worker};

/// Batches queued per sending lane.
const DEPTH_PER_LANE: usize = 2;

/// Rows leased to the worker at one instant.
struct Leased {
    /// The rows.
    rows: Vec<OutboxRow>,
    /// The lease's start (ms), on the planner's clock.
    now: i64,
    /// The same instant on the monotonic clock.
    at: Instant,
}

/// The planner's end: leases rows to the worker and hands them over.
#[derive(Clone)]
pub struct HandOff {
    tx: mpsc::Sender<Leased>,
    owner: String,
    lease_ms: i64,
    batch: usize,
}

impl HandOff {
    /// The lease for rows written at `now` (ms): those due by then.
    pub fn lease(&self, now: i64) -> OutboxLease {
        OutboxLease {
            owner: self.owner.clone(),
            until: now.saturating_add(self.lease_ms),
            due_by: now,
        }
    }

    /// Whether the senders still take rows (else write rows unleased).
    pub fn open(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Hands over rows leased at `now` (ms, monotonic `at`), a batch at a
    /// time, waiting while the senders are busy; false when they stopped
    /// (the rows wait out their lease and go to the next claim).
    pub async fn give(&self, rows: Vec<OutboxRow>, now: i64, at: Instant) -> bool {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<OutboxRow> = rows.by_ref().take(self.batch).collect();
            let leased = Leased {
                rows: batch,
                now,
                at,
            };
            if self.tx.send(leased).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// The senders' end: what the planner handed over, shared by the lanes.
pub struct Intake {
    rx: Mutex<mpsc::Receiver<Leased>>,
    lanes: usize,
}

impl Intake {
    /// The next batch; `None` once the planner is done and all is taken.
    async fn next(&self) -> Option<Leased> {
        self.rx.lock().await.recv().await
    }
}

impl Worker {
    /// A hand-off to this worker with `lanes` batches in flight at once.
    pub fn hand_off(&self, lanes: usize) -> (HandOff, Intake) {
        let lanes = lanes.max(1);
        let (tx, rx) = mpsc::channel(lanes * DEPTH_PER_LANE);
        let handoff = HandOff {
            tx,
            owner: self.owner.clone(),
            lease_ms: millis(self.settings.lease.get()),
            batch: self.settings.batch_size.get() as usize,
        };
        let intake = Intake {
            rx: Mutex::new(rx),
            lanes,
        };
        (handoff, intake)
    }

    /// Sends what the planner hands over (on the intake's lanes, each a
    /// batch at a time) until the planner is done, then drains what is
    /// left of run `run_id` by claiming (rows written before, retries,
    /// redirects). Leases are released on return.
    pub async fn send_handed(
        &self,
        intake: Intake,
        run_id: i64,
    ) -> Result<DrainReport, DispatchError> {
        let (_stop, never) = watch::channel(false);
        let handed = self.take_handed(&intake, &|_| {}, never).await;
        drop(intake);
        let mut report = match handed {
            Ok(report) => report,
            Err(e) => {
                self.release().await?;
                return Err(e);
            }
        };
        let (_stop, shutdown) = watch::channel(false);
        let rest = self.drain(Some(run_id), shutdown).await?;
        add(&mut report, &rest);
        Ok(report)
    }

    /// Sends what the planner hands over, on the intake's lanes, until
    /// the planner is done or `stop` turns true (each lane finishes the
    /// batch it is sending first); `on_batch` hears each batch's counts.
    /// Leases of rows not sent stay held: release them when stopping
    /// early. The first error is returned once every lane has stopped.
    pub async fn take_handed(
        &self,
        intake: &Intake,
        on_batch: &(dyn Fn(&Tally) + Sync),
        stop: watch::Receiver<bool>,
    ) -> Result<DrainReport, DispatchError> {
        let lanes = (0..intake.lanes).map(|_| self.lane(intake, on_batch, stop.clone()));
        let mut report = DrainReport::default();
        let mut failed = None;
        for lane in futures_util::future::join_all(lanes).await {
            match lane {
                Ok(done) => add(&mut report, &done),
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(report), Err)
    }

    /// One lane: works batch after batch from the intake.
    async fn lane(
        &self,
        intake: &Intake,
        on_batch: &(dyn Fn(&Tally) + Sync),
        mut stop: watch::Receiver<bool>,
    ) -> Result<DrainReport, DispatchError> {
        let mut report = DrainReport::default();
        loop {
            let stopped = async {
                // A dropped sender means no stop will come.
                if stop.wait_for(|stop| *stop).await.is_err() {
                    std::future::pending::<()>().await;
                }
            };
            let next = tokio::select! {
                biased;
                () = stopped => None,
                next = intake.next() => next,
            };
            let Some(batch) = next else { break };
            let clock = StepClock::since(batch.now, batch.at);
            let tally = self.work(&batch.rows, &clock, 0).await?;
            on_batch(&tally);
            report.totals.add(&tally);
            report.batches += 1;
            report.handed += batch.rows.len() as u64;
        }
        Ok(report)
    }
}

/// Adds one report's counts to another.
fn add(report: &mut DrainReport, other: &DrainReport) {
    report.totals.add(&other.totals);
    report.batches += other.batches;
    report.handed += other.handed;
}
