//! Send-time optimisation end to end on every backend: users imported
//! through the import API, a segment model, opens and clicks recorded in
//! the store, and campaigns with `schedule = { optimal = true }` planned
//! at a fixed time. Each user's message waits for their best local hour
//! (their own clicks, shrunk toward their segment's), within `within`,
//! outside quiet hours; the decision stays `send`.

use crate::campaign::fixtures::{NOW, User, engine, import_users, plan, run, user};
use crate::helpers::{TestDb, test_dbs, write};
use herald::campaign::occurrence::Occurrence;
use herald::campaign::spec::{DEFAULT_OPTIMAL_WITHIN, Schedule};
use herald::domain::parse_rfc3339_millis;
use herald::scheduler::slots::due_occurrences;
use herald::store::{NewFeedback, NewSegmentModel, PlanRow, SegmentRow};
use std::path::Path;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

fn ms(s: &str) -> i64 {
    parse_rfc3339_millis(s).unwrap()
}

/// A user in `timezone`.
fn in_zone(i: usize, timezone: &'static str) -> User {
    User {
        timezone,
        ..user(i)
    }
}

/// u000 in Tokyo clicks at 20:00 local, u001 in Berlin clicked once at
/// 09:00, u002 in Berlin never did, u003..u006 in Berlin click at noon.
/// Everyone is in segment 1, whose hour is therefore noon.
async fn shop(db: &TestDb, dir: &Path) {
    let mut people = vec![
        in_zone(0, "Asia/Tokyo"),
        in_zone(1, "Europe/Berlin"),
        in_zone(2, "Europe/Berlin"),
    ];
    people.extend((3..7).map(|i| in_zone(i, "Europe/Berlin")));
    import_users(db, dir, &people).await;
    segment_everyone(db, &people).await;
    for day in 1..=10 {
        let date = format!("2026-02-{day:02}");
        click(db, "u000", &format!("{date}T20:05:00+09:00")).await;
        for u in 3..7 {
            let at = format!("{date}T12:{:02}:00+01:00", 10 * (u - 3));
            click(db, &format!("u{u:03}"), &at).await;
        }
    }
    click(db, "u001", "2026-02-03T09:30:00+01:00").await;
}

async fn segment_everyone(db: &TestDb, people: &[User]) {
    let segments = [SegmentRow {
        segment_id: 1,
        description: "everyone".into(),
        size: people.len() as i64,
        centroid: "{}".into(),
    }];
    let assignments: Vec<(String, i32, f64)> =
        people.iter().map(|u| (u.id.clone(), 1, 0.0)).collect();
    let model = NewSegmentModel {
        k: 1,
        params: "{}".into(),
        silhouette: None,
        segments: &segments,
        assignments: &assignments,
        now: NOW - DAY,
    };
    db.store.save_segment_model(model).await.unwrap();
}

/// Records a click (an open for every other one) at `at`.
async fn click(db: &TestDb, user: &str, at: &str) {
    let ts = ms(at);
    let kind = if (ts / 60_000) % 2 == 0 {
        "click"
    } else {
        "open"
    };
    let event = NewFeedback {
        kind: kind.into(),
        run_id: None,
        user_id: user.into(),
        channel: Some("push".into()),
        variant: None,
        item_id: None,
        value: None,
        source: "test".into(),
        ts,
    };
    db.store.record_feedback(&event).await.unwrap();
}

/// An optimal push campaign with `extra` schedule keys and policy lines.
fn campaign(dir: &Path, name: &str, extra: &str, policy: &str) -> std::path::PathBuf {
    let text = format!(
        r#"name = "{name}"
channels = ["push"]
schedule = {{ optimal = true{extra} }}

[[variants]]
name = "A"
weight = 1.0
title = "Hi {{{{ user.first_name }}}}"
body = "News for you"

[policy]
{policy}
"#
    );
    write(dir, &format!("{name}.toml"), &text)
}

/// Plans a dry run of `path` at [`NOW`] and returns the plan.
async fn dry_plan(db: &TestDb, path: &Path) -> Vec<PlanRow> {
    let engine = engine(db);
    let id = engine.create(path, NOW).await.unwrap();
    let (one, _) = run(&engine, id, 1, true, NOW).await;
    let (two, _) = run(&engine, id, 2, true, NOW).await;
    let rows = plan(&db.store, one.run_id).await;
    assert_eq!(rows, plan(&db.store, two.run_id).await, "{}", db.name());
    rows
}

fn row<'a>(rows: &'a [PlanRow], user: &str) -> &'a PlanRow {
    rows.iter().find(|r| r.user_id == user).expect("planned")
}

#[tokio::test]
async fn each_user_waits_for_their_best_local_hour_shrunk_toward_their_segment() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        shop(&db, dir.path()).await;
        let rows = dry_plan(&db, &campaign(dir.path(), "best", "", "")).await;
        let name = db.name();
        let at = |u: &str| row(&rows, u).not_before;
        // NOW is 21:00 in Tokyo and 13:00 in Berlin.
        assert_eq!(at("u000"), Some(ms("2026-03-11T20:00:00+09:00")), "{name}");
        assert_eq!(at("u001"), Some(ms("2026-03-11T12:00:00+01:00")), "{name}");
        assert_eq!(at("u002"), Some(ms("2026-03-11T12:00:00+01:00")), "{name}");
        for r in &rows {
            assert_eq!((r.decision.as_str(), r.reason.as_deref()), ("send", None));
            let t = r.not_before.unwrap();
            assert!(t > NOW && t <= NOW + DAY, "{name}: {r:?}");
        }
    }
}

#[tokio::test]
async fn within_bounds_the_wait_to_the_best_hour_it_reaches() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        shop(&db, dir.path()).await;
        let path = campaign(dir.path(), "soon", r#", within = "8h""#, "");
        let rows = dry_plan(&db, &path).await;
        let name = db.name();
        // Noon is out of reach: u001's best reachable hour is 20:00, the
        // segment's second (u000's clicks). u000's 20:00 is a day away and
        // no hour within 8h of 21:00 in Tokyo weighs anything: now.
        assert_eq!(
            row(&rows, "u001").not_before,
            Some(ms("2026-03-10T20:00:00+01:00")),
            "{name}"
        );
        assert_eq!(row(&rows, "u000").not_before, None, "{name}");
        for r in &rows {
            assert!(
                r.not_before.is_none_or(|t| t <= NOW + 8 * HOUR),
                "{name}: {r:?}"
            );
        }
    }
}

#[tokio::test]
async fn quiet_hours_still_apply_and_a_live_run_queues_each_message_for_its_slot() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        shop(&db, dir.path()).await;
        let path = campaign(dir.path(), "quiet", "", r#"quiet_hours = "19:00-23:00""#);
        let engine = engine(&db);
        let id = engine.create(&path, NOW).await.unwrap();
        let (live, report) = run(&engine, id, 1, false, NOW).await;
        let name = db.name();
        assert_eq!((report.send, report.deferred), (7, 0), "{name}: {report:?}");
        let rows = plan(&db.store, live.run_id).await;
        // u000's 20:00 is quiet: the best hour outside 19-23 is the
        // segment's noon, Tokyo time.
        let tokyo = row(&rows, "u000").not_before;
        assert_eq!(tokyo, Some(ms("2026-03-11T12:00:00+09:00")), "{name}");
        let why = engine.explain(id, "u000", NOW).await.unwrap();
        let said = why.lines.join(" ");
        assert!(said.contains("their best hour"), "{name}: {said}");
        for r in &rows {
            let outbox = db
                .store
                .outbox_for_user(live.run_id, &r.user_id)
                .await
                .unwrap();
            assert_eq!(
                Some(outbox[0].next_attempt_at),
                r.not_before,
                "{name}: {r:?}"
            );
        }
    }
}

#[test]
fn an_optimal_campaign_is_due_once_at_the_first_tick_after_creation() {
    let schedule = Schedule::Optimal {
        within: DEFAULT_OPTIMAL_WITHIN,
    };
    let created = NOW - 5_000;
    assert!(due_occurrences(&schedule, created, &[], &[], created - 1).is_empty());
    let due = due_occurrences(&schedule, created, &[], &[], NOW);
    assert_eq!(due, vec![Occurrence::at(created)]);
    assert!(due_occurrences(&schedule, created, &due, &[], NOW + HOUR).is_empty());
}
