//! The tracking side of the feedback loop over real HTTP on every
//! backend: the router on 127.0.0.1:0 with a real store, requests from
//! reqwest (redirects not followed). Signed clicks redirect and are all
//! recorded; tampered, forged and misrouted links get an error page and
//! record nothing; the open pixel; SMS receipts (posted by hand and by the
//! sandbox provider). `unsubscribe` covers the page, one-click and the
//! next run; `planner` the links inside planned messages.

mod planner;
mod unsubscribe;

use crate::campaign::fixtures::{NOW, import_users, users};
use crate::helpers::{TestDb, test_dbs};
use herald::api::{AppState, serve_http};
use herald::channels::clock::Clock;
use herald::channels::sandbox::{Sandbox, SandboxConfig};
use herald::channels::sms::SmsChannel;
use herald::channels::{Address, Channel as _, OutboundMessage, RenderedMessage, SmsMessage};
use herald::config::Settings;
use herald::domain::Channel;
use herald::feedback::{LinkKey, LinkKind, LinkToken};
use std::sync::Arc;
use tokio::sync::watch;

/// The default public base URL, which the planner's links start with.
pub const DEFAULT_BASE: &str = "http://127.0.0.1:8080";

/// The HTTP server of one test.
pub struct App {
    /// `http://127.0.0.1:PORT`, also its `server.public_url`.
    pub base: String,
    /// The state it serves (store, settings, link key).
    pub state: AppState,
    /// Turns true to stop it.
    stop: watch::Sender<bool>,
    /// The server task.
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl App {
    /// Serves `db` on a free loopback port.
    pub async fn start(db: &TestDb) -> App {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut settings = Settings::default();
        settings.server.public_url = base.parse().unwrap();
        let state = AppState::new(db.store.clone(), Arc::new(settings), NOW)
            .await
            .unwrap();
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(serve_http(state.clone(), listener, rx));
        App {
            base,
            state,
            stop,
            task,
        }
    }

    /// The signed URL of `token` on this server.
    pub fn url(&self, token: &LinkToken) -> String {
        self.state.links.url(token)
    }

    /// A planner-made link (under the default public URL) on this server.
    pub fn local(&self, url: &str) -> String {
        let path = url
            .strip_prefix(DEFAULT_BASE)
            .unwrap_or_else(|| panic!("{url} is under {DEFAULT_BASE}"));
        format!("{}{path}", self.base)
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

/// A client that does not follow redirects.
pub fn http() -> reqwest::Client {
    herald::channels::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A token for user `u000` of run 1, variant A, on `channel`.
pub fn token(kind: LinkKind, channel: Channel) -> LinkToken {
    LinkToken {
        kind,
        run_id: 1,
        user_id: "u000".into(),
        variant: "A".into(),
        channel,
        item_id: (kind == LinkKind::Click).then(|| "i1".to_owned()),
        destination: (kind == LinkKind::Click).then(|| "https://shop.example/p/i1?c=1".into()),
    }
}

/// A fresh database with three fixture users, and its server.
async fn app_with_users(db: &TestDb, dir: &std::path::Path) -> App {
    import_users(db, dir, &users(3)).await;
    App::start(db).await
}

#[tokio::test]
async fn a_signed_click_redirects_to_its_destination_and_every_click_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let app = app_with_users(&db, dir.path()).await;
        let url = app.url(&token(LinkKind::Click, Channel::Push));
        for n in 1..=3 {
            let response = http().get(&url).send().await.unwrap();
            assert_eq!(response.status(), 302, "{}", db.name());
            let headers = response.headers();
            assert_eq!(headers["location"], "https://shop.example/p/i1?c=1");
            assert_eq!(headers["cache-control"], "no-store");
            assert_eq!(db.store.feedback_count("click").await.unwrap(), n);
        }
        let head = http().head(&url).send().await.unwrap();
        assert_eq!(head.status(), 302, "a HEAD is answered");
        let rows = db.store.feedback_events(Some(1)).await.unwrap();
        assert_eq!(rows.len(), 3, "{}: a HEAD records nothing", db.name());
        let row = &rows[0];
        assert_eq!(
            (row.kind.as_str(), row.run_id, row.user_id.as_str()),
            ("click", Some(1), "u000")
        );
        assert_eq!(row.variant.as_deref(), Some("A"));
        assert_eq!(row.item_id.as_deref(), Some("i1"));
        assert_eq!(row.channel.as_deref(), Some("push"));
        assert_eq!((row.source.as_str(), row.outbox_id), ("link", None));
        app.stop().await;
    }
}

#[tokio::test]
async fn tampered_forged_and_misrouted_links_get_an_error_page_and_record_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let app = app_with_users(&db, dir.path()).await;
        let click = app.url(&token(LinkKind::Click, Channel::Email));
        let (base, text) = click.rsplit_once('/').unwrap();
        let mut tampered = text.to_owned().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'x' { b'y' } else { b'x' };
        let tampered = format!("{base}/{}", String::from_utf8(tampered).unwrap());
        let forged = LinkKey::new(b"an attacker's guess at the key!!")
            .sign(&token(LinkKind::Click, Channel::Email));
        let open = app.url(&token(LinkKind::Open, Channel::Email));
        let open_text = open.rsplit_once('/').unwrap().1;
        let unsubscribe = app.url(&token(LinkKind::Unsubscribe, Channel::Email));
        let unsubscribe_text = unsubscribe.rsplit_once('/').unwrap().1;
        let bad = [
            tampered,
            format!("{}/t/c/{forged}", app.base),
            format!("{}/t/c/{open_text}", app.base),
            format!("{}/t/o/{forged}", app.base),
            format!("{}/u/{open_text}", app.base),
            format!("{}/t/c/{}", app.base, &text[..text.len() - 3]),
            format!("{}/t/c/not-a-token", app.base),
        ];
        for url in &bad {
            let response = http().get(url).send().await.unwrap();
            assert_eq!(response.status(), 404, "{}: {url}", db.name());
            assert!(response.headers().get("location").is_none());
            let body = response.text().await.unwrap();
            assert!(body.contains("This link is not valid"), "{body}");
            assert!(
                !body.contains("signature") && !body.contains("Forged"),
                "{body}"
            );
        }
        let post = http()
            .post(format!("{}/u/{forged}", app.base))
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(post.status(), 404);
        let receipt = http()
            .post(format!("{}/t/r/{unsubscribe_text}", app.base))
            .form(&[("MessageStatus", "delivered")])
            .send()
            .await
            .unwrap();
        assert_eq!(receipt.status(), 404, "an unsubscribe token is no receipt");
        assert!(db.store.feedback_events(None).await.unwrap().is_empty());
        let consent = db.store.consent("u000", "email").await.unwrap().unwrap();
        assert!(consent.granted, "{}: consent untouched", db.name());
        app.stop().await;
    }
}

#[tokio::test]
async fn the_open_pixel_is_an_uncached_gif_and_records_an_open() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let app = app_with_users(&db, dir.path()).await;
        let url = app.url(&token(LinkKind::Open, Channel::Email));
        let response = http().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", db.name());
        assert_eq!(response.headers()["content-type"], "image/gif");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body = response.bytes().await.unwrap();
        assert!(body.starts_with(b"GIF89a") && body.ends_with(b";"));
        assert_eq!(u16::from_le_bytes([body[6], body[7]]), 1, "1 px wide");
        let rows = db.store.feedback_events(None).await.unwrap();
        assert_eq!(rows.len(), 1, "{}", db.name());
        assert_eq!(
            (
                rows[0].kind.as_str(),
                rows[0].channel.as_deref(),
                rows[0].item_id.as_deref()
            ),
            ("open", Some("email"), None)
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn sms_status_callbacks_record_delivered_and_failed_and_ignore_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let app = app_with_users(&db, dir.path()).await;
        let url = app.url(&token(LinkKind::Receipt, Channel::Sms));
        let statuses = [
            ("sent", None),
            ("delivered", None),
            ("undelivered", Some("30005")),
        ];
        for (status, code) in statuses {
            let mut form = vec![("MessageSid", "SM1"), ("MessageStatus", status)];
            form.extend(code.map(|c| ("ErrorCode", c)));
            let response = http().post(&url).form(&form).send().await.unwrap();
            assert_eq!(response.status(), 204, "{}: {status}", db.name());
        }
        let rows = db.store.feedback_events(None).await.unwrap();
        let kinds: Vec<(&str, Option<f64>)> =
            rows.iter().map(|r| (r.kind.as_str(), r.value)).collect();
        assert_eq!(kinds, [("delivered", None), ("failed", Some(30005.0))]);
        assert!(rows.iter().all(|r| r.source == "sms_receipt"));
        let empty = http().post(&url).send().await.unwrap();
        assert_eq!(empty.status(), 400, "a receipt without a status");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_sms_sandbox_posts_its_delivery_receipt_to_the_signed_callback() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::sqlite().await;
    let app = app_with_users(&db, dir.path()).await;
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let sms = SmsChannel::new(sandbox.demo_sms_config(), Clock::system()).unwrap();
    let message = OutboundMessage {
        id: "6f1c7a52-0d7e-4c1e-9a53-000000000001".into(),
        address: Address::Phone("+4915112345678".into()),
        content: RenderedMessage::Sms(SmsMessage {
            body: "Your picks".into(),
            status_callback: Some(app.url(&token(LinkKind::Receipt, Channel::Sms))),
        }),
    };
    sms.send(&message).await;
    let mut delivered = 0;
    for _ in 0..200 {
        delivered = db.store.feedback_count("delivered").await.unwrap();
        if delivered > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, 1, "the sandbox's receipt was recorded");
    sandbox.shutdown().await;
    app.stop().await;
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let response = http()
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", db.name());
        let other = http()
            .get(format!("{}/nope", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404);
        app.stop().await;
    }
}
