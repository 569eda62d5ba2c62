//! Claiming outbox rows: concurrent claimers, every claim counting an
//! attempt, expired leases and late results, paused and cancelled
//! campaigns, released leases.

use super::{LEASE, NOW, attempt, campaign, count, enqueue, run};
use crate::helpers::test_dbs;
use herald::store::{OutboxRow, OutboxUpdate, Store};
use std::collections::HashSet;

/// One claim of up to 23 rows, on a task of its own.
async fn claim_batch(store: Store, owner: &'static str) -> Vec<OutboxRow> {
    store
        .claim_outbox(owner, NOW, LEASE, 23, None)
        .await
        .expect("claim")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_claimers_never_receive_the_same_row() {
    for db in test_dbs().await {
        let c = campaign(&db, "big").await;
        let r = run(&db, c, "slot").await.run_id;
        let users: Vec<String> = (0..500).map(|i| format!("u{i:04}")).collect();
        for (i, page) in users.chunks(100).enumerate() {
            let page: Vec<&str> = page.iter().map(String::as_str).collect();
            enqueue(&db, r, &page, NOW - 1000 + i as i64, NOW).await;
        }
        let mut seen = HashSet::new();
        let mut per_worker = [0, 0];
        loop {
            let (a, b) = tokio::join!(
                tokio::spawn(claim_batch(db.store.clone(), "worker-a")),
                tokio::spawn(claim_batch(db.store.clone(), "worker-b")),
            );
            let (a, b) = (a.expect("claimer a"), b.expect("claimer b"));
            if a.is_empty() && b.is_empty() {
                break;
            }
            for batch in [&a, &b] {
                let order: Vec<_> = batch
                    .iter()
                    .map(|r| (r.next_attempt_at, r.outbox_id))
                    .collect();
                assert!(
                    order.is_sorted(),
                    "{}: claimed rows come in due order",
                    db.name()
                );
            }
            per_worker[0] += a.len();
            per_worker[1] += b.len();
            for row in a.iter().chain(&b) {
                assert!(
                    seen.insert(row.outbox_id),
                    "{}: row {} claimed twice",
                    db.name(),
                    row.outbox_id
                );
            }
        }
        assert_eq!(seen.len(), 500, "{}: every row claimed", db.name());
        assert!(
            per_worker.iter().all(|n| *n > 0),
            "{}: {per_worker:?}",
            db.name()
        );
    }
}

#[tokio::test]
async fn every_claim_counts_an_attempt_even_when_no_result_is_ever_recorded() {
    for db in test_dbs().await {
        let c = campaign(&db, "weekly").await;
        let r = run(&db, c, "slot").await.run_id;
        enqueue(&db, r, &["u1"], NOW, NOW).await;
        let store = &db.store;
        for (n, at) in [(1, NOW), (2, NOW + 1001), (3, NOW + 2002)] {
            let claimed = store.claim_outbox("w", at, 1000, 10, None).await.unwrap();
            assert_eq!(claimed.len(), 1, "{}: claim {n}", db.name());
            assert_eq!(claimed[0].attempts, n, "{}: claim {n}", db.name());
        }
        let row = store.outbox_for_user(r, "u1").await.unwrap().remove(0);
        assert_eq!(
            (row.status.as_str(), row.attempts),
            ("pending", 3),
            "{}",
            db.name()
        );
    }
}

#[tokio::test]
async fn an_expired_lease_passes_on_and_a_late_delivery_is_logged_and_marks_the_row_sent() {
    for db in test_dbs().await {
        let c = campaign(&db, "weekly").await;
        let r = run(&db, c, "slot").await.run_id;
        enqueue(&db, r, &["u1"], NOW, NOW).await;
        let store = &db.store;
        let old = store
            .claim_outbox("old", NOW, 1000, 10, None)
            .await
            .unwrap();
        assert_eq!(old.len(), 1, "{}", db.name());
        assert!(
            store
                .claim_outbox("new", NOW + 500, 1000, 10, None)
                .await
                .unwrap()
                .is_empty()
        );
        let new = store
            .claim_outbox("new", NOW + 1001, 1000, 10, None)
            .await
            .unwrap();
        assert_eq!(new.len(), 1, "{}: expired lease passes on", db.name());
        let late = attempt(&old[0], "old", NOW + 1100, OutboxUpdate::Sent);
        assert!(
            store.finish_attempt(&late).await.unwrap(),
            "{}: the late delivery marks the pending row",
            db.name()
        );
        let done = attempt(&new[0], "new", NOW + 1200, OutboxUpdate::Sent);
        assert!(!store.finish_attempt(&done).await.unwrap(), "{}", db.name());
        let row = store.outbox_row(new[0].outbox_id).await.unwrap().unwrap();
        assert_eq!(
            (row.status.as_str(), row.attempts),
            ("sent", 2),
            "{}",
            db.name()
        );
        let logged = "SELECT COUNT(*) AS n FROM delivery_attempts WHERE \
                      (worker = 'old' AND attempt = 1) OR (worker = 'new' AND attempt = 2)";
        assert_eq!(count(&db, logged).await, 2, "{}", db.name());
        let claimable = store.claim_outbox("third", NOW + 9000, 1000, 10, None);
        assert!(
            claimable.await.unwrap().is_empty(),
            "{}: sent for good",
            db.name()
        );
    }
}

#[tokio::test]
async fn a_late_failure_is_logged_but_leaves_the_row_to_its_new_owner() {
    for db in test_dbs().await {
        let c = campaign(&db, "weekly").await;
        let r = run(&db, c, "slot").await.run_id;
        enqueue(&db, r, &["u1"], NOW, NOW).await;
        let store = &db.store;
        let old = store
            .claim_outbox("old", NOW, 1000, 10, None)
            .await
            .unwrap();
        let new = store.claim_outbox("new", NOW + 1001, 1000, 10, None);
        assert_eq!(new.await.unwrap().len(), 1, "{}", db.name());
        let mut late = attempt(&old[0], "old", NOW + 1100, OutboxUpdate::Failed);
        late.outcome = "permanent".to_owned();
        assert!(!store.finish_attempt(&late).await.unwrap(), "{}", db.name());
        let row = store.outbox_row(old[0].outbox_id).await.unwrap().unwrap();
        assert_eq!(
            (row.status.as_str(), row.attempts),
            ("pending", 2),
            "{}",
            db.name()
        );
        let leased = "SELECT COUNT(*) AS n FROM outbox WHERE lease_owner = 'new'";
        assert_eq!(count(&db, leased).await, 1, "{}", db.name());
        let logged = "SELECT COUNT(*) AS n FROM delivery_attempts \
                      WHERE worker = 'old' AND outcome = 'permanent'";
        assert_eq!(count(&db, logged).await, 1, "{}", db.name());
    }
}

#[tokio::test]
async fn paused_and_cancelled_campaigns_are_not_claimed_and_cancel_pending_cancels() {
    for db in test_dbs().await {
        let store = &db.store;
        let live = campaign(&db, "live").await;
        let paused = campaign(&db, "paused").await;
        let stopped = campaign(&db, "stopped").await;
        let (r_live, r_paused, r_stopped) = (
            run(&db, live, "s").await.run_id,
            run(&db, paused, "s").await.run_id,
            run(&db, stopped, "s").await.run_id,
        );
        let r_cancelled = run(&db, live, "other").await.run_id;
        for r in [r_live, r_paused, r_stopped, r_cancelled] {
            enqueue(&db, r, &["u1", "u2"], NOW, NOW).await;
        }
        store
            .set_campaign_status(paused, "paused", NOW)
            .await
            .unwrap();
        store
            .set_campaign_status(stopped, "cancelled", NOW)
            .await
            .unwrap();
        store
            .set_run_status(r_cancelled, "cancelled", None, Some(NOW))
            .await
            .unwrap();
        let claimed = store
            .claim_outbox("w", NOW, LEASE, 100, None)
            .await
            .unwrap();
        let runs: HashSet<_> = claimed.iter().map(|o| o.run_id).collect();
        assert_eq!(runs, HashSet::from([r_live]), "{}", db.name());
        assert_eq!(store.release_leases("w").await.unwrap(), 2, "{}", db.name());

        store
            .set_campaign_status(paused, "scheduled", NOW)
            .await
            .unwrap();
        let resumed = store
            .claim_outbox("w", NOW, LEASE, 100, Some(r_paused))
            .await
            .unwrap();
        assert_eq!(
            resumed.len(),
            2,
            "{}: resumed campaign is claimed",
            db.name()
        );
        store.release_leases("w").await.unwrap();

        assert_eq!(
            store.cancel_pending(live, NOW + 1).await.unwrap(),
            4,
            "{}",
            db.name()
        );
        assert_eq!(
            store.outbox_counts(r_live).await.unwrap(),
            [("cancelled".to_owned(), 2)]
        );
        assert_eq!(
            store.next_due(Some(r_live)).await.unwrap(),
            None,
            "{}",
            db.name()
        );
        assert_eq!(
            store.next_due(Some(r_paused)).await.unwrap(),
            Some(NOW),
            "{}",
            db.name()
        );
        let left = store
            .claim_outbox("w", NOW, LEASE, 100, None)
            .await
            .unwrap();
        assert!(left.iter().all(|o| o.run_id == r_paused), "{}", db.name());
    }
}

#[tokio::test]
async fn released_leases_make_rows_claimable_again_and_next_due_follows_them() {
    for db in test_dbs().await {
        let store = &db.store;
        let c = campaign(&db, "weekly").await;
        let r = run(&db, c, "slot").await.run_id;
        assert_eq!(store.next_due(None).await.unwrap(), None);
        enqueue(&db, r, &["u1"], NOW + 100, NOW).await;
        enqueue(&db, r, &["u2"], NOW + 50, NOW).await;
        assert_eq!(
            store.next_due(None).await.unwrap(),
            Some(NOW + 50),
            "{}",
            db.name()
        );
        assert!(
            store
                .claim_outbox("w", NOW, LEASE, 10, None)
                .await
                .unwrap()
                .is_empty()
        );
        let claimed = store
            .claim_outbox("w", NOW + 100, LEASE, 10, None)
            .await
            .unwrap();
        let users: Vec<_> = claimed.iter().map(|o| o.user_id.as_str()).collect();
        assert_eq!(users, ["u2", "u1"], "{}: due order", db.name());
        assert!(
            store
                .claim_outbox("x", NOW + 100, LEASE, 10, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.release_leases("w").await.unwrap(), 2, "{}", db.name());
        assert_eq!(
            store
                .claim_outbox("x", NOW + 100, LEASE, 10, None)
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(
            store
                .claim_outbox("x", NOW + 100, LEASE, 0, None)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
