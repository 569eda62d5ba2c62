//! The HTML dashboard over real HTTP on every backend: the router on
//! 127.0.0.1:0 with a real store, a key made in the store, signing in
//! through the form, then every page (campaigns, one campaign's charts,
//! segments, a preview) with the cookie; without it pages redirect to the
//! form. When `chromium` is installed, a campaign page saved to a file is
//! screenshot and its DOM dumped headless.

use crate::campaign::fixtures::{NOW, campaign, create, engine, import_users, users};
use crate::helpers::{TestDb, test_dbs};
use crate::tracking::{App, http};
use herald::api::auth::generate_key;
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

/// A one-segment model over no users.
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
            assignments: &[],
            now: NOW,
        })
        .await
        .unwrap();
}

/// Users, a campaign and a segment model; returns the campaign id.
async fn seed(db: &TestDb, dir: &Path) -> i64 {
    import_users(db, dir, &users(2)).await;
    segment_model(db).await;
    let path = campaign(dir, "weekend-picks", "holdout = 0.5", "");
    create(&engine(db), &path).await
}

/// Signs in with `key`; returns the `Cookie` header value to send.
async fn sign_in(app: &App, key: &str) -> String {
    let response = http()
        .post(format!("{}/dashboard/login", app.base))
        .form(&[("key", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
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
            for cookie in [None, Some("herald_key=hk_abcdefgh_forged")] {
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
    let response = http()
        .post(format!("{}/dashboard/login", app.base))
        .form(&[("key", "hk_abcdefgh_nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
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

#[tokio::test]
async fn a_campaign_page_renders_in_a_headless_browser() {
    let db = test_dbs().await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let id = seed(&db, dir.path()).await;
    let app = App::start(&db).await;
    let cookie = sign_in(&app, &key(&db).await).await;
    let (status, body) = get(&app, &format!("/dashboard/campaigns/{id}"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let html = dir.path().join("campaign.html");
    std::fs::write(&html, body).unwrap();
    let url = format!("file://{}", html.display());
    let png = dir.path().join("campaign.png");
    let shot = format!("--screenshot={}", png.display());
    let Some(output) = chromium(&[&shot, "--window-size=1200,900", &url]).await else {
        eprintln!("skipped: `chromium` is not installed (apt-get install chromium)");
        return;
    };
    assert!(output.status.success(), "{output:?}");
    let size = std::fs::metadata(&png).unwrap().len();
    assert!(
        size > 10_000,
        "a {size}-byte screenshot is too small to show the page"
    );
    let dom = chromium(&["--dump-dom", &url]).await.unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("weekend-picks") && dom.contains("<svg"),
        "{dom}"
    );
}
