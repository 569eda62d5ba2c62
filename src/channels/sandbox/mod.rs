//! Sandbox providers: loopback servers that speak the providers' real
//! protocols, check what the providers check, and answer as they do, for
//! tests, `herald demo`, `herald bench` and `herald sandbox`.
//!
//! [`Sandbox::start`] binds every provider (port 0 by default, fixed ports
//! allowed) and returns at once with the servers running in the background;
//! dropping the [`Sandbox`] or calling [`Sandbox::shutdown`] stops them.
//! All providers share one [`FaultInjector`] (error rate with a seed,
//! latency, dead addresses, Retry-After, "fail the next N") and one
//! [`Record`] of everything received.
//!
//! Adding a provider (`smtp.rs`, `sms.rs`, `webhook.rs`): give it a config struct with a
//! `Default`, add it as a field of [`SandboxConfig`], write
//! `pub(super) async fn start(&Config, &Shared) -> Result<Running, SandboxError>`
//! that records each request (`Shared::record`) and asks `Shared::faults`
//! for a [`Decision`] per valid request, then call it in [`Sandbox::start`]
//! and expose its URL as a field. HTTP providers can reuse `server::serve`.

pub mod apns;
pub mod credentials;
pub mod fcm;
mod faults;
mod jwt;
mod record;
mod server;
mod settings;
pub mod sms;
pub mod smtp;
pub mod webhook;

pub use faults::{Decision, Failure, FaultInjector, Faults};
pub use record::{Received, Record, header_pairs};
pub use server::ServerHandle;
pub use settings::{DEMO_EMAIL_FROM, DEMO_SMS_FROM};

use std::fmt;
use std::sync::Arc;

use crate::channels::apns::{ApnsConfig, DEFAULT_TTL as APNS_TTL};
use crate::channels::fcm::{DEFAULT_TTL as FCM_TTL, FcmConfig};
use crate::channels::tls::{TlsError, server_config};
use crate::config::Secret;

/// Requests kept in the record by default; the counts go on past it.
pub const DEFAULT_RECORD_LIMIT: usize = 100_000;

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A port could not be bound.
    #[error("{provider} sandbox cannot listen on {addr}: {source}")]
    Bind {
        /// Which provider.
        provider: &'static str,
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS identity is unusable.
    #[error("sandbox TLS: {0}")]
    Tls(#[from] TlsError),
    /// A verification key is unusable.
    #[error("{provider} sandbox public key is unusable: {reason}")]
    Key {
        /// Which provider.
        provider: &'static str,
        /// Why.
        reason: String,
    },
}

/// A certificate chain and key for a provider that serves HTTPS.
#[derive(Clone)]
pub struct TlsIdentity {
    /// Certificate chain, PEM, leaf first.
    pub cert_pem: String,
    /// Private key, PEM.
    pub key_pem: String,
}

impl TlsIdentity {
    /// The rustls server config (ALPN h2 and http/1.1).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        server_config(&self.cert_pem, &self.key_pem)
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("key_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Every provider's settings, plus the shared faults.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The APNs server.
    pub apns: apns::ApnsSandboxConfig,
    /// The FCM server and its token endpoint.
    pub fcm: fcm::FcmSandboxConfig,
    /// The SMTP server.
    pub smtp: smtp::SmtpSandboxConfig,
    /// The Twilio-compatible SMS endpoint.
    pub sms: sms::SmsSandboxConfig,
    /// The webhook receiver.
    pub webhook: webhook::WebhookSandboxConfig,
    /// Faults at start; adjustable later through [`Sandbox::faults`].
    pub faults: Faults,
    /// Requests kept in the record.
    pub record_limit: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            apns: apns::ApnsSandboxConfig::default(),
            fcm: fcm::FcmSandboxConfig::default(),
            smtp: smtp::SmtpSandboxConfig::default(),
            sms: sms::SmsSandboxConfig::default(),
            webhook: webhook::WebhookSandboxConfig::default(),
            faults: Faults::default(),
            record_limit: DEFAULT_RECORD_LIMIT,
        }
    }
}

/// What every provider shares.
#[derive(Clone)]
struct Shared {
    /// The fault plan.
    faults: FaultInjector,
    /// The record.
    record: Record,
}

/// A started provider.
struct Running {
    /// Its base URL.
    url: String,
    /// Its server.
    handle: ServerHandle,
}

/// The running sandbox providers.
pub struct Sandbox {
    /// APNs base URL (`http://127.0.0.1:PORT`, `https://` with TLS).
    pub apns_url: String,
    /// FCM base URL.
    pub fcm_url: String,
    /// The FCM OAuth token endpoint, for a service account's `token_uri`.
    pub fcm_token_uri: String,
    /// SMTP URL (`smtp://127.0.0.1:PORT`).
    pub smtp_url: String,
    /// SMS API base URL (`http://127.0.0.1:PORT`).
    pub sms_url: String,
    /// Webhook receiver base URL (`http://127.0.0.1:PORT`); it accepts
    /// any path.
    pub webhook_url: String,
    /// Faults and record.
    shared: Shared,
    /// The servers; dropping them stops them.
    servers: Vec<ServerHandle>,
}

impl Sandbox {
    /// Binds and starts every provider.
    pub async fn start(config: SandboxConfig) -> Result<Self, SandboxError> {
        let shared = Shared {
            faults: FaultInjector::new(config.faults.clone()),
            record: Record::new(config.record_limit),
        };
        let apns = apns::start(&config.apns, &shared).await?;
        let fcm = fcm::start(&config.fcm, &shared).await?;
        let smtp = smtp::start(&config.smtp, &shared).await?;
        let sms = sms::start(&config.sms, &shared).await?;
        let webhook = webhook::start(&config.webhook, &shared).await?;
        Ok(Self {
            apns_url: apns.url,
            fcm_token_uri: format!("{}{}", fcm.url, fcm::TOKEN_PATH),
            fcm_url: fcm.url,
            smtp_url: smtp.url,
            sms_url: sms.url,
            webhook_url: webhook.url,
            shared,
            servers: vec![
                apns.handle,
                fcm.handle,
                smtp.handle,
                sms.handle,
                webhook.handle,
            ],
        })
    }

    /// The shared fault plan, adjustable while running.
    pub fn faults(&self) -> &FaultInjector {
        &self.shared.faults
    }

    /// Everything received so far.
    pub fn record(&self) -> &Record {
        &self.shared.record
    }

    /// An APNs adapter configuration for this sandbox with the demo key;
    /// valid while the APNs sandbox runs with its default credentials.
    pub fn demo_apns_config(&self) -> ApnsConfig {
        ApnsConfig {
            endpoint: parse_url(&self.apns_url),
            ca_file: None,
            key: Secret::new(credentials::DEMO_APNS_KEY_PEM),
            key_id: credentials::DEMO_APNS_KEY_ID.to_owned(),
            team_id: credentials::DEMO_APNS_TEAM_ID.to_owned(),
            topic: credentials::DEMO_APNS_TOPIC.to_owned(),
            default_ttl: APNS_TTL,
        }
    }

    /// An FCM adapter configuration for this sandbox with the demo service
    /// account; valid while the FCM sandbox runs with its default settings.
    pub fn demo_fcm_config(&self) -> FcmConfig {
        FcmConfig {
            endpoint: parse_url(&self.fcm_url),
            service_account: Secret::new(credentials::demo_service_account_json(
                &self.fcm_token_uri,
            )),
            project_id: credentials::DEMO_FCM_PROJECT_ID.to_owned(),
            default_ttl: FCM_TTL,
        }
    }

    /// Stops every provider and waits for them to finish.
    pub async fn shutdown(self) {
        for server in self.servers {
            server.stop().await;
        }
    }
}

/// Parses a URL this module formatted from a bound socket address.
fn parse_url(text: &str) -> url::Url {
    url::Url::parse(text).unwrap_or_else(|_| {
        // Unreachable: `scheme://ip:port` always parses.
        url::Url::parse("http://127.0.0.1/").expect("constant URL parses")
    })
}
