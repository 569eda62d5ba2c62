//! A device marked dead can come back: registering its token again with a
//! timestamp newer than the deactivation (an import row or an API call
//! with `created_at`) makes it active again, while a re-import with an
//! older, equal or missing timestamp leaves a dead token dead.

use herald::domain::{DeviceRecord, DeviceToken, Platform, UserId};

use super::fixtures::{seed, wall};
use crate::helpers::{TestDb, apns_token, test_dbs};

/// The instant the device is deactivated at.
const DEACTIVATED_AT: i64 = 1_750_000_000_000;

/// Seeds user `r1` with an iOS device and deactivates it as a provider
/// would; returns its token.
async fn dead_device(db: &TestDb) -> String {
    let token = apns_token(0x77);
    let ids = seed(db, &["r1"], &[("r1", Platform::Ios, token.clone())]).await;
    let deactivated = (db.store)
        .deactivate_device(ids[&token], "BadDeviceToken", DEACTIVATED_AT)
        .await
        .expect("deactivate");
    assert!(deactivated);
    token
}

/// Registers `token` for `r1` again, as an import or the API does.
async fn register(db: &TestDb, token: &str, created_at: Option<i64>) {
    let record = DeviceRecord {
        user_id: UserId::parse("r1").expect("user id"),
        platform: Platform::Ios,
        token: DeviceToken::parse(Platform::Ios, token).expect("token"),
        app_id: "com.example.shop".to_owned(),
        created_at,
    };
    let txn = db.store.begin_import().await.expect("begin import");
    txn.upsert_devices(&[record], wall()).await.expect("upsert");
    txn.commit().await.expect("commit");
}

/// Whether `token` is an active device.
async fn active(db: &TestDb, token: &str) -> bool {
    let found = db.store.active_device_by_token(token).await.expect("read");
    found.is_some()
}

#[tokio::test]
async fn a_dead_token_registered_again_after_its_deactivation_is_active_again() {
    for db in test_dbs().await {
        let token = dead_device(&db).await;
        assert!(!active(&db, &token).await, "{}", db.name());
        register(&db, &token, Some(DEACTIVATED_AT + 1_000)).await;
        assert!(active(&db, &token).await, "{}", db.name());
        let device = (db.store.active_device_by_token(&token).await)
            .expect("read")
            .expect("active");
        assert_eq!(device.created_at, DEACTIVATED_AT + 1_000, "{}", db.name());
    }
}

#[tokio::test]
async fn a_dead_token_reimported_with_an_older_equal_or_no_timestamp_stays_inactive() {
    for db in test_dbs().await {
        let token = dead_device(&db).await;
        for created_at in [Some(DEACTIVATED_AT - 1), Some(DEACTIVATED_AT), None] {
            register(&db, &token, created_at).await;
            assert!(
                !active(&db, &token).await,
                "{}: revived by {created_at:?}",
                db.name()
            );
        }
    }
}
