//! Finishing attempts: each outcome (sent, retry, failed, redirect to
//! another device, fallback to another channel) with its recorded attempt.

use super::{LEASE, NOW, attempt, campaign, claim_one, count, enqueue, import, outbox, run};
use crate::helpers::{TestDb, apns_token, test_dbs};
use herald::store::{OutboxRow, OutboxUpdate};

#[tokio::test]
async fn finishing_an_attempt_applies_each_outcome_and_records_it() {
    for db in test_dbs().await {
        let devices = [("u4", 1, NOW - 2000), ("u4", 2, NOW - 1000)];
        import(&db, &[("u4", None)], &devices, &[]).await;
        let c = campaign(&db, "weekly").await;
        let at = NOW + 10;
        sent(&db, c, at).await;
        retried_then_failed(&db, c, at).await;
        redirected(&db, c, at).await;
        fell_back(&db, c, at).await;
        let all = "SELECT COUNT(*) AS n FROM delivery_attempts";
        assert_eq!(count(&db, all).await, 5, "{}", db.name());
        let leased = "SELECT COUNT(*) AS n FROM outbox WHERE lease_owner IS NOT NULL";
        assert_eq!(count(&db, leased).await, 0, "{}", db.name());
    }
}

/// Opens a run of its own for `user` with one pending push row due at
/// `NOW`, and claims that row at `at`.
async fn claimed(db: &TestDb, campaign_id: i64, user: &str, at: i64) -> OutboxRow {
    let run_id = run(db, campaign_id, user).await.run_id;
    enqueue(db, run_id, &[user], NOW, NOW).await;
    claim_one(db, "w", at, run_id).await
}

async fn sent(db: &TestDb, c: i64, at: i64) {
    let row = claimed(db, c, "u1", at).await;
    let mut record = attempt(&row, "w", at, OutboxUpdate::Sent);
    record.provider_message_id = Some("pm-1".to_owned());
    assert!(db.store.finish_attempt(&record).await.unwrap());
    let after = db.store.outbox_row(row.outbox_id).await.unwrap().unwrap();
    assert_eq!(
        (after.status.as_str(), after.attempts),
        ("sent", 1),
        "{}",
        db.name()
    );
    let check = format!(
        "SELECT COUNT(*) AS n FROM outbox WHERE provider_message_id = 'pm-1' AND sent_at = {at}"
    );
    assert_eq!(count(db, &check).await, 1, "{}", db.name());
}

async fn retried_then_failed(db: &TestDb, c: i64, at: i64) {
    let store = &db.store;
    let row = claimed(db, c, "u2", at).await;
    let retry = OutboxUpdate::Retry {
        next_attempt_at: at + 5000,
    };
    let mut record = attempt(&row, "w", at, retry);
    record.outcome = "retry".to_owned();
    record.retry_after_ms = Some(5000);
    assert!(store.finish_attempt(&record).await.unwrap());
    let after = store.outbox_row(row.outbox_id).await.unwrap().unwrap();
    let state = (after.status.as_str(), after.attempts, after.next_attempt_at);
    assert_eq!(state, ("pending", 1, at + 5000), "{}", db.name());
    let early = store.claim_outbox("w", at + 4999, LEASE, 10, Some(row.run_id));
    assert!(
        early.await.unwrap().is_empty(),
        "{}: not due yet",
        db.name()
    );
    let again = claim_one(db, "w", at + 5000, row.run_id).await;
    let mut record = attempt(&again, "w", at + 5000, OutboxUpdate::Failed);
    record.outcome = "permanent".to_owned();
    record.detail = Some("BadDeviceToken".to_owned());
    assert!(store.finish_attempt(&record).await.unwrap());
    let after = store.outbox_row(row.outbox_id).await.unwrap().unwrap();
    assert_eq!(
        (after.status.as_str(), after.attempts),
        ("failed", 2),
        "{}",
        db.name()
    );
    let numbers = format!(
        "SELECT COUNT(*) AS n FROM delivery_attempts WHERE outbox_id = {} AND attempt IN (1, 2) \
         AND worker = 'w'",
        row.outbox_id
    );
    assert_eq!(count(db, &numbers).await, 2, "{}", db.name());
    let error = format!(
        "SELECT COUNT(*) AS n FROM outbox WHERE outbox_id = {} AND last_error = 'BadDeviceToken'",
        row.outbox_id
    );
    assert_eq!(count(db, &error).await, 1, "{}", db.name());
}

/// u4's newest token died: the row moves to u4's other device, and the
/// dead one is deactivated in the same transaction.
async fn redirected(db: &TestDb, c: i64, at: i64) {
    let store = &db.store;
    let devices = store.active_devices(&["u4".to_owned()]).await.unwrap();
    let tokens: Vec<_> = devices["u4"].iter().map(|d| d.token.clone()).collect();
    assert_eq!(
        tokens,
        [apns_token(2), apns_token(1)],
        "{}: newest first",
        db.name()
    );
    let (dead, other) = (&devices["u4"][0], &devices["u4"][1]);
    let row = claimed(db, c, "u4", at).await;
    let update = OutboxUpdate::Redirect {
        device_id: other.device_id,
        address: other.token.clone(),
        payload: r#"{"title":"Again"}"#.to_owned(),
    };
    let mut record = attempt(&row, "w", at, update);
    record.outcome = "token_gone".to_owned();
    record.deactivate_device = Some((dead.device_id, "Unregistered".to_owned()));
    assert!(store.finish_attempt(&record).await.unwrap());
    let moved = store.outbox_row(row.outbox_id).await.unwrap().unwrap();
    assert_eq!(moved.device_id, Some(other.device_id), "{}", db.name());
    assert_eq!(moved.address, other.token, "{}", db.name());
    assert_eq!(moved.payload, r#"{"title":"Again"}"#, "{}", db.name());
    let state = (moved.status.as_str(), moved.attempts, moved.next_attempt_at);
    assert_eq!(
        state,
        ("pending", 1, at),
        "{}: due again at once",
        db.name()
    );
    let left = store.active_devices(&["u4".to_owned()]).await.unwrap();
    assert_eq!(left["u4"], std::slice::from_ref(other), "{}", db.name());
    assert!(
        !store
            .deactivate_device(dead.device_id, "again", at)
            .await
            .unwrap()
    );
    let reason = format!(
        "SELECT COUNT(*) AS n FROM devices WHERE deactivation_reason = 'Unregistered' \
         AND deactivated_at = {at}"
    );
    assert_eq!(count(db, &reason).await, 1, "{}", db.name());
}

/// u5's token died and u5 falls back to email: the push row fails and
/// the email row is enqueued with it.
async fn fell_back(db: &TestDb, c: i64, at: i64) {
    let store = &db.store;
    let row = claimed(db, c, "u5", at).await;
    let next = Box::new(outbox(row.run_id, "u5", "email", at, at));
    let mut record = attempt(&row, "w", at, OutboxUpdate::Fallback { next });
    record.outcome = "token_gone".to_owned();
    assert!(store.finish_attempt(&record).await.unwrap());
    let rows = store.outbox_for_user(row.run_id, "u5").await.unwrap();
    let states: Vec<_> = rows
        .iter()
        .map(|o| (o.channel.as_str(), o.status.as_str()))
        .collect();
    assert_eq!(
        states,
        [("push", "failed"), ("email", "pending")],
        "{}",
        db.name()
    );
    let counts = store.outbox_counts(row.run_id).await.unwrap();
    let expected = [("failed", 1), ("pending", 1)].map(|(s, n)| (s.to_owned(), n));
    assert_eq!(counts, expected, "{}", db.name());
}
