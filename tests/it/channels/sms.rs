//! The SMS adapter against the Twilio-compatible sandbox over loopback:
//! compliance, the form and auth on the wire, Twilio's error codes and
//! the delivery receipt.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use herald::channels::sandbox::sms::{DEMO_SMS_ACCOUNT_SID, DEMO_SMS_AUTH_TOKEN, PROVIDER};
use herald::channels::sandbox::{Failure, Received, Sandbox, SandboxConfig};
use herald::channels::sms::SmsChannel;
use herald::channels::{Address, Channel, OutboundMessage, Outcome, RenderedMessage, SmsMessage};

use super::compliance::{Compliance, DeadOutcome, assert_compliance};
use super::{ManualClock, message_id, unix_now};

fn sms_to(n: u32, to: &str, body: &str, callback: Option<String>) -> OutboundMessage {
    OutboundMessage {
        id: message_id(n),
        address: Address::Phone(to.into()),
        content: RenderedMessage::Sms(SmsMessage {
            body: body.into(),
            status_callback: callback,
        }),
    }
}

fn channel(sandbox: &Sandbox) -> SmsChannel {
    SmsChannel::new(
        sandbox.demo_sms_config(),
        ManualClock::at(unix_now()).clock(),
    )
    .expect("sms channel")
}

fn form(received: &Received) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&received.body)
        .into_owned()
        .collect()
}

#[tokio::test]
async fn the_sms_channel_passes_the_compliance_test() {
    assert_compliance(&Compliance {
        provider: PROVIDER,
        sandbox: SandboxConfig::default(),
        build: Box::new(|sandbox| Box::new(channel(sandbox))),
        good: sms_to(
            1,
            "+4915112345678",
            "Your picks: https://t.example/c/1",
            None,
        ),
        expect_request: Box::new(|_, received| {
            assert_eq!(received.address.as_deref(), Some("+4915112345678"));
            assert_eq!(
                received.path,
                format!("/2010-04-01/Accounts/{DEMO_SMS_ACCOUNT_SID}/Messages.json")
            );
        }),
        dead: sms_to(2, "+4915100000000", "hi", None),
        dead_address: "+4915100000000".into(),
        dead_outcome: DeadOutcome::Permanent,
        bad_payload: sms_to(3, "+4915112345678", "", None),
        retry_after: true,
    })
    .await;
}

#[tokio::test]
async fn the_request_is_a_basic_auth_form_post_and_the_sid_comes_back() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let outcome = channel(&sandbox)
        .send(&sms_to(
            1,
            "+14155550123",
            "Hi Ana & co: 50% off",
            Some("http://127.0.0.1:9/receipts".into()),
        ))
        .await;
    let Outcome::Delivered {
        provider_id: Some(sid),
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert!(
        sid.starts_with("SM") && sid.len() == 34 && sid[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{sid}"
    );
    let received = &sandbox.record().of(PROVIDER)[0];
    let expected = [
        ("To", "+14155550123"),
        ("From", "+15550001111"),
        ("Body", "Hi Ana & co: 50% off"),
        ("StatusCallback", "http://127.0.0.1:9/receipts"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(form(received), expected);
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{DEMO_SMS_ACCOUNT_SID}:{DEMO_SMS_AUTH_TOKEN}"));
    assert_eq!(
        received.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        received.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn invalid_numbers_are_permanent_without_or_with_a_request() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let channel = channel(&sandbox);
    let local = channel
        .send(&sms_to(1, "004915112345678", "hi", None))
        .await;
    assert!(
        matches!(&local, Outcome::Permanent { reason } if reason.starts_with("invalid number")),
        "{local:?}"
    );
    assert_eq!(
        sandbox.record().count(PROVIDER),
        0,
        "an invalid number is never sent"
    );
    sandbox.faults().kill("+4915100000000");
    let remote = channel.send(&sms_to(2, "+4915100000000", "hi", None)).await;
    assert!(
        matches!(&remote, Outcome::Permanent { reason } if reason.contains("21211")),
        "{remote:?}"
    );
}

#[tokio::test]
async fn throttling_and_wrong_credentials_are_classified() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    sandbox
        .faults()
        .set_retry_after(Some(Duration::from_secs(9)));
    sandbox.faults().fail_next(1, Failure::Throttled);
    let outcome = channel(&sandbox)
        .send(&sms_to(1, "+14155550123", "hi", None))
        .await;
    assert!(
        matches!(outcome, Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(9)),
        "{outcome:?}"
    );
    let mut config = sandbox.demo_sms_config();
    config.auth_token = herald::config::Secret::new("wrong-token");
    let wrong = SmsChannel::new(config, ManualClock::at(unix_now()).clock()).unwrap();
    let outcome = wrong.send(&sms_to(2, "+14155550123", "hi", None)).await;
    assert!(
        matches!(&outcome, Outcome::Credentials { reason, fix }
            if reason.contains("20003") && !reason.contains("wrong-token")
                && fix == "[sms] account_sid and auth_token_file"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_loopback_status_callback_receives_the_delivered_receipt() {
    let receipts: Arc<Mutex<Vec<String>>> = Arc::default();
    let store = receipts.clone();
    let app = Router::new().route(
        "/receipts",
        post(move |body: String| async move {
            store.lock().unwrap().push(body);
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/receipts", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let outcome = channel(&sandbox)
        .send(&sms_to(1, "+14155550123", "hi", Some(url)))
        .await;
    let Outcome::Delivered {
        provider_id: Some(sid),
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    for _ in 0..100 {
        if !receipts.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let receipt = receipts
        .lock()
        .unwrap()
        .first()
        .cloned()
        .expect("a receipt");
    assert!(
        receipt.contains(&format!("MessageSid={sid}"))
            && receipt.contains("MessageStatus=delivered"),
        "{receipt}"
    );
}
