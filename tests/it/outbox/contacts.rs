//! Frequency-cap counts across campaigns, device listings, and trigger
//! fires recorded once per window and handed to a run.

use super::{NOW, campaign, enqueue, import, run};
use crate::helpers::{TestDb, test_dbs};
use herald::store::{AttemptRecord, OutboxUpdate, TriggerFire};
use std::collections::HashMap;

/// Enqueues `user` in run `run_id` (planned at `planned`) and finishes
/// its row at `at` with `update`.
async fn finish(db: &TestDb, run_id: i64, user: &str, planned: i64, at: i64, update: OutboxUpdate) {
    enqueue(db, run_id, &[user], planned, planned).await;
    let rows = db
        .store
        .claim_outbox("w", at, 60_000, 10, Some(run_id))
        .await
        .expect("claim");
    let row = rows.iter().find(|r| r.user_id == user).expect("claimed");
    let record = AttemptRecord {
        outbox_id: row.outbox_id,
        owner: "w".to_owned(),
        attempt: row.attempts,
        outcome: "delivered".to_owned(),
        detail: None,
        provider_message_id: None,
        retry_after_ms: None,
        started_at: at,
        finished_at: at,
        deactivate_device: None,
        update,
    };
    assert!(db.store.finish_attempt(&record).await.expect("finish"));
    db.store.release_leases("w").await.expect("release");
}

#[tokio::test]
async fn contact_counts_count_sent_and_pending_rows_since_a_time_across_campaigns() {
    for db in test_dbs().await {
        let since = NOW;
        let a = run(&db, campaign(&db, "a").await, "s").await.run_id;
        let b = run(&db, campaign(&db, "b").await, "s").await.run_id;
        finish(&db, a, "u1", since - 100, since + 10, OutboxUpdate::Sent).await;
        finish(&db, a, "u2", since - 100, since - 10, OutboxUpdate::Sent).await;
        enqueue(&db, a, &["u3"], since + 5, since + 5).await;
        enqueue(&db, a, &["u5"], since + 50, since - 100).await;
        enqueue(&db, b, &["u1"], since + 1, since + 1).await;
        finish(&db, b, "u2", since, since + 20, OutboxUpdate::Failed).await;
        finish(&db, b, "u3", since + 1, since + 30, OutboxUpdate::Sent).await;
        let users = ["u1", "u2", "u3", "u4", "u5"].map(str::to_owned);
        let counts = db.store.contact_counts(&users, since).await.unwrap();
        let expected = HashMap::from([("u1".to_owned(), 2), ("u3".to_owned(), 2)]);
        assert_eq!(counts, expected, "{}", db.name());
        let later = db.store.contact_counts(&users, since + 25).await.unwrap();
        assert_eq!(
            later,
            HashMap::from([("u3".to_owned(), 1)]),
            "{}",
            db.name()
        );
        assert!(
            db.store
                .contact_counts(&[], since)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn active_devices_come_newest_first_per_user_for_many_users() {
    for db in test_dbs().await {
        let ids: Vec<String> = (0..1200).map(|i| format!("u{i:04}")).collect();
        let users: Vec<(&str, Option<&str>)> = ids.iter().map(|u| (u.as_str(), None)).collect();
        let devices = [("u0001", 1, NOW - 5), ("u0001", 2, NOW), ("u1100", 3, NOW)];
        import(&db, &users, &devices, &[]).await;
        let mut asked = ids.clone();
        asked.push("u0001".to_owned());
        let found = db.store.active_devices(&asked).await.unwrap();
        assert_eq!(
            found.len(),
            2,
            "{}: users without devices are absent",
            db.name()
        );
        let created: Vec<_> = found["u0001"].iter().map(|d| d.created_at).collect();
        assert_eq!(created, [NOW, NOW - 5], "{}", db.name());
        assert_eq!(found["u1100"][0].platform, "ios", "{}", db.name());
        let gone = found["u0001"][0].device_id;
        assert!(
            db.store
                .deactivate_device(gone, "Unregistered", NOW)
                .await
                .unwrap()
        );
        let found = db
            .store
            .active_devices(&["u0001".to_owned()])
            .await
            .unwrap();
        assert_eq!(found["u0001"].len(), 1, "{}", db.name());
    }
}

fn fire(user: &str, window: &str, fire_at: i64) -> TriggerFire {
    TriggerFire {
        user_id: user.to_owned(),
        window_key: window.to_owned(),
        fire_at,
    }
}

#[tokio::test]
async fn a_trigger_fire_is_recorded_once_per_window_and_due_fires_attach_to_a_run() {
    for db in test_dbs().await {
        let users = [("u1", None), ("u2", None), ("u3", None)];
        let events = [
            ("u2", "signup", NOW),
            ("u1", "signup", NOW),
            ("u3", "signup", NOW + 100),
            ("u3", "login", NOW + 1),
            ("u1", "signup", NOW - 1),
        ];
        import(&db, &users, &[], &events).await;
        let mut found: Vec<(String, i64)> = db
            .store
            .trigger_events("signup", NOW, None)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.user_id, e.ts))
            .collect();
        found.sort();
        let expected =
            [("u1", NOW), ("u2", NOW), ("u3", NOW + 100)].map(|(u, ts)| (u.to_owned(), ts));
        assert_eq!(found, expected, "{}", db.name());

        let c = campaign(&db, "welcome").await;
        let store = &db.store;
        assert!(
            store
                .record_trigger_fire(c, &fire("u1", "w1", NOW), NOW)
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_trigger_fire(c, &fire("u1", "w1", NOW + 9), NOW)
                .await
                .unwrap()
        );
        assert!(
            store
                .record_trigger_fire(c, &fire("u1", "w2", NOW + 500), NOW)
                .await
                .unwrap()
        );
        assert!(
            store
                .record_trigger_fire(c, &fire("u2", "w1", NOW - 5), NOW)
                .await
                .unwrap()
        );
        let due = store.due_trigger_fires(c, NOW, 10).await.unwrap();
        assert_eq!(
            due,
            [fire("u2", "w1", NOW - 5), fire("u1", "w1", NOW)],
            "{}",
            db.name()
        );
        assert_eq!(store.due_trigger_fires(c, NOW, 1).await.unwrap().len(), 1);

        let r = run(&db, c, "trigger-1").await.run_id;
        store.attach_trigger_fires(c, &due, r).await.unwrap();
        assert!(
            store
                .due_trigger_fires(c, NOW, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.run_trigger_users(r).await.unwrap(),
            ["u1", "u2"],
            "{}",
            db.name()
        );
        let later = store.due_trigger_fires(c, NOW + 500, 10).await.unwrap();
        assert_eq!(later, [fire("u1", "w2", NOW + 500)], "{}", db.name());
        let other = run(&db, c, "trigger-2").await.run_id;
        store.attach_trigger_fires(c, &due, other).await.unwrap();
        assert!(
            store.run_trigger_users(other).await.unwrap().is_empty(),
            "{}",
            db.name()
        );
    }
}
