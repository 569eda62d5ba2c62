//! The webhook adapter against a local receiver over loopback: the
//! signature verifies, the idempotency key is the message id, and each
//! status class is classified.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use herald::channels::webhook::{WebhookChannel, WebhookConfig, verify};
use herald::channels::{
    Address, Channel, OutboundMessage, Outcome, RenderedMessage, WebhookMessage,
};
use herald::config::Secret;

use super::{ManualClock, message_id};

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
