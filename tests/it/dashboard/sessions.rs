//! Dashboard sessions over real HTTP: the cookie is an opaque session id
//! (the API key itself is no cookie), signing out ends the session, an
//! expired one is refused, the cookie is `Secure` behind an https public
//! URL, every form post without the session's CSRF token (or with another
//! one) is refused with 403 and changes nothing, and an internal failure
//! shows a reference, not the error.

use std::sync::Arc;

use herald::api::{AppState, serve_http};
use herald::config::Settings;
use reqwest::{StatusCode, header};
use sea_orm::{ConnectionTrait, Database, Statement};

use super::{get, key, login_form, post_login, seed, set_cookie, sign_in};
use crate::campaign::fixtures::{NOW, campaign, engine};
use crate::helpers::{TestDb, test_dbs};
use crate::tracking::{App, http};

/// Runs raw SQL on the test database.
async fn sql(db: &TestDb, text: &str) {
    let conn = Database::connect(&db.url).await.unwrap();
    let stmt = Statement::from_string(conn.get_database_backend(), text.to_owned());
    conn.execute_raw(stmt).await.unwrap();
    conn.close().await.ok();
}

/// The `csrf` value in a page's form.
fn csrf_in(body: &str) -> String {
    body.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no csrf field in {body}"))
        .to_owned()
}

/// POSTs `form` to `path` with `cookie`.
async fn post(app: &App, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(format!("{}{path}", app.base))
        .header(header::COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_session_cookie_is_not_the_key_and_signing_out_ends_the_session() {
    for db in test_dbs().await {
        let name = db.name();
        let app = App::start(&db).await;
        let key = key(&db).await;
        let cookie = sign_in(&app, &key).await;
        assert!(!cookie.contains(&key), "{name}: {cookie}");
        let (status, _) = get(&app, "/dashboard", Some(&format!("herald_session={key}"))).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{name}: the key is no session"
        );
        let (status, _) = get(&app, "/dashboard", Some(&format!("herald_key={key}"))).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{name}: nor is the old cookie"
        );
        let (status, page) = get(&app, "/dashboard/logout", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {page}");
        let refused = post(&app, "/dashboard/logout", &cookie, &[]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{name}");
        assert_eq!(
            get(&app, "/dashboard", Some(&cookie)).await.0,
            StatusCode::OK
        );
        let out = post(
            &app,
            "/dashboard/logout",
            &cookie,
            &[("csrf", &csrf_in(&page))],
        )
        .await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER, "{name}");
        let expired = set_cookie(&out, "herald_session").unwrap();
        assert!(expired.contains("Max-Age=0"), "{name}: {expired}");
        let (status, _) = get(&app, "/dashboard", Some(&cookie)).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{name}: the old cookie is dead"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn an_expired_session_or_one_of_a_revoked_key_is_refused() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let cookie = sign_in(&app, &key(&db).await).await;
        assert_eq!(
            get(&app, "/dashboard", Some(&cookie)).await.0,
            StatusCode::OK
        );
        sql(&db, "UPDATE dashboard_sessions SET expires_at = 1").await;
        let (status, _) = get(&app, "/dashboard", Some(&cookie)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{}: expired", db.name());
        let cookie = sign_in(&app, &key(&db).await).await;
        sql(&db, "UPDATE api_keys SET revoked_at = 1").await;
        let (status, _) = get(&app, "/dashboard", Some(&cookie)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{}: revoked", db.name());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_form_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing() {
    for db in test_dbs().await {
        let name = db.name();
        let dir = tempfile::tempdir().unwrap();
        seed(&db, dir.path()).await;
        let path = campaign(dir.path(), "draft-picks", "holdout = 0.0", "");
        let draft = engine(&db).create_draft(&path, NOW).await.unwrap();
        let app = App::start(&db).await;
        let cookie = sign_in(&app, &key(&db).await).await;
        let edit = format!("/dashboard/campaigns/{draft}/edit");
        let (_, page) = get(&app, &edit, Some(&cookie)).await;
        let token = csrf_in(&page);
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("holdout = 0.0", "holdout = 0.3");
        for csrf in [None, Some("forged"), Some("")] {
            let mut form = vec![("text", text.as_str())];
            form.extend(csrf.map(|c| ("csrf", c)));
            let response = post(&app, &edit, &cookie, &form).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}: {csrf:?}");
        }
        let (_, unchanged) = get(&app, &edit, Some(&cookie)).await;
        assert!(
            !unchanged.contains("holdout = 0.3"),
            "{name}: a refused post saved"
        );
        let saved = post(&app, &edit, &cookie, &[("text", &text), ("csrf", &token)]).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER, "{name}");
        let (_, changed) = get(&app, &edit, Some(&cookie)).await;
        assert!(changed.contains("holdout = 0.3"), "{name}: {changed}");

        let (login_csrf, _) = login_form(&app.base).await;
        let forged = http()
            .post(format!("{}/dashboard/login", app.base))
            .form(&[("key", key(&db).await.as_str()), ("csrf", &login_csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            forged.status(),
            StatusCode::FORBIDDEN,
            "{name}: no login cookie"
        );
        assert!(set_cookie(&forged, "herald_session").is_none(), "{name}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_the_public_url_is_https() {
    let db = test_dbs().await.remove(0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut settings = Settings::default();
    settings.server.public_url = "https://herald.example".parse().unwrap();
    let state = AppState::new(db.store.clone(), Arc::new(settings), NOW)
        .await
        .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serve_http(state, listener, rx));
    let (_, login_cookie) = login_form(&base).await;
    assert!(!login_cookie.is_empty());
    let response = post_login(&base, &key(&db).await).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set = set_cookie(&response, "herald_session").unwrap();
    assert!(
        set.ends_with("; Secure") && set.contains("HttpOnly"),
        "{set}"
    );
    stop.send(true).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_internal_failure_shows_a_reference_and_not_the_error() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let cookie = sign_in(&app, &key(&db).await).await;
        sql(&db, "DROP TABLE feedback_events").await;
        let (status, body) = get(&app, "/dashboard", Some(&cookie)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{}", db.name());
        assert!(body.contains("reference"), "{}: {body}", db.name());
        for internal in ["feedback_events", "SQL", "sql", "relation", "table"] {
            assert!(
                !body.contains(internal),
                "{}: `{internal}` in {body}",
                db.name()
            );
        }
        app.stop().await;
    }
}
