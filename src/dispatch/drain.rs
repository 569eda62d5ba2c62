//! The worker's loops, the only place dispatch reads the wall clock:
//! `drain` steps until a run (or the whole outbox) has nothing pending,
//! `follow` sends a run while it is being planned, `run` serves until shut
//! down. Both sleep while nothing is due (until
//! the next due row, at most a poll interval, since other processes add
//! rows and leases expire), stop as soon as the shutdown flag turns true,
//! and release their leases on the way out.

use std::time::Duration;

use tokio::sync::watch;

use super::DispatchError;
use super::worker::{Step, Tally, Worker};

/// The longest idle sleep: how soon new or unleased rows are noticed.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long `follow` waits for the planner's next page before looking
/// for pending rows again.
const PAGE_WAIT: Duration = Duration::from_millis(20);

/// How long `run` waits after a store error before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// What a drain (or a served run) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Every step's counts added up.
    pub totals: Tally,
    /// Batches worked.
    pub batches: u64,
    /// True when it stopped for the shutdown flag, not for lack of work.
    pub stopped: bool,
}

impl Worker {
    /// Steps until run `run_id` (or, with `None`, the whole outbox) has no
    /// pending row left, sleeping while nothing is due; stops early when
    /// `shutdown` turns true. Leases are released on return. Rows of a
    /// paused campaign stay pending, so the drain waits for a resume or a
    /// cancel.
    pub async fn drain(
        &self,
        run_id: Option<i64>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<DrainReport, DispatchError> {
        let result = self.serve(run_id, shutdown, false).await;
        let released = self.release().await;
        let report = result?;
        released?;
        Ok(report)
    }

    /// Sends run `run_id` while it is being planned: drains what is
    /// pending, waits for the planner's next page, and returns once
    /// `planned` has turned true and nothing is pending. Leases are
    /// released between drains.
    pub async fn follow(
        &self,
        run_id: i64,
        mut planned: watch::Receiver<bool>,
    ) -> Result<DrainReport, DispatchError> {
        let (_stop, shutdown) = watch::channel(false);
        let mut report = DrainReport::default();
        loop {
            let finished = *planned.borrow();
            let drained = self.drain(Some(run_id), shutdown.clone()).await?;
            report.totals.add(&drained.totals);
            report.batches += drained.batches;
            if finished {
                return Ok(report);
            }
            // Nothing pending: wait for the next page (or the end).
            let _ = tokio::time::timeout(PAGE_WAIT, planned.changed()).await;
        }
    }

    /// Serves the whole outbox until `shutdown` turns true (`herald worker`
    /// and `serve`): steps, sleeps while idle, and rides out store errors
    /// (logged, retried after a pause). Leases are released on return.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) -> Result<DrainReport, DispatchError> {
        let report = self.serve(None, shutdown, true).await?;
        self.release().await?;
        Ok(report)
    }

    /// The loop behind `drain` (`forever` false) and `run` (true).
    async fn serve(
        &self,
        run_id: Option<i64>,
        mut shutdown: watch::Receiver<bool>,
        forever: bool,
    ) -> Result<DrainReport, DispatchError> {
        let mut report = DrainReport::default();
        while !stop_asked(&shutdown) {
            let now = chrono::Utc::now().timestamp_millis();
            let wait = match self.step(now, run_id).await {
                Ok(Step::Worked(tally)) => {
                    report.totals.add(&tally);
                    report.batches += 1;
                    continue;
                }
                Ok(Step::Idle { next_due: None }) if !forever => return Ok(report),
                Ok(Step::Idle { next_due }) => idle_wait(next_due, now),
                Err(e) if forever => {
                    tracing::error!(
                        owner = %self.owner,
                        error = %e,
                        "dispatch step failed; retrying"
                    );
                    ERROR_PAUSE
                }
                Err(e) => return Err(e),
            };
            if pause(&mut shutdown, wait).await {
                break;
            }
        }
        report.stopped = true;
        Ok(report)
    }
}

/// Whether the shutdown flag is up (the borrow ends here, never held
/// across an await, which keeps the loops' futures `Send`).
fn stop_asked(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow()
}

/// How long to sleep when nothing is due at `now`.
fn idle_wait(next_due: Option<i64>, now: i64) -> Duration {
    match next_due {
        Some(due) if due > now => {
            let ms = u64::try_from(due - now).unwrap_or(u64::MAX);
            Duration::from_millis(ms).min(POLL_INTERVAL)
        }
        _ => POLL_INTERVAL,
    }
}

/// Sleeps for `wait`; true when the shutdown flag turned true meanwhile.
/// A dropped sender means no shutdown will come: the sleep runs out.
async fn pause(shutdown: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    let stop = async {
        let raised = shutdown.wait_for(|stop| *stop).await.is_ok();
        if !raised {
            std::future::pending::<()>().await;
        }
        raised
    };
    tokio::select! {
        () = tokio::time::sleep(wait) => false,
        stopped = stop => stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_worker_sleeps_until_the_next_due_row_at_most_a_poll() {
        assert_eq!(idle_wait(Some(1_050), 1_000), Duration::from_millis(50));
        assert_eq!(idle_wait(Some(99_000), 1_000), POLL_INTERVAL);
        assert_eq!(idle_wait(Some(900), 1_000), POLL_INTERVAL);
        assert_eq!(idle_wait(None, 1_000), POLL_INTERVAL);
    }

    #[tokio::test]
    async fn a_pause_ends_early_when_shutdown_is_asked() {
        let (tx, mut rx) = watch::channel(false);
        tx.send(true).unwrap();
        assert!(pause(&mut rx, Duration::from_secs(3600)).await);
    }

    #[tokio::test]
    async fn a_pause_runs_out_when_the_sender_is_gone() {
        let (tx, mut rx) = watch::channel(false);
        drop(tx);
        assert!(!pause(&mut rx, Duration::from_millis(1)).await);
    }
}
