//! `campaign run` against an FCM token endpoint that refuses the service
//! account (`invalid_grant`): it stops within seconds, exits 1 with one
//! line naming the channel, the provider's answer and the setting to fix,
//! after a handful of token requests, with every message still pending;
//! rerun once the account is accepted, it sends them all.

use std::time::{Duration, Instant};

use super::{CAMPAIGN, Shop};
use herald::channels::sandbox::{Sandbox, SandboxConfig};

/// Users in the campaign.
const USERS: usize = 300;

/// `USERS` users (a000..), each with an Android device and push consent.
async fn android_users(shop: &Shop) {
    let users: String = (0..USERS)
        .map(|n| format!("a{n:03},,UTC,GB,true,false,A{n}\n"))
        .collect();
    let devices: String = (0..USERS)
        .map(|n| {
            format!(
                "a{n:03},android,d{n:07}:APA91b{},com.example.shop,\n",
                "Xy-_9".repeat(12)
            )
        })
        .collect();
    let users = shop.file(
        "android-users.csv",
        &format!("user_id,email,timezone,country,consent_push,consent_email,first_name\n{users}"),
    );
    let devices = shop.file(
        "android-devices.csv",
        &format!("user_id,platform,token,app_id,created_at\n{devices}"),
    );
    shop.ok(&["import", "users", &users]).await;
    shop.ok(&["import", "devices", &devices]).await;
}

#[tokio::test]
async fn a_refused_fcm_service_account_stops_the_run_in_seconds_with_one_line_and_keeps_it_pending()
{
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let mut shop = Shop::new().await;
    android_users(&shop).await;
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
    sandbox.faults().refuse_credentials(true);
    let started = Instant::now();
    let output = shop.herald(&["campaign", "run", &id]).await;
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        line.starts_with(
            "error: fcm: the token endpoint refused the service account (invalid_grant"
        ) && line.contains("fix [fcm] service_account_file"),
        "{stderr}"
    );
    let token_requests = sandbox.record().count("fcm-oauth");
    assert!(token_requests <= 3, "{token_requests} token requests");
    let run = shop.db.store.runs(id.parse().unwrap()).await.unwrap();
    let counts = shop.db.store.outbox_counts(run[0].run_id).await.unwrap();
    let failed = counts.iter().any(|(status, _)| status == "failed");
    assert!(!failed, "{counts:?}");
    assert!(
        counts.iter().any(|(status, _)| status == "pending"),
        "{counts:?}"
    );
    sandbox.faults().refuse_credentials(false);
    let out = shop.ok(&["campaign", "run", &id, "--json"]).await;
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["resumed"], true, "{out}");
    assert_eq!(summary["failed"], 0, "{out}");
    assert_eq!(summary["pending"], 0, "{out}");
    assert_eq!(summary["status"], "done", "{out}");
    sandbox.shutdown().await;
}
