//! `herald import` through the library: happy paths for every kind in CSV
//! and JSON Lines, every validation class, `--strict`, idempotent re-import.

use crate::helpers::{Collect, TestDb, apns_token, test_dbs, write};
use herald::ingest::import::{ImportError, ImportOptions, ImportReport, Kind, import_file};
use std::path::Path;

const USERS: &str = "\
user_id,email,phone,timezone,locale,country,city,age,gender,signup_at,consent_push,consent_email,consent_sms,first_name
u1,ana@example.com,+4915112345678,Europe/Berlin,de-DE,DE,Berlin,34,f,2026-01-02T03:04:05Z,true,true,false,Ana
u2,bo@example.com,+14155550123,America/Los_Angeles,en-US,US,San Francisco,,m,2026-02-03T04:05:06-08:00,true,false,false,Bo
u3,,,Asia/Tokyo,ja-JP,JP,Tokyo,61,,,false,false,true,Chie
";

const ITEMS: &str = "\
item_id,title,category,brand,price,currency,url,image_url,in_stock,created_at,color
i1,Phone X,electronics,Acme,499.00,USD,https://shop.example.com/p/i1,https://img.example.com/i1.jpg,true,2026-01-01T00:00:00Z,black
i2,Novel,books,Pages,12.50,USD,,,false,,
";

fn events() -> String {
    "user_id,item_id,event,ts,value
u1,i1,view,2026-03-01T10:00:00Z,
u1,i1,cart,2026-03-01T10:01:00Z,499.00
u1,i1,purchase,2026-03-01T10:02:00Z,499.00
u2,i2,view,2026-03-02T11:00:00+02:00,
u3,,search,2026-03-03T12:00:00Z,
"
    .to_owned()
}

fn devices() -> String {
    let fcm = format!("{}:APA91b{}", "f".repeat(11), "x".repeat(134));
    format!(
        "user_id,platform,token,app_id,created_at\nu1,ios,{},com.example.shop,2026-01-05T00:00:00Z\nu2,android,{fcm},com.example.shop,\n",
        apns_token(0xab)
    )
}

async fn import(
    db: &TestDb,
    kind: Kind,
    path: &Path,
    strict: bool,
) -> (Result<ImportReport, ImportError>, Vec<String>) {
    let mut seen = Collect::default();
    let options = ImportOptions {
        strict,
        batch_rows: 2,
    };
    let result = import_file(&db.store, kind, path, &options, &mut seen).await;
    (result, seen.lines)
}

async fn import_ok(db: &TestDb, kind: Kind, path: &Path) -> ImportReport {
    let (result, lines) = import(db, kind, path, false).await;
    let report = result.unwrap_or_else(|e| panic!("{}: {e}", db.name()));
    assert!(
        lines.is_empty(),
        "{}: unexpected issues {lines:?}",
        db.name()
    );
    report
}

/// Imports a complete, valid shop into `db` from `dir`.
async fn import_shop(db: &TestDb, dir: &Path) {
    import_ok(db, Kind::Users, &write(dir, "users.csv", USERS)).await;
    import_ok(db, Kind::Items, &write(dir, "items.csv", ITEMS)).await;
    import_ok(db, Kind::Events, &write(dir, "events.csv", &events())).await;
    import_ok(db, Kind::Devices, &write(dir, "devices.csv", &devices())).await;
}

async fn counts(db: &TestDb) -> Vec<u64> {
    let mut out = Vec::new();
    for table in ["users", "consents", "items", "events", "devices"] {
        out.push(db.store.count(table).await.expect("count"));
    }
    out
}

#[tokio::test]
async fn a_valid_shop_imports_every_kind_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_shop(&db, dir.path()).await;
        assert_eq!(counts(&db).await, vec![3, 9, 2, 5, 2], "{}", db.name());
    }
}

#[tokio::test]
async fn json_lines_files_import_like_csv() {
    let dir = tempfile::tempdir().unwrap();
    let users = r#"{"user_id":"u1","email":"ana@example.com","age":34,"consent_push":true,"tier":{"level":"gold"}}
{"user_id":"u2","timezone":"Asia/Tokyo"}
"#;
    let items = r#"{"item_id":"i1","title":"Phone","price":499.0,"in_stock":true}"#;
    let events = r#"{"user_id":"u1","item_id":"i1","event":"purchase","ts":"2026-03-01T10:00:00Z","value":499}"#;
    for db in test_dbs().await {
        let report = import_ok(&db, Kind::Users, &write(dir.path(), "users.jsonl", users)).await;
        assert_eq!(report.imported, 2);
        import_ok(&db, Kind::Items, &write(dir.path(), "items.jsonl", items)).await;
        import_ok(
            &db,
            Kind::Events,
            &write(dir.path(), "events.jsonl", events),
        )
        .await;
        assert_eq!(counts(&db).await, vec![2, 1, 1, 1, 0], "{}", db.name());
    }
}

#[tokio::test]
async fn importing_the_same_files_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_shop(&db, dir.path()).await;
        let before = counts(&db).await;
        let report = import_ok(&db, Kind::Events, &dir.path().join("events.csv")).await;
        assert_eq!((report.imported, report.unchanged), (0, 5), "{}", db.name());
        import_shop(&db, dir.path()).await;
        assert_eq!(counts(&db).await, before, "{}", db.name());
    }
}

/// One bad row per validation class, each with the issue it must produce.
fn bad_users() -> (String, Vec<&'static str>) {
    let csv = "\
user_id,email,phone,timezone,age,signup_at,consent_push
ok1,ok@example.com,+14155550100,Europe/Paris,30,2026-01-01T00:00:00Z,true
bad1,not-an-email,,,,,
bad2,,4155550100,,,,
bad3,,,Europe/Atlantis,,,
bad4,,,,,2026-01-01 00:00,
bad5,,,,200,,
bad6,,,,,,maybe
,,,,,,
ok2,,,,,,
";
    let expected = vec![
        "users.csv:3: email: `not-an-email` is not a valid email address",
        "users.csv:4: phone: `4155550100` is not an E.164 phone number",
        "users.csv:5: timezone: `Europe/Atlantis` is not an IANA timezone",
        "users.csv:6: signup_at: `2026-01-01 00:00` is not an RFC 3339 timestamp",
        "users.csv:7: age: `200` is not an age",
        "users.csv:8: consent_push: `maybe` is not a boolean",
        "users.csv:9: user_id: missing required column",
    ];
    (csv.to_owned(), expected)
}

fn assert_issues(lines: &[String], expected: &[&str], dir: &Path) {
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (line, want) in lines.iter().zip(expected) {
        let want = format!("{}/{want}", dir.display());
        assert!(line.starts_with(&want), "got  {line}\nwant {want}…");
    }
}

#[tokio::test]
async fn each_bad_user_row_is_reported_with_file_line_field_and_reason_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, expected) = bad_users();
    let path = write(dir.path(), "users.csv", &csv);
    for db in test_dbs().await {
        let (result, lines) = import(&db, Kind::Users, &path, false).await;
        let report = result.expect("non-strict import succeeds");
        assert_issues(&lines, &expected, dir.path());
        assert_eq!((report.imported, report.rejected), (2, 7), "{}", db.name());
        assert_eq!(db.store.count("users").await.unwrap(), 2);
    }
}

#[tokio::test]
async fn bad_device_and_event_rows_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let devices = format!(
        "user_id,platform,token\nu1,ios,{}\nu1,ios,abc123\nu1,blackberry,{}\nghost,ios,{}\n",
        apns_token(1),
        apns_token(2),
        apns_token(3)
    );
    let events = "user_id,item_id,event,ts,value
u1,i1,view,2026-03-01T10:00:00Z,
u1,i1,view,yesterday,
ghost,i1,view,2026-03-01T10:00:00Z,
u1,nope,view,2026-03-01T10:00:00Z,
u1,,purchase,2026-03-01T10:00:00Z,5
u1,i1,purchase,2026-03-01T10:00:00Z,lots
";
    for db in test_dbs().await {
        import_shop(&db, dir.path()).await;
        let (result, lines) = import(
            &db,
            Kind::Devices,
            &write(dir.path(), "d.csv", &devices),
            false,
        )
        .await;
        assert_eq!(result.unwrap().imported, 1);
        assert_issues(
            &lines,
            &[
                "d.csv:3: token: APNs token is not 64 hex characters (got 6 characters)",
                "d.csv:4: platform: `blackberry` is not a platform",
                "d.csv:5: user_id: unknown user `ghost`",
            ],
            dir.path(),
        );
        let (result, lines) = import(
            &db,
            Kind::Events,
            &write(dir.path(), "e.csv", events),
            false,
        )
        .await;
        assert_eq!(result.unwrap().rejected, 5);
        assert_issues(
            &lines,
            &[
                "e.csv:3: ts: `yesterday` is not an RFC 3339 timestamp",
                "e.csv:4: user_id: unknown user `ghost`",
                "e.csv:5: item_id: unknown item `nope`",
                "e.csv:6: item_id: a purchase event needs an item_id",
                "e.csv:7: value: `lots` is not a number",
            ],
            dir.path(),
        );
    }
}

#[tokio::test]
async fn a_wrong_header_fails_before_any_write_naming_the_missing_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "events.csv",
        "user,item_id,event,timestamp\nu1,i1,view,2026-03-01T10:00:00Z\n",
    );
    for db in test_dbs().await {
        let (result, _) = import(&db, Kind::Events, &path, false).await;
        let message = result.unwrap_err().to_string();
        assert!(message.contains("events.csv"), "{message}");
        assert!(
            message.contains("missing required column(s): user_id, ts"),
            "{message}"
        );
        assert_eq!(db.store.count("events").await.unwrap(), 0);
    }
}

#[tokio::test]
async fn strict_mode_rejects_the_whole_file_and_leaves_the_database_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = bad_users();
    let path = write(dir.path(), "users.csv", &csv);
    for db in test_dbs().await {
        import_shop(&db, dir.path()).await;
        let before = counts(&db).await;
        let bad = write(dir.path(), "bad_users.csv", &csv);
        let (result, lines) = import(&db, Kind::Users, &bad, true).await;
        match result {
            Err(ImportError::Strict { rejected, .. }) => assert_eq!(rejected, 7),
            other => panic!("{}: expected a strict failure, got {other:?}", db.name()),
        }
        assert_eq!(lines.len(), 7, "every bad row is still reported");
        assert_eq!(counts(&db).await, before, "{}", db.name());
        let _ = &path;
    }
}

#[tokio::test]
async fn a_partial_users_file_only_updates_the_columns_it_has() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_shop(&db, dir.path()).await;
        let update = write(
            dir.path(),
            "emails.csv",
            "user_id,email\nu1,new@example.com\n",
        );
        import_ok(&db, Kind::Users, &update).await;
        let user = db.store.user("u1").await.unwrap().expect("u1 exists");
        assert_eq!(user.email.as_deref(), Some("new@example.com"));
        assert_eq!(
            user.timezone.as_deref(),
            Some("Europe/Berlin"),
            "{}",
            db.name()
        );
        assert_eq!(user.attributes["first_name"], "Ana");
    }
}
