//! Retraining the ranker's blend on campaign clicks, on every backend: a
//! tiny generated shop, a model trained by `herald rank train`, live runs
//! of a campaign with recommendations whose exposures carry the blend's
//! feature rows, opens and clicks recorded in the store, then `herald
//! rank train` again: with too few clicks the blend still learns from
//! held-out interactions, with enough it learns from the clicks.

use crate::campaign::fixtures::{NOW, engine, import, run};
use crate::helpers::{TestDb, test_dbs, write};
use herald::ingest::import::Kind;
use herald::ingest::synth::{GenParams, generate};
use herald::rank::blend::{MIN_CLICK_EXPOSURES, parse_features};
use herald::store::NewFeedback;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const CAMPAIGN: &str = r#"name = "Picks"
channels = ["webhook"]
schedule = { at = "2026-03-10T12:00:00Z" }
recommendations = { n = 5, diversity = 0.2 }

[[variants]]
name = "A"
weight = 1.0
title = "{{ items[0].title }} and more"
body = "Picked for you"
"#;

/// One stored exposure.
struct Shown {
    run_id: i64,
    user_id: String,
    item_id: String,
    rank: i32,
    features: String,
}

async fn import_shop(db: &TestDb, dir: &Path) {
    for (kind, file) in [
        (Kind::Users, "users.csv"),
        (Kind::Items, "items.csv"),
        (Kind::Events, "events.csv"),
    ] {
        import(db, kind, &dir.join(file)).await;
    }
}

/// `herald rank train --json` on the test database: its metrics.
fn rank_train(db: &TestDb) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--database", &db.url, "rank", "train", "--json"])
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run herald");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", db.name());
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    doc["metrics"].clone()
}

async fn exposures(db: &TestDb) -> Vec<Shown> {
    let conn = Database::connect(&db.url).await.unwrap();
    let sql = "SELECT run_id, user_id, item_id, rank, features FROM exposures \
               ORDER BY run_id, user_id, item_id";
    let stmt = Statement::from_string(conn.get_database_backend(), sql);
    let rows = conn.query_all_raw(stmt).await.unwrap();
    let shown = rows
        .iter()
        .map(|r| Shown {
            run_id: r.try_get("", "run_id").unwrap(),
            user_id: r.try_get("", "user_id").unwrap(),
            item_id: r.try_get("", "item_id").unwrap(),
            rank: r.try_get("", "rank").unwrap(),
            features: r.try_get("", "features").unwrap(),
        })
        .collect();
    conn.close().await.ok();
    shown
}

/// Records a feedback event of `kind` on a webhook message of `run_id`.
async fn feedback(db: &TestDb, kind: &str, run_id: i64, user: &str, item: Option<&str>) {
    let event = NewFeedback {
        kind: kind.into(),
        run_id: Some(run_id),
        user_id: user.into(),
        channel: Some("webhook".into()),
        variant: Some("A".into()),
        item_id: item.map(str::to_owned),
        value: None,
        source: "test".into(),
        ts: NOW + 60_000,
    };
    db.store.record_feedback(&event).await.unwrap();
}

#[tokio::test]
async fn rank_train_learns_the_blend_from_campaign_clicks_once_there_are_enough() {
    let shop = tempfile::tempdir().unwrap();
    generate(&GenParams::new(40, 60, 1200, 7), shop.path(), &|_, _| {}).expect("generate");
    for db in test_dbs().await {
        let name = db.name();
        import_shop(&db, shop.path()).await;
        let first = rank_train(&db);
        assert_eq!(first["blend_source"], "held_out", "{name}: {first}");
        assert_eq!(first["blend_exposures"], 0, "{name}: {first}");
        let engine = engine(&db);
        let id = engine
            .create(&write(shop.path(), "picks.toml", CAMPAIGN), NOW)
            .await
            .unwrap();
        for n in 1..=4 {
            run(&engine, id, n, false, NOW).await;
        }
        let shown = exposures(&db).await;
        assert!(
            shown.len() >= MIN_CLICK_EXPOSURES,
            "{name}: {}",
            shown.len()
        );
        assert!(
            shown.iter().all(|s| parse_features(&s.features).is_some()),
            "{name}: every exposure carries its feature row"
        );
        let mut opened: Vec<(i64, &str)> = shown
            .iter()
            .map(|s| (s.run_id, s.user_id.as_str()))
            .collect();
        opened.dedup();
        for (run_id, user) in &opened {
            feedback(&db, "open", *run_id, user, None).await;
        }
        let firsts: Vec<&Shown> = shown.iter().filter(|s| s.rank == 1).collect();
        for s in &firsts[..10] {
            feedback(&db, "click", s.run_id, &s.user_id, Some(&s.item_id)).await;
        }
        let few = rank_train(&db);
        assert_eq!(few["blend_source"], "held_out", "{name}: {few}");
        assert_eq!(few["blend_clicks"], 10, "{name}: {few}");
        assert_eq!(few["blend_exposures"], shown.len(), "{name}: {few}");
        for s in &firsts[10..] {
            feedback(&db, "click", s.run_id, &s.user_id, Some(&s.item_id)).await;
        }
        let many = rank_train(&db);
        assert_eq!(many["blend_source"], "clicks", "{name}: {many}");
        assert_eq!(many["blend_clicks"], firsts.len(), "{name}: {many}");
        let auc = many["blend_click_auc"].as_f64().unwrap();
        assert!(
            auc > 0.6,
            "{name}: the top pick's features predict its clicks: {many}"
        );
    }
}
