//! Per-user privacy requests on every backend, after a small campaign
//! sent to the sandbox: the export holds the user's profile, events and
//! messages; erasing removes the personal data (profile, devices,
//! events), keeps the report's counts, and a second erase changes
//! nothing. The CLI writes the export and erases. [`erase`] scans every
//! table after an erase.

mod erase;

use herald::domain::Platform;
use herald::report::{ReportOptions, build};
use herald::store::NewFeedback;
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::dispatch::fixtures::{
    Msg, drain, enqueue, open_run, sandbox, seed, settings, wall, worker,
};
use crate::helpers::{TestDb, apns_token};
use crate::report::WINDOWS;

/// Runs raw SQL on the test database.
pub(crate) async fn sql(db: &TestDb, text: &str) {
    let conn = Database::connect(&db.url).await.unwrap();
    let stmt = Statement::from_string(conn.get_database_backend(), text.to_owned());
    conn.execute_raw(stmt).await.unwrap();
    conn.close().await.ok();
}

/// The user whose data is exported and erased.
pub const ID: &str = "ada-lovelace-1815";

/// Users [`ID`] (with email, phone, an attribute and an event) and p2, a
/// push to each and an email to [`ID`], delivered; a click of [`ID`].
/// Returns the run id.
pub(crate) async fn sent_campaign(
    db: &TestDb,
    sandbox: &herald::channels::sandbox::Sandbox,
) -> i64 {
    let tokens = [apns_token(0x61), apns_token(0x62)];
    let devices = [
        (ID, Platform::Ios, tokens[0].clone()),
        ("p2", Platform::Ios, tokens[1].clone()),
    ];
    let ids = seed(db, &[ID, "p2"], &devices).await;
    sql(
        db,
        &format!(
            "UPDATE users SET email = 'ada.lovelace@example.com', phone = '+15550001815', \
             attributes = '{{\"first_name\":\"Augusta-1815\"}}' WHERE user_id = '{ID}'"
        ),
    )
    .await;
    sql(
        db,
        &format!(
            "INSERT INTO events (event_id, user_id, item_id, event, ts, value, source) \
             VALUES (424242, '{ID}', NULL, 'view', 1700000000000, NULL, 'test')"
        ),
    )
    .await;
    let run_id = open_run(db).await;
    let msgs = vec![
        Msg::push(ID, ids[&tokens[0]], Platform::Ios, &tokens[0]),
        Msg::push("p2", ids[&tokens[1]], Platform::Ios, &tokens[1]),
        Msg::email(ID, "ada.lovelace@example.com"),
    ];
    enqueue(db, run_id, &msgs).await;
    let report = drain(&worker(db, sandbox, settings(), "privacy-1"), run_id).await;
    assert_eq!(report.totals.delivered, 3, "{}", db.name());
    let click = NewFeedback {
        kind: "click".to_owned(),
        run_id: Some(run_id),
        user_id: ID.to_owned(),
        channel: Some("push".to_owned()),
        variant: Some("A".to_owned()),
        item_id: None,
        value: None,
        source: "link".to_owned(),
        ts: wall(),
    };
    db.store.record_feedback(&click).await.unwrap();
    run_id
}

#[tokio::test]
async fn the_export_holds_the_users_profile_events_and_messages() {
    let sandbox = sandbox().await;
    for db in crate::helpers::test_dbs().await {
        sent_campaign(&db, &sandbox).await;
        let export = db.store.export_user(ID).await.unwrap();
        let profile = export.profile.as_ref().expect("profile");
        assert_eq!(
            profile["email"],
            "ada.lovelace@example.com",
            "{}",
            db.name()
        );
        assert_eq!(export.events.len(), 1, "{}", db.name());
        assert_eq!(export.events[0]["event"], "view");
        assert_eq!(export.outbox.len(), 2, "{}: push and email", db.name());
        assert!(export.outbox.iter().all(|r| r["payload"].is_string()));
        assert_eq!(export.plan.len(), 1, "one plan row per (run, user)");
        assert_eq!(export.devices.len(), 1);
        assert_eq!(export.delivery_attempts.len(), 2);
        assert_eq!(export.feedback.len(), 1);
        let json = serde_json::to_string(&export).unwrap();
        assert!(!json.contains("\"p2\""), "another user's rows leaked");
        assert!(db.store.export_user("nobody").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn erasing_removes_personal_data_keeps_report_counts_and_is_idempotent() {
    let sandbox = sandbox().await;
    for db in crate::helpers::test_dbs().await {
        let run_id = sent_campaign(&db, &sandbox).await;
        let options = ReportOptions::new(None, WINDOWS);
        let before = build(&db.store, &options).await.unwrap();
        assert!(!before.groups.is_empty(), "{}", db.name());
        let erasure = db.store.erase_user(ID).await.unwrap();
        assert_eq!(erasure.pseudonym, db.store.pseudonym_of(ID).await.unwrap());
        assert!(!erasure.is_noop());
        assert!(
            db.store.export_user(ID).await.unwrap().is_empty(),
            "{}",
            db.name()
        );
        let devices = db.store.active_devices(&[ID.to_owned()]).await.unwrap();
        assert!(devices.values().all(|d| d.is_empty()), "{}", db.name());
        let kept = db.store.export_user(&erasure.pseudonym).await.unwrap();
        assert!(kept.profile.is_none() && kept.events.is_empty() && kept.devices.is_empty());
        assert_eq!(kept.outbox.len(), 2, "{}: aggregate rows kept", db.name());
        let json = serde_json::to_string(&kept).unwrap();
        assert!(
            !json.contains("ada.lovelace@example.com") && !json.contains(ID),
            "{json}"
        );
        assert!(!json.contains(&apns_token(0x61)), "{json}");
        let after = build(&db.store, &options).await.unwrap();
        assert_eq!(after, before, "{}: report counts unchanged", db.name());
        let p2 = db.store.export_user("p2").await.unwrap();
        assert_eq!(p2.outbox.len(), 1, "{}: p2 untouched", db.name());
        let again = db.store.erase_user(ID).await.unwrap();
        assert!(again.is_noop(), "{}: {again:?}", db.name());
        assert_eq!(build(&db.store, &options).await.unwrap(), before);
        assert_eq!(db.store.outbox_counts(run_id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn the_cli_exports_a_user_to_a_file_and_erases_it() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    for db in crate::helpers::test_dbs().await {
        sent_campaign(&db, &sandbox).await;
        let out = dir.path().join(format!("{ID}-{}.json", db.name()));
        let herald = |args: Vec<String>| {
            let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"));
            command
                .args(["--database", &db.url])
                .args(args)
                .env_remove("HERALD_ENV")
                .env("HERALD_LOG", "warn");
            command
        };
        let export: Vec<String> = ["user", "export", ID, "--out"]
            .map(String::from)
            .into_iter()
            .chain([out.display().to_string()])
            .collect();
        let done = herald(export.clone()).output().await.unwrap();
        assert_eq!(done.status.code(), Some(0), "{done:?}");
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(doc["events"].as_array().unwrap().len(), 1);
        assert_eq!(doc["outbox"].as_array().unwrap().len(), 2);
        let erase = ["user", "erase", ID].map(String::from).to_vec();
        let done = herald(erase.clone()).output().await.unwrap();
        assert_eq!(done.status.code(), Some(0), "{done:?}");
        let again = herald(erase).output().await.unwrap();
        let stdout = String::from_utf8_lossy(&again.stdout);
        assert!(stdout.contains("nothing to erase"), "{stdout}");
        let missing = herald(export).output().await.unwrap();
        assert_eq!(
            missing.status.code(),
            Some(1),
            "an erased user has nothing to export"
        );
    }
}
