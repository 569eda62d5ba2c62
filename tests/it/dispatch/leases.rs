//! Leases keep workers off each other's rows: two workers draining one
//! outbox send every row once, a worker that lost its lease mid-send logs
//! its late result without overriding the new owner, and a drain stopped
//! by shutdown gives its leases back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use herald::config::DispatchSettings;
use herald::dispatch::{ChannelSet, Step, Worker};
use tokio::sync::watch;

use super::fixtures::{
    Msg, apns, attempts, counts, drain, nz, open_run, outbox_row, pushes, sandbox, seed, settings,
    wall, worker,
};
use super::wrap::Gate;
use crate::helpers::{apns_token, test_dbs};

#[tokio::test]
async fn two_workers_draining_one_outbox_send_every_row_exactly_once() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().set_latency(Duration::from_millis(5));
        let run_id = pushes(&db, 16).await;
        let small = DispatchSettings {
            batch_size: nz(3),
            ..settings()
        };
        let a = Arc::new(worker(&db, &sandbox, small.clone(), "w-a"));
        let b = worker(&db, &sandbox, small, "w-b");
        let spawned = tokio::spawn({
            let a = Arc::clone(&a);
            async move { drain(&a, run_id).await }
        });
        let rb = drain(&b, run_id).await;
        let ra = spawned.await.expect("worker a");
        let delivered = ra.totals.delivered + rb.totals.delivered;
        assert_eq!(delivered, 16, "{}: {ra:?} {rb:?}", db.name());
        assert_eq!(sandbox.record().count("apns"), 16, "{}", db.name());
        let mut ids: Vec<_> = (sandbox.record().of("apns").iter())
            .filter_map(|r| r.header("apns-id").map(str::to_owned))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 16, "{}: an apns-id was sent twice", db.name());
        assert_eq!(attempts(&db).await.len(), 16, "{}", db.name());
        let sent = HashMap::from([("sent".to_owned(), 16)]);
        assert_eq!(counts(&db, run_id).await, sent, "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_lease_was_taken_mid_send_logs_its_late_result_and_leaves_the_row_sent() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let run_id = pushes(&db, 1).await;
        let token = apns_token(0x40);
        let (gate, mut control) = Gate::new(apns(&sandbox), &[token.as_str()]);
        let set = ChannelSet::empty().with_apns(gate);
        let slow = Worker::new(db.store.clone(), set, settings(), "w-slow");
        let other = worker(&db, &sandbox, settings(), "w-other");
        let t0 = wall();
        let takeover = async {
            control.entered.recv().await.expect("the slow send is held");
            let second = other.step(t0 + 60_000, Some(run_id)).await;
            control.open.send(true).unwrap();
            second
        };
        let (first, second) = tokio::join!(slow.step(t0, Some(run_id)), takeover);
        let Step::Worked(first) = first.unwrap() else {
            panic!("{}: the first worker claimed nothing", db.name());
        };
        let Step::Worked(second) = second.unwrap() else {
            panic!("{}: the expired lease was not taken over", db.name());
        };
        assert_eq!(
            (first.lost, first.delivered),
            (1, 0),
            "{}: {first:?}",
            db.name()
        );
        assert_eq!(
            (second.lost, second.delivered),
            (0, 1),
            "{}: {second:?}",
            db.name()
        );
        let attempts = attempts(&db).await;
        let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.as_str()).collect();
        assert_eq!(
            outcomes,
            ["delivered", "delivered"],
            "{}: the late attempt is logged too",
            db.name()
        );
        let ids: Vec<_> = (sandbox.record().of("apns").iter())
            .filter_map(|r| r.header("apns-id").map(str::to_owned))
            .collect();
        assert_eq!(ids.len(), 2, "{}: the in-flight repeat", db.name());
        assert_eq!(
            ids[0],
            ids[1],
            "{}: the repeat keeps its apns-id",
            db.name()
        );
        let sent = HashMap::from([("sent".to_owned(), 1)]);
        assert_eq!(counts(&db, run_id).await, sent, "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_drain_stopped_by_shutdown_returns_at_once_and_releases_its_leases() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let run_id = pushes(&db, 2).await;
        let lease = 60_000;
        let held = (db.store.claim_outbox("w-1", wall(), lease, 1, Some(run_id)))
            .await
            .unwrap();
        assert_eq!(held.len(), 1, "{}", db.name());
        let (tx, rx) = watch::channel(true);
        let stopping = worker(&db, &sandbox, settings(), "w-1");
        let report = stopping.drain(Some(run_id), rx).await.unwrap();
        assert!(report.stopped, "{}: {report:?}", db.name());
        assert_eq!(report.totals.claimed, 0, "{}", db.name());
        let free = (db
            .store
            .claim_outbox("w-2", wall(), lease, 10, Some(run_id)))
        .await
        .unwrap();
        assert_eq!(free.len(), 2, "{}: a lease was kept", db.name());
        drop(tx);
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn an_idle_drain_wakes_up_for_shutdown_and_leaves_future_rows_pending() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        seed(&db, &["u1"], &[]).await;
        let run_id = open_run(&db).await;
        let mut later = outbox_row(run_id, 1, &Msg::email("u1", "ana@example.com"));
        later.next_attempt_at = wall() + 3_600_000;
        db.store
            .write_plan_page(run_id, &[], &[later], &[])
            .await
            .unwrap();
        let worker = Arc::new(worker(&db, &sandbox, settings(), "w-1"));
        let (tx, rx) = watch::channel(false);
        let draining = tokio::spawn({
            let worker = Arc::clone(&worker);
            async move { worker.drain(Some(run_id), rx).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.send(true).unwrap();
        let report = draining.await.expect("drain task").unwrap();
        assert!(report.stopped, "{}: {report:?}", db.name());
        assert_eq!(report.totals.claimed, 0, "{}", db.name());
        let pending = HashMap::from([("pending".to_owned(), 1)]);
        assert_eq!(counts(&db, run_id).await, pending, "{}", db.name());
        assert!(sandbox.record().all().is_empty(), "{}", db.name());
        sandbox.shutdown().await;
    }
}
