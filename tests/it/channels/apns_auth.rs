//! The APNs provider token's life cycle against the APNs sandbox (reuse
//! for 50 minutes, refresh before the hour and on ExpiredProviderToken,
//! refusal of a foreign key), and the sandbox's own checks of what Apple
//! checks, probed with raw HTTP/2 requests.

use herald::channels::Channel;
use herald::channels::Outcome;
use herald::channels::apns::REFRESH_AFTER_SECS;
use herald::channels::sandbox::Failure;
use herald::channels::sandbox::apns::PROVIDER;

use super::apns::{TOPIC, bearer, channel, ios, sandbox};
use super::{ManualClock, apns_key, apns_token, unix_now};

#[tokio::test]
async fn the_provider_token_is_reused_for_fifty_minutes_then_replaced_before_the_hour() {
    let (sandbox, key) = sandbox().await;
    let clock = ManualClock::at(unix_now() - 55 * 60);
    let adapter = channel(&sandbox, &key, &clock);
    assert_eq!(adapter.send(&ios(1)).await.kind(), "delivered");
    clock.advance(REFRESH_AFTER_SECS - 60);
    assert_eq!(adapter.send(&ios(1)).await.kind(), "delivered");
    clock.advance(120);
    assert_eq!(adapter.send(&ios(1)).await.kind(), "delivered");
    let tokens: Vec<String> = sandbox.record().of(PROVIDER).iter().map(bearer).collect();
    assert_eq!(tokens[0], tokens[1], "reused within 50 minutes");
    assert_ne!(tokens[1], tokens[2], "replaced after 50 minutes");
}

#[tokio::test]
async fn an_expired_provider_token_is_refreshed_and_the_send_retried() {
    let (sandbox, key) = sandbox().await;
    let clock = ManualClock::at(unix_now());
    let adapter = channel(&sandbox, &key, &clock);
    sandbox.faults().fail_next(1, Failure::AuthExpired);
    let outcome = adapter.send(&ios(1)).await;
    assert_eq!(
        outcome,
        Outcome::Retry {
            after: None,
            reason: "ExpiredProviderToken".into()
        }
    );
    clock.advance(1);
    assert_eq!(adapter.send(&ios(1)).await.kind(), "delivered");
    let tokens: Vec<String> = sandbox.record().of(PROVIDER).iter().map(bearer).collect();
    assert_ne!(
        tokens[0], tokens[1],
        "a new token after ExpiredProviderToken"
    );
}

#[tokio::test]
async fn a_token_issued_over_an_hour_ago_is_refused_by_the_sandbox_and_replaced() {
    let (sandbox, key) = sandbox().await;
    let clock = ManualClock::at(unix_now() - 61 * 60);
    let adapter = channel(&sandbox, &key, &clock);
    let outcome = adapter.send(&ios(1)).await;
    assert_eq!(
        outcome,
        Outcome::Retry {
            after: None,
            reason: "ExpiredProviderToken".into()
        }
    );
    clock.advance(61 * 60);
    assert_eq!(adapter.send(&ios(1)).await.kind(), "delivered");
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_a_credentials_failure() {
    let (sandbox, _) = sandbox().await;
    let stranger = apns_key();
    let adapter = channel(&sandbox, &stranger, &ManualClock::at(unix_now()));
    let outcome = adapter.send(&ios(1)).await;
    assert!(
        matches!(&outcome, Outcome::Credentials { reason, fix }
            if reason == "InvalidProviderToken" && fix.contains("[apns] key_file")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_sandbox_refuses_what_apple_refuses() {
    let (sandbox, key) = sandbox().await;
    let adapter = channel(&sandbox, &key, &ManualClock::at(unix_now()));
    assert_eq!(adapter.send(&ios(1)).await.kind(), "delivered");
    let jwt = bearer(&sandbox.record().of(PROVIDER)[0]);
    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let url = format!("{}/3/device/{}", sandbox.apns_url, apns_token(1));
    let post = |headers: &[(&str, &str)], body: &str| {
        let mut request = http.post(&url).body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (
                status,
                body["reason"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    let auth = ("authorization", jwt.as_str());
    let topic = ("apns-topic", TOPIC);
    let ok = r#"{"aps":{"alert":"hi"}}"#;
    assert_eq!(
        post(&[topic], ok).await,
        (403, "MissingProviderToken".into())
    );
    assert_eq!(
        post(&[("authorization", "bearer x.y.z"), topic], ok).await,
        (403, "InvalidProviderToken".into())
    );
    assert_eq!(post(&[auth], ok).await, (400, "MissingTopic".into()));
    assert_eq!(
        post(&[auth, topic, ("apns-push-type", "shout")], ok).await,
        (400, "InvalidPushType".into())
    );
    assert_eq!(
        post(&[auth, topic, ("apns-priority", "7")], ok).await,
        (400, "BadPriority".into())
    );
    assert_eq!(
        post(&[auth, topic, ("apns-id", "not-a-uuid")], ok).await,
        (400, "BadMessageId".into())
    );
    assert_eq!(post(&[auth, topic], "").await, (400, "PayloadEmpty".into()));
    assert_eq!(
        post(&[auth, topic], &"x".repeat(4097)).await,
        (413, "PayloadTooLarge".into())
    );
    sandbox.faults().kill(apns_token(1));
    assert_eq!(post(&[auth, topic], ok).await, (410, "Unregistered".into()));
}
