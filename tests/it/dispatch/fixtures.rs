//! Fixtures for the dispatch tests: seeded users and devices, a run with
//! outbox rows built from rendered messages, workers on the sandbox
//! adapters, and reads of what was recorded.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use herald::channels::apns::ApnsChannel;
use herald::channels::clock::Clock;
use herald::channels::email::EmailChannel;
use herald::channels::fcm::FcmChannel;
use herald::channels::sandbox::{Sandbox, SandboxConfig};
use herald::channels::sms::SmsChannel;
use herald::channels::{Address, EmailMessage, PushMessage, RenderedMessage, SmsMessage};
use herald::config::{self, DispatchSettings};
use herald::dispatch::{ChannelSet, DrainReport, Worker};
use herald::domain::{DeviceRecord, DeviceToken, Platform, UserId, UserRecord};
use herald::store::{NewCampaign, NewOutbox, NewRun, PlanRow, UserColumns};
use sea_orm::{ConnectionTrait, Database, Statement};
use tokio::sync::watch;

use crate::helpers::{TestDb, apns_token};

/// Now (ms), from the wall clock: the sandbox adapters read it too.
pub fn wall() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Dispatch settings for tests: short backoff, roomy lease.
pub fn settings() -> DispatchSettings {
    DispatchSettings {
        max_attempts: nz(6),
        backoff_base: config::Duration::from_millis(10),
        backoff_max: config::Duration::from_millis(50),
        batch_size: nz(64),
        lease: config::Duration::from_secs(30),
        ..DispatchSettings::default()
    }
}

/// A non-zero constant.
pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).expect("non-zero")
}

/// A started sandbox.
pub async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox starts on loopback")
}

/// Every adapter but the webhook, pointed at `sandbox`.
pub fn channels(sandbox: &Sandbox) -> ChannelSet {
    let apns = ApnsChannel::new(sandbox.demo_apns_config()).expect("apns adapter");
    let fcm = FcmChannel::new(sandbox.demo_fcm_config()).expect("fcm adapter");
    let email =
        EmailChannel::new(sandbox.demo_email_config(4), Clock::system()).expect("email adapter");
    let sms = SmsChannel::new(sandbox.demo_sms_config(), Clock::system()).expect("sms adapter");
    ChannelSet::empty()
        .with_apns(Arc::new(apns))
        .with_fcm(Arc::new(fcm))
        .with_email(Arc::new(email))
        .with_sms(Arc::new(sms))
}

/// A worker on `db` with the sandbox adapters.
pub fn worker(db: &TestDb, sandbox: &Sandbox, settings: DispatchSettings, owner: &str) -> Worker {
    Worker::new(db.store.clone(), channels(sandbox), settings, owner)
}

/// Drains a run to the end with a shutdown flag nobody raises.
pub async fn drain(worker: &Worker, run_id: i64) -> DrainReport {
    let (_tx, rx) = watch::channel(false);
    worker.drain(Some(run_id), rx).await.expect("drain")
}

/// A UUID-shaped dedup key, distinct per `n`.
pub fn key(n: u32) -> String {
    format!("6f1c7a52-0d7e-4c1e-9a53-{n:012x}")
}

/// An FCM registration token, distinct per `n`.
pub fn fcm_token(n: u32) -> String {
    format!("d{n:07}:APA91b{}", "Xy-_9".repeat(12))
}

/// Seeds users and their devices `(user, platform, token)`; returns the
/// device ids by token.
pub async fn seed(
    db: &TestDb,
    users: &[&str],
    devices: &[(&str, Platform, String)],
) -> HashMap<String, i64> {
    let records: Vec<_> = users.iter().map(|id| user(id)).collect();
    let devices: Vec<_> = devices
        .iter()
        .enumerate()
        .map(|(i, (id, platform, token))| DeviceRecord {
            user_id: UserId::parse(id).expect("user id"),
            platform: *platform,
            token: DeviceToken::parse(*platform, token).expect("token"),
            app_id: "com.example.shop".to_owned(),
            created_at: Some(1_700_000_000_000 + i as i64),
        })
        .collect();
    let columns = UserColumns {
        typed: vec![],
        attributes: false,
    };
    let txn = db.store.begin_import().await.expect("begin import");
    txn.upsert_users(&records, &columns, wall())
        .await
        .expect("users");
    txn.upsert_devices(&devices, wall()).await.expect("devices");
    txn.commit().await.expect("commit import");
    let ids: Vec<String> = users.iter().map(|u| u.to_string()).collect();
    let active = db.store.active_devices(&ids).await.expect("devices");
    active
        .into_values()
        .flatten()
        .map(|d| (d.token, d.device_id))
        .collect()
}

fn user(id: &str) -> UserRecord {
    UserRecord {
        user_id: UserId::parse(id).expect("user id"),
        email: None,
        phone: None,
        timezone: None,
        locale: None,
        country: None,
        city: None,
        age: None,
        gender: None,
        signup_at: None,
        consents: Vec::new(),
        attributes: serde_json::Map::new(),
    }
}

/// A scheduled campaign with one open run; returns the run id.
pub async fn open_run(db: &TestDb) -> i64 {
    let now = wall();
    let campaign = NewCampaign {
        name: "dispatch".to_owned(),
        spec: r#"{"format":"json","text":"{}"}"#.to_owned(),
        status: "scheduled".to_owned(),
        variants: vec![("A".to_owned(), 1.0, "{}".to_owned())],
        now,
    };
    let campaign_id = db.store.insert_campaign(&campaign).await.expect("campaign");
    let run = NewRun {
        campaign_id,
        occurrence: "manual-1".to_owned(),
        status: "planning".to_owned(),
        seed: 1,
        segment_model_id: None,
        rank_model_id: None,
        scheduled_for: now,
        now,
    };
    db.store.open_run(&run).await.expect("run").0.run_id
}

/// One message to enqueue.
pub struct Msg {
    /// The user.
    pub user: String,
    /// The device, for push.
    pub device_id: Option<i64>,
    /// Where it goes.
    pub address: Address,
    /// What it says.
    pub content: RenderedMessage,
}

impl Msg {
    /// A push to a device.
    pub fn push(user: &str, device_id: i64, platform: Platform, token: &str) -> Self {
        let address = Address::Device {
            platform,
            token: token.to_owned(),
        };
        let content = RenderedMessage::Push(PushMessage {
            title: format!("Hello {user}"),
            body: "Your picks are in".to_owned(),
            ..PushMessage::default()
        });
        Self {
            user: user.to_owned(),
            device_id: Some(device_id),
            address,
            content,
        }
    }

    /// An email.
    pub fn email(user: &str, to: &str) -> Self {
        Self {
            user: user.to_owned(),
            device_id: None,
            address: Address::Email(to.to_owned()),
            content: email_content(),
        }
    }

    /// An SMS.
    pub fn sms(user: &str, to: &str) -> Self {
        let content = RenderedMessage::Sms(SmsMessage {
            body: "Your picks are in".to_owned(),
            status_callback: None,
        });
        Self {
            user: user.to_owned(),
            device_id: None,
            address: Address::Phone(to.to_owned()),
            content,
        }
    }

    /// The campaign channel of the message.
    fn channel(&self) -> &'static str {
        match self.content {
            RenderedMessage::Push(_) => "push",
            RenderedMessage::Email(_) => "email",
            RenderedMessage::Sms(_) => "sms",
            RenderedMessage::Webhook(_) => "webhook",
        }
    }
}

/// The email every email row carries.
pub fn email_content() -> RenderedMessage {
    RenderedMessage::Email(EmailMessage {
        subject: "Your weekend picks".to_owned(),
        html: "<p>Hello</p>".to_owned(),
        text: "Hello".to_owned(),
        unsubscribe_url: None,
        unsubscribe_mailto: None,
    })
}

/// The outbox row for message `n`, due now.
pub fn outbox_row(run_id: i64, n: u32, msg: &Msg) -> NewOutbox {
    NewOutbox {
        run_id,
        user_id: msg.user.clone(),
        channel: msg.channel().to_owned(),
        device_id: msg.device_id,
        address: serde_json::to_string(&msg.address).expect("address json"),
        variant: "A".to_owned(),
        payload: serde_json::to_string(&msg.content).expect("payload json"),
        dedup_key: key(n),
        next_attempt_at: wall() - 1_000,
        now: wall(),
    }
}

/// Enqueues messages 1..=n of a run as one plan page.
pub async fn enqueue(db: &TestDb, run_id: i64, msgs: &[Msg]) {
    let rows: Vec<_> = (1..)
        .zip(msgs)
        .map(|(n, m)| outbox_row(run_id, n, m))
        .collect();
    let plan: Vec<_> = msgs.iter().map(plan).collect();
    db.store
        .write_plan_page(run_id, &plan, &rows, &[])
        .await
        .expect("write plan page");
}

fn plan(msg: &Msg) -> PlanRow {
    PlanRow {
        user_id: msg.user.clone(),
        variant: Some("A".to_owned()),
        channel: Some(msg.channel().to_owned()),
        decision: "send".to_owned(),
        reason: None,
        payload_hash: None,
        not_before: None,
    }
}

/// One `delivery_attempts` row.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    /// The outbox row.
    pub outbox_id: i64,
    /// `delivered`, `retry`, `permanent`, `token_gone`.
    pub outcome: String,
    /// Reason or error.
    pub detail: Option<String>,
    /// Retry-After asked for (ms).
    pub retry_after_ms: Option<i64>,
    /// Start (ms).
    pub started_at: i64,
    /// End (ms).
    pub finished_at: i64,
}

/// Every attempt recorded, in order.
pub async fn attempts(db: &TestDb) -> Vec<AttemptRow> {
    let conn = Database::connect(&db.url).await.expect("connect");
    let sql = "SELECT outbox_id, outcome, detail, retry_after_ms, started_at, finished_at \
               FROM delivery_attempts ORDER BY attempt_id";
    let stmt = Statement::from_string(conn.get_database_backend(), sql.to_owned());
    let rows = conn.query_all_raw(stmt).await.expect("read attempts");
    let read = |r: &sea_orm::QueryResult| AttemptRow {
        outbox_id: r.try_get("", "outbox_id").expect("outbox_id"),
        outcome: r.try_get("", "outcome").expect("outcome"),
        detail: r.try_get("", "detail").expect("detail"),
        retry_after_ms: r.try_get("", "retry_after_ms").expect("retry_after_ms"),
        started_at: r.try_get("", "started_at").expect("started_at"),
        finished_at: r.try_get("", "finished_at").expect("finished_at"),
    };
    let out = rows.iter().map(read).collect();
    conn.close().await.ok();
    out
}

/// A run's outbox counts as a map.
pub async fn counts(db: &TestDb, run_id: i64) -> HashMap<String, i64> {
    db.store
        .outbox_counts(run_id)
        .await
        .expect("counts")
        .into_iter()
        .collect()
}

/// Seeds `n` users with one iOS device each and enqueues a push to each.
pub async fn pushes(db: &TestDb, n: u8) -> i64 {
    let users: Vec<String> = (0..n).map(|i| format!("u{i:02}")).collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    let devices: Vec<_> = (0..n)
        .map(|i| (users[usize::from(i)], Platform::Ios, apns_token(0x40 + i)))
        .collect();
    let ids = seed(db, &users, &devices).await;
    let run_id = open_run(db).await;
    let msgs: Vec<_> = devices
        .iter()
        .map(|(u, p, t)| Msg::push(u, ids[t], *p, t))
        .collect();
    enqueue(db, run_id, &msgs).await;
    run_id
}

/// The sandbox APNs adapter.
pub fn apns(sandbox: &Sandbox) -> Arc<dyn herald::channels::Channel> {
    Arc::new(ApnsChannel::new(sandbox.demo_apns_config()).expect("apns adapter"))
}

/// The sandbox SMS adapter.
pub fn sms(sandbox: &Sandbox) -> Arc<dyn herald::channels::Channel> {
    Arc::new(SmsChannel::new(sandbox.demo_sms_config(), Clock::system()).expect("sms adapter"))
}

/// Waits (polling every 10 ms, at most 20 s) until `done` resolves true.
pub async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if done().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("gave up waiting until {what}");
}

/// Seeds users `p1..=pn` and enqueues an SMS to `+4915100000<i>` for each.
pub async fn texts(db: &TestDb, n: u32) -> (i64, Vec<String>) {
    let users: Vec<String> = (1..=n).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    seed(db, &refs, &[]).await;
    let run_id = open_run(db).await;
    let phones: Vec<String> = (1..=n).map(|i| format!("+49151000000{i:02}")).collect();
    let msgs: Vec<_> = refs
        .iter()
        .zip(&phones)
        .map(|(u, p)| Msg::sms(u, p))
        .collect();
    enqueue(db, run_id, &msgs).await;
    (run_id, phones)
}
