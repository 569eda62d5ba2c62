//! The write and action routes of `/api/v1` over real HTTP on every
//! backend: user and device upserts (one and batches, all-or-nothing),
//! keyset paging of a segment's users, planning a run, and a test send
//! that reaches the sandbox provider without touching the outbox.

use crate::api::{call, campaign_json, key};
use crate::campaign::fixtures::{NOW, import_users, users};
use crate::helpers::{TestDb, test_dbs};
use crate::tracking::App;
use herald::api::{AppState, serve_http};
use herald::channels::sandbox::{Sandbox, SandboxConfig};
use herald::config::{LoadOptions, load};
use herald::domain::now_millis;
use herald::store::{NewSegmentModel, SegmentRow};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

/// POSTs `body` to `path` with key `k`.
async fn post(app: &App, k: &str, path: &str, body: Value) -> (StatusCode, Value) {
    call(app, Method::POST, path, Some(k), Some(body)).await
}

#[tokio::test]
async fn a_user_batch_is_written_whole_or_refused_naming_the_bad_element() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let bad = json!([
            {"user_id": "a1", "email": "a1@example.com"},
            {"user_id": "a2"},
            {"user_id": "a3", "email": "not-an-email"},
        ]);
        let (status, body) = post(&app, &k, "/api/v1/users/batch", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} on {}", db.name());
        assert_eq!(body["error"]["field"], "users[2].email", "{body}");
        assert_eq!(db.store.count("users").await.unwrap(), 0, "{}", db.name());
        let good = json!({"users": [
            {"user_id": "a1", "email": "a1@example.com", "timezone": "Europe/Paris",
             "consent_push": true, "plan": "gold"},
            {"user_id": "a2", "phone": "+33612345678"},
        ]});
        let (status, body) = post(&app, &k, "/api/v1/users/batch", good).await;
        assert_eq!(status, StatusCode::OK, "{body} on {}", db.name());
        assert_eq!(body["written"], 2);
        let one = json!({"user_id": "a1", "phone": "+33600000000"});
        let (status, body) = post(&app, &k, "/api/v1/users", one).await;
        assert_eq!(status, StatusCode::OK, "{body} on {}", db.name());
        let stored = db.store.user("a1").await.unwrap().unwrap();
        assert_eq!(stored.email.as_deref(), Some("a1@example.com"), "kept");
        assert_eq!(stored.phone.as_deref(), Some("+33600000000"), "updated");
        assert_eq!(stored.attributes["plan"], "gold");
        let (status, body) = post(&app, &k, "/api/v1/users", json!({"email": "x@y.z"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["field"], "user.user_id", "{body}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_device_batch_needs_known_owners_and_valid_tokens() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let (status, body) = post(&app, &k, "/api/v1/users", json!({"user_id": "d1"})).await;
        assert_eq!(status, StatusCode::OK, "{body} on {}", db.name());
        let token = format!("{:064x}", 7);
        let unknown = json!([
            {"user_id": "d1", "platform": "ios", "token": token},
            {"user_id": "ghost", "platform": "ios", "token": token},
        ]);
        let (status, body) = post(&app, &k, "/api/v1/devices/batch", unknown).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} on {}", db.name());
        assert_eq!(body["error"]["field"], "devices[1].user_id", "{body}");
        let bad = json!([{"user_id": "d1", "platform": "windows", "token": "t"}]);
        let (status, body) = post(&app, &k, "/api/v1/devices/batch", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["field"], "devices[0].platform", "{body}");
        assert_eq!(db.store.count("devices").await.unwrap(), 0, "{}", db.name());
        let one = json!({"user_id": "d1", "platform": "ios", "token": token, "app_id": "shop"});
        let (status, body) = post(&app, &k, "/api/v1/devices", one).await;
        assert_eq!(status, StatusCode::OK, "{body} on {}", db.name());
        let devices = db.store.active_devices(&["d1".to_owned()]).await.unwrap();
        assert_eq!(devices["d1"].len(), 1, "{}", db.name());
        app.stop().await;
    }
}

/// Saves an active model with segment 0 of `ids` and segment 1 of `u999`.
async fn segment_model(db: &TestDb, ids: &[String]) {
    let segments = [0, 1].map(|segment_id| SegmentRow {
        segment_id,
        description: format!("segment {segment_id}"),
        size: 1,
        centroid: "{}".to_owned(),
    });
    let mut assignments: Vec<(String, i32, f64)> =
        ids.iter().map(|u| (u.clone(), 0, 0.5)).collect();
    assignments.push(("u999".to_owned(), 1, 0.5));
    let model = NewSegmentModel {
        k: 2,
        params: "{}".to_owned(),
        silhouette: None,
        segments: &segments,
        assignments: &assignments,
        now: NOW,
    };
    db.store.save_segment_model(model).await.unwrap();
}

#[tokio::test]
async fn a_segments_users_are_paged_by_keyset_until_the_last_page() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        let mut shop = users(5);
        shop.push(crate::campaign::fixtures::user(999));
        import_users(&db, dir.path(), &shop).await;
        let ids: Vec<String> = (0..5).map(|i| format!("u{i:03}")).collect();
        segment_model(&db, &ids).await;
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let mut seen = Vec::new();
        let mut path = "/api/v1/segments/0/users?limit=2".to_owned();
        loop {
            let (status, page) = call(&app, Method::GET, &path, Some(&k), None).await;
            assert_eq!(status, StatusCode::OK, "{page} on {}", db.name());
            for u in page["users"].as_array().unwrap() {
                seen.push(u.as_str().unwrap().to_owned());
            }
            match page["next_after"].as_str() {
                Some(after) => path = format!("/api/v1/segments/0/users?limit=2&after={after}"),
                None => break,
            }
        }
        assert_eq!(seen, ids, "{}", db.name());
        let (status, _) = call(
            &app,
            Method::GET,
            "/api/v1/segments/7/users",
            Some(&k),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body) = call(
            &app,
            Method::GET,
            "/api/v1/segments/0/users?limit=0",
            Some(&k),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["field"], "limit");
        app.stop().await;
    }
}

/// Creates the standard API campaign and returns its id.
async fn create_campaign(app: &App, k: &str) -> i64 {
    let (status, body) = post(app, k, "/api/v1/campaigns", campaign_json("api-run")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["campaign_id"].as_i64().unwrap()
}

#[tokio::test]
async fn running_a_campaign_through_the_api_plans_a_run_with_outbox_rows() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        import_users(&db, dir.path(), &users(3)).await;
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let id = create_campaign(&app, &k).await;
        let (status, body) =
            post(&app, &k, &format!("/api/v1/campaigns/{id}/run"), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body} on {}", db.name());
        assert_eq!(body["targeted"], 3, "{body}");
        let planned = body["send"].as_i64().unwrap() + body["deferred"].as_i64().unwrap();
        assert_eq!(planned, 3, "{body}");
        let run_id = body["run_id"].as_i64().unwrap();
        let rows: i64 = db
            .store
            .outbox_counts(run_id)
            .await
            .unwrap()
            .iter()
            .map(|(_, n)| n)
            .sum();
        assert_eq!(rows, 3, "{}", db.name());
        let (status, _) = post(&app, &k, "/api/v1/campaigns/999/run", json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_test_send_to_a_user_or_a_device_reaches_the_sandbox_and_records_nothing() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        import_users(&db, dir.path(), &users(2)).await;
        let file = sandbox
            .write_settings(&dir.path().join("sandbox"), "")
            .unwrap();
        let options = LoadOptions {
            file: Some(file),
            ..LoadOptions::new(dir.path().join("none"))
        };
        let settings = load(&options).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(db.store.clone(), Arc::new(settings), now_millis())
            .await
            .unwrap();
        let (stop, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(serve_http(state, listener, rx));
        let (_, k) = key(&db, "ci").await;
        let before = sandbox.record().count("apns");
        let client = crate::tracking::http();
        let created = client
            .post(format!("{base}/api/v1/campaigns"))
            .bearer_auth(&k)
            .json(&campaign_json("api-test"))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED, "{}", db.name());
        let id = created.json::<Value>().await.unwrap()["campaign_id"]
            .as_i64()
            .unwrap();
        let sent = client
            .post(format!("{base}/api/v1/campaigns/{id}/test?user=u001"))
            .bearer_auth(&k)
            .send()
            .await
            .unwrap();
        let status = sent.status();
        let body: Value = sent.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body} on {}", db.name());
        assert_eq!(body["outcome"], "delivered", "{body}");
        assert_eq!(body["provider"], "apns", "{body}");
        assert_eq!(sandbox.record().count("apns"), before + 1, "{}", db.name());
        let devices = db.store.active_devices(&["u001".to_owned()]).await.unwrap();
        let token = devices["u001"][0].token.clone();
        for (query, want) in [
            (format!("device={token}"), StatusCode::OK),
            ("device=nope".to_owned(), StatusCode::BAD_REQUEST),
            (format!("user=u000&device={token}"), StatusCode::BAD_REQUEST),
        ] {
            let sent = client
                .post(format!("{base}/api/v1/campaigns/{id}/test?{query}"))
                .bearer_auth(&k)
                .send()
                .await
                .unwrap();
            let status = sent.status();
            let body: Value = sent.json().await.unwrap();
            assert_eq!(status, want, "{query}: {body} on {}", db.name());
            if want == StatusCode::OK {
                assert_eq!(body["user_id"], "u001", "{body}");
                assert_eq!(body["outcome"], "delivered", "{body}");
            } else {
                assert_eq!(body["error"]["field"], "device", "{body}");
            }
        }
        let to_device = sandbox.record().of("apns");
        assert_eq!(to_device.len(), before + 2, "{}", db.name());
        assert_eq!(
            to_device.last().unwrap().address.as_deref(),
            Some(token.as_str())
        );
        let runs = db.store.runs(id).await.unwrap();
        assert!(runs.is_empty(), "no run, so no outbox row: {}", db.name());
        stop.send(true).unwrap();
        task.await.unwrap().unwrap();
    }
}
