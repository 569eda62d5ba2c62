//! `herald campaign ...` through the real binary against a temporary
//! SQLite database: create prints the id, list and show (next run times
//! with offset), a bad file exits 1 naming the field, dry runs write
//! byte-identical plans, pause/resume/cancel move the status, a draft is
//! edited and scheduled, explain says why. Sending to the sandbox (`campaign run`, `serve`, Ctrl-C) is in
//! [`sending`]; a provider refusing herald's credentials (the run stops
//! with one line, messages kept pending) in [`circuit`].

mod circuit;
mod sending;

use crate::helpers::{TestDb, apns_token, sqlite, write};
use std::path::PathBuf;
use std::process::Output;

const USERS: &str = "\
user_id,email,timezone,country,consent_push,consent_email,first_name
u1,u1@example.com,Europe/Berlin,DE,true,true,Ana
u2,u2@example.com,America/New_York,US,true,true,Bo
u3,u3@example.com,Asia/Tokyo,JP,true,false,Chie
u4,,UTC,GB,false,false,Dee
";

const CAMPAIGN: &str = r#"
name = "Weekly picks"
channels = ["push", "email"]
schedule = { cron = "0 10 * * Sat", timezone = "Europe/Berlin" }
[[variants]]
name = "A"
weight = 0.5
title = "Hi {{ user.first_name }}"
body = "New picks for you"
email_subject = "Picks for {{ user.first_name }}"
email_template = "weekly_picks"
[[variants]]
name = "B"
weight = 0.5
title = "{{ user.first_name }}, look"
body = "Fresh picks inside"
email_subject = "Fresh picks, {{ user.first_name }}"
email_template = "weekly_picks"
"#;

/// A temporary SQLite database with users and iOS devices, and a folder
/// for files.
struct Shop {
    db: TestDb,
    dir: tempfile::TempDir,
    config: Option<PathBuf>,
}

impl Shop {
    async fn new() -> Shop {
        let shop = Shop {
            db: sqlite().await,
            dir: tempfile::tempdir().unwrap(),
            config: None,
        };
        let devices = format!(
            "user_id,platform,token,app_id,created_at\nu1,ios,{},com.example.shop,\nu2,ios,{},com.example.shop,\nu3,ios,{},com.example.shop,\n",
            apns_token(0x11),
            apns_token(0x22),
            apns_token(0x33)
        );
        shop.ok(&["import", "users", &shop.file("users.csv", USERS)])
            .await;
        shop.ok(&["import", "devices", &shop.file("devices.csv", &devices)])
            .await;
        shop
    }

    fn file(&self, name: &str, content: &str) -> String {
        write(self.dir.path(), name, content)
            .to_string_lossy()
            .into_owned()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn herald(&self, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"));
        command.args(["--database", &self.db.url]);
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        command
            .args(args)
            .env_remove("HERALD_ENV")
            .env("HERALD_LOG", "warn")
            .output()
            .await
            .expect("run herald")
    }

    /// Runs herald, asserts success and returns stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let output = self.herald(args).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "herald {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    async fn create(&self, text: &str) -> String {
        self.create_with(text, &[]).await
    }

    /// Creates the campaign with extra `campaign create` flags.
    async fn create_with(&self, text: &str, flags: &[&str]) -> String {
        let file = self.file("campaign.toml", text);
        let mut args = vec!["campaign", "create", &file];
        args.extend_from_slice(flags);
        let out = self.ok(&args).await;
        let id = out.trim().to_owned();
        assert!(id.parse::<i64>().is_ok(), "create printed {out:?}");
        id
    }

    async fn status(&self, id: &str) -> String {
        let out = self.ok(&["campaign", "list", "--json"]).await;
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let row = doc["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"].as_i64() == id.parse().ok())
            .cloned()
            .unwrap();
        row["status"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn create_prints_the_id_list_shows_it_and_show_gives_next_runs_with_offset() {
    let shop = Shop::new().await;
    let id = shop.create(CAMPAIGN).await;
    let list = shop.ok(&["campaign", "list"]).await;
    assert!(
        list.lines()
            .any(|l| l.trim_start().starts_with(&id) && l.contains("Weekly picks")),
        "{list}"
    );
    let show = shop.ok(&["campaign", "show", &id]).await;
    let times: Vec<&str> = show
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("T10:00:00+01:00") || l.contains("T10:00:00+02:00"))
        .collect();
    assert_eq!(times.len(), 5, "{show}");
    for t in times {
        let parsed = chrono::DateTime::parse_from_rfc3339(t).unwrap();
        assert_eq!(
            parsed.format("%a").to_string(),
            "Sat",
            "{t} is not a Saturday"
        );
    }
    assert!(
        show.contains("variants:") && show.contains("runs: none yet"),
        "{show}"
    );
}

#[tokio::test]
async fn a_bad_campaign_file_exits_1_with_one_line_naming_the_field() {
    let shop = Shop::new().await;
    let file = shop.file(
        "bad.toml",
        &CAMPAIGN.replace("name = \"Weekly picks\"", "name = \"x\"\nholdout = 0.9"),
    );
    let output = shop.herald(&["campaign", "create", &file]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("bad.toml") && err.contains("holdout"), "{err}");
}

#[tokio::test]
async fn two_dry_runs_write_byte_identical_plans() {
    let shop = Shop::new().await;
    let id = shop.create(CAMPAIGN).await;
    let first = shop.path("plan1.csv");
    let second = shop.path("plan2.csv");
    for out in [&first, &second] {
        let out = out.to_str().unwrap();
        shop.ok(&["campaign", "run", &id, "--dry-run", "--plan-out", out])
            .await;
    }
    let a = std::fs::read(&first).unwrap();
    assert_eq!(a, std::fs::read(&second).unwrap());
    let text = String::from_utf8(a).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("user_id,variant,channel,decision,reason,payload_hash,not_before")
    );
    let users: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(users, ["u1", "u2", "u3", "u4"], "{text}");
    let runs = shop.db.store.runs(id.parse().unwrap()).await.unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert_eq!(run.status, "dry_run");
        let queued = shop.db.store.outbox_counts(run.run_id).await.unwrap();
        assert!(queued.is_empty(), "a dry run queued {queued:?}");
    }
}

#[tokio::test]
async fn pause_resume_and_cancel_change_the_status() {
    let shop = Shop::new().await;
    let id = shop.create(CAMPAIGN).await;
    assert_eq!(shop.status(&id).await, "scheduled");
    shop.ok(&["campaign", "pause", &id]).await;
    assert_eq!(shop.status(&id).await, "paused");
    shop.ok(&["campaign", "resume", &id]).await;
    assert_eq!(shop.status(&id).await, "scheduled");
    shop.ok(&["campaign", "cancel", &id]).await;
    assert_eq!(shop.status(&id).await, "cancelled");
    let output = shop.herald(&["campaign", "resume", &id]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("cancelled"), "{err}");
}

#[tokio::test]
async fn a_draft_is_updated_dry_run_only_then_scheduled_and_no_longer_editable() {
    let shop = Shop::new().await;
    let file = shop.file("campaign.toml", CAMPAIGN);
    let id = shop.ok(&["campaign", "create", "--draft", &file]).await;
    let id = id.trim().to_owned();
    assert_eq!(shop.status(&id).await, "draft");
    let text = CAMPAIGN
        .replace(
            "Hi {{ user.first_name }}",
            "Hello again {{ user.first_name }}",
        )
        .replace(
            "{{ user.first_name }}, look",
            "Hello again {{ user.first_name }}",
        );
    let edited = shop.file("edited.toml", &text);
    shop.ok(&["campaign", "update", &id, &edited]).await;
    let preview = shop.ok(&["campaign", "preview", &id, "--user", "u1"]).await;
    assert!(preview.contains("Hello again Ana"), "{preview}");
    let output = shop.herald(&["campaign", "run", &id]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("draft") && err.contains("schedule"), "{err}");
    shop.ok(&["campaign", "run", &id, "--dry-run"]).await;
    shop.ok(&["campaign", "schedule", &id]).await;
    assert_eq!(shop.status(&id).await, "scheduled");
    let output = shop.herald(&["campaign", "update", &id, &edited]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("only a draft can be edited"), "{err}");
}

#[tokio::test]
async fn explain_says_why_a_user_is_not_sent_to() {
    let shop = Shop::new().await;
    let id = shop.create(CAMPAIGN).await;
    let out = shop.ok(&["campaign", "explain", &id, "--user", "u4"]).await;
    assert!(!out.trim().is_empty(), "explain printed nothing");
    assert!(
        out.contains("u4") || out.contains("consent") || out.contains("device"),
        "{out}"
    );
    let output = shop
        .herald(&["campaign", "explain", &id, "--user", "nobody"])
        .await;
    assert_eq!(output.status.code(), Some(1));
}

#[tokio::test]
async fn create_refuses_an_at_time_that_has_passed_unless_asked_with_now() {
    let shop = Shop::new().await;
    let past = CAMPAIGN.replace(
        r#"{ cron = "0 10 * * Sat", timezone = "Europe/Berlin" }"#,
        r#"{ at = "2020-01-01T00:00:00Z" }"#,
    );
    let file = shop.file("past.toml", &past);
    let output = shop.herald(&["campaign", "create", &file]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("past.toml") && err.contains("schedule.at"),
        "{err}"
    );
    assert!(err.contains("has passed") && err.contains("--now"), "{err}");
    let out = shop.ok(&["campaign", "list", "--json"]).await;
    assert!(out.contains("\"campaigns\":[]"), "nothing stored: {out}");
    let id = shop.ok(&["campaign", "create", &file, "--now"]).await;
    assert!(id.trim().parse::<i64>().is_ok(), "{id}");
}

#[tokio::test]
async fn a_run_whose_channel_has_no_settings_exits_at_once_naming_the_section() {
    let shop = Shop::new().await;
    let id = shop.create(CAMPAIGN).await;
    let started = std::time::Instant::now();
    let output = shop.herald(&["campaign", "run", &id]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("[apns] is not configured"), "{err}");
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    let held = shop.db.store.pending_outbox_count().await.unwrap();
    assert_eq!(held, 0, "nothing may wait in the outbox");
}
