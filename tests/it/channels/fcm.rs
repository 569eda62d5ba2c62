//! The FCM HTTP v1 adapter against the FCM sandbox and its OAuth token
//! endpoint on loopback: the compliance test, every error class, access
//! token caching and refresh, the message snapshot, and the sandbox's own
//! checks (including the RS256 signature of the grant's assertion).

use std::sync::Arc;
use std::time::Duration;

use herald::channels::clock::Clock;
use herald::channels::fcm::{DEFAULT_TTL, FcmChannel, message_json};
use herald::channels::sandbox::fcm::{FcmSandboxConfig, OAUTH_PROVIDER, PROVIDER};
use herald::channels::sandbox::{Failure, Received, Sandbox, SandboxConfig};
use herald::channels::{Channel, OutboundMessage, Outcome, RenderedMessage};
use herald::domain::Platform;

use super::compliance::{Compliance, DeadOutcome, assert_compliance};
use super::{fcm_token, push_message, push_to};

/// The fixed "now" of snapshot sends: one hour before the message expires.
const NOW: i64 = 1_789_996_400;

/// A sandbox with the demo service account (and `fcm` overrides).
async fn sandbox_with(fcm: FcmSandboxConfig) -> Sandbox {
    Sandbox::start(SandboxConfig {
        fcm,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox")
}

/// An adapter for `sandbox` at the fixed time.
fn channel(sandbox: &Sandbox) -> FcmChannel {
    FcmChannel::with_clock(sandbox.demo_fcm_config(), Clock::fixed(NOW)).expect("adapter")
}

/// A push of the snapshot message to device `n`.
fn android(n: u32) -> OutboundMessage {
    push_to(n, Platform::Android, &fcm_token(n), push_message())
}

/// The bearer a recorded request carried.
fn bearer(received: &Received) -> String {
    received
        .header("authorization")
        .unwrap_or_default()
        .to_owned()
}

/// Asserts the request is exactly what the snapshot message should give.
fn expect_snapshot_request(message: &OutboundMessage, received: &Received) {
    let RenderedMessage::Push(push) = &message.content else {
        panic!("a push")
    };
    assert_eq!(received.path, "/v1/projects/herald-demo/messages:send");
    assert!(
        bearer(received).starts_with("Bearer ya29.sandbox-"),
        "{}",
        bearer(received)
    );
    assert_eq!(received.header("content-type"), Some("application/json"));
    let expected = message_json(push, &fcm_token(1), NOW, DEFAULT_TTL).unwrap();
    assert_eq!(received.body_text(), expected);
}

#[tokio::test]
async fn the_fcm_channel_passes_the_compliance_test() {
    let mut reserved = push_message();
    reserved.data.insert("google.c.a.e".into(), "1".into());
    assert_compliance(&Compliance {
        provider: PROVIDER,
        sandbox: SandboxConfig::default(),
        build: Box::new(|sandbox| Box::new(channel(sandbox))),
        good: android(1),
        expect_request: Box::new(expect_snapshot_request),
        dead: android(2),
        dead_address: fcm_token(2),
        dead_outcome: DeadOutcome::TokenGone,
        bad_payload: push_to(3, Platform::Android, &fcm_token(3), reserved),
        retry_after: true,
    })
    .await;
}

#[test]
fn the_message_for_the_snapshot_push_is_exactly_this_json() {
    let expected = concat!(
        r#"{"message":{"token":"tok","#,
        r#""notification":{"title":"Ada, the Linen Shirt is back","body":"From €39.00 — only in your size","image":"https://cdn.example/i/42.jpg"},"#,
        r#""data":{"campaign_id":"c-7","deep_link":"https://shop.example/t/c/abc?u=1","run_id":"r-3","variant":"A"},"#,
        r#""android":{"priority":"HIGH","collapse_key":"weekend-picks","ttl":"3600s","notification":{"click_action":"SHOW_ITEM","sound":"default"}},"#,
        r#""apns":{"headers":{"apns-collapse-id":"weekend-picks","apns-expiration":"1790000000","apns-priority":"10"},"#,
        r#""payload":{"aps":{"badge":3,"sound":"default","category":"SHOW_ITEM","thread-id":"weekend-picks","mutable-content":1}},"#,
        r#""fcm_options":{"image":"https://cdn.example/i/42.jpg"}}}}"#
    );
    assert_eq!(
        message_json(&push_message(), "tok", NOW, DEFAULT_TTL).unwrap(),
        expected
    );
}

#[tokio::test]
async fn many_sends_concurrent_and_sequential_share_one_access_token() {
    let sandbox = sandbox_with(FcmSandboxConfig::default()).await;
    let adapter = Arc::new(channel(&sandbox));
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..100 {
        let adapter = adapter.clone();
        sends.spawn(async move { adapter.send(&android(n)).await });
    }
    while let Some(outcome) = sends.join_next().await {
        assert_eq!(outcome.unwrap().kind(), "delivered");
    }
    for n in 0..10 {
        assert_eq!(adapter.send(&android(n)).await.kind(), "delivered");
    }
    assert_eq!(sandbox.record().count(PROVIDER), 110);
    assert_eq!(sandbox.record().count(OAUTH_PROVIDER), 1);
}

#[tokio::test]
async fn an_access_token_about_to_expire_is_fetched_again() {
    let short_lived = FcmSandboxConfig {
        token_lifetime: Duration::from_secs(20),
        ..FcmSandboxConfig::default()
    };
    let sandbox = sandbox_with(short_lived).await;
    let adapter = channel(&sandbox);
    assert_eq!(adapter.send(&android(1)).await.kind(), "delivered");
    assert_eq!(adapter.send(&android(2)).await.kind(), "delivered");
    assert_eq!(sandbox.record().count(OAUTH_PROVIDER), 2);
}

#[tokio::test]
async fn a_401_drops_the_access_token_and_the_next_send_fetches_a_new_one() {
    let sandbox = sandbox_with(FcmSandboxConfig::default()).await;
    let adapter = channel(&sandbox);
    sandbox.faults().fail_next(1, Failure::AuthExpired);
    let outcome = adapter.send(&android(1)).await;
    assert!(
        matches!(outcome, Outcome::Retry { after: None, .. }),
        "{outcome:?}"
    );
    assert_eq!(adapter.send(&android(1)).await.kind(), "delivered");
    assert_eq!(sandbox.record().count(OAUTH_PROVIDER), 2);
    let sends = sandbox.record().of(PROVIDER);
    assert_ne!(bearer(&sends[0]), bearer(&sends[1]));
}

#[tokio::test]
async fn an_invalid_registration_token_is_token_gone() {
    let sandbox = sandbox_with(FcmSandboxConfig::default()).await;
    let outcome = channel(&sandbox)
        .send(&push_to(
            1,
            Platform::Android,
            "not a token!",
            push_message(),
        ))
        .await;
    assert_eq!(
        outcome,
        Outcome::TokenGone {
            reason:
                "INVALID_ARGUMENT: The registration token is not a valid FCM registration token"
                    .into()
        }
    );
}

#[tokio::test]
async fn a_message_for_another_project_is_a_rejected_token_for_the_dispatcher_to_judge() {
    let sandbox = sandbox_with(FcmSandboxConfig::default()).await;
    let mut config = sandbox.demo_fcm_config();
    config.project_id = "someone-elses-project".into();
    let outcome = FcmChannel::new(config).unwrap().send(&android(1)).await;
    assert!(
        matches!(&outcome, Outcome::TokenRejected { reason, fix }
            if reason == "SENDER_ID_MISMATCH: SenderId mismatch" && fix.contains("[fcm] project_id")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_403_is_a_credentials_failure_and_server_errors_are_retried() {
    let sandbox = sandbox_with(FcmSandboxConfig::default()).await;
    let adapter = channel(&sandbox);
    sandbox.faults().fail_next(
        1,
        Failure::Custom {
            status: 403,
            reason: "THIRD_PARTY_AUTH_ERROR".into(),
        },
    );
    assert_eq!(adapter.send(&android(1)).await.kind(), "credentials");
    sandbox.faults().fail_next(
        1,
        Failure::Custom {
            status: 502,
            reason: "".into(),
        },
    );
    assert_eq!(adapter.send(&android(1)).await.kind(), "retry");
}

#[tokio::test]
async fn a_refused_token_grant_is_a_credentials_failure_and_the_endpoint_is_asked_once() {
    let stranger = FcmSandboxConfig {
        client_email: Some("someone@else.example".into()),
        ..FcmSandboxConfig::default()
    };
    let sandbox = sandbox_with(stranger).await;
    let adapter = channel(&sandbox);
    let messages: Vec<_> = (0..50).map(android).collect();
    let outcomes = futures_util::future::join_all(messages.iter().map(|m| adapter.send(m))).await;
    for outcome in &outcomes {
        assert!(
            matches!(outcome, Outcome::Credentials { reason, fix }
                if reason.contains("invalid_grant") && fix == "[fcm] service_account_file"),
            "{outcome:?}"
        );
    }
    assert_eq!(adapter.send(&android(51)).await.kind(), "credentials");
    assert_eq!(sandbox.record().count(OAUTH_PROVIDER), 1);
    assert_eq!(sandbox.record().count(PROVIDER), 0);
}

#[tokio::test]
async fn a_token_endpoint_refusing_then_accepting_the_account_is_asked_again_after_a_backoff() {
    let sandbox = sandbox_with(FcmSandboxConfig::default()).await;
    let adapter = channel(&sandbox);
    sandbox.faults().refuse_credentials(true);
    assert_eq!(adapter.send(&android(1)).await.kind(), "credentials");
    sandbox.faults().refuse_credentials(false);
    assert_eq!(adapter.send(&android(2)).await.kind(), "credentials");
    assert_eq!(sandbox.record().count(OAUTH_PROVIDER), 1, "backing off");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(adapter.send(&android(3)).await.kind(), "delivered");
    assert_eq!(sandbox.record().count(OAUTH_PROVIDER), 2);
}

#[tokio::test]
async fn the_token_endpoint_verifies_the_assertion_signature() {
    let sandbox = sandbox_with(FcmSandboxConfig::default()).await;
    assert_eq!(
        channel(&sandbox).send(&android(1)).await.kind(),
        "delivered"
    );
    let grant = sandbox.record().of(OAUTH_PROVIDER)[0].body_text();
    let assertion = grant.split("assertion=").nth(1).unwrap().to_owned();
    let tampered = format!("{}AAAA", assertion.trim_end_matches("%3D"));
    let http = reqwest::Client::new();
    let post = |assertion: String| {
        let body = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let request = http
            .post(&sandbox.fcm_token_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = post(assertion).await;
    assert_eq!(status, 200, "the recorded assertion is still valid: {body}");
    let (status, body) = post(tampered).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("Invalid JWT Signature."))
    );
}

#[tokio::test]
async fn the_sandbox_refuses_what_fcm_refuses() {
    let sandbox = sandbox_with(FcmSandboxConfig::default()).await;
    assert_eq!(
        channel(&sandbox).send(&android(1)).await.kind(),
        "delivered"
    );
    let auth = bearer(&sandbox.record().of(PROVIDER)[0]);
    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let url = format!("{}/v1/projects/herald-demo/messages:send", sandbox.fcm_url);
    let post = |auth: &str, body: serde_json::Value| {
        let request = http.post(&url).header("authorization", auth).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (
                status,
                body["error"]["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    };
    let token = fcm_token(1);
    let good = serde_json::json!({"message": {"token": token, "notification": {"body": "hi"}}});
    assert_eq!(
        post("Bearer forged", good.clone()).await,
        (401, "UNAUTHENTICATED".into())
    );
    let numeric = serde_json::json!({"message": {"token": token, "data": {"n": 1}}});
    assert_eq!(post(&auth, numeric).await, (400, "INVALID_ARGUMENT".into()));
    let anonymous = serde_json::json!({"message": {"notification": {"body": "hi"}}});
    assert_eq!(
        post(&auth, anonymous).await,
        (400, "INVALID_ARGUMENT".into())
    );
    sandbox.faults().kill(token);
    assert_eq!(post(&auth, good).await, (404, "NOT_FOUND".into()));
}
