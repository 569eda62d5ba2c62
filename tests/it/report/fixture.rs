//! A small, fully known campaign run for the report tests, written through
//! the store API (campaign, run, plan, outbox, exposures) and plain SQL for
//! what other parts of herald write (users, items, purchases, delivery
//! outcomes, feedback events), so every expected count can be read off
//! this file.
//!
//! Run 1 of campaign "Spring", scheduled at [`T0`], segments 0 (u01–u06)
//! and 1 (u07–u12):
//!
//! | user | plan | outbox | feedback | purchases |
//! |---|---|---|---|---|
//! | u01 | A push | sent | open, 2 clicks (+5m, +6m) | 20.00 at +2d (click-through), 8.00 at +9d (too late) |
//! | u02 | A push | sent | open | 5.00 at +3h (view-through) |
//! | u03 | A push | sent | | 9.00 at +2d (outside the view window) |
//! | u04 | A push | failed: retry, then permanent | | |
//! | u05 | B email | sent | click | |
//! | u06 | B email | sent | unsubscribe | |
//! | u07 | B email | sent | | |
//! | u08 | B email | sent | failed receipt | 3.00 at +1h (not delivered: no credit) |
//! | u09 | A holdout | | | 7.00 at +2h (holdout conversion) |
//! | u10 | B holdout | | | 4.00 at +3d (too late) |
//! | u11 | A suppressed (no_reachable_channel) | | | |
//! | u12 | B push deferred (quiet_hours) | pending | | |
//!
//! Every message was sent at `T0 + 1m`.

use crate::helpers::TestDb;
use herald::store::{
    NewCampaign, NewExposure, NewOutbox, NewRun, NewSegmentModel, PlanRow, SegmentRow,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// 2026-03-10T12:00:00Z, the run's scheduled time.
pub const T0: i64 = 1_773_144_000_000;
/// A minute, an hour and a day in ms.
pub const MIN: i64 = 60_000;
pub const HOUR: i64 = 60 * MIN;
pub const DAY: i64 = 24 * HOUR;

/// Plain SQL on a test database, for rows other parts of herald write.
pub struct Sql(DatabaseConnection);

impl Sql {
    /// A second connection to the test database.
    pub async fn open(db: &TestDb) -> Self {
        Sql(Database::connect(&db.url).await.expect("connect for SQL"))
    }

    /// Runs statements, failing the test with the SQL on error.
    pub async fn run(&self, sql: &str) {
        self.0
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Closes the connection.
    pub async fn close(self) {
        self.0.close().await.ok();
    }
}

/// The seeded ids.
#[derive(Debug, Clone, Copy)]
pub struct Seeded {
    /// The campaign.
    pub campaign_id: i64,
    /// Its run.
    pub run_id: i64,
}

/// `u01` … `u{n}`.
fn user_ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("u{i:02}")).collect()
}

/// Users `u01..u{n}` and items `i1`, `i2`.
pub async fn people(sql: &Sql, n: usize) {
    let rows: Vec<String> = user_ids(n)
        .iter()
        .map(|u| format!("('{u}', '{{}}', 0, 0)"))
        .collect();
    sql.run(&format!(
        "INSERT INTO users (user_id, attributes, created_at, updated_at) VALUES {}",
        rows.join(", ")
    ))
    .await;
    sql.run(
        "INSERT INTO items (item_id, title, attributes, updated_at) \
         VALUES ('i1', 'One', '{}', 0), ('i2', 'Two', '{}', 0)",
    )
    .await;
}

/// A segment model: u01–u06 in segment 0, the rest in segment 1.
async fn segments(db: &TestDb, n: usize) -> i64 {
    let segment = |id: i32| SegmentRow {
        segment_id: id,
        description: format!("segment {id}"),
        size: 6,
        centroid: "{}".into(),
    };
    let assignments: Vec<(String, i32, f64)> = user_ids(n)
        .into_iter()
        .enumerate()
        .map(|(i, u)| (u, i32::from(i >= 6), 0.0))
        .collect();
    let model = NewSegmentModel {
        k: 2,
        params: "{}".into(),
        silhouette: None,
        segments: &[segment(0), segment(1)],
        assignments: &assignments,
        now: T0,
    };
    db.store
        .save_segment_model(model)
        .await
        .expect("save segments")
}

/// Campaign "Spring" (variants A and B) with one run at [`T0`].
pub async fn campaign_and_run(db: &TestDb, segment_model_id: Option<i64>) -> Seeded {
    let variant = |name: &str| (name.to_owned(), 0.5, "{}".to_owned());
    let campaign = NewCampaign {
        name: "Spring".into(),
        spec: "{}".into(),
        status: "scheduled".into(),
        variants: vec![variant("A"), variant("B")],
        now: T0,
    };
    let campaign_id = db.store.insert_campaign(&campaign).await.expect("campaign");
    let run = NewRun {
        campaign_id,
        occurrence: "2026-03-10T12:00:00Z".into(),
        status: "sending".into(),
        seed: 1,
        segment_model_id,
        rank_model_id: None,
        scheduled_for: T0,
        now: T0,
    };
    let (run, _) = db.store.open_run(&run).await.expect("run");
    Seeded {
        campaign_id,
        run_id: run.run_id,
    }
}

/// A plan row.
pub fn plan_row(
    user: &str,
    variant: &str,
    channel: Option<&str>,
    decision: &str,
    reason: Option<&str>,
) -> PlanRow {
    PlanRow {
        user_id: user.into(),
        variant: Some(variant.into()),
        channel: channel.map(str::to_owned),
        decision: decision.into(),
        reason: reason.map(str::to_owned),
        payload_hash: None,
        not_before: None,
    }
}

/// The outbox row of a planned send.
pub fn outbox_row(run_id: i64, p: &PlanRow) -> NewOutbox {
    NewOutbox {
        run_id,
        user_id: p.user_id.clone(),
        channel: p.channel.clone().unwrap_or_default(),
        device_id: None,
        address: "{}".into(),
        variant: p.variant.clone().unwrap_or_default(),
        payload: "{}".into(),
        dedup_key: format!("{run_id}-{}", p.user_id),
        next_attempt_at: T0,
        now: T0,
    }
}

/// The plan of the table above.
fn plan() -> Vec<PlanRow> {
    let mut rows = Vec::new();
    for u in ["u01", "u02", "u03", "u04"] {
        rows.push(plan_row(u, "A", Some("push"), "send", None));
    }
    for u in ["u05", "u06", "u07", "u08"] {
        rows.push(plan_row(u, "B", Some("email"), "send", None));
    }
    rows.push(plan_row("u09", "A", None, "holdout", Some("holdout")));
    rows.push(plan_row("u10", "B", None, "holdout", Some("holdout")));
    rows.push(plan_row(
        "u11",
        "A",
        None,
        "suppressed",
        Some("no_reachable_channel"),
    ));
    rows.push(plan_row(
        "u12",
        "B",
        Some("push"),
        "deferred",
        Some("quiet_hours"),
    ));
    rows
}

/// One feedback row's VALUES tuple.
pub fn feedback(kind: &str, run_id: i64, user: &str, item: Option<&str>, ts: i64) -> String {
    let item = item.map_or("NULL".to_owned(), |i| format!("'{i}'"));
    format!("('{kind}', {run_id}, '{user}', {item}, 'test', {ts})")
}

/// Inserts feedback rows.
pub async fn insert_feedback(sql: &Sql, rows: &[String]) {
    sql.run(&format!(
        "INSERT INTO feedback_events (kind, run_id, user_id, item_id, source, ts) VALUES {}",
        rows.join(", ")
    ))
    .await;
}

/// Inserts purchases: (event id, user, item, ts, value).
pub async fn insert_purchases(sql: &Sql, rows: &[(i64, &str, &str, i64, f64)]) {
    let values: Vec<String> = rows
        .iter()
        .map(|(id, u, i, ts, v)| format!("({id}, '{u}', '{i}', 'purchase', {ts}, {v:.2}, 'test')"))
        .collect();
    sql.run(&format!(
        "INSERT INTO events (event_id, user_id, item_id, event, ts, value, source) VALUES {}",
        values.join(", ")
    ))
    .await;
}

/// Sends, the failure of u04 with its two attempts.
async fn deliveries(sql: &Sql, run_id: i64) {
    sql.run(&format!(
        "UPDATE outbox SET status = 'sent', attempts = 1, sent_at = {} WHERE run_id = {run_id} \
         AND user_id IN ('u01', 'u02', 'u03', 'u05', 'u06', 'u07', 'u08')",
        T0 + MIN
    ))
    .await;
    sql.run(&format!(
        "UPDATE outbox SET status = 'failed', attempts = 2 WHERE run_id = {run_id} AND user_id = 'u04'"
    ))
    .await;
    for (attempt, outcome) in [(1, "retry"), (2, "permanent")] {
        sql.run(&format!(
            "INSERT INTO delivery_attempts (outbox_id, attempt, worker, outcome, detail, started_at, finished_at) \
             SELECT outbox_id, {attempt}, 'w1', '{outcome}', 'BadDeviceToken', {T0}, {T0} FROM outbox \
             WHERE run_id = {run_id} AND user_id = 'u04'"
        ))
        .await;
    }
    sql.run(&format!(
        "UPDATE outbox SET next_attempt_at = {} WHERE run_id = {run_id} AND user_id = 'u12'",
        T0 + 10 * HOUR
    ))
    .await;
}

/// The fixture of the table above.
pub async fn seed(db: &TestDb) -> Seeded {
    let sql = Sql::open(db).await;
    people(&sql, 12).await;
    let model = segments(db, 12).await;
    let s = campaign_and_run(db, Some(model)).await;
    let plan = plan();
    let outbox: Vec<NewOutbox> = plan
        .iter()
        .filter(|p| p.channel.is_some())
        .map(|p| outbox_row(s.run_id, p))
        .collect();
    db.store
        .write_plan_page(s.run_id, &plan, &outbox, &[])
        .await
        .expect("plan");
    deliveries(&sql, s.run_id).await;
    let r = s.run_id;
    insert_feedback(
        &sql,
        &[
            feedback("open", r, "u01", None, T0 + 4 * MIN),
            feedback("click", r, "u01", Some("i1"), T0 + 5 * MIN),
            feedback("click", r, "u01", Some("i1"), T0 + 6 * MIN),
            feedback("open", r, "u02", None, T0 + 4 * MIN),
            feedback("click", r, "u05", None, T0 + 7 * MIN),
            feedback("unsubscribe", r, "u06", None, T0 + 8 * MIN),
            feedback("failed", r, "u08", None, T0 + 2 * MIN),
        ],
    )
    .await;
    insert_purchases(
        &sql,
        &[
            (1, "u01", "i1", T0 + 2 * DAY, 20.0),
            (2, "u01", "i2", T0 + 9 * DAY, 8.0),
            (3, "u02", "i2", T0 + 3 * HOUR, 5.0),
            (4, "u03", "i1", T0 + 2 * DAY, 9.0),
            (5, "u08", "i1", T0 + HOUR, 3.0),
            (6, "u09", "i2", T0 + 2 * HOUR, 7.0),
            (7, "u10", "i1", T0 + 3 * DAY, 4.0),
        ],
    )
    .await;
    sql.close().await;
    s
}

/// An exposure shown at [`T0`].
pub fn exposure(user: &str, item: &str, rank: i32) -> NewExposure {
    NewExposure {
        user_id: user.into(),
        item_id: item.into(),
        rank,
        score: 1.0 / f64::from(rank),
        variant: "A".into(),
        channel: "push".into(),
        reason: "popular".into(),
        rank_model_id: Some(3),
        features: "{}".into(),
        shown_at: T0,
    }
}
