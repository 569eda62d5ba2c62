//! The APNs adapter against the APNs sandbox over HTTP/2 on loopback: the
//! compliance test, every error class, HTTPS with a private CA, stream
//! multiplexing and the payload snapshot. The provider token's life cycle
//! and the sandbox's own checks are in `apns_auth`.

use herald::channels::apns::{ApnsChannel, ApnsConfig, DEFAULT_TTL, payload_json};
use herald::channels::sandbox::apns::{ApnsSandboxConfig, PROVIDER};
use herald::channels::sandbox::{Failure, Received, Sandbox, SandboxConfig, TlsIdentity};
use herald::channels::{Channel, OutboundMessage, Outcome, PushMessage};
use herald::config::Secret;
use herald::domain::Platform;

use super::compliance::{Compliance, DeadOutcome, assert_compliance};
use super::{
    ApnsKey, ManualClock, apns_key, apns_token, message_id, push_message, push_to, unix_now,
};

const TEAM: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";
pub(super) const TOPIC: &str = "com.example.shop";

/// Sandbox settings trusting `key` (and serving `tls` when given).
fn sandbox_config(key: &ApnsKey, tls: Option<TlsIdentity>) -> SandboxConfig {
    SandboxConfig {
        apns: ApnsSandboxConfig {
            team_id: TEAM.into(),
            key_id: KEY_ID.into(),
            topic: TOPIC.into(),
            public_key_pem: Some(key.public_pem.clone()),
            tls,
            ..ApnsSandboxConfig::default()
        },
        ..SandboxConfig::default()
    }
}

/// Adapter settings for the sandbox at `url`, signing with `private_pem`.
fn config(url: &str, private_pem: &str) -> ApnsConfig {
    ApnsConfig {
        endpoint: url.parse().expect("sandbox URL"),
        ca_file: None,
        key: Secret::new(private_pem),
        key_id: KEY_ID.into(),
        team_id: TEAM.into(),
        topic: TOPIC.into(),
        default_ttl: DEFAULT_TTL,
    }
}

/// A started sandbox with its key.
pub(super) async fn sandbox() -> (Sandbox, ApnsKey) {
    let key = apns_key();
    let sandbox = Sandbox::start(sandbox_config(&key, None))
        .await
        .expect("sandbox");
    (sandbox, key)
}

/// An adapter for `sandbox` on `clock`.
pub(super) fn channel(sandbox: &Sandbox, key: &ApnsKey, clock: &ManualClock) -> ApnsChannel {
    ApnsChannel::with_clock(config(&sandbox.apns_url, &key.private_pem), clock.clock())
        .expect("adapter")
}

/// A push of the snapshot message to device `n`.
pub(super) fn ios(n: u8) -> OutboundMessage {
    push_to(u32::from(n), Platform::Ios, &apns_token(n), push_message())
}

/// The bearer JWT a recorded request carried.
pub(super) fn bearer(received: &Received) -> String {
    received
        .header("authorization")
        .unwrap_or_default()
        .to_owned()
}

/// Asserts the request is exactly what the snapshot message should give.
fn expect_snapshot_request(message: &OutboundMessage, received: &Received) {
    let herald::channels::RenderedMessage::Push(push) = &message.content else {
        panic!("a push")
    };
    assert_eq!(received.path, format!("/3/device/{}", apns_token(1)));
    let apns: Vec<(&str, &str)> = received
        .headers
        .iter()
        .filter(|(n, _)| n.starts_with("apns-"))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let id = message_id(1);
    let expected = [
        ("apns-topic", TOPIC),
        ("apns-push-type", "alert"),
        ("apns-priority", "10"),
        ("apns-expiration", "1790000000"),
        ("apns-collapse-id", "weekend-picks"),
        ("apns-id", id.as_str()),
    ];
    assert_eq!(apns, expected);
    assert!(
        bearer(received).starts_with("bearer ey"),
        "ES256 JWT bearer"
    );
    assert_eq!(received.body_text(), payload_json(push).unwrap());
}

#[tokio::test]
async fn the_apns_channel_passes_the_compliance_test() {
    let key = apns_key();
    let private = key.private_pem.clone();
    let too_big = PushMessage {
        body: "x".repeat(5000),
        ..push_message()
    };
    assert_compliance(&Compliance {
        provider: PROVIDER,
        sandbox: sandbox_config(&key, None),
        build: Box::new(move |sandbox| {
            Box::new(ApnsChannel::new(config(&sandbox.apns_url, &private)).unwrap())
        }),
        good: ios(1),
        expect_request: Box::new(expect_snapshot_request),
        dead: ios(2),
        dead_address: apns_token(2),
        dead_outcome: DeadOutcome::TokenGone,
        bad_payload: push_to(3, Platform::Ios, &apns_token(3), too_big),
        retry_after: true,
    })
    .await;
}

#[test]
fn the_payload_of_the_snapshot_message_is_exactly_this_json() {
    let expected = concat!(
        r#"{"aps":{"alert":{"title":"Ada, the Linen Shirt is back","body":"From €39.00 — only in your size"},"#,
        r#""badge":3,"sound":"default","category":"SHOW_ITEM","mutable-content":1,"thread-id":"weekend-picks"},"#,
        r#""campaign_id":"c-7","deep_link":"https://shop.example/t/c/abc?u=1","#,
        r#""image_url":"https://cdn.example/i/42.jpg","run_id":"r-3","variant":"A"}"#
    );
    assert_eq!(payload_json(&push_message()).unwrap(), expected);
}

#[tokio::test]
async fn a_payload_over_4096_bytes_is_permanent_and_never_sent() {
    let (sandbox, key) = sandbox().await;
    let adapter = channel(&sandbox, &key, &ManualClock::at(unix_now()));
    let push = PushMessage {
        body: "é".repeat(2100),
        ..push_message()
    };
    let outcome = adapter
        .send(&push_to(1, Platform::Ios, &apns_token(1), push))
        .await;
    assert!(
        matches!(&outcome, Outcome::Permanent { reason } if reason.contains("4096")),
        "{outcome:?}"
    );
    assert_eq!(sandbox.record().count(PROVIDER), 0);
}

#[tokio::test]
async fn a_refused_or_foreign_device_token_is_rejected_and_a_malformed_one_gone() {
    let (sandbox, key) = sandbox().await;
    let adapter = channel(&sandbox, &key, &ManualClock::at(unix_now()));
    let short = adapter
        .send(&push_to(1, Platform::Ios, &"ab".repeat(31), push_message()))
        .await;
    assert!(
        matches!(&short, Outcome::TokenRejected { reason, fix }
            if reason == "BadDeviceToken" && fix.contains("[apns] topic")),
        "{short:?}"
    );
    let not_hex = adapter
        .send(&push_to(2, Platform::Ios, "not-a-token", push_message()))
        .await;
    assert_eq!(not_hex.kind(), "token_gone");
    sandbox.faults().fail_next(
        1,
        Failure::Custom {
            status: 400,
            reason: "DeviceTokenNotForTopic".into(),
        },
    );
    let foreign = adapter.send(&ios(3)).await;
    assert_eq!(foreign.kind(), "token_rejected");
    assert_eq!(foreign.reason(), Some("DeviceTokenNotForTopic"));
}

#[tokio::test]
async fn a_wrong_topic_is_a_settings_failure_and_other_client_errors_are_permanent() {
    let (sandbox, key) = sandbox().await;
    let mut wrong_topic = config(&sandbox.apns_url, &key.private_pem);
    wrong_topic.topic = "com.example.other".into();
    let adapter = ApnsChannel::new(wrong_topic).unwrap();
    let outcome = adapter.send(&ios(1)).await;
    assert!(
        matches!(&outcome, Outcome::Credentials { reason, fix }
            if reason == "TopicDisallowed" && fix.contains("[apns] topic")),
        "{outcome:?}"
    );
    sandbox.faults().fail_next(
        1,
        Failure::Custom {
            status: 400,
            reason: "SomethingNewFromApple".into(),
        },
    );
    let unknown = channel(&sandbox, &key, &ManualClock::at(unix_now()))
        .send(&ios(1))
        .await;
    assert_eq!(
        unknown,
        Outcome::Permanent {
            reason: "HTTP 400 SomethingNewFromApple".into()
        }
    );
}

#[tokio::test]
async fn a_server_error_without_retry_after_is_retried_without_a_delay() {
    let (sandbox, key) = sandbox().await;
    let adapter = channel(&sandbox, &key, &ManualClock::at(unix_now()));
    sandbox.faults().fail_next(
        1,
        Failure::Custom {
            status: 502,
            reason: "BadGateway".into(),
        },
    );
    let outcome = adapter.send(&ios(1)).await;
    assert_eq!(
        outcome,
        Outcome::Retry {
            after: None,
            reason: "BadGateway".into()
        }
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_transport_retry() {
    let (sandbox, key) = sandbox().await;
    let adapter = channel(&sandbox, &key, &ManualClock::at(unix_now()));
    sandbox.shutdown().await;
    let outcome = adapter.send(&ios(1)).await;
    assert!(
        matches!(&outcome, Outcome::Retry { after: None, reason } if reason.contains("transport")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn many_concurrent_sends_are_streams_on_one_http2_connection() {
    let (sandbox, key) = sandbox().await;
    let adapter = std::sync::Arc::new(channel(&sandbox, &key, &ManualClock::at(unix_now())));
    let mut sends = tokio::task::JoinSet::new();
    for n in 0..300u32 {
        let adapter = adapter.clone();
        let message = push_to(
            n,
            Platform::Ios,
            &apns_token((n % 200) as u8 + 1),
            push_message(),
        );
        sends.spawn(async move { adapter.send(&message).await });
    }
    while let Some(outcome) = sends.join_next().await {
        assert_eq!(outcome.unwrap().kind(), "delivered");
    }
    assert_eq!(sandbox.record().count(PROVIDER), 300);
    assert_eq!(sandbox.record().connections(PROVIDER), 1);
}

#[tokio::test]
async fn https_with_a_ca_file_reaches_a_sandbox_with_a_private_certificate() {
    let key = apns_key();
    let (identity, ca_pem) = private_ca_identity();
    let sandbox = Sandbox::start(sandbox_config(&key, Some(identity)))
        .await
        .unwrap();
    assert!(
        sandbox.apns_url.starts_with("https://127.0.0.1:"),
        "{}",
        sandbox.apns_url
    );
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let trusting = ApnsConfig {
        ca_file: Some(ca_file),
        ..config(&sandbox.apns_url, &key.private_pem)
    };
    let outcome = ApnsChannel::new(trusting).unwrap().send(&ios(1)).await;
    assert_eq!(outcome.kind(), "delivered", "{outcome:?}");
    let untrusting = ApnsChannel::new(config(&sandbox.apns_url, &key.private_pem)).unwrap();
    assert_eq!(
        untrusting.send(&ios(1)).await.kind(),
        "retry",
        "unknown CA is a transport error"
    );
    assert_eq!(sandbox.record().count(PROVIDER), 1);
}

/// A server identity for 127.0.0.1 signed by a fresh CA, and the CA's PEM.
fn private_ca_identity() -> (TlsIdentity, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "herald test CA");
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let server = server_params.signed_by(&server_key, &issuer).unwrap();
    let identity = TlsIdentity {
        cert_pem: server.pem(),
        key_pem: server_key.serialize_pem(),
    };
    (identity, ca_pem)
}
