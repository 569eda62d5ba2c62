//! Channel adapters against the sandbox providers: real HTTP/2 (and SMTP)
//! on 127.0.0.1 port 0, no mocks. `compliance` is the shared test every
//! adapter passes; the adapter files add their provider's error classes,
//! token handling and payload snapshots. This module holds the fixtures
//! they share: a fixed push message, addresses, a clock tests can move and
//! an APNs signing key made at test time.

mod apns;
mod apns_auth;
mod compliance;
mod email;
mod fcm;
mod sms;
mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use herald::channels::clock::Clock;
use herald::channels::{Address, OutboundMessage, PushMessage, PushPriority, RenderedMessage};
use herald::domain::Platform;

/// The push message every snapshot is taken of.
pub fn push_message() -> PushMessage {
    let data = [("campaign_id", "c-7"), ("run_id", "r-3"), ("variant", "A")];
    PushMessage {
        title: "Ada, the Linen Shirt is back".into(),
        body: "From €39.00 — only in your size".into(),
        badge: Some(3),
        sound: Some("default".into()),
        category: Some("SHOW_ITEM".into()),
        thread_id: Some("weekend-picks".into()),
        mutable_content: true,
        deep_link: Some("https://shop.example/t/c/abc?u=1".into()),
        image_url: Some("https://cdn.example/i/42.jpg".into()),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        collapse_id: Some("weekend-picks".into()),
        expiration: Some(1_790_000_000),
        priority: PushPriority::High,
    }
}

/// A UUID-shaped message id, distinct per `n`.
pub fn message_id(n: u32) -> String {
    format!("6f1c7a52-0d7e-4c1e-9a53-{n:012x}")
}

/// A 64-hex APNs device token, distinct per `n`.
pub fn apns_token(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

/// An FCM registration token, distinct per `n`.
pub fn fcm_token(n: u32) -> String {
    format!("d{n:07}:APA91b{}", "Xy-_9".repeat(12))
}

/// A push to a device.
pub fn push_to(n: u32, platform: Platform, token: &str, push: PushMessage) -> OutboundMessage {
    OutboundMessage {
        id: message_id(n),
        address: Address::Device {
            platform,
            token: token.to_owned(),
        },
        content: RenderedMessage::Push(push),
    }
}

/// A clock the test sets and moves by hand.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock reading `unix_seconds`.
    pub fn at(unix_seconds: i64) -> Self {
        Self(Arc::new(AtomicI64::new(unix_seconds)))
    }

    /// The clock to hand an adapter.
    pub fn clock(&self) -> Clock {
        let now = self.0.clone();
        Clock::from_fn(move || now.load(Ordering::SeqCst))
    }

    /// Moves the clock by `seconds` (negative moves it back).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

/// Now, Unix seconds, from the system clock.
pub fn unix_now() -> i64 {
    Clock::system().now()
}

/// An ES256 key pair made for one test.
pub struct ApnsKey {
    /// PKCS#8 PEM, the shape of Apple's `.p8`.
    pub private_pem: String,
    /// SPKI PEM, for the sandbox.
    pub public_pem: String,
}

/// A fresh P-256 key pair.
pub fn apns_key() -> ApnsKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key");
    ApnsKey {
        private_pem: pair.serialize_pem(),
        public_pem: pair.public_key_pem(),
    }
}
