//! Migrations run up, down and up again on every backend.

use crate::helpers::test_dbs;

#[tokio::test]
async fn migrations_run_down_and_up_again_on_every_backend() {
    for db in test_dbs().await {
        assert_eq!(db.store.count("users").await.unwrap(), 0, "{}", db.name());
        db.store
            .migrate_down()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.name()));
        assert!(
            db.store.count("users").await.is_err(),
            "{}: users dropped",
            db.name()
        );
        db.store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.name()));
        assert_eq!(db.store.count("events").await.unwrap(), 0, "{}", db.name());
    }
}

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    for db in test_dbs().await {
        db.store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", db.name()));
        assert_eq!(db.store.count("devices").await.unwrap(), 0);
    }
}
