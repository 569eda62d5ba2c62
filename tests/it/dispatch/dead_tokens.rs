//! A dead push token is deactivated at once and never tried again: the
//! message moves to the user's other device, else to the campaign's next
//! channel through the fallback, else it fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use herald::channels::Address;
use herald::channels::sandbox::Sandbox;
use herald::dispatch::{Fallback, Step, Worker};
use herald::domain::Platform;
use herald::store::{NewOutbox, OutboxRow};

use super::fixtures::{
    Msg, attempts, counts, drain, email_content, enqueue, fcm_token, open_run, sandbox, seed,
    settings, wall, worker,
};
use crate::helpers::{TestDb, apns_token, test_dbs};

/// Falls back to email at `<user>@example.com`, counting its calls.
#[derive(Default)]
struct EmailFallback {
    /// How often it was asked.
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl Fallback for EmailFallback {
    async fn next_channel(&self, row: &OutboxRow, now: i64) -> Result<Option<NewOutbox>, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let address = Address::Email(format!("{}@example.com", row.user_id));
        Ok(Some(NewOutbox {
            run_id: row.run_id,
            user_id: row.user_id.clone(),
            channel: "email".to_owned(),
            device_id: None,
            address: serde_json::to_string(&address).map_err(|e| e.to_string())?,
            variant: row.variant.clone(),
            payload: serde_json::to_string(&email_content()).map_err(|e| e.to_string())?,
            dedup_key: format!("{}-e", row.dedup_key),
            next_attempt_at: now,
            now,
        }))
    }
}

/// One user with one iOS device whose token the sandbox calls dead, and
/// a push to it; returns (run, device id).
async fn dead_ios_user(db: &TestDb, sandbox: &Sandbox) -> (i64, i64) {
    let token = apns_token(0x66);
    let ids = seed(db, &["u1"], &[("u1", Platform::Ios, token.clone())]).await;
    sandbox.faults().kill(token.clone());
    let run_id = open_run(db).await;
    enqueue(
        db,
        run_id,
        &[Msg::push("u1", ids[&token], Platform::Ios, &token)],
    )
    .await;
    (run_id, ids[&token])
}

/// Whether a device is still active.
async fn active(db: &TestDb, device_id: i64) -> bool {
    let devices = db.store.active_devices(&["u1".to_owned()]).await.unwrap();
    devices.values().flatten().any(|d| d.device_id == device_id)
}

#[tokio::test]
async fn a_dead_token_is_deactivated_and_the_message_moves_to_the_users_other_device() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let (ios, android) = (apns_token(0x77), fcm_token(7));
        let devices = [
            ("u1", Platform::Android, android.clone()),
            ("u1", Platform::Ios, ios.clone()),
        ];
        let ids = seed(&db, &["u1"], &devices).await;
        sandbox.faults().kill(ios.clone());
        let run_id = open_run(&db).await;
        enqueue(
            &db,
            run_id,
            &[Msg::push("u1", ids[&ios], Platform::Ios, &ios)],
        )
        .await;
        let worker = worker(&db, &sandbox, settings(), "w-1");
        let Step::Worked(first) = worker.step(wall(), Some(run_id)).await.unwrap() else {
            panic!("{}: nothing claimed", db.name());
        };
        assert_eq!(first.redirected, 1, "{}: {first:?}", db.name());
        assert!(
            !active(&db, ids[&ios]).await,
            "{}: dead device still active",
            db.name()
        );
        assert!(active(&db, ids[&android]).await, "{}", db.name());
        let report = drain(&worker, run_id).await;
        assert_eq!(report.totals.delivered, 1, "{}: {report:?}", db.name());
        let rows = db.store.outbox_for_user(run_id, "u1").await.unwrap();
        assert_eq!(rows.len(), 1, "{}", db.name());
        assert_eq!(
            (rows[0].status.as_str(), rows[0].device_id),
            ("sent", Some(ids[&android]))
        );
        let fcm = sandbox.record().of("fcm");
        assert_eq!(fcm.len(), 1, "{}", db.name());
        assert_eq!(fcm[0].address.as_deref(), Some(android.as_str()));
        assert_eq!(
            sandbox.record().count("apns"),
            1,
            "{}: dead token retried",
            db.name()
        );
        let outcomes: Vec<_> = attempts(&db).await.into_iter().map(|a| a.outcome).collect();
        assert_eq!(outcomes, ["token_gone", "delivered"], "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_dead_token_without_another_device_falls_back_to_the_next_channel() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let (run_id, device_id) = dead_ios_user(&db, &sandbox).await;
        let fallback = Arc::new(EmailFallback::default());
        let worker = worker(&db, &sandbox, settings(), "w-1").with_fallback(fallback.clone());
        let report = drain(&worker, run_id).await;
        assert_eq!(fallback.calls.load(Ordering::SeqCst), 1, "{}", db.name());
        assert_eq!(
            (report.totals.fell_back, report.totals.delivered),
            (1, 1),
            "{}",
            db.name()
        );
        assert!(!active(&db, device_id).await, "{}", db.name());
        let mut rows = db.store.outbox_for_user(run_id, "u1").await.unwrap();
        rows.sort_by(|a, b| a.channel.cmp(&b.channel));
        let states: Vec<_> = rows
            .iter()
            .map(|r| (r.channel.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(
            states,
            [("email", "sent"), ("push", "failed")],
            "{}",
            db.name()
        );
        let smtp = sandbox.record().of("smtp");
        assert_eq!(smtp.len(), 1, "{}", db.name());
        assert_eq!(smtp[0].address.as_deref(), Some("u1@example.com"));
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_dead_token_with_nowhere_else_to_go_fails_and_is_never_retried() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let (run_id, device_id) = dead_ios_user(&db, &sandbox).await;
        let worker: Worker = worker(&db, &sandbox, settings(), "w-1");
        let report = drain(&worker, run_id).await;
        assert_eq!(
            (report.totals.failed, report.totals.retried),
            (1, 0),
            "{}",
            db.name()
        );
        assert!(!active(&db, device_id).await, "{}", db.name());
        assert_eq!(
            counts(&db, run_id).await.get("failed"),
            Some(&1),
            "{}",
            db.name()
        );
        let idle = worker.step(wall() + 3_600_000, Some(run_id)).await.unwrap();
        assert_eq!(idle, Step::Idle { next_due: None }, "{}", db.name());
        assert_eq!(sandbox.record().count("apns"), 1, "{}", db.name());
        let attempts = attempts(&db).await;
        assert_eq!(attempts.len(), 1, "{}", db.name());
        assert_eq!(attempts[0].outcome, "token_gone");
        sandbox.shutdown().await;
    }
}
