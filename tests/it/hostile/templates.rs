//! Runaway templates: a loop of 10^10 steps is refused by `campaign
//! create` and by `POST /api/v1/campaigns` within moments (before, the
//! CLI spun forever and the server pinned both cores), naming the variant
//! and the field.

use std::time::{Duration, Instant};

use super::{api_key, healthy, post_campaign};
use crate::api::campaign_json;
use crate::campaign::fixtures::{campaign, import_users, users};
use crate::helpers::sqlite;
use crate::tracking::App;
use reqwest::StatusCode;

const RUNAWAY: &str =
    "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";

#[tokio::test]
async fn campaign_create_refuses_a_ten_billion_step_loop_quickly_naming_the_template() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    import_users(&db, dir.path(), &users(3)).await;
    let text = std::fs::read_to_string(campaign(dir.path(), "loop", "", "")).unwrap();
    let runaway = text.replacen(
        "body = \"News for you\"",
        &format!("body = \"{RUNAWAY}\""),
        1,
    );
    let file = dir.path().join("runaway.toml");
    std::fs::write(&file, runaway).unwrap();
    let started = Instant::now();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .args(["--database", &db.url, "campaign", "create", "--now"])
        .arg(&file)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("campaign create returns (it spun forever before fuel)")
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("variant A: body") && stderr.contains("too much work"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn the_api_refuses_a_runaway_template_and_keeps_answering_healthz() {
    let db = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    import_users(&db, dir.path(), &users(3)).await;
    let app = App::start(&db).await;
    let k = api_key(&db).await;
    let mut runaway = campaign_json("runaway");
    runaway["variants"][0]["title"] = RUNAWAY.into();
    let started = Instant::now();
    let (status, body) = post_campaign(&app, &k, runaway).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("variant A: title") && message.contains("too much work"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(healthy(&app).await);
    app.stop().await;
}
