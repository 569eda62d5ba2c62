//! The `/api/v1` JSON API over real HTTP on every backend: the router on
//! 127.0.0.1:0 with a real store, requests from reqwest. Every route in
//! the OpenAPI document refuses a request without a key (401) and with a
//! revoked key (403); a campaign created through the API reads back; a
//! bad event batch names the element at fault and writes nothing; a good
//! batch is stored, and so are batches posted concurrently; the OpenAPI
//! document is OpenAPI 3 and passes `openapi-spec-validator`.

use crate::campaign::fixtures::{import_users, users};
use crate::helpers::{TestDb, test_dbs};
use crate::tracking::{App, http};
use herald::api::auth::generate_key;
use herald::domain::now_millis;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A fresh key stored in `db`; returns (id, key).
pub(crate) async fn key(db: &TestDb, name: &str) -> (i64, String) {
    let key = generate_key();
    let id = db
        .store
        .insert_api_key(name, &key.prefix, &key.hash, now_millis())
        .await
        .unwrap();
    (id, key.key)
}

/// The OpenAPI document served by `app`.
async fn openapi(app: &App) -> Value {
    let response = http()
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Every (method, path) of the document, with `{params}` filled with 1.
fn routes(doc: &Value) -> Vec<(Method, String)> {
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete: String = path
            .split('/')
            .map(|part| if part.starts_with('{') { "1" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            routes.push((method, concrete.clone()));
        }
    }
    routes
}

/// Sends `method path` with an optional key and JSON body; returns the
/// status and the body as JSON (null when it is not JSON).
pub(crate) async fn call(
    app: &App,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http().request(method, format!("{}{path}", app.base));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Unique operation ids, a declared parameter for every `{param}` of a
/// path and no path parameter the path lacks (what validators check).
fn assert_operations_are_well_formed(doc: &Value) {
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                ids.insert(id.clone()),
                "{method} {path}: operationId `{id}` repeats"
            );
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let wanted: Vec<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(declared, wanted, "{method} {path}: path parameters");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_is_openapi_3_and_lists_every_resource() {
    let db = crate::helpers::sqlite().await;
    let app = App::start(&db).await;
    let doc = openapi(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/campaigns",
        "/api/v1/campaigns/{id}",
        "/api/v1/campaigns/{id}/schedule",
        "/api/v1/campaigns/{id}/pause",
        "/api/v1/campaigns/{id}/resume",
        "/api/v1/campaigns/{id}/cancel",
        "/api/v1/campaigns/{id}/preview",
        "/api/v1/segments",
        "/api/v1/segments/{id}",
        "/api/v1/events",
        "/api/v1/events/batch",
        "/api/v1/reports/{campaign_id}",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
    assert_operations_are_well_formed(&doc);
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_valid_by_openapi_spec_validator(&doc);
    app.stop().await;
}

/// Runs the reference validator (`openapi-spec-validator` from PyPI,
/// installed by `.ci/run`) on the document; skipped with a message when
/// the Python package is missing.
fn assert_valid_by_openapi_spec_validator(doc: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let output = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output();
    let Ok(output) = output else {
        eprintln!("skipped: python3 is not installed");
        return;
    };
    let err = String::from_utf8_lossy(&output.stderr);
    if err.contains("No module named openapi_spec_validator") {
        eprintln!("skipped: pip install openapi-spec-validator");
        return;
    }
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}{err}");
    assert!(out.trim_end().ends_with("OK"), "{out}{err}");
}

#[tokio::test]
async fn every_api_route_refuses_requests_without_a_key_or_with_a_revoked_one() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let routes = routes(&openapi(&app).await);
        assert!(routes.len() >= 12, "{routes:?}");
        let (revoked_id, revoked) = key(&db, "old").await;
        assert!(
            db.store
                .revoke_api_key(revoked_id, now_millis())
                .await
                .unwrap()
        );
        for (method, path) in &routes {
            let (status, body) = call(&app, method.clone(), path, None, None).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} without a key on {}",
                db.name()
            );
            assert_eq!(
                body["error"]["code"], "unauthorized",
                "{method} {path}: {body}"
            );
            let (status, _) =
                call(&app, method.clone(), path, Some("hk_unknown0_secret"), None).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with an unknown key"
            );
            let (status, body) = call(&app, method.clone(), path, Some(&revoked), None).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {path} with a revoked key"
            );
            assert_eq!(
                body["error"]["code"], "forbidden",
                "{method} {path}: {body}"
            );
        }
        let (_, good) = key(&db, "good").await;
        let (status, _) = call(&app, Method::GET, "/api/v1/campaigns", Some(&good), None).await;
        assert_eq!(status, StatusCode::OK, "{}", db.name());
        let used = db.store.api_keys().await.unwrap();
        assert!(
            used.iter()
                .any(|k| k.name == "good" && k.last_used_at.is_some())
        );
        app.stop().await;
    }
}

/// A campaign file as JSON.
pub(crate) fn campaign_json(name: &str) -> Value {
    json!({
        "name": name,
        "channels": ["push", "email"],
        "schedule": { "at": "2030-03-10T12:00:00Z" },
        "variants": [{
            "name": "A", "weight": 1.0,
            "title": "Hi {{ user.first_name }}", "body": "News for you",
            "email_subject": "News, {{ user.first_name }}"
        }]
    })
}

#[tokio::test]
async fn a_campaign_created_through_the_api_reads_back_and_changes_status() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        import_users(&db, dir.path(), &users(3)).await;
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/campaigns",
            Some(&k),
            Some(campaign_json("api-news")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body} on {}", db.name());
        let id = body["campaign_id"].as_i64().unwrap();
        let (status, got) = call(
            &app,
            Method::GET,
            &format!("/api/v1/campaigns/{id}"),
            Some(&k),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{got}");
        assert_eq!(got["name"], "api-news");
        assert_eq!(got["status"], "scheduled");
        assert_eq!(got["format"], "json");
        let (_, list) = call(&app, Method::GET, "/api/v1/campaigns", Some(&k), None).await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        let preview = format!("/api/v1/campaigns/{id}/preview?user=u001");
        let (status, shown) = call(&app, Method::GET, &preview, Some(&k), None).await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert!(!shown["messages"].as_array().unwrap().is_empty(), "{shown}");
        let (status, paused) = call(
            &app,
            Method::POST,
            &format!("/api/v1/campaigns/{id}/pause"),
            Some(&k),
            None,
        )
        .await;
        assert_eq!(
            (status, paused["status"].as_str()),
            (StatusCode::OK, Some("paused"))
        );
        let (status, _) = call(
            &app,
            Method::POST,
            &format!("/api/v1/campaigns/{id}/cancel"),
            Some(&k),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, refused) = call(
            &app,
            Method::POST,
            &format!("/api/v1/campaigns/{id}/resume"),
            Some(&k),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        let (status, missing) =
            call(&app, Method::GET, "/api/v1/campaigns/999", Some(&k), None).await;
        assert_eq!(
            (status, missing["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (status, report) = call(
            &app,
            Method::GET,
            &format!("/api/v1/reports/{id}"),
            Some(&k),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_invalid_campaign_names_the_field_at_fault() {
    let db = crate::helpers::sqlite().await;
    let app = App::start(&db).await;
    let (_, k) = key(&db, "ci").await;
    let mut bad = campaign_json("bad");
    bad["variants"][0]["weight"] = json!(-1);
    let (status, body) = call(&app, Method::POST, "/api/v1/campaigns", Some(&k), Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid");
    assert!(
        body["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("variants"),
        "{body}"
    );
    assert!(db.store.campaigns().await.unwrap().is_empty());
    app.stop().await;
}

/// A valid event of `user`.
fn event(user: &str, minute: u32) -> Value {
    json!({ "user_id": user, "event": "app_open", "ts": format!("2026-03-10T12:{minute:02}:00Z") })
}

#[tokio::test]
async fn a_bad_event_batch_names_the_element_and_writes_nothing() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        import_users(&db, dir.path(), &users(3)).await;
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let mut batch: Vec<Value> = (0..5).map(|i| event("u001", i)).collect();
        batch[3]["ts"] = json!("yesterday");
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/events/batch",
            Some(&k),
            Some(json!(batch)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["field"], "events[3].ts", "{body}");
        batch[3] = event("nobody", 3);
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/events/batch",
            Some(&k),
            Some(json!(batch)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["field"], "events[3].user_id", "{body}");
        batch[3] = json!({ "user_id": "u001", "event": "purchase", "ts": "2026-03-10T12:03:00Z" });
        let (_, body) = call(
            &app,
            Method::POST,
            "/api/v1/events/batch",
            Some(&k),
            Some(json!(batch)),
        )
        .await;
        assert_eq!(body["error"]["field"], "events[3].item_id", "{body}");
        assert_eq!(db.store.count("events").await.unwrap(), 0, "{}", db.name());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_good_event_batch_and_a_single_event_are_stored_once() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        import_users(&db, dir.path(), &users(3)).await;
        let before = db.store.count("events").await.unwrap();
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let batch: Vec<Value> = (0..50)
            .map(|i| event(&format!("u00{}", i % 3), i))
            .collect();
        let body = json!({ "events": batch });
        let (status, written) = call(
            &app,
            Method::POST,
            "/api/v1/events/batch",
            Some(&k),
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{written} on {}", db.name());
        assert_eq!(
            (written["received"].as_u64(), written["inserted"].as_u64()),
            (Some(50), Some(50))
        );
        let (_, again) = call(
            &app,
            Method::POST,
            "/api/v1/events/batch",
            Some(&k),
            Some(body),
        )
        .await;
        assert_eq!(again["inserted"], 0, "{again}");
        let one = json!({ "user_id": "u002", "event": "login", "ts": "2026-03-10T13:00:00Z", "value": 2.5 });
        let (status, written) =
            call(&app, Method::POST, "/api/v1/events", Some(&k), Some(one)).await;
        assert_eq!(
            (status, written["inserted"].as_u64()),
            (StatusCode::OK, Some(1)),
            "{written}"
        );
        assert_eq!(db.store.count("events").await.unwrap(), before + 51);
        app.stop().await;
    }
}

#[tokio::test]
async fn concurrent_event_batches_all_succeed_and_every_event_is_stored() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        import_users(&db, dir.path(), &users(3)).await;
        let before = db.store.count("events").await.unwrap();
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let posts = (0..8u32).map(|b| {
            let events: Vec<Value> = (0..200)
                .map(|i| {
                    let n = b * 200 + i;
                    let ts = format!("2026-03-10T12:{:02}:{:02}Z", n / 60, n % 60);
                    json!({ "user_id": format!("u00{}", i % 3), "event": "app_open", "ts": ts })
                })
                .collect();
            call(
                &app,
                Method::POST,
                "/api/v1/events/batch",
                Some(&k),
                Some(json!({ "events": events })),
            )
        });
        for (status, body) in futures_util::future::join_all(posts).await {
            assert_eq!(status, StatusCode::OK, "{body} on {}", db.name());
            assert_eq!(body["inserted"], 200, "{body}");
        }
        assert_eq!(db.store.count("events").await.unwrap(), before + 1_600);
        app.stop().await;
    }
}

#[tokio::test]
async fn unknown_api_paths_and_bad_bodies_answer_json_errors() {
    let db = crate::helpers::sqlite().await;
    let app = App::start(&db).await;
    let (_, k) = key(&db, "ci").await;
    let (status, body) = call(&app, Method::GET, "/api/v1/nothing", Some(&k), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let response = http()
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(&k)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "body", "{body}");
    let (status, body) = call(&app, Method::GET, "/api/v1/campaigns/abc", Some(&k), None).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("id"))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let db = crate::helpers::sqlite().await;
    let app = App::start(&db).await;
    let (_, k) = key(&db, "ci").await;
    let big = format!("[{}]", " ".repeat(herald::api::v1::BODY_LIMIT + 1));
    let response = http()
        .post(format!("{}/api/v1/events/batch", app.base))
        .bearer_auth(&k)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large", "{body}");
    app.stop().await;
}

/// Runs the herald binary on `database`.
fn herald(database: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run herald")
}

#[tokio::test]
async fn apikey_commands_create_a_working_key_list_it_and_revoke_it() {
    for db in test_dbs().await {
        let url = db.url.as_str();
        let created = herald(url, &["apikey", "create", "reporting"]);
        assert!(
            created.status.success(),
            "{}",
            String::from_utf8_lossy(&created.stderr)
        );
        let key = String::from_utf8(created.stdout).unwrap().trim().to_owned();
        assert!(key.starts_with("hk_") && key.len() > 50, "{key}");
        let app = App::start(&db).await;
        let (status, _) = call(&app, Method::GET, "/api/v1/segments", Some(&key), None).await;
        assert_eq!(status, StatusCode::OK, "{}", db.name());
        let listed = herald(url, &["apikey", "list", "--json"]);
        let rows: Value = serde_json::from_slice(&listed.stdout).unwrap();
        assert_eq!(rows[0]["name"], "reporting");
        assert!(
            key.starts_with(rows[0]["prefix"].as_str().unwrap()),
            "{rows}"
        );
        assert!(rows[0]["last_used_at"].is_string(), "{rows}");
        assert!(
            !String::from_utf8_lossy(&listed.stdout).contains(&key),
            "the key is never listed"
        );
        let id = rows[0]["key_id"].as_i64().unwrap().to_string();
        assert!(herald(url, &["apikey", "revoke", &id]).status.success());
        let (status, _) = call(&app, Method::GET, "/api/v1/segments", Some(&key), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{}", db.name());
        let missing = herald(url, &["apikey", "revoke", "999"]);
        assert_eq!(missing.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&missing.stderr).contains("no API key 999"));
        app.stop().await;
    }
}

#[tokio::test]
async fn creating_a_campaign_whose_at_has_passed_needs_now_true() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let mut past = campaign_json("late");
        past["schedule"] = json!({ "at": "2020-01-01T00:00:00Z" });
        let campaigns = "/api/v1/campaigns";
        let (status, body) =
            call(&app, Method::POST, campaigns, Some(&k), Some(past.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} on {}", db.name());
        assert_eq!(body["error"]["field"], "schedule.at", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("?now=true"), "{body}");
        let accepted = format!("{campaigns}?now=true");
        let (status, body) = call(&app, Method::POST, &accepted, Some(&k), Some(past)).await;
        assert_eq!(status, StatusCode::CREATED, "{body} on {}", db.name());
        app.stop().await;
    }
}
