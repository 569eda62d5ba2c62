//! The webhook adapter over loopback: compliance against the sandbox
//! receiver, which refuses a bad signature; against a local receiver, the
//! signature verifies, the idempotency key is the message id, and each
//! status class is classified.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use herald::channels::sandbox::webhook::{DEMO_WEBHOOK_PATH, DEMO_WEBHOOK_SECRET, PROVIDER};
use herald::channels::sandbox::{Sandbox, SandboxConfig};
use herald::channels::webhook::{WebhookChannel, WebhookConfig, verify};
use herald::channels::{
    Address, Channel, OutboundMessage, Outcome, RenderedMessage, SmsMessage, WebhookMessage,
};
use herald::config::Secret;

use super::compliance::{Compliance, DeadOutcome, assert_compliance};
use super::{ManualClock, message_id, unix_now};

const NOW: i64 = 1_795_766_400;
const SECRET: &str = "whsec-test-key";

/// What the receiver saw, and what it answers next.
#[derive(Default)]
struct Receiver {
    requests: Vec<(HeaderMap, Bytes)>,
    answer: Option<(u16, Option<&'static str>)>,
}

/// Starts a receiver; returns its URL and state.
async fn receiver() -> (url::Url, Arc<Mutex<Receiver>>) {
    let state: Arc<Mutex<Receiver>> = Arc::default();
    let shared = state.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| async move {
            let mut s = shared.lock().unwrap();
            s.requests.push((headers, body));
            let (status, retry) = s.answer.take().unwrap_or((204, None));
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            if let Some(after) = retry {
                response
                    .headers_mut()
                    .insert("retry-after", after.parse().unwrap());
            }
            response
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

fn channel(url: url::Url) -> WebhookChannel {
    let config = WebhookConfig {
        url,
        secret: Secret::new(SECRET),
        timeout: Duration::from_secs(5),
    };
    WebhookChannel::new(config, ManualClock::at(NOW).clock()).unwrap()
}

fn hook(n: u32) -> OutboundMessage {
    let body = serde_json::json!({"user_id": "u1", "title": "Ana, <b>hi</b> & more", "data": {"campaign_id": "7"}});
    OutboundMessage {
        id: message_id(n),
        address: Address::Webhook,
        content: RenderedMessage::Webhook(WebhookMessage { body }),
    }
}

#[tokio::test]
async fn a_delivered_webhook_carries_a_verifiable_signature_and_the_idempotency_key() {
    let (url, state) = receiver().await;
    let outcome = channel(url).send(&hook(1)).await;
    assert_eq!(outcome, Outcome::Delivered { provider_id: None });
    let state = state.lock().unwrap();
    let (headers, body) = &state.requests[0];
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    assert_eq!(header("x-herald-timestamp"), NOW.to_string());
    assert_eq!(header("idempotency-key"), message_id(1));
    assert_eq!(header("content-type"), "application/json");
    let signature = header("x-herald-signature");
    assert!(
        verify(SECRET.as_bytes(), NOW, body, &signature, NOW + 10, 300),
        "{signature}"
    );
    assert!(!verify(
        b"another key",
        NOW,
        body,
        &signature,
        NOW + 10,
        300
    ));
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["title"], "Ana, <b>hi</b> & more");
}

#[tokio::test]
async fn statuses_are_classified_by_class() {
    let (url, state) = receiver().await;
    let channel = channel(url);
    let cases: [(u16, Option<&'static str>, &str); 5] = [
        (429, Some("30"), "retry"),
        (503, None, "retry"),
        (408, None, "retry"),
        (400, None, "permanent"),
        (200, None, "delivered"),
    ];
    for (n, (status, retry, kind)) in cases.into_iter().enumerate() {
        state.lock().unwrap().answer = Some((status, retry));
        let outcome = channel.send(&hook(n as u32)).await;
        assert_eq!(outcome.kind(), kind, "HTTP {status}: {outcome:?}");
        if status == 429 {
            assert!(
                matches!(outcome, Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(30))
            );
        }
    }
}

#[tokio::test]
async fn an_unreachable_receiver_is_retry() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap())
        .parse()
        .unwrap();
    drop(listener);
    let outcome = channel(url).send(&hook(1)).await;
    assert_eq!(outcome.kind(), "retry", "{outcome:?}");
}

/// The adapter pointed at the sandbox receiver, signing at the real time.
fn sandbox_channel(sandbox: &Sandbox) -> WebhookChannel {
    WebhookChannel::new(
        sandbox.demo_webhook_config(),
        ManualClock::at(unix_now()).clock(),
    )
    .expect("webhook channel")
}

/// A message whose content is not a webhook body.
fn not_a_webhook(n: u32) -> OutboundMessage {
    OutboundMessage {
        id: message_id(n),
        address: Address::Webhook,
        content: RenderedMessage::Sms(SmsMessage {
            body: "hi".into(),
            status_callback: None,
        }),
    }
}

#[tokio::test]
async fn the_webhook_channel_passes_the_compliance_test() {
    assert_compliance(&Compliance {
        provider: PROVIDER,
        sandbox: SandboxConfig::default(),
        build: Box::new(|sandbox| Box::new(sandbox_channel(sandbox))),
        good: hook(1),
        expect_request: Box::new(|message, received| {
            assert_eq!(received.method, "POST");
            assert_eq!(received.path, DEMO_WEBHOOK_PATH);
            assert_eq!(received.status, 200);
            assert_eq!(
                received.header("idempotency-key"),
                Some(message.id.as_str())
            );
            let RenderedMessage::Webhook(webhook) = &message.content else {
                panic!("the good message is a webhook");
            };
            assert_eq!(received.body_json().as_ref(), Some(&webhook.body));
        }),
        // A webhook's recipient is its endpoint: the receiver answers a
        // dead path 410 Gone.
        dead: hook(2),
        dead_address: DEMO_WEBHOOK_PATH.into(),
        dead_outcome: DeadOutcome::Permanent,
        bad_payload: not_a_webhook(3),
        retry_after: true,
    })
    .await;
}

#[tokio::test]
async fn the_sandbox_receiver_refuses_a_bad_signature_or_a_stale_timestamp() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let mut config = sandbox.demo_webhook_config();
    config.secret = Secret::new("not-the-shared-secret");
    let wrong_key = WebhookChannel::new(config, ManualClock::at(unix_now()).clock()).unwrap();
    let stale = WebhookChannel::new(
        sandbox.demo_webhook_config(),
        ManualClock::at(unix_now() - 3600).clock(),
    )
    .unwrap();
    for channel in [wrong_key, stale] {
        let outcome = channel.send(&hook(1)).await;
        assert!(
            matches!(&outcome, Outcome::Permanent { reason } if reason.contains("401")),
            "{outcome:?}"
        );
    }
    let statuses: Vec<u16> = sandbox
        .record()
        .of(PROVIDER)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [401, 401], "every request is recorded");
    let good = sandbox_channel(&sandbox).send(&hook(2)).await;
    assert_eq!(good.kind(), "delivered", "{good:?}");
    let received = &sandbox.record().of(PROVIDER)[2];
    let timestamp: i64 = received
        .header("x-herald-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let signature = received.header("x-herald-signature").unwrap();
    assert!(verify(
        DEMO_WEBHOOK_SECRET.as_bytes(),
        timestamp,
        &received.body,
        signature,
        timestamp,
        300
    ));
}
