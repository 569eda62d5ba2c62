//! Transient failures are retried with backoff, no sooner than the
//! provider's Retry-After; permanent failures and exhausted attempts fail
//! the row; a rate limit makes sends wait instead of dropping them.

use std::collections::HashMap;
use std::time::Duration;

use herald::channels::sandbox::{Failure, Faults};
use herald::config::{ChannelLimits, DispatchSettings};

use super::fixtures::{attempts, counts, drain, nz, pushes, sandbox, settings, worker};
use crate::helpers::test_dbs;

#[tokio::test]
async fn transient_errors_are_retried_after_retry_after_until_every_row_is_delivered() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().configure(Faults {
            error_rate: 0.2,
            error: Failure::Unavailable,
            seed: 11,
            retry_after: Some(Duration::from_secs(1)),
            ..Faults::default()
        });
        let run_id = pushes(&db, 12).await;
        let patient = DispatchSettings {
            max_attempts: nz(20),
            ..settings()
        };
        let report = drain(&worker(&db, &sandbox, patient, "w-1"), run_id).await;
        assert_eq!(report.totals.delivered, 12, "{}: {report:?}", db.name());
        assert!(
            report.totals.retried > 0,
            "{}: no fault was injected",
            db.name()
        );
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("sent".to_owned(), 12)])
        );
        let attempts = attempts(&db).await;
        assert!(
            attempts.len() > 12,
            "{}: {} attempts",
            db.name(),
            attempts.len()
        );
        for (i, retry) in attempts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.outcome == "retry")
        {
            assert_eq!(retry.retry_after_ms, Some(1_000), "{}", db.name());
            let next = attempts[i + 1..]
                .iter()
                .find(|a| a.outbox_id == retry.outbox_id)
                .expect("a retried row is attempted again");
            assert!(
                next.started_at >= retry.finished_at + 1_000,
                "{}: retried {} ms after a 1 s Retry-After",
                db.name(),
                next.started_at - retry.finished_at
            );
        }
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_permanent_error_fails_the_row_without_a_retry() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let failure = Failure::Custom {
            status: 400,
            reason: "BadCollapseId".to_owned(),
        };
        sandbox.faults().fail_next(1, failure);
        let run_id = pushes(&db, 1).await;
        let report = drain(&worker(&db, &sandbox, settings(), "w-1"), run_id).await;
        assert_eq!(
            (report.totals.failed, report.totals.retried),
            (1, 0),
            "{}",
            db.name()
        );
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("failed".to_owned(), 1)])
        );
        let attempts = attempts(&db).await;
        assert_eq!(attempts.len(), 1, "{}", db.name());
        assert_eq!(attempts[0].outcome, "permanent");
        let detail = attempts[0].detail.clone().unwrap_or_default();
        assert!(detail.contains("BadCollapseId"), "{}: {detail}", db.name());
        assert_eq!(sandbox.record().count("apns"), 1, "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_row_that_keeps_failing_fails_once_its_attempts_are_used_up() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().fail_next(10, Failure::Internal);
        let run_id = pushes(&db, 1).await;
        let three = DispatchSettings {
            max_attempts: nz(3),
            ..settings()
        };
        let report = drain(&worker(&db, &sandbox, three, "w-1"), run_id).await;
        assert_eq!(
            (report.totals.retried, report.totals.failed),
            (2, 1),
            "{}",
            db.name()
        );
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("failed".to_owned(), 1)])
        );
        let attempts = attempts(&db).await;
        let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.as_str()).collect();
        assert_eq!(outcomes, ["retry", "retry", "retry"], "{}", db.name());
        let last = attempts[2].detail.clone().unwrap_or_default();
        assert!(
            last.contains("attempts exhausted (3 of 3)"),
            "{}: {last}",
            db.name()
        );
        assert_eq!(sandbox.record().count("apns"), 3, "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_rate_limited_provider_makes_sends_wait_and_still_delivers_them_all() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let run_id = pushes(&db, 5).await;
        let paced = DispatchSettings {
            apns: ChannelLimits {
                concurrency: nz(8),
                rate: 2,
            },
            ..settings()
        };
        let report = drain(&worker(&db, &sandbox, paced, "w-1"), run_id).await;
        assert_eq!(report.totals.delivered, 5, "{}: {report:?}", db.name());
        assert!(
            report.totals.throttled >= 1,
            "{}: the limiter never held a send back",
            db.name()
        );
        assert_eq!(sandbox.record().count("apns"), 5, "{}", db.name());
        sandbox.shutdown().await;
    }
}
