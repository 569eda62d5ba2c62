//! Segments end to end on a generated shop: training, descriptions,
//! assignment of a new user without retraining, and CEL audiences streamed
//! over users from the store, on every backend.

use crate::helpers::{Collect, TestDb, test_dbs, write};
use herald::ingest::import::{ImportOptions, Kind, import_file};
use herald::ingest::synth::{GenParams, generate};
use herald::segment::audience::Audience;
use herald::segment::{self, TrainOptions};
use std::collections::BTreeSet;
use std::path::Path;

const NOW: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z, the generator's end

async fn import_shop(db: &TestDb, dir: &Path) {
    for (kind, file) in [
        (Kind::Users, "users.csv"),
        (Kind::Items, "items.csv"),
        (Kind::Events, "events.csv"),
        (Kind::Devices, "devices.csv"),
    ] {
        let mut seen = Collect::default();
        import_file(
            &db.store,
            kind,
            &dir.join(file),
            &ImportOptions::default(),
            &mut seen,
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", db.name()));
    }
}

fn shop() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    generate(&GenParams::new(240, 60, 6_000, 3), dir.path(), &|_, _| {}).expect("generate");
    dir
}

#[tokio::test]
async fn every_user_gets_a_described_segment_and_the_model_is_versioned() {
    let dir = shop();
    for db in test_dbs().await {
        import_shop(&db, dir.path()).await;
        let options = TrainOptions {
            k: None,
            seed: 1,
            now: NOW,
        };
        let report = segment::train(&db.store, &options).await.unwrap();
        assert!(segment::K_RANGE.contains(&report.k), "{}", db.name());
        assert_eq!(report.silhouette.len(), segment::K_RANGE.count());
        let total: i64 = report.segments.iter().map(|s| s.2).sum();
        assert_eq!(total, 240, "{}: every user is in one segment", db.name());
        assert!(report.segments.iter().all(|s| !s.1.is_empty()));
        let assigned = db.store.segment_assignments(report.model_id).await.unwrap();
        assert_eq!(assigned.len(), 240);
        let again = segment::train(
            &db.store,
            &TrainOptions {
                k: Some(3),
                ..options
            },
        )
        .await
        .unwrap();
        assert!(again.model_id > report.model_id, "a new version");
        assert_eq!(
            segment::active_model(&db.store).await.unwrap().0,
            again.model_id
        );
    }
}

#[tokio::test]
async fn training_twice_with_the_same_seed_gives_the_same_segments() {
    let dir = shop();
    let db = crate::helpers::sqlite().await;
    import_shop(&db, dir.path()).await;
    let options = TrainOptions {
        k: Some(4),
        seed: 9,
        now: NOW,
    };
    let a = segment::train(&db.store, &options).await.unwrap();
    let b = segment::train(&db.store, &options).await.unwrap();
    assert_eq!(a.segments, b.segments);
}

#[tokio::test]
async fn a_new_user_is_assigned_without_retraining() {
    let dir = shop();
    for db in test_dbs().await {
        import_shop(&db, dir.path()).await;
        let report = segment::train(
            &db.store,
            &TrainOptions {
                k: Some(3),
                seed: 1,
                now: NOW,
            },
        )
        .await
        .unwrap();
        let users = write(
            dir.path(),
            "new.csv",
            "user_id,country,age\nnewcomer,DE,29\n",
        );
        import_file(
            &db.store,
            Kind::Users,
            &users,
            &ImportOptions::default(),
            &mut Collect::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            segment::assign_new_users(&db.store, NOW).await.unwrap(),
            1,
            "{}",
            db.name()
        );
        let assigned = db.store.segment_assignments(report.model_id).await.unwrap();
        assert!(assigned.contains_key("newcomer"));
        assert_eq!(
            segment::active_model(&db.store).await.unwrap().0,
            report.model_id,
            "no retraining"
        );
    }
}

#[tokio::test]
async fn an_audience_streams_over_users_page_by_page() {
    let dir = shop();
    let users = std::fs::read_to_string(dir.path().join("users.csv")).unwrap();
    let expected = users
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f[5] == "US" && f[10] == "true"
        })
        .count();
    for db in test_dbs().await {
        import_shop(&db, dir.path()).await;
        let attributes: BTreeSet<String> = ["first_name".to_owned()].into();
        let audience =
            Audience::compile(r#"country == "US" && consent_push"#, &attributes).unwrap();
        let (mut after, mut matched) = (None::<String>, 0);
        loop {
            let page = db
                .store
                .user_fact_page(after.as_deref(), 50, None)
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.user_id.clone());
            for user in &page {
                matched += usize::from(audience.matches(user, NOW).unwrap());
            }
        }
        assert!(expected > 0);
        assert_eq!(matched, expected, "{}", db.name());
    }
}
