//! The store's campaign engine tables on every backend: plan pages
//! written idempotently and read back here; runs and the planner lease,
//! outbox claims under concurrency, attempts, cancelling, contact counts,
//! devices and trigger fires in the submodules. Fixtures go through the
//! public store API; a few counts are read with plain SQL.

mod attempts;
mod claim;
mod contacts;
mod runs;

use crate::helpers::{TestDb, apns_token, test_dbs};
use herald::domain::{
    DeviceRecord, DeviceToken, EventKind, EventRecord, Platform, Timezone, UserId, UserRecord,
};
use herald::store::{
    AttemptRecord, NewCampaign, NewExposure, NewOutbox, NewRun, OutboxRow, OutboxUpdate, PlanRow,
    RunRow, UserColumns,
};
use sea_orm::{ConnectionTrait, Database, Statement};

/// A fixed "now" (ms): 2027-01-15T08:00:00Z.
const NOW: i64 = 1_800_000_000_000;

/// Inserts a scheduled campaign with one variant.
async fn campaign(db: &TestDb, name: &str) -> i64 {
    let campaign = NewCampaign {
        name: name.to_owned(),
        spec: r#"{"format":"json","text":"{}"}"#.to_owned(),
        status: "scheduled".to_owned(),
        variants: vec![("a".to_owned(), 1.0, r#"{"title":"Hi"}"#.to_owned())],
        now: NOW,
    };
    db.store
        .insert_campaign(&campaign)
        .await
        .expect("insert campaign")
}

fn new_run(campaign_id: i64, occurrence: &str) -> NewRun {
    NewRun {
        campaign_id,
        occurrence: occurrence.to_owned(),
        status: "planning".to_owned(),
        seed: 7,
        segment_model_id: None,
        rank_model_id: Some(3),
        scheduled_for: NOW,
        now: NOW,
    }
}

/// Opens a run of a campaign for `occurrence`.
async fn run(db: &TestDb, campaign_id: i64, occurrence: &str) -> RunRow {
    let (run, _) = db
        .store
        .open_run(&new_run(campaign_id, occurrence))
        .await
        .expect("open run");
    run
}

fn plan(user: &str) -> PlanRow {
    PlanRow {
        user_id: user.to_owned(),
        variant: Some("a".to_owned()),
        channel: Some("push".to_owned()),
        decision: "send".to_owned(),
        reason: None,
        payload_hash: Some("ab".repeat(32)),
        not_before: None,
    }
}

/// A pending row for `user` on `channel`, due at `due`, planned at `now`.
fn outbox(run_id: i64, user: &str, channel: &str, due: i64, now: i64) -> NewOutbox {
    NewOutbox {
        run_id,
        user_id: user.to_owned(),
        channel: channel.to_owned(),
        device_id: None,
        address: format!("{user}@example.com"),
        variant: "a".to_owned(),
        payload: r#"{"title":"Hi"}"#.to_owned(),
        dedup_key: format!("{run_id}-{user}"),
        next_attempt_at: due,
        now,
    }
}

fn exposure(user: &str, item: &str, rank: i32) -> NewExposure {
    NewExposure {
        user_id: user.to_owned(),
        item_id: item.to_owned(),
        rank,
        score: 1.0 / f64::from(rank),
        variant: "a".to_owned(),
        channel: "push".to_owned(),
        reason: "popular".to_owned(),
        rank_model_id: Some(3),
        features: "{}".to_owned(),
        shown_at: NOW,
    }
}

/// Writes one page planning `users` for push, due at `due`.
async fn enqueue(db: &TestDb, run_id: i64, users: &[&str], due: i64, now: i64) {
    let plan: Vec<_> = users.iter().map(|u| plan(u)).collect();
    let rows: Vec<_> = users
        .iter()
        .map(|u| outbox(run_id, u, "push", due, now))
        .collect();
    db.store
        .write_plan_page(run_id, &plan, &rows, &[])
        .await
        .expect("write plan page");
}

fn user(id: &str, timezone: Option<&str>) -> UserRecord {
    UserRecord {
        user_id: UserId::parse(id).expect("user id"),
        email: None,
        phone: None,
        timezone: timezone.map(|t| Timezone::parse(t).expect("timezone")),
        locale: None,
        country: None,
        city: None,
        age: None,
        gender: None,
        signup_at: None,
        consents: Vec::new(),
        attributes: serde_json::Map::new(),
    }
}

/// Imports users (with timezones), iOS devices `(user, token byte,
/// created_at)` and custom events `(user, name, ts)`.
async fn import(
    db: &TestDb,
    users: &[(&str, Option<&str>)],
    devices: &[(&str, u8, i64)],
    events: &[(&str, &str, i64)],
) {
    let users: Vec<_> = users.iter().map(|(id, tz)| user(id, *tz)).collect();
    let devices: Vec<_> = devices
        .iter()
        .map(|(id, byte, at)| DeviceRecord {
            user_id: UserId::parse(id).expect("user id"),
            platform: Platform::Ios,
            token: DeviceToken::parse(Platform::Ios, &apns_token(*byte)).expect("token"),
            app_id: "com.example.shop".to_owned(),
            created_at: Some(*at),
        })
        .collect();
    let events: Vec<_> = events
        .iter()
        .map(|(id, name, ts)| EventRecord {
            user_id: UserId::parse(id).expect("user id"),
            item_id: None,
            event: EventKind::parse(name).expect("event"),
            ts: *ts,
            value: None,
        })
        .collect();
    let columns = UserColumns {
        typed: vec!["timezone"],
        attributes: false,
    };
    let txn = db.store.begin_import().await.expect("begin import");
    txn.upsert_users(&users, &columns, NOW)
        .await
        .expect("users");
    txn.upsert_devices(&devices, NOW).await.expect("devices");
    txn.insert_events(&events).await.expect("events");
    txn.commit().await.expect("commit import");
}

/// Runs a `SELECT COUNT(*) AS n ...` through a separate connection.
async fn count(db: &TestDb, sql: &str) -> i64 {
    let conn = Database::connect(&db.url).await.expect("connect");
    let backend = conn.get_database_backend();
    let row = conn
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .expect("count query")
        .expect("a count row");
    let n = row.try_get("", "n").expect("count");
    conn.close().await.ok();
    n
}

/// The lease claims take in these tests (ms).
const LEASE: i64 = 60_000;

/// A finished attempt on `row` by `owner` at `at`.
fn attempt(row: &OutboxRow, owner: &str, at: i64, update: OutboxUpdate) -> AttemptRecord {
    AttemptRecord {
        outbox_id: row.outbox_id,
        owner: owner.to_owned(),
        attempt: row.attempts,
        outcome: "delivered".to_owned(),
        detail: None,
        provider_message_id: None,
        retry_after_ms: None,
        started_at: at - 5,
        finished_at: at,
        deactivate_device: None,
        update,
    }
}

/// Claims the one due row of run `run_id` and returns it.
async fn claim_one(db: &TestDb, owner: &str, at: i64, run_id: i64) -> OutboxRow {
    let mut rows = db
        .store
        .claim_outbox(owner, at, LEASE, 1, Some(run_id))
        .await
        .expect("claim");
    assert_eq!(rows.len(), 1, "{}: one due row", db.name());
    rows.remove(0)
}

#[tokio::test]
async fn writing_a_plan_page_twice_keeps_one_row_per_user_and_channel() {
    for db in test_dbs().await {
        let c = campaign(&db, "weekly").await;
        let r = run(&db, c, "slot").await.run_id;
        let mut plans = vec![plan("u1"), plan("u2")];
        plans.push(PlanRow {
            decision: "holdout".to_owned(),
            reason: Some("holdout".to_owned()),
            channel: None,
            ..plan("u3")
        });
        let rows = vec![
            outbox(r, "u1", "push", NOW, NOW),
            outbox(r, "u2", "push", NOW, NOW),
        ];
        let shown = vec![
            exposure("u1", "i1", 1),
            exposure("u1", "i2", 2),
            exposure("u2", "i1", 1),
        ];
        for _ in 0..2 {
            db.store
                .write_plan_page(r, &plans, &rows, &shown)
                .await
                .unwrap();
        }
        let counts = db.store.plan_counts(r).await.unwrap();
        let expected = vec![
            ("holdout".to_owned(), Some("holdout".to_owned()), 1),
            ("send".to_owned(), None, 2),
        ];
        assert_eq!(counts, expected, "{}", db.name());
        assert_eq!(
            db.store.outbox_counts(r).await.unwrap(),
            vec![("pending".to_owned(), 2)],
            "{}",
            db.name()
        );
        let exposures = format!("SELECT COUNT(*) AS n FROM exposures WHERE run_id = {r}");
        assert_eq!(count(&db, &exposures).await, 3, "{}", db.name());
        let row = &db.store.outbox_for_user(r, "u1").await.unwrap()[0];
        assert_eq!((row.status.as_str(), row.attempts), ("pending", 0));
        assert_eq!(row.dedup_key, format!("{r}-u1"));
    }
}

#[tokio::test]
async fn the_plan_reads_back_a_page_at_a_time_in_user_order() {
    for db in test_dbs().await {
        let c = campaign(&db, "weekly").await;
        let r = run(&db, c, "slot").await.run_id;
        assert_eq!(db.store.last_planned_user(r).await.unwrap(), None);
        let users: Vec<String> = (0..25).map(|i| format!("u{i:03}")).collect();
        for page in users.chunks(10) {
            let plans: Vec<_> = page.iter().map(|u| plan(u)).collect();
            db.store.write_plan_page(r, &plans, &[], &[]).await.unwrap();
        }
        let last = db.store.last_planned_user(r).await.unwrap();
        assert_eq!(last.as_deref(), Some("u024"), "{}", db.name());
        let mut read = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = db.store.plan_page(r, after.as_deref(), 7).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.user_id.clone());
            read.extend(page.into_iter().map(|p| p.user_id));
        }
        assert_eq!(read, users, "{}", db.name());
        assert_eq!(
            db.store.plan_row(r, "u007").await.unwrap(),
            Some(plan("u007"))
        );
        assert_eq!(db.store.plan_row(r, "nobody").await.unwrap(), None);
    }
}

#[tokio::test]
async fn user_timezones_are_distinct_and_default_to_utc() {
    for db in test_dbs().await {
        assert!(db.store.user_timezones().await.unwrap().is_empty());
        let users = [
            ("u1", Some("Europe/Berlin")),
            ("u2", None),
            ("u3", Some("Asia/Tokyo")),
            ("u4", Some("Europe/Berlin")),
        ];
        import(&db, &users, &[], &[]).await;
        let zones = db.store.user_timezones().await.unwrap();
        assert_eq!(
            zones,
            ["Asia/Tokyo", "Europe/Berlin", "UTC"],
            "{}",
            db.name()
        );
    }
}
