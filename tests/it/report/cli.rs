//! The report over a run planned by the real campaign engine, and the
//! `herald report` and `herald export training` commands against it.

use super::WINDOWS;
use crate::helpers::{Collect, TestDb, sqlite, test_dbs, write};
use herald::campaign::engine::Engine;
use herald::campaign::occurrence::Occurrence;
use herald::config::Settings;
use herald::ingest::import::{ImportOptions, Kind, import_file};
use herald::report::{ReportOptions, build};
use std::fmt::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

const NOW: i64 = super::T0;

const CAMPAIGN: &str = r#"name = "Planned"
channels = ["push", "email"]
schedule = { at = "2026-03-10T12:00:00Z" }
holdout = 0.3

[[variants]]
name = "A"
weight = 0.5
title = "Hi {{ user.first_name }}"
body = "News"
email_subject = "News"

[[variants]]
name = "B"
weight = 0.5
title = "Hello {{ user.first_name }}"
body = "Picks"
email_subject = "Picks"
"#;

/// Imports `n` reachable users with a device each.
async fn import_users(db: &TestDb, dir: &Path, n: usize) {
    let mut users =
        String::from("user_id,email,timezone,country,consent_push,consent_email,first_name\n");
    let mut devices = String::from("user_id,platform,token,app_id,created_at\n");
    for i in 0..n {
        let _ = writeln!(
            users,
            "p{i:03},p{i}@example.com,Europe/Berlin,DE,true,true,N{i}"
        );
        let _ = writeln!(
            devices,
            "p{i:03},ios,{:064x},com.example,2026-01-01T00:00:00Z",
            i + 1
        );
    }
    for (kind, name, text) in [
        (Kind::Users, "users.csv", users),
        (Kind::Devices, "devices.csv", devices),
    ] {
        let mut seen = Collect::default();
        let options = ImportOptions {
            strict: true,
            batch_rows: 500,
        };
        import_file(
            &db.store,
            kind,
            &write(dir, name, &text),
            &options,
            &mut seen,
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", db.name()));
        assert!(seen.lines.is_empty(), "{:?}", seen.lines);
    }
}

/// Creates and plans the campaign; returns its id and the plan summary.
async fn planned(db: &TestDb, dir: &Path) -> (i64, herald::campaign::engine::PlanReport) {
    import_users(db, dir, 40).await;
    let engine = Engine::new(db.store.clone(), Arc::new(Settings::default()));
    let id = engine
        .create(&write(dir, "c.toml", CAMPAIGN), NOW)
        .await
        .unwrap();
    let (run, _) = engine
        .open(id, &Occurrence::manual(1, NOW, false), false, NOW)
        .await
        .unwrap();
    (id, engine.plan(&run, "test", NOW).await.unwrap())
}

#[tokio::test]
async fn a_run_planned_by_the_engine_is_reported_with_its_holdout_and_queue() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        let (id, plan) = planned(&db, dir.path()).await;
        let report = build(&db.store, &ReportOptions::new(Some(id), WINDOWS))
            .await
            .unwrap();
        let mut total = herald::report::model::Counts::default();
        for g in &report.groups {
            total.merge(&g.counts);
        }
        let name = db.name();
        assert_eq!(total.targeted, plan.targeted, "{name}");
        assert_eq!(total.treated, plan.send + plan.deferred, "{name}");
        assert_eq!(Some(&total.holdout), plan.skipped.get("holdout"), "{name}");
        assert_eq!(
            (total.pending, total.sent),
            (plan.send + plan.deferred, 0),
            "{name}"
        );
        assert!(
            total.holdout > 0 && report.lift.len() == 3,
            "{name}: {:?}",
            report.lift
        );
        assert!(report.variants.is_empty() || report.variants[0].delivered == 0);
    }
}

fn herald(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run herald")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_report_and_export_commands_write_their_files_and_fail_on_unknown_campaigns() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let (id, _) = planned(&db, dir.path()).await;
    let id = id.to_string();
    let html = dir.path().join("report.html");
    let out = herald(&[
        "--database",
        &db.url,
        "report",
        "--campaign",
        &id,
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));

    let out = herald(&["--database", &db.url, "report", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["scope"]["click_window"], "7d");

    let out = herald(&["--database", &db.url, "report", "--format", "csv"]);
    assert!(text(&out.stdout).starts_with("campaign_id,campaign,run_id"));

    let csv = dir.path().join("training.csv");
    let out = herald(&[
        "--database",
        &db.url,
        "export",
        "training",
        "--out",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["rows"], 0);
    assert!(
        std::fs::read_to_string(&csv)
            .unwrap()
            .starts_with("run_id,user_id,item_id")
    );

    let out = herald(&["--database", &db.url, "report", "--campaign", "999"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("999") && err.lines().count() == 1, "{err}");
}
