//! A step's lease on its claimed rows: when it ends, which rows are still
//! in flight, the deadline every send gets, and the renewer that keeps
//! extending the lease of the rows in flight while a batch is worked.
//!
//! No provider call outlives the lease: a send gets the lease's remaining
//! time minus a margin kept for recording its result, so even when
//! renewals fail (the database is unreachable) the result is written
//! before another worker may claim the row. While renewals succeed, every
//! third of the lease, a send always has more than half a lease, which
//! the start-up check keeps above every provider's own timeout.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::store::OutboxRow;

use super::attempt::StepClock;
use super::worker::Worker;

/// The share of the lease kept back from a send's deadline for recording
/// its result (one tenth).
const MARGIN_DIVISOR: i64 = 10;

/// Renewals per lease length.
const RENEWALS_PER_LEASE: i64 = 3;

/// The lease of one step's rows.
pub(super) struct StepLease {
    /// The lease's length (ms).
    length: i64,
    /// When the lease ends (ms, on the step's clock), as last claimed or
    /// renewed.
    until: AtomicI64,
    /// The rows claimed and not yet recorded.
    in_flight: Mutex<HashSet<i64>>,
}

impl StepLease {
    /// The lease of `rows`, claimed at `claimed_at` (ms) for `length` ms.
    pub(super) fn new(rows: &[OutboxRow], claimed_at: i64, length: i64) -> Self {
        Self {
            length,
            until: AtomicI64::new(claimed_at.saturating_add(length)),
            in_flight: Mutex::new(rows.iter().map(|r| r.outbox_id).collect()),
        }
    }

    /// How long a send starting at `now` (ms) may take: the lease's
    /// remaining time minus the recording margin; `None` when nothing is
    /// left (the send must not start).
    pub(super) fn deadline(&self, now: i64) -> Option<Duration> {
        let margin = self.length / MARGIN_DIVISOR;
        let left = self.until.load(Ordering::Acquire) - now - margin;
        u64::try_from(left)
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }

    /// Marks rows recorded: their lease is no longer renewed.
    pub(super) fn done(&self, outbox_ids: impl IntoIterator<Item = i64>) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        for id in outbox_ids {
            in_flight.remove(&id);
        }
    }

    /// The rows still in flight.
    fn in_flight(&self) -> Vec<i64> {
        let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.iter().copied().collect()
    }

    /// How often the lease is renewed.
    fn period(&self) -> Duration {
        let ms = (self.length / RENEWALS_PER_LEASE).max(1);
        Duration::from_millis(u64::try_from(ms).unwrap_or(1))
    }
}

impl Worker {
    /// Renews the lease of the step's rows still in flight every third of
    /// the lease, until dropped (when the step's results are recorded). A
    /// failed renewal is logged; the send deadlines still hold.
    pub(super) async fn keep_leases(&self, lease: &StepLease, clock: &StepClock) -> Infallible {
        loop {
            tokio::time::sleep(lease.period()).await;
            let ids = lease.in_flight();
            if ids.is_empty() {
                continue;
            }
            let until = clock.at().saturating_add(lease.length);
            match self.store.renew_leases(&self.owner, &ids, until).await {
                Ok(_) => {
                    lease.until.fetch_max(until, Ordering::AcqRel);
                }
                Err(error) => tracing::warn!(
                    owner = %self.owner,
                    %error,
                    "dispatch lease renewal failed; sends keep their deadlines"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(length: i64) -> StepLease {
        StepLease::new(&[], 1_000, length)
    }

    #[test]
    fn a_send_gets_the_remaining_lease_minus_a_tenth() {
        let lease = lease(60_000);
        assert_eq!(lease.deadline(1_000), Some(Duration::from_secs(54)));
        assert_eq!(lease.deadline(31_000), Some(Duration::from_secs(24)));
        assert_eq!(lease.deadline(55_000), None);
    }

    #[test]
    fn a_renewal_moves_the_deadline_and_never_back() {
        let lease = lease(6_000);
        lease.until.fetch_max(11_000, Ordering::AcqRel);
        lease.until.fetch_max(9_000, Ordering::AcqRel);
        assert_eq!(lease.deadline(5_000), Some(Duration::from_millis(5_400)));
        assert_eq!(lease.period(), Duration::from_secs(2));
    }
}
