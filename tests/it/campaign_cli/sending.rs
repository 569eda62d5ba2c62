//! `campaign run`, `serve`, SIGTERM and Ctrl-C against the sandbox
//! providers: every planned push arrives once, a due and a triggered
//! campaign are sent by `serve`, a stopped `serve` records every send in
//! flight and leaves no lease, and an interrupted run resumes without
//! sending twice.

use super::{CAMPAIGN, Shop};
use crate::helpers::apns_token;
use herald::channels::sandbox::{Sandbox, SandboxConfig};

/// Forty more users (x100..x139), each with an iOS device and push consent.
async fn add_push_users(shop: &Shop) {
    let users: String = (100..140)
        .map(|n| format!("x{n},,UTC,GB,true,false,X{n}\n"))
        .collect();
    let devices: String = (100..140)
        .map(|n| format!("x{n},ios,{},com.example.shop,\n", apns_token(n)))
        .collect();
    let users = shop.file(
        "more-users.csv",
        &format!("user_id,email,timezone,country,consent_push,consent_email,first_name\n{users}"),
    );
    let devices = shop.file(
        "more-devices.csv",
        &format!("user_id,platform,token,app_id,created_at\n{devices}"),
    );
    shop.ok(&["import", "users", &users]).await;
    shop.ok(&["import", "devices", &devices]).await;
}

/// `herald serve` on the shop's database and config, on a free port.
fn spawn_serve(shop: &Shop) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--database", &shop.db.url, "--config"])
        .arg(shop.config.as_ref().unwrap())
        .arg("serve")
        .env_remove("HERALD_ENV")
        .env("HERALD__SERVER__BIND", "127.0.0.1:0")
        .env("HERALD_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start herald serve")
}

/// Waits (up to 30 s) until a push has reached the sandbox (counted on
/// arrival, before its latency: the request is in flight).
async fn first_arrival(sandbox: &Sandbox) {
    for _ in 0..600 {
        if sandbox.faults().arrivals() > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no push reached the sandbox in 30 s");
}

/// Sends `sig` (`-TERM`, `-INT`) to a child process.
fn signal(child: &tokio::process::Child, sig: &str) {
    let pid = child.id().unwrap().to_string();
    let sent = std::process::Command::new("kill")
        .args([sig, &pid])
        .status();
    assert!(sent.unwrap().success(), "kill {sig} {pid}");
}

#[tokio::test]
async fn a_run_delivers_every_planned_push_to_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let mut shop = Shop::new().await;
    let config = sandbox
        .write_settings(
            &shop.path("sandbox"),
            "[dispatch]\nbackoff_base = \"10ms\"\nbackoff_max = \"100ms\"\n",
        )
        .unwrap();
    shop.config = Some(config);
    let id = shop
        .create(&CAMPAIGN.replace("[\"push\", \"email\"]", "[\"push\"]"))
        .await;
    let out = shop.ok(&["campaign", "run", &id, "--json"]).await;
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["targeted"], 4, "{out}");
    assert_eq!(summary["sent"], 3, "{out}");
    assert_eq!(summary["delivered"], 3, "{out}");
    assert_eq!(summary["failed"], 0, "{out}");
    assert_eq!(summary["status"], "done", "{out}");
    let mut tokens: Vec<String> = sandbox
        .record()
        .of("apns")
        .into_iter()
        .filter_map(|r| r.address)
        .collect();
    tokens.sort();
    assert_eq!(
        tokens,
        [apns_token(0x11), apns_token(0x22), apns_token(0x33)]
    );
    let show = shop.ok(&["campaign", "show", &id, "--json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(doc["runs"][0]["outbox"]["sent"], 3, "{show}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn serve_runs_due_and_triggered_campaigns_and_stops_on_sigterm() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let mut shop = Shop::new().await;
    shop.config = Some(sandbox.write_settings(&shop.path("sandbox"), "").unwrap());
    let push = CAMPAIGN.replace("[\"push\", \"email\"]", "[\"push\"]");
    let cron = "{ cron = \"0 10 * * Sat\", timezone = \"Europe/Berlin\" }";
    let trigger = shop
        .create(&push.replace(cron, "{ trigger = \"cart\", delay = \"0s\" }"))
        .await;
    let once = shop
        .create_with(
            &push.replace(cron, "{ at = \"2020-01-01T00:00:00Z\" }"),
            &["--now"],
        )
        .await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let items = shop.file("items.csv", "item_id,title\ni1,Lamp\n");
    let events = shop.file(
        "events.csv",
        &format!("user_id,item_id,event,ts,value\nu2,i1,cart,{now},\n"),
    );
    shop.ok(&["import", "items", &items]).await;
    shop.ok(&["import", "events", &events]).await;
    let mut serve = spawn_serve(&shop);
    let once_id: i64 = once.parse().unwrap();
    let mut waited = 0;
    loop {
        waited += 1;
        assert!(waited <= 300, "serve did not send the due campaign in 30 s");
        let done = shop
            .db
            .store
            .campaign(once_id)
            .await
            .unwrap()
            .unwrap()
            .status
            == "done";
        if done && sandbox.record().count("apns") >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    signal(&serve, "-TERM");
    let status = serve.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "serve did not stop cleanly");
    let mut tokens: Vec<_> = (sandbox.record().of("apns").into_iter())
        .filter_map(|r| r.address)
        .collect();
    tokens.sort();
    let expected = [0x11, 0x22, 0x22, 0x33].map(apns_token);
    assert_eq!(tokens, expected, "campaigns {trigger} and {once}");
    assert_eq!(shop.status(&once).await, "done");
    assert_eq!(shop.status(&trigger).await, "scheduled");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sigterm_lets_in_flight_sends_finish_and_releases_every_lease() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    sandbox
        .faults()
        .set_latency(std::time::Duration::from_millis(300));
    let mut shop = Shop::new().await;
    add_push_users(&shop).await;
    let extra = "[dispatch]\nbatch_size = 4\n[dispatch.apns]\nconcurrency = 4\n";
    shop.config = Some(
        sandbox
            .write_settings(&shop.path("sandbox"), extra)
            .unwrap(),
    );
    let cron = "{ cron = \"0 10 * * Sat\", timezone = \"Europe/Berlin\" }";
    let push = CAMPAIGN
        .replace("[\"push\", \"email\"]", "[\"push\"]")
        .replace(cron, "{ at = \"2020-01-01T00:00:00Z\" }");
    let id = shop.create_with(&push, &["--now"]).await;
    let mut serve = spawn_serve(&shop);
    first_arrival(&sandbox).await;
    let arrived = sandbox.faults().arrivals() as i64;
    signal(&serve, "-TERM");
    let status = serve.wait().await.unwrap();
    assert_eq!(status.code(), Some(0), "serve did not stop cleanly");
    let store = &shop.db.store;
    let run = store.runs(id.parse().unwrap()).await.unwrap().remove(0);
    let counts: std::collections::HashMap<String, i64> = store
        .outbox_counts(run.run_id)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let received = sandbox.record().count("apns") as i64;
    let sent = counts.get("sent").copied().unwrap_or(0);
    assert_eq!(
        received,
        sandbox.faults().arrivals() as i64,
        "a request in flight at the signal was dropped, not answered"
    );
    assert!(
        sent >= arrived,
        "{arrived} requests were in flight at the signal, {sent} recorded sent"
    );
    assert_eq!(
        sent, received,
        "every message the provider accepted is recorded as sent: {counts:?}"
    );
    assert!(
        counts.get("pending").copied().unwrap_or(0) > 0,
        "serve stopped before the outbox drained: {counts:?}"
    );
    assert_eq!(store.leased_outbox_count().await.unwrap(), 0);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn ctrl_c_stops_a_run_between_batches_and_a_rerun_resumes_it() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    sandbox
        .faults()
        .set_latency(std::time::Duration::from_millis(200));
    let mut shop = Shop::new().await;
    add_push_users(&shop).await;
    let extra = "[dispatch]\nbatch_size = 2\n[dispatch.apns]\nconcurrency = 1\n";
    shop.config = Some(
        sandbox
            .write_settings(&shop.path("sandbox"), extra)
            .unwrap(),
    );
    let id = shop
        .create(&CAMPAIGN.replace("[\"push\", \"email\"]", "[\"push\"]"))
        .await;
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--database", &shop.db.url, "--config"])
        .arg(shop.config.as_ref().unwrap())
        .args(["campaign", "run", &id, "--json"])
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start herald campaign run");
    first_arrival(&sandbox).await;
    signal(&run, "-INT");
    let first = run.wait_with_output().await.unwrap();
    let err = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let summary: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(summary["interrupted"], true);
    assert!(summary["pending"].as_i64().unwrap() > 0, "{summary}");
    sandbox.faults().set_latency(std::time::Duration::ZERO);
    let out = shop.ok(&["campaign", "run", &id, "--json"]).await;
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["resumed"], true, "{out}");
    assert_eq!(summary["delivered"], 43, "{out}");
    assert_eq!(summary["pending"], 0, "{out}");
    let mut tokens: Vec<String> = (sandbox.record().of("apns").into_iter())
        .filter_map(|r| r.address)
        .collect();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), 43);
    assert_eq!(
        sandbox.record().count("apns"),
        43,
        "a message was sent twice"
    );
    sandbox.shutdown().await;
}
