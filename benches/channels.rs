//! Throughput of the push and email adapters against the sandbox providers over
//! loopback: messages per second from `ApnsChannel` (HTTP/2 streams over
//! one connection) and `FcmChannel` (the same, plus one cached OAuth token)
//! and `EmailChannel` (a pool of SMTP connections, one per send in flight)
//! with a fixed number of sends in flight. Client and sandbox share the
//! machine's cores, so the figure is end-to-end for one box.
//!
//! ```sh
//! cargo bench --bench channels                       # 20000 messages, 256 in flight, APNs and FCM
//! cargo bench --bench channels -- --messages 50000 --in-flight 512 --only apns
//! cargo bench --bench channels -- --in-flight 64 --only email
//! ```
//!
//! A plain binary (`harness = false`), not criterion: one long timed run
//! per adapter says more about a pipelined HTTP/2 client than many short
//! samples would.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use herald::channels::apns::ApnsChannel;
use herald::channels::clock::Clock;
use herald::channels::email::EmailChannel;
use herald::channels::fcm::FcmChannel;
use herald::channels::sandbox::{Sandbox, SandboxConfig};
use herald::channels::{
    Address, Channel, EmailMessage, OutboundMessage, PushMessage, PushPriority, RenderedMessage,
};
use herald::domain::Platform;

/// What to run.
struct Args {
    /// Messages per adapter.
    messages: usize,
    /// Concurrent sends.
    in_flight: usize,
    /// `apns`, `fcm`, `email`, or all when `None`.
    only: Option<String>,
}

/// The result of one run.
struct Report {
    /// Wall time.
    elapsed: Duration,
    /// Sends that came back `Delivered`.
    delivered: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args();
    let config = SandboxConfig {
        record_limit: 0,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await?;
    if args.only.as_deref().is_none_or(|o| o == "apns") {
        let channel = Arc::new(ApnsChannel::new(sandbox.demo_apns_config())?);
        let messages = messages(args.messages, Platform::Ios);
        bench("apns", channel, messages, &args, &sandbox).await;
    }
    if args.only.as_deref().is_none_or(|o| o == "fcm") {
        let channel = Arc::new(FcmChannel::new(sandbox.demo_fcm_config())?);
        let messages = messages(args.messages, Platform::Android);
        bench("fcm", channel, messages, &args, &sandbox).await;
    }
    if args.only.as_deref().is_none_or(|o| o == "email") {
        // one pooled SMTP connection per send in flight, at most 64
        let pool = args.in_flight.clamp(1, 64);
        let config = sandbox.demo_email_config(pool as u32);
        let channel = Arc::new(EmailChannel::new(config, Clock::system())?);
        let emails = Args {
            messages: args.messages.min(5_000),
            in_flight: pool,
            only: None,
        };
        bench(
            "smtp",
            channel,
            emails_to(emails.messages),
            &emails,
            &sandbox,
        )
        .await;
    }
    sandbox.shutdown().await;
    Ok(())
}

/// `count` emails of a typical campaign size to distinct addresses.
fn emails_to(count: usize) -> Vec<OutboundMessage> {
    let html = format!(
        "<table><tr><td style=\"font-family:sans-serif\">{}</td></tr></table>",
        "Picked for you. ".repeat(60)
    );
    (0..count)
        .map(|i| OutboundMessage {
            id: format!("6f1c7a52-0d7e-4c1e-9a53-{i:012x}"),
            address: Address::Email(format!("user{i}@example.com")),
            content: RenderedMessage::Email(EmailMessage {
                subject: "Weekend picks".into(),
                html: html.clone(),
                text: "Picked for you.".repeat(60),
                unsubscribe_url: Some(format!("https://shop.example/u/{i}")),
                unsubscribe_mailto: None,
            }),
        })
        .collect()
}

/// Reads `--messages N`, `--in-flight K` and `--only NAME`, ignoring the
/// flags cargo adds (`--bench`).
fn parse_args() -> Args {
    let mut args = Args {
        messages: 20_000,
        in_flight: 256,
        only: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        match word.as_str() {
            "--messages" => args.messages = number(words.next(), args.messages),
            "--in-flight" => args.in_flight = number(words.next(), args.in_flight).max(1),
            "--only" => args.only = words.next(),
            _ => {}
        }
    }
    args
}

/// A number argument, or the default when missing or malformed.
fn number(word: Option<String>, default: usize) -> usize {
    word.and_then(|w| w.parse().ok()).unwrap_or(default)
}

/// Warms the connection and token up, runs, and prints the figure.
async fn bench(
    name: &str,
    channel: Arc<dyn Channel>,
    messages: Vec<OutboundMessage>,
    args: &Args,
    sandbox: &Sandbox,
) {
    if let Some(first) = messages.first() {
        let warm = channel.send(first).await;
        assert_eq!(warm.kind(), "delivered", "{name} warm-up: {warm:?}");
    }
    let report = run(channel, Arc::new(messages), args.in_flight).await;
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "{name}: {} delivered of {} in {seconds:.2} s with {} in flight over {} connection(s): {:.0} messages/s",
        report.delivered,
        args.messages,
        args.in_flight,
        sandbox.record().connections(name),
        report.delivered as f64 / seconds,
    );
}

/// Sends every message with `in_flight` workers pulling from one queue.
async fn run(
    channel: Arc<dyn Channel>,
    messages: Arc<Vec<OutboundMessage>>,
    in_flight: usize,
) -> Report {
    let next = Arc::new(AtomicUsize::new(0));
    let delivered = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..in_flight {
        let (channel, messages) = (channel.clone(), messages.clone());
        let (next, delivered) = (next.clone(), delivered.clone());
        workers.spawn(async move {
            while let Some(message) = messages.get(next.fetch_add(1, Ordering::Relaxed)) {
                if channel.send(message).await.kind() == "delivered" {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    Report {
        elapsed: started.elapsed(),
        delivered: delivered.load(Ordering::Relaxed),
    }
}

/// `count` pushes to distinct devices of `platform`.
fn messages(count: usize, platform: Platform) -> Vec<OutboundMessage> {
    (0..count)
        .map(|i| OutboundMessage {
            id: format!("6f1c7a52-0d7e-4c1e-9a53-{i:012x}"),
            address: Address::Device {
                platform,
                token: match platform {
                    Platform::Ios => format!("{i:064x}"),
                    _ => format!("bench{i:08}:APA91b{}", "x".repeat(40)),
                },
            },
            content: RenderedMessage::Push(push(i)),
        })
        .collect()
}

/// A typical campaign push.
fn push(i: usize) -> PushMessage {
    let mut message = PushMessage {
        title: "Ada, the Linen Shirt is back".into(),
        body: "From €39.00 — only in your size".into(),
        badge: Some(1),
        sound: Some("default".into()),
        deep_link: Some(format!("https://shop.example/t/c/{i}")),
        priority: PushPriority::High,
        ..PushMessage::default()
    };
    message.data.insert("campaign_id".into(), "c-1".into());
    message.data.insert("user_id".into(), format!("u{i}"));
    message
}
