//! `max_attempts` bounds every loop: a provider slower than the lease
//! gets each message at most that many times, a row whose claims used up
//! its attempts without a result fails without a send, and a long batch
//! keeps its lease while its sends wait their turn.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use herald::config::{self, ChannelLimits, DispatchSettings};
use herald::dispatch::{ChannelSet, Step, Worker};

use super::fixtures::{
    attempts, counts, drain, nz, pushes, sandbox, settings, sms, texts, wait_until, wall, worker,
};
use super::wrap::Counting;
use crate::helpers::test_dbs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_slower_than_the_lease_gets_each_message_at_most_max_attempts_times() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().set_latency(Duration::from_millis(2_500));
        let (run_id, phones) = texts(&db, 3).await;
        let short = DispatchSettings {
            max_attempts: nz(3),
            lease: config::Duration::from_millis(1_000),
            ..settings()
        };
        let counted = Counting::new(sms(&sandbox));
        let on = |owner| {
            let set = ChannelSet::empty().with_sms(counted.clone());
            Arc::new(Worker::new(db.store.clone(), set, short.clone(), owner))
        };
        let (a, b) = (on("w-a"), on("w-b"));
        let both = async {
            let other = tokio::spawn({
                let b = Arc::clone(&b);
                async move { drain(&b, run_id).await }
            });
            drain(&a, run_id).await;
            other.await.expect("worker b");
        };
        let finished = tokio::time::timeout(Duration::from_secs(30), both).await;
        let sends = counted.sends();
        for phone in &phones {
            let n = sends.get(phone).copied().unwrap_or(0);
            assert!(n <= 3, "{}: {phone} got {n} sends: {sends:?}", db.name());
            let arrived = (sandbox.record().of("sms").iter())
                .filter(|r| r.address.as_deref() == Some(phone.as_str()))
                .count();
            assert!(arrived <= 3, "{}: {phone} received {arrived}", db.name());
        }
        assert!(finished.is_ok(), "{}: the workers never stopped", db.name());
        let states = counts(&db, run_id).await;
        let settled: i64 = ["sent", "failed"]
            .iter()
            .filter_map(|s| states.get(*s))
            .sum();
        assert_eq!(settled, 3, "{}: {states:?}", db.name());
        let details: Vec<_> = attempts(&db)
            .await
            .into_iter()
            .filter_map(|a| a.detail)
            .collect();
        assert!(
            details
                .iter()
                .any(|d| d.contains("before the dispatch lease deadline")),
            "{}: {details:?}",
            db.name()
        );
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_row_whose_claims_used_up_its_attempts_without_a_result_fails_without_a_send() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let run_id = pushes(&db, 1).await;
        let t0 = wall();
        for crash in 0..3 {
            let at = t0 + crash * 1_001;
            let claimed = db
                .store
                .claim_outbox("w-crashed", at, 1_000, 10, Some(run_id));
            assert_eq!(claimed.await.unwrap().len(), 1, "{}", db.name());
        }
        let three = DispatchSettings {
            max_attempts: nz(3),
            ..settings()
        };
        let worker = worker(&db, &sandbox, three, "w-1");
        let Step::Worked(tally) = worker.step(t0 + 10_000, Some(run_id)).await.unwrap() else {
            panic!("{}: the row was not claimed", db.name());
        };
        assert_eq!((tally.failed, tally.delivered), (1, 0), "{}", db.name());
        assert_eq!(
            sandbox.record().count("apns"),
            0,
            "{}: it was sent",
            db.name()
        );
        let failed = HashMap::from([("failed".to_owned(), 1)]);
        assert_eq!(counts(&db, run_id).await, failed, "{}", db.name());
        let logged = attempts(&db).await;
        let detail = logged[0].detail.clone().unwrap_or_default();
        assert!(
            detail.contains("attempts exhausted (3 of 3) before a result was recorded"),
            "{}: {detail}",
            db.name()
        );
        let row = db
            .store
            .outbox_row(logged[0].outbox_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.attempts, 3, "{}: attempts made", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_longer_than_its_lease_keeps_the_lease_while_sends_wait_their_turn() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().set_latency(Duration::from_millis(500));
        let (run_id, phones) = texts(&db, 4).await;
        let one_at_a_time = DispatchSettings {
            lease: config::Duration::from_millis(1_200),
            sms: ChannelLimits::unlimited(nz(1)),
            ..settings()
        };
        let counted = Counting::new(sms(&sandbox));
        let set = ChannelSet::empty().with_sms(counted.clone());
        let a = Worker::new(db.store.clone(), set.clone(), one_at_a_time.clone(), "w-a");
        let b = Worker::new(db.store.clone(), set, one_at_a_time, "w-b");
        let first = a.step(wall(), Some(run_id));
        let (first, _) = tokio::join!(first, async {
            wait_until("worker a claimed the batch", || async {
                db.store.leased_outbox_count().await.unwrap() == 4
            })
            .await;
            drain(&b, run_id).await
        });
        let Step::Worked(first) = first.unwrap() else {
            panic!("{}: nothing claimed", db.name());
        };
        assert_eq!(first.delivered, 4, "{}: {first:?}", db.name());
        let sends = counted.sends();
        for phone in &phones {
            assert_eq!(sends.get(phone), Some(&1), "{}: {sends:?}", db.name());
        }
        sandbox.shutdown().await;
    }
}
