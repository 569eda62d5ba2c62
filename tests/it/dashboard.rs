//! The HTML dashboard over real HTTP on every backend: the router on
//! 127.0.0.1:0 with a real store, a key made in the store, signing in
//! through the form, then every page (campaigns, one campaign's charts,
//! segments, a preview) with the cookie; without it pages redirect to the
//! form. The segment explorer lists each segment's top items; the editor
//! previews unsaved edits and saves drafts. When `chromium` is installed,
//! the live pages load headless (through a loopback forwarder that adds
//! the sign-in cookie) with no console message, the editor's preview
//! follows an edit, and a screenshot is taken. Sessions, sign-out, CSRF
//! tokens and error pages: [`sessions`].

mod sessions;

use crate::campaign::fixtures::{NOW, campaign, create, engine, import, import_users, users};
use crate::helpers::{TestDb, test_dbs, write};
use crate::tracking::{App, http};
use herald::api::auth::generate_key;
use herald::ingest::import::Kind;
use herald::store::{NewSegmentModel, SegmentRow};
use reqwest::{StatusCode, header};
use std::path::Path;
use std::time::Duration;

/// A key stored in `db`.
async fn key(db: &TestDb) -> String {
    let key = generate_key();
    db.store
        .insert_api_key("dashboard", &key.prefix, &key.hash, NOW)
        .await
        .unwrap();
    key.key
}

/// Two items and events of u000 and u001: the segment's top item is the
/// purchased "Trail shoes" ahead of the viewed "Rain jacket".
async fn items_and_events(db: &TestDb, dir: &Path) {
    let items = "item_id,title,category,brand,price,currency,url,image_url,in_stock,created_at\n\
        i1,Trail shoes,shoes,Acme,80,EUR,https://shop.example/i1,,true,\n\
        i2,Rain jacket,coats,Acme,120,EUR,https://shop.example/i2,,true,\n";
    import(db, Kind::Items, &write(dir, "items.csv", items)).await;
    let events = "user_id,item_id,event,ts,value\n\
        u001,i1,purchase,2026-03-01T10:00:00Z,80\n\
        u000,i2,view,2026-03-01T11:00:00Z,\n\
        u000,i1,view,2026-03-01T12:00:00Z,\n";
    import(db, Kind::Events, &write(dir, "events.csv", events)).await;
}

/// A one-segment model with u000 and u001 in it.
async fn segment_model(db: &TestDb) {
    let segments = [SegmentRow {
        segment_id: 0,
        description: "Night owls who buy shoes".to_owned(),
        size: 2,
        centroid: "{}".to_owned(),
    }];
    db.store
        .save_segment_model(NewSegmentModel {
            k: 1,
            params: "{}".to_owned(),
            silhouette: Some(0.5),
            segments: &segments,
            assignments: &[("u001".to_owned(), 0, 0.1), ("u000".to_owned(), 0, 0.2)],
            now: NOW,
        })
        .await
        .unwrap();
}

/// Users, a campaign and a segment model; returns the campaign id.
async fn seed(db: &TestDb, dir: &Path) -> i64 {
    import_users(db, dir, &users(2)).await;
    items_and_events(db, dir).await;
    segment_model(db).await;
    let path = campaign(dir, "weekend-picks", "holdout = 0.5", "");
    create(&engine(db), &path).await
}

/// The sign-in form at `base`: its CSRF token and the `herald_login`
/// cookie (`name=value`) paired with it.
async fn login_form(base: &str) -> (String, String) {
    let response = http()
        .get(format!("{base}/dashboard/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(&response, "herald_login").expect("a herald_login cookie");
    let body = response.text().await.unwrap();
    let token = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a csrf field")
        .to_owned();
    (token, cookie.split(';').next().unwrap().to_owned())
}

/// The whole `Set-Cookie` header of a response for cookie `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Posts the sign-in form at `base` with `key`, as a browser would.
async fn post_login(base: &str, key: &str) -> reqwest::Response {
    let (csrf, cookie) = login_form(base).await;
    http()
        .post(format!("{base}/dashboard/login"))
        .header(header::COOKIE, cookie)
        .form(&[("key", key), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap()
}

/// Signs in with `key`; returns the `Cookie` header value to send.
async fn sign_in(app: &App, key: &str) -> String {
    let response = post_login(&app.base, key).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set = set_cookie(&response, "herald_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/;", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    assert!(!set.contains("Secure"), "not over plain http: {set}");
    set.split(';').next().unwrap().to_owned()
}

/// GET `path` with `cookie`; returns the status and body.
async fn get(app: &App, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut request = http().get(format!("{}{path}", app.base));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn every_page_needs_a_signed_in_key_and_shows_campaigns_charts_segments_and_previews() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        let id = seed(&db, dir.path()).await;
        let app = App::start(&db).await;
        let cookie = sign_in(&app, &key(&db).await).await;
        let name = db.name();

        let (status, body) = get(&app, "/dashboard", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert!(
            body.contains("weekend-picks") && body.contains("scheduled"),
            "{name}"
        );

        let (status, body) = get(&app, &format!("/dashboard/campaigns/{id}"), Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert!(
            body.contains("weekend-picks") && body.contains("<svg"),
            "{name}"
        );

        let (status, body) = get(&app, "/dashboard/segments", Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert!(body.contains("Night owls who buy shoes"), "{name}");
        assert!(body.contains("Trail shoes, Rain jacket"), "{name}: {body}");

        let preview = format!("/dashboard/campaigns/{id}/preview?user=u001");
        let (status, body) = get(&app, &preview, Some(&cookie)).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert!(
            body.contains(" Name1") && body.contains("<form"),
            "{name}: {body}"
        );

        let unknown = format!("/dashboard/campaigns/{id}/preview?user=nobody");
        let (status, body) = get(&app, &unknown, Some(&cookie)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(body.contains("nobody"), "{name}: {body}");

        let (status, _) = get(&app, "/dashboard/campaigns/999", Some(&cookie)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");

        for path in ["/dashboard", "/dashboard/segments", &preview] {
            for cookie in [None, Some("herald_session=forged")] {
                let (status, _) = get(&app, path, cookie).await;
                assert_eq!(status, StatusCode::SEE_OTHER, "{name}: {path} {cookie:?}");
            }
        }
        let (status, body) = get(&app, "/dashboard/login", None).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert!(body.contains("<form"), "{name}");
    }
}

#[tokio::test]
async fn a_wrong_key_is_refused_at_sign_in_with_the_reason() {
    let db = test_dbs().await.remove(0);
    let app = App::start(&db).await;
    let response = post_login(&app.base, "hk_abcdefgh_nope").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&response, "herald_session").is_none());
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("unknown or revoked")
    );
}

/// Runs chromium headless with `args`; `None` when it is not installed.
async fn chromium(args: &[&str]) -> Option<std::process::Output> {
    let mut command = tokio::process::Command::new("chromium");
    command
        .args(["--headless", "--disable-gpu", "--no-sandbox"])
        .args(args)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output()).await;
    match output.expect("chromium did not finish within 120 s") {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run chromium: {e}"),
    }
}

/// A loopback server that forwards every GET to `app` with `cookie`
/// added: the browser reaches the real dashboard signed in without a
/// way to set cookies from the command line. Returns its base URL.
async fn signed_in_forwarder(app: &App, cookie: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let target = app.base.clone();
    let forward = move |uri: axum::http::Uri| {
        let (target, cookie) = (target.clone(), cookie.clone());
        async move {
            let response = http()
                .get(format!("{target}{uri}"))
                .header(header::COOKIE, cookie)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let kind = response.headers()[header::CONTENT_TYPE].clone();
            let body = response.bytes().await.unwrap();
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [(
                    axum::http::header::CONTENT_TYPE,
                    kind.to_str().unwrap().to_owned(),
                )],
                body,
            )
        }
    };
    let router = axum::Router::new().fallback(forward);
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// Loads `url` headless; returns the DOM after load and every console
/// message chromium logged (none is expected: the pages have no script
/// and load no external resource). `None` without chromium.
async fn load(url: &str) -> Option<(String, Vec<String>)> {
    let output = chromium(&["--enable-logging=stderr", "--v=0", "--dump-dom", url]).await?;
    assert!(output.status.success(), "{output:?}");
    let console = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_owned)
        .collect();
    Some((
        String::from_utf8_lossy(&output.stdout).into_owned(),
        console,
    ))
}

/// The editor URL of campaign `id` previewing `text` for `user`.
fn editor_url(base: &str, id: i64, text: &str, user: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("text", text)
        .append_pair("user", user)
        .finish();
    format!("{base}/dashboard/campaigns/{id}/edit?{query}")
}

#[tokio::test]
async fn pages_load_in_a_headless_browser_without_console_errors_and_the_preview_follows_edits() {
    let db = test_dbs().await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    seed(&db, dir.path()).await;
    let path = campaign(dir.path(), "draft-picks", "holdout = 0.0", "");
    let draft = engine(&db).create_draft(&path, NOW).await.unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let app = App::start(&db).await;
    let cookie = sign_in(&app, &key(&db).await).await;
    let base = signed_in_forwarder(&app, cookie).await;

    let png = dir.path().join("campaign.png");
    let shot = format!("--screenshot={}", png.display());
    let page = format!("{base}/dashboard/campaigns/{draft}");
    let Some(output) = chromium(&[&shot, "--window-size=1200,900", &page]).await else {
        eprintln!("skipped: `chromium` is not installed (apt-get install chromium)");
        return;
    };
    assert!(output.status.success(), "{output:?}");
    let size = std::fs::metadata(&png).unwrap().len();
    assert!(
        size > 10_000,
        "a {size}-byte screenshot is too small to show the page"
    );

    for path in [
        "/dashboard",
        "/dashboard/segments",
        &format!("/dashboard/campaigns/{draft}"),
    ] {
        let (dom, console) = load(&format!("{base}{path}")).await.unwrap();
        assert!(dom.contains("<nav>"), "{path}: {dom}");
        assert!(console.is_empty(), "{path}: {console:?}");
    }

    let (dom, console) = load(&editor_url(&base, draft, &text, "u001"))
        .await
        .unwrap();
    assert!(console.is_empty(), "{console:?}");
    assert!(
        dom.contains("Name1") && !dom.contains("Welcome back"),
        "{dom}"
    );
    let edited = text
        .replace("Hi {{", "Welcome back {{")
        .replace("Hello {{", "Welcome back {{");
    let (dom, console) = load(&editor_url(&base, draft, &edited, "u000"))
        .await
        .unwrap();
    assert!(console.is_empty(), "{console:?}");
    assert!(
        dom.contains("Welcome back Name0"),
        "the preview did not follow the edit: {dom}"
    );
    assert!(dom.contains("Save draft"), "{dom}");
    app.stop().await;
}
