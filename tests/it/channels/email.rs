//! The email adapter against the SMTP sandbox over loopback: compliance,
//! the message parsed back (multipart, headers, escaping), SMTP details
//! (dot-stuffing, AUTH, STARTTLS) and the error classes.

use herald::channels::email::{EmailChannel, EmailTls};
use herald::channels::sandbox::smtp::PROVIDER;
use herald::channels::sandbox::{Failure, Sandbox, SandboxConfig, TlsIdentity};
use herald::channels::{Address, Channel, EmailMessage, OutboundMessage, Outcome, RenderedMessage};
use herald::render::{Renderer, TemplateLibrary};
use mail_parser::{MessageParser, MimeHeaders};

use super::compliance::{Compliance, DeadOutcome, assert_compliance};
use super::{ManualClock, message_id};
use crate::render::{sample_context, sample_variant};

/// Fri, 27 Nov 2026 08:00:00 GMT.
const NOW: i64 = 1_795_766_400;

/// A hand-written email with both unsubscribe links.
fn email() -> EmailMessage {
    EmailMessage {
        subject: "Weekend picks".into(),
        html: "<p>Hello</p>".into(),
        text: "Hello\n.starts with a dot\n..two dots".into(),
        unsubscribe_url: Some("https://t.example/u/abc".into()),
        unsubscribe_mailto: Some("mailto:unsub@herald.test?subject=u1".into()),
    }
}

fn email_to(n: u32, to: &str, content: EmailMessage) -> OutboundMessage {
    OutboundMessage {
        id: message_id(n),
        address: Address::Email(to.into()),
        content: RenderedMessage::Email(content),
    }
}

fn channel(sandbox: &Sandbox) -> EmailChannel {
    EmailChannel::new(sandbox.demo_email_config(4), ManualClock::at(NOW).clock())
        .expect("email channel")
}

async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

#[tokio::test]
async fn the_email_channel_passes_the_compliance_test() {
    assert_compliance(&Compliance {
        provider: PROVIDER,
        sandbox: SandboxConfig::default(),
        build: Box::new(|sandbox| Box::new(channel(sandbox))),
        good: email_to(1, "ana@example.com", email()),
        expect_request: Box::new(|_, received| {
            assert_eq!(received.address.as_deref(), Some("ana@example.com"));
            assert_eq!(received.header("mail-from"), Some("news@herald.test"));
            assert!(received.body_text().contains("Subject: Weekend picks"));
        }),
        dead: email_to(2, "gone@example.com", email()),
        dead_address: "gone@example.com".into(),
        dead_outcome: DeadOutcome::Permanent,
        bad_payload: email_to(3, "not an address", email()),
        retry_after: false,
    })
    .await;
}

#[tokio::test]
async fn a_rendered_email_parses_back_as_multipart_alternative_with_unsubscribe_headers() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let mut ctx = sample_context();
    ctx.user
        .attributes
        .insert("first_name".into(), "<script>alert(1)</script>".into());
    let renderer = Renderer::new(&sample_variant(), &TemplateLibrary::builtin()).unwrap();
    let content = renderer.email(&ctx).unwrap();
    let outcome = channel(&sandbox)
        .send(&email_to(7, "ana@example.com", content))
        .await;
    assert!(
        matches!(
            outcome,
            Outcome::Delivered {
                provider_id: Some(_)
            }
        ),
        "{outcome:?}"
    );

    let raw = sandbox.record().of(PROVIDER)[0].body.clone();
    let mail = MessageParser::default()
        .parse(&raw)
        .expect("RFC 5322 message");
    assert_eq!(
        mail.content_type().map(|c| c.subtype()),
        Some(Some("alternative"))
    );
    assert_eq!(
        mail.message_id(),
        Some("6f1c7a52-0d7e-4c1e-9a53-000000000007@herald.test")
    );
    assert_eq!(mail.date().map(|d| d.to_timestamp()), Some(NOW));
    // Raw header text, unfolded (RFC 5322 allows folding long values).
    let header = |name: &str| {
        mail.header_raw(name)
            .map(|v| v.replace("\r\n ", " ").trim().to_owned())
    };
    assert_eq!(
        header("List-Unsubscribe").as_deref(),
        Some("<https://t.example/u/abc>, <mailto:unsub@example.com?subject=u1>")
    );
    assert_eq!(
        header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(
        mail.subject(),
        Some("<script>alert(1)</script>: picks for weekend runners")
    );

    let html = mail.body_html(0).expect("an HTML part");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;, your picks"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    let text = mail.body_text(0).expect("a text part");
    assert!(
        text.contains("Trail Runner 2 (https://t.example/c/i9)"),
        "{text}"
    );
    assert!(
        text.contains("Unsubscribe: https://t.example/u/abc"),
        "{text}"
    );
}

#[tokio::test]
async fn lines_starting_with_a_dot_survive_dot_stuffing() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let outcome = channel(&sandbox)
        .send(&email_to(1, "ana@example.com", email()))
        .await;
    assert_eq!(outcome.kind(), "delivered");
    let raw = sandbox.record().of(PROVIDER)[0].body.clone();
    let mail = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        mail.body_text(0).unwrap().replace("\r\n", "\n"),
        "Hello\n.starts with a dot\n..two dots"
    );
}

#[tokio::test]
async fn smtp_4xx_is_retry_and_5xx_is_permanent() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let channel = channel(&sandbox);
    sandbox.faults().fail_next(1, Failure::Throttled);
    let outcome = channel.send(&email_to(1, "ana@example.com", email())).await;
    assert!(
        matches!(&outcome, Outcome::Retry { after: None, reason } if reason.contains("451")),
        "{outcome:?}"
    );
    sandbox.faults().fail_next(
        1,
        Failure::Custom {
            status: 554,
            reason: "5.7.1 Rejected by policy".into(),
        },
    );
    let outcome = channel.send(&email_to(2, "ana@example.com", email())).await;
    assert!(
        matches!(&outcome, Outcome::Permanent { reason } if reason.contains("554")),
        "{outcome:?}"
    );
    assert_eq!(
        channel
            .send(&email_to(3, "ana@example.com", email()))
            .await
            .kind(),
        "delivered"
    );
}

#[tokio::test]
async fn a_closed_relay_is_retry() {
    let sandbox = sandbox(SandboxConfig::default()).await;
    let config = sandbox.demo_email_config(1);
    sandbox.shutdown().await;
    let channel = EmailChannel::new(config, ManualClock::at(NOW).clock()).unwrap();
    let outcome = channel.send(&email_to(1, "ana@example.com", email())).await;
    assert_eq!(outcome.kind(), "retry", "{outcome:?}");
}

#[tokio::test]
async fn smtp_auth_uses_the_configured_credentials_and_a_refusal_is_a_credentials_failure() {
    let mut config = SandboxConfig::default();
    config.smtp.credentials = Some(("herald".into(), "s3cret".into()));
    let sandbox = sandbox(config).await;
    let mut email_config = sandbox.demo_email_config(1);
    email_config.user = Some("herald".into());
    email_config.password = Some(herald::config::Secret::new("s3cret"));
    let good = EmailChannel::new(email_config.clone(), ManualClock::at(NOW).clock()).unwrap();
    assert_eq!(
        good.send(&email_to(1, "ana@example.com", email()))
            .await
            .kind(),
        "delivered"
    );
    email_config.password = Some(herald::config::Secret::new("wrong"));
    let bad = EmailChannel::new(email_config, ManualClock::at(NOW).clock()).unwrap();
    let outcome = bad.send(&email_to(2, "ana@example.com", email())).await;
    assert!(
        matches!(&outcome, Outcome::Credentials { reason, fix }
            if reason.contains("535") && !reason.contains("wrong") && fix.starts_with("[email]")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn starttls_is_used_when_required() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = cert.cert.pem();
    let mut config = SandboxConfig::default();
    config.smtp.tls = Some(TlsIdentity {
        cert_pem: cert_pem.clone(),
        key_pem: cert.signing_key.serialize_pem(),
    });
    let sandbox = sandbox(config).await;
    let mut email_config = sandbox.demo_email_config(1);
    email_config.host = "localhost".into();
    email_config.tls = EmailTls::Required;
    email_config.root_certificates = vec![cert_pem.into_bytes()];
    let channel = EmailChannel::new(email_config, ManualClock::at(NOW).clock()).unwrap();
    let outcome = channel.send(&email_to(1, "ana@example.com", email())).await;
    assert_eq!(outcome.kind(), "delivered", "{outcome:?}");
    assert_eq!(sandbox.record().count(PROVIDER), 1);
}
