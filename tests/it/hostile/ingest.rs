//! Event and user ingestion refuses what cannot be true: a time more than
//! 10 years back or a day ahead, a non-numeric or negative purchase
//! value, a batch over 5,000; through the API with the field named and
//! nothing of the batch written, through an import with file, line and
//! field.

use super::api_key;
use crate::api::call;
use crate::campaign::fixtures::{import, import_users, users};
use crate::helpers::{Collect, TestDb, test_dbs, write};
use crate::tracking::App;
use chrono::{Duration, Utc};
use herald::ingest::import::{ImportOptions, Kind, import_file};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// RFC 3339 for now plus `offset`.
fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339()
}

/// A user and an item to attach events to.
async fn shop(db: &TestDb, dir: &std::path::Path) {
    import_users(db, dir, &users(1)).await;
    let items = "item_id,title,price\ni1,Mug,9.5\n";
    import(db, Kind::Items, &write(dir, "items.csv", items)).await;
}

fn event(ts: &str, value: Value) -> Value {
    json!({"user_id": "u000", "item_id": "i1", "event": "purchase", "ts": ts, "value": value})
}

#[tokio::test]
async fn events_outside_the_time_window_or_with_bad_values_are_refused_naming_the_field() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        shop(&db, dir.path()).await;
        let app = App::start(&db).await;
        let k = api_key(&db).await;
        let good = event(&at(Duration::hours(-1)), json!(9.5));
        let cases = [
            (
                event(&at(Duration::days(-11 * 365)), json!(1)),
                "events[1].ts",
                "10 years",
            ),
            (
                event(&at(Duration::days(2)), json!(1)),
                "events[1].ts",
                "in the future",
            ),
            (
                event(&at(Duration::hours(-1)), json!("NaN")),
                "events[1].value",
                "number",
            ),
            (
                event(&at(Duration::hours(-1)), json!(-5.0)),
                "events[1].value",
                "negative",
            ),
        ];
        for (bad, field, says) in cases {
            let batch = json!([good.clone(), bad]);
            let (status, body) = call(
                &app,
                Method::POST,
                "/api/v1/events/batch",
                Some(&k),
                Some(batch),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body} on {}", db.name());
            assert_eq!(body["error"]["field"], field, "{body}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{body}");
            assert_eq!(
                db.store.count("events").await.unwrap(),
                0,
                "nothing written"
            );
        }
        let (status, body) = call(&app, Method::POST, "/api/v1/events", Some(&k), Some(good)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(db.store.count("events").await.unwrap(), 1);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_batch_over_5000_answers_413_naming_the_array_and_writes_nothing() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        shop(&db, dir.path()).await;
        let app = App::start(&db).await;
        let k = api_key(&db).await;
        let one = event(&at(Duration::hours(-1)), json!(1));
        let events = Value::Array(vec![one; 5_001]);
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/events/batch",
            Some(&k),
            Some(events),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["error"]["field"], "events", "{body}");
        assert_eq!(db.store.count("events").await.unwrap(), 0);
        let people: Vec<Value> = (0..5_001)
            .map(|i| json!({"user_id": format!("x{i}")}))
            .collect();
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/users/batch",
            Some(&k),
            Some(Value::Array(people)),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["error"]["field"], "users", "{body}");
        assert_eq!(
            db.store.count("users").await.unwrap(),
            1,
            "only the fixture user"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn an_imported_event_row_out_of_range_is_refused_naming_file_line_and_field() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        shop(&db, dir.path()).await;
        let csv = format!(
            "user_id,item_id,event,ts,value\nu000,i1,purchase,{},1\nu000,i1,purchase,{},1\nu000,i1,purchase,{},-3\nu000,i1,view,{},NaN\n",
            at(Duration::hours(-2)),
            at(Duration::days(-4000)),
            at(Duration::hours(-2)),
            at(Duration::hours(-2)),
        );
        let path = write(dir.path(), "events.csv", &csv);
        let mut seen = Collect::default();
        let options = ImportOptions {
            strict: true,
            batch_rows: 100,
        };
        let result = import_file(&db.store, Kind::Events, &path, &options, &mut seen).await;
        assert!(result.is_err(), "strict import refuses the file");
        let file = path.display().to_string();
        for (line, field) in [(3, "ts"), (4, "value"), (5, "value")] {
            let prefix = format!("{file}:{line}: {field}: ");
            assert!(
                seen.lines.iter().any(|l| l.starts_with(&prefix)),
                "{prefix} in {:?}",
                seen.lines
            );
        }
        assert_eq!(db.store.count("events").await.unwrap(), 0, "{}", db.name());
    }
}
