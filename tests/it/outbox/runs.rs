//! Campaigns and runs: a slot is opened once, the unfinished run is
//! found, statuses change, and the planner lease is exclusive.

use super::{NOW, campaign, count, new_run, run};
use crate::helpers::test_dbs;

#[tokio::test]
async fn opening_the_same_occurrence_twice_returns_the_same_run_and_creates_it_once() {
    for db in test_dbs().await {
        let c = campaign(&db, "weekly").await;
        let slot = "2027-01-15T08:00:00Z";
        let (first, created) = db.store.open_run(&new_run(c, slot)).await.unwrap();
        let (second, again) = db.store.open_run(&new_run(c, slot)).await.unwrap();
        assert!(created && !again, "{}", db.name());
        assert_eq!(first, second, "{}", db.name());
        assert_eq!(first.status, "planning");
        assert_eq!(first.stats, "{}");
        assert_eq!(first.rank_model_id, Some(3));
        let (other, created) = db.store.open_run(&new_run(c, "manual-1")).await.unwrap();
        assert!(created && other.run_id != first.run_id, "{}", db.name());
        let runs = db.store.runs(c).await.unwrap();
        assert_eq!(runs.len(), 2, "{}", db.name());
        assert_eq!(runs[0].run_id, other.run_id, "{}: newest first", db.name());
    }
}

#[tokio::test]
async fn the_unfinished_run_is_the_newest_one_planning_or_sending() {
    for db in test_dbs().await {
        let c = campaign(&db, "weekly").await;
        let older = run(&db, c, "a").await;
        let newer = run(&db, c, "b").await;
        let mut dry = new_run(c, "dry-run-1");
        dry.status = "dry_run".to_owned();
        db.store.open_run(&dry).await.unwrap();
        let found = db.store.unfinished_run(c).await.unwrap();
        assert_eq!(found.map(|r| r.run_id), Some(newer.run_id), "{}", db.name());
        let stats = Some(r#"{"planned":3}"#);
        db.store
            .set_run_status(newer.run_id, "done", stats, Some(NOW + 5))
            .await
            .unwrap();
        db.store
            .set_run_status(older.run_id, "sending", None, None)
            .await
            .unwrap();
        let found = db.store.unfinished_run(c).await.unwrap().unwrap();
        assert_eq!(found.run_id, older.run_id, "{}", db.name());
        let done = db.store.run(newer.run_id).await.unwrap().unwrap();
        assert_eq!(done.status, "done");
        assert_eq!(done.stats, r#"{"planned":3}"#);
        assert_eq!(done.finished_at, Some(NOW + 5));
        db.store
            .set_run_status(older.run_id, "done", None, Some(NOW))
            .await
            .unwrap();
        assert_eq!(db.store.unfinished_run(c).await.unwrap(), None);
    }
}

#[tokio::test]
async fn campaigns_are_stored_listed_and_change_status() {
    for db in test_dbs().await {
        let first = campaign(&db, "weekly").await;
        let second = campaign(&db, "winback").await;
        let all = db.store.campaigns().await.unwrap();
        let ids: Vec<_> = all.iter().map(|c| c.campaign_id).collect();
        assert_eq!(ids, vec![first, second], "{}", db.name());
        assert!(
            db.store
                .set_campaign_status(second, "paused", NOW + 1)
                .await
                .unwrap()
        );
        assert!(
            !db.store
                .set_campaign_status(999, "paused", NOW)
                .await
                .unwrap()
        );
        let paused = db.store.campaign(second).await.unwrap().unwrap();
        assert_eq!(
            (paused.status.as_str(), paused.updated_at),
            ("paused", NOW + 1)
        );
        assert_eq!(db.store.campaign(999).await.unwrap(), None);
        assert_eq!(
            count(
                &db,
                &format!("SELECT COUNT(*) AS n FROM variants WHERE campaign_id = {first}")
            )
            .await,
            1
        );
    }
}

#[tokio::test]
async fn the_planner_lease_is_exclusive_until_it_expires() {
    for db in test_dbs().await {
        let c = campaign(&db, "weekly").await;
        let r = run(&db, c, "slot").await.run_id;
        let store = &db.store;
        assert!(store.claim_planner(r, "p1", NOW, NOW + 1000).await.unwrap());
        assert!(
            !store
                .claim_planner(r, "p2", NOW + 10, NOW + 1010)
                .await
                .unwrap()
        );
        assert!(
            store
                .claim_planner(r, "p1", NOW + 500, NOW + 1500)
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_planner(r, "p2", NOW + 1200, NOW + 2200)
                .await
                .unwrap()
        );
        assert!(
            store
                .claim_planner(r, "p2", NOW + 1501, NOW + 2501)
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_planner(r, "p1", NOW + 1600, NOW + 2600)
                .await
                .unwrap()
        );
        assert!(!store.claim_planner(r + 1, "p1", NOW, NOW).await.unwrap());
    }
}
