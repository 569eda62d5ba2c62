//! Campaigns with recommendations: a ranker trained on a tiny generated
//! shop fills `items`, a user the model never saw gets cold-start items,
//! two dry runs with the model are identical, and a plan read from the
//! model's precomputed lists is the plan live ranking makes.

use super::fixtures::{NOW, engine, import, outbox_total, plan, run};
use crate::helpers::{TestDb, test_dbs, write};
use herald::channels::RenderedMessage;
use herald::cli::train_model;
use herald::ingest::import::Kind;
use herald::ingest::synth::{GenParams, generate};
use herald::rank::hybrid::HybridParams;
use herald::rank::load::load_dataset;
use herald::rank::recommend::Recommender;
use herald::store::NewRankModel;
use std::path::Path;

const CAMPAIGN: &str = r#"name = "Picks"
channels = ["webhook"]
schedule = { at = "2026-03-10T12:00:00Z" }
recommendations = { n = 2, diversity = 0.3 }

[[variants]]
name = "A"
weight = 1.0
title = "{{ user.first_name }}, {{ items[0].title }} is back"
body = "From {{ items[0].price | money(items[0].currency) }}"
"#;

async fn train(db: &TestDb) -> i64 {
    let data = load_dataset(&db.store, &mut |_, _| {}).await.unwrap();
    let params = HybridParams {
        seed: 1,
        ..HybridParams::default()
    };
    let recommender = Recommender::fit(&data, &params).unwrap();
    let model = NewRankModel {
        kind: "hybrid".into(),
        params: serde_json::to_string(&params).unwrap(),
        state: recommender.to_state(),
        metrics: "{}".into(),
        now: NOW,
    };
    db.store.save_rank_model(&model).await.unwrap()
}

async fn import_shop(db: &TestDb, dir: &Path) {
    for (kind, file) in [
        (Kind::Users, "users.csv"),
        (Kind::Items, "items.csv"),
        (Kind::Events, "events.csv"),
        (Kind::Devices, "devices.csv"),
    ] {
        import(db, kind, &dir.join(file)).await;
    }
}

#[tokio::test]
async fn recommended_items_fill_the_message_and_dry_runs_with_a_model_are_identical() {
    let shop = tempfile::tempdir().unwrap();
    generate(&GenParams::new(40, 20, 800, 7), shop.path(), &|_, _| {}).expect("generate");
    for db in test_dbs().await {
        import_shop(&db, shop.path()).await;
        let model = train(&db).await;
        let newcomer = "user_id,first_name\nzz_new,Neo\n";
        import(&db, Kind::Users, &write(shop.path(), "new.csv", newcomer)).await;
        let engine = engine(&db);
        let path = write(shop.path(), "picks.toml", CAMPAIGN);
        let id = engine.create(&path, NOW).await.unwrap();
        let (one, _) = run(&engine, id, 1, true, NOW).await;
        let (two, _) = run(&engine, id, 2, true, NOW).await;
        let dry = plan(&db.store, one.run_id).await;
        assert_eq!(dry, plan(&db.store, two.run_id).await, "{}", db.name());
        let (live, report) = run(&engine, id, 3, false, NOW).await;
        assert_eq!(live.rank_model_id, Some(model));
        assert_eq!(report.send, 41, "{}: {report:?}", db.name());
        assert_eq!(outbox_total(&db.store, live.run_id).await, 41);
        let first_user = plan(&db.store, live.run_id).await.remove(0).user_id;
        for user in [first_user.as_str(), "zz_new"] {
            let row = db.store.outbox_for_user(live.run_id, user).await.unwrap();
            let payload: RenderedMessage = serde_json::from_str(&row[0].payload).unwrap();
            let RenderedMessage::Webhook(hook) = payload else {
                panic!("a webhook payload");
            };
            let items = hook.body["items"].as_array().expect("items");
            assert_eq!(items.len(), 2, "{}: {user}: {}", db.name(), hook.body);
            let first = items[0]["title"].as_str().unwrap();
            let title = hook.body["title"].as_str().unwrap();
            assert!(title.contains(first), "{title} names {first}");
        }
    }
}

/// `CAMPAIGN` at the diversity the precomputed lists are made for.
fn listed_campaign() -> String {
    let diversity = herald::rank::lists::LIST_DIVERSITY;
    CAMPAIGN.replace("diversity = 0.3", &format!("diversity = {diversity}"))
}

#[tokio::test]
async fn a_plan_from_precomputed_lists_is_the_plan_live_ranking_makes() {
    let shop = tempfile::tempdir().unwrap();
    generate(&GenParams::new(40, 20, 800, 7), shop.path(), &|_, _| {}).expect("generate");
    for db in test_dbs().await {
        import_shop(&db, shop.path()).await;
        let (first_model, _) = train_model(&db.store, 1).await.unwrap();
        let (model, metrics) = train_model(&db.store, 1).await.unwrap();
        assert_eq!(metrics["list_users"], 40, "{}", db.name());
        let older = db.store.rank_lists(first_model, &["u01"]).await.unwrap();
        assert!(
            older.is_empty(),
            "{}: a newer model drops older lists",
            db.name()
        );
        // After training: a newcomer (no list) and a user with a newer
        // event (a stale list) must be ranked live.
        let newcomer = "user_id,first_name\nzz_new,Neo\n";
        import(&db, Kind::Users, &write(shop.path(), "new.csv", newcomer)).await;
        let later = "user_id,item_id,event,ts,value\nu01,i03,purchase,2026-11-20T00:00:00Z,\n";
        import(&db, Kind::Events, &write(shop.path(), "later.csv", later)).await;
        let engine = engine(&db);
        let path = write(shop.path(), "listed.toml", &listed_campaign());
        let id = engine.create(&path, NOW).await.unwrap();
        let (one, from_lists) = run(&engine, id, 1, true, NOW).await;
        assert_eq!(one.rank_model_id, Some(model));
        assert_eq!(
            (from_lists.ranked_from_lists, from_lists.ranked_live),
            (39, 2),
            "{}: {from_lists:?}",
            db.name()
        );
        // The same model without lists ranks everyone live.
        let row = db.store.active_rank_model().await.unwrap().unwrap();
        let copy = NewRankModel {
            kind: row.kind,
            params: row.params,
            state: row.state,
            metrics: row.metrics,
            now: NOW,
        };
        db.store.save_rank_model(&copy).await.unwrap();
        let (two, live) = run(&engine, id, 2, true, NOW).await;
        assert_eq!((live.ranked_from_lists, live.ranked_live), (0, 41));
        let listed = plan(&db.store, one.run_id).await;
        assert_eq!(listed.len(), 41);
        assert_eq!(listed, plan(&db.store, two.run_id).await, "{}", db.name());
    }
}
