//! Audiences at campaign creation: an unknown function is refused with its
//! line and column (API and CLI), a 6,000-term sum is refused without
//! taking the server down, and an expression near the limits still runs.

use super::{api_key, healthy, post_campaign, with_audience};
use crate::api::call;
use crate::campaign::fixtures::{NOW, campaign, engine, import_users, run, users};
use crate::helpers::{sqlite, test_dbs};
use crate::tracking::App;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn an_audience_calling_an_unknown_function_is_refused_by_the_api_with_line_and_column() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let k = api_key(&db).await;
        let (status, body) = post_campaign(&app, &k, with_audience("frobnicate(country)")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} on {}", db.name());
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("line 1, column 1")
                && message.contains("unknown function `frobnicate`"),
            "{body}"
        );
        let (_, list) = call(&app, Method::GET, "/api/v1/campaigns", Some(&k), None).await;
        assert_eq!(list, serde_json::json!([]), "nothing stored");
        app.stop().await;
    }
}

#[tokio::test]
async fn campaign_create_refuses_an_unknown_function_naming_the_file_line_and_column() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = campaign(
        dir.path(),
        "frob",
        "audience = \"\"\"\ncountry == 'DE' &&\n  frobnicate(country)\"\"\"",
        "",
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--database", &db.url, "campaign", "create", "--now"])
        .arg(&file)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run herald");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("frob.toml"), "{stderr}");
    assert!(
        stderr.contains("line 2, column 3") && stderr.contains("unknown function `frobnicate`"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_6000_term_sum_is_refused_and_the_server_keeps_serving() {
    let db = sqlite().await;
    let app = App::start(&db).await;
    let k = api_key(&db).await;
    for terms in [6_000, 4_000] {
        let sum = format!("{} > 0", vec!["age"; terms].join(" + "));
        let (status, body) = post_campaign(&app, &k, with_audience(&sum)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{terms} terms: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("over the limit of 4096"), "{body}");
    }
    assert!(healthy(&app).await, "the server still answers");
    app.stop().await;
}

#[tokio::test]
async fn a_type_error_is_refused_at_create_rather_than_targeting_nobody() {
    let db = sqlite().await;
    let app = App::start(&db).await;
    let k = api_key(&db).await;
    for (audience, says) in [
        ("country > 5", "cannot combine a string and an int"),
        ("purchases == \"3\"", "never equal"),
        ("age + 1", "must be true or false"),
    ] {
        let (status, body) = post_campaign(&app, &k, with_audience(audience)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{audience}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(says) && message.contains("line 1"),
            "{audience}: {body}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn an_audience_near_the_limits_still_compiles_and_selects_users() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    import_users(&db, dir.path(), &users(3)).await;
    // 90 conditions: 179 operators, 10 bracket levels, under 4 KiB.
    let conditions: Vec<String> = (0..90).map(|i| format!("age != {}", 200 + i)).collect();
    let nested = format!("{}true{}", "(".repeat(10), ")".repeat(10));
    let audience = format!("{} && {nested}", conditions.join(" && "));
    assert!(audience.len() < 4096);
    let top = format!("audience = \"{audience}\"");
    let path = campaign(dir.path(), "bounded", &top, "");
    let engine = engine(&db);
    let id = engine.create(&path, NOW).await.expect("create");
    let (_, report) = run(&engine, id, 1, true, NOW).await;
    assert_eq!(report.targeted, 3, "{report:?}");
}
