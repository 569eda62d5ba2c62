//! `EmailChannel`: lettre's pooled async SMTP transport, one message per
//! `send`, the SMTP reply classified: 2xx delivered, 4xx retry, an
//! authentication refusal (530, 534, 535, 538) a credentials failure, any
//! other 5xx permanent, connection and TLS trouble retry.

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::response::Response;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::config::{EmailConfig, EmailConfigError, EmailTls};
use super::payload::build_message;
use crate::channels::clock::Clock;
use crate::channels::http::truncate_reason;
use crate::channels::{Address, Channel, OutboundMessage, Outcome, RenderedMessage};

/// Sends email through an SMTP relay over a connection pool.
#[derive(Clone)]
pub struct EmailChannel {
    /// The pooled transport (cheap to clone, shared pool).
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Sender mailbox and the rest of the resolved settings.
    config: EmailConfig,
    /// Source of the `Date` header.
    clock: Clock,
}

impl std::fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChannel")
            .field("host", &self.config.host)
            .field("port", &self.config.port)
            .field("tls", &self.config.tls)
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// Builds the transport; connections open lazily on first send.
    pub fn new(config: EmailConfig, clock: Clock) -> Result<Self, EmailConfigError> {
        crate::channels::tls::ensure_crypto_provider();
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone())
                .port(config.port)
                .timeout(Some(config.timeout))
                .pool_config(PoolConfig::new().max_size(config.pool_size));
        if let Some(tls) = tls(&config)? {
            builder = builder.tls(tls);
        }
        if let (Some(user), Some(password)) = (&config.user, &config.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            config,
            clock,
        })
    }

    /// The adapter for `[email]` with the system clock; `pool_size` is the
    /// email channel's dispatch concurrency.
    pub fn from_settings(
        settings: &crate::config::EmailSettings,
        pool_size: u32,
    ) -> Result<Self, EmailConfigError> {
        Self::new(
            EmailConfig::from_settings(settings, pool_size)?,
            Clock::system(),
        )
    }

    /// Sends one email and classifies the relay's answer.
    async fn send_email(&self, message: &OutboundMessage) -> Outcome {
        let (Address::Email(to), RenderedMessage::Email(email)) =
            (&message.address, &message.content)
        else {
            return permanent("email channel needs an email address and email content");
        };
        let built = build_message(&message.id, &self.config.from, to, email, self.clock.now());
        let mail = match built {
            Ok(mail) => mail,
            Err(e) => return permanent(&e.to_string()),
        };
        match self.transport.send(mail).await {
            Ok(response) => Outcome::Delivered {
                provider_id: queue_id(&response),
            },
            Err(e) => classify(&e),
        }
    }
}

/// lettre TLS parameters for the configured mode.
fn tls(config: &EmailConfig) -> Result<Option<Tls>, EmailConfigError> {
    if config.tls == EmailTls::None {
        return Ok(None);
    }
    let mut params = TlsParameters::builder(config.host.clone());
    for pem in &config.root_certificates {
        let cert = Certificate::from_pem(pem).map_err(|e| EmailConfigError::Tls(e.to_string()))?;
        params = params.add_root_certificate(cert);
    }
    let params = params
        .build_rustls()
        .map_err(|e| EmailConfigError::Tls(e.to_string()))?;
    Ok(Some(match config.tls {
        EmailTls::Implicit => Tls::Wrapper(params),
        EmailTls::Required => Tls::Required(params),
        _ => Tls::Opportunistic(params),
    }))
}

/// The queue id from `250 2.0.0 Ok: queued as ABC123`, else the whole
/// first reply line.
fn queue_id(response: &Response) -> Option<String> {
    let line = response.message().next()?;
    let id = match line.rsplit_once("queued as ") {
        Some((_, id)) => id.trim(),
        None => line.trim(),
    };
    (!id.is_empty()).then(|| id.to_owned())
}

/// SMTP replies that refuse herald's authentication: required (530), too
/// weak (534), invalid credentials (535), encryption required (538).
const AUTH_REFUSED: [u16; 4] = [530, 534, 535, 538];

/// What to fix when the relay refuses herald's authentication.
const FIX_AUTH: &str = "[email] smtp_url (user, tls) and password_file";

/// SMTP 4xx and transport trouble retry; an authentication refusal is a
/// credentials failure; any other 5xx is permanent.
fn classify(error: &lettre::transport::smtp::Error) -> Outcome {
    let reason = truncate_reason(&error.to_string());
    let code = error.status().map(u16::from);
    if code.is_some_and(|c| AUTH_REFUSED.contains(&c)) {
        Outcome::Credentials {
            reason,
            fix: FIX_AUTH.to_owned(),
        }
    } else if error.is_permanent() {
        Outcome::Permanent { reason }
    } else {
        Outcome::Retry {
            after: None,
            reason,
        }
    }
}

/// A permanent failure with `reason`.
fn permanent(reason: &str) -> Outcome {
    Outcome::Permanent {
        reason: reason.to_owned(),
    }
}

#[async_trait::async_trait]
impl Channel for EmailChannel {
    fn name(&self) -> &'static str {
        "email"
    }

    async fn send(&self, message: &OutboundMessage) -> Outcome {
        self.send_email(message).await
    }
}
