//! An SMTP server on tokio that accepts what a relay accepts and records
//! every message: EHLO/HELO, AUTH PLAIN, MAIL FROM, RCPT TO, DATA (with
//! dot-unstuffing), RSET, NOOP, QUIT, and STARTTLS when given a TLS
//! identity.
//!
//! Faults are decided once per recipient at `RCPT TO`, from the shared
//! [`FaultInjector`](super::faults::FaultInjector): a dead address or
//! `Gone` is `550 5.1.1`, `Throttled` and `Internal` are `451 4.3.0`,
//! `Unavailable` is `421 4.3.2` and the connection closes, `AuthExpired`
//! is `535 5.7.8`, `Custom` is its code and text. The latency is added
//! before that reply. Each accepted message is recorded with provider
//! `smtp`, method `DATA`, the envelope as `mail-from` / `rcpt-to`
//! headers, and the raw RFC 5322 text as the body; refused recipients are
//! recorded with method `RCPT` and the reply code as status.

mod session;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use std::time::Duration;

use lettre::Address;
use lettre::message::Mailbox;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::server::{ServerHandle, bind};
use super::{Running, SandboxError, Shared, TlsIdentity};
use crate::channels::email::{EmailConfig, EmailTls};

/// The record's name for this provider.
pub const PROVIDER: &str = "smtp";

/// The SMTP sandbox's settings.
#[derive(Debug, Clone)]
pub struct SmtpSandboxConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The name in the greeting and EHLO reply.
    pub hostname: String,
    /// Offer STARTTLS with this identity.
    pub tls: Option<TlsIdentity>,
    /// Require AUTH PLAIN with this user and password; any credentials
    /// (or none) are accepted when `None`.
    pub credentials: Option<(String, String)>,
    /// Largest message accepted (`SIZE`), in bytes.
    pub max_size: usize,
}

impl Default for SmtpSandboxConfig {
    /// Plain SMTP on 127.0.0.1, any port, no authentication.
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            hostname: "sandbox.herald.test".to_owned(),
            tls: None,
            credentials: None,
            max_size: 10 * 1024 * 1024,
        }
    }
}

/// What every connection shares.
struct SmtpState {
    /// The settings.
    config: SmtpSandboxConfig,
    /// STARTTLS acceptor, when TLS is configured.
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// Faults and record.
    shared: Shared,
    /// Source of queue ids.
    ids: AtomicU64,
}

/// Binds and starts the SMTP sandbox; its URL is `smtp://ADDR`.
pub(super) async fn start(
    config: &SmtpSandboxConfig,
    shared: &Shared,
) -> Result<Running, SandboxError> {
    let tls = config
        .tls
        .as_ref()
        .map(TlsIdentity::server_config)
        .transpose()?;
    let listener = bind(PROVIDER, config.bind).await?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
        provider: PROVIDER,
        addr: config.bind,
        source,
    })?;
    let state = Arc::new(SmtpState {
        config: config.clone(),
        tls: tls.map(tokio_rustls::TlsAcceptor::from),
        shared: shared.clone(),
        ids: AtomicU64::new(1),
    });
    let handle = ServerHandle::new(tokio::spawn(accept_loop(listener, state)));
    Ok(Running {
        url: format!("smtp://{addr}"),
        handle,
    })
}

impl super::Sandbox {
    /// An email adapter configuration for this sandbox: plain SMTP, no
    /// authentication, a demo sender, a pool of `pool_size` connections.
    pub fn demo_email_config(&self, pool_size: u32) -> EmailConfig {
        let url = url::Url::parse(&self.smtp_url).ok();
        EmailConfig {
            host: url
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: url.as_ref().and_then(url::Url::port).unwrap_or(25),
            tls: EmailTls::None,
            user: None,
            password: None,
            from: Mailbox::new(
                Some("Herald Sandbox".to_owned()),
                Address::new("news", "herald.test").expect("constant address is valid"),
            ),
            pool_size: pool_size.max(1),
            timeout: Duration::from_secs(30),
            root_certificates: Vec::new(),
        }
    }
}

/// Accepts connections until the handle is dropped; each runs a session.
async fn accept_loop(listener: TcpListener, state: Arc<SmtpState>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        state.shared.record.connection_opened(PROVIDER);
        let _ = stream.set_nodelay(true);
        connections.spawn(session::serve(stream, state.clone()));
        while connections.try_join_next().is_some() {}
    }
}
