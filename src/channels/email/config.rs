//! `EmailConfig`: the `[email]` settings resolved for the adapter: the
//! relay URL split into host, port and TLS mode, the sender mailbox
//! parsed, the password read from `email.password_file`.
//!
//! TLS modes: `smtps://` is implicit TLS (port 465 by default);
//! `smtp://...?tls=required` must upgrade with STARTTLS (587);
//! `smtp://...?tls=opportunistic` upgrades when the server offers it;
//! plain `smtp://` (or `?tls=none`) stays in clear text, which is what a
//! relay on the same host or the loopback sandbox expects (port 25).

use std::time::Duration;

use lettre::message::Mailbox;

use crate::config::{EmailSettings, Secret};

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTls {
    /// Clear text.
    None,
    /// STARTTLS when the server offers it.
    Opportunistic,
    /// STARTTLS or fail.
    Required,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// Why the email adapter cannot be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum EmailConfigError {
    /// `email.from` is not a mailbox lettre accepts.
    #[error("email.from: {0:?} is not a valid mailbox")]
    From(String),
    /// `email.smtp_url` has a `tls` parameter herald does not know.
    #[error("email.smtp_url: unknown tls={0:?} (use none, opportunistic or required)")]
    TlsMode(String),
    /// The password file could not be read.
    #[error(transparent)]
    Secret(#[from] crate::config::ConfigError),
    /// The TLS parameters or a root certificate were refused.
    #[error("email TLS setup: {0}")]
    Tls(String),
}

/// Everything the email adapter needs, resolved.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Relay host name or address.
    pub host: String,
    /// Relay port.
    pub port: u16,
    /// Connection protection.
    pub tls: EmailTls,
    /// SMTP AUTH user name (from the URL), if any.
    pub user: Option<String>,
    /// SMTP AUTH password (`email.password_file`, else the URL's).
    pub password: Option<Secret>,
    /// The `From` mailbox.
    pub from: Mailbox,
    /// Most pooled connections kept open to the relay.
    pub pool_size: u32,
    /// Per-command timeout.
    pub timeout: Duration,
    /// Extra trusted CA certificates (PEM) for a private relay; not a
    /// settings key, set by code (tests, embedders).
    pub root_certificates: Vec<Vec<u8>>,
}

impl EmailConfig {
    /// Resolves `[email]`; `pool_size` is usually the dispatch concurrency
    /// of the email channel.
    pub fn from_settings(
        settings: &EmailSettings,
        pool_size: u32,
    ) -> Result<Self, EmailConfigError> {
        let url = settings.smtp_url.as_url();
        let implicit = url.scheme() == "smtps";
        let tls = tls_mode(url, implicit)?;
        let port = url.port().unwrap_or(match tls {
            EmailTls::Implicit => 465,
            EmailTls::Required | EmailTls::Opportunistic => 587,
            EmailTls::None => 25,
        });
        let user = Some(url.username()).filter(|u| !u.is_empty()).map(decode);
        let password = match settings.password()? {
            Some(secret) => Some(secret),
            None => url.password().map(|p| Secret::new(decode(p))),
        };
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|_| EmailConfigError::From(settings.from.clone()))?;
        Ok(Self {
            host: url
                .host_str()
                .unwrap_or("localhost")
                .trim_matches(['[', ']'])
                .to_owned(),
            port,
            tls,
            user,
            password,
            from,
            pool_size: pool_size.max(1),
            timeout: Duration::from_secs(30),
            root_certificates: Vec::new(),
        })
    }
}

/// The TLS mode from the scheme and the `tls` query parameter.
fn tls_mode(url: &url::Url, implicit: bool) -> Result<EmailTls, EmailConfigError> {
    let param = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    match (implicit, param.as_deref()) {
        (true, _) => Ok(EmailTls::Implicit),
        (false, None | Some("none")) => Ok(EmailTls::None),
        (false, Some("opportunistic")) => Ok(EmailTls::Opportunistic),
        (false, Some("required")) => Ok(EmailTls::Required),
        (false, Some(other)) => Err(EmailConfigError::TlsMode(other.to_owned())),
    }
}

/// Percent-decodes a URL user or password (`%40` -> `@`; `+` stays).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> EmailConfig {
        let settings = EmailSettings {
            smtp_url: url.parse().unwrap(),
            ..EmailSettings::default()
        };
        EmailConfig::from_settings(&settings, 4).unwrap()
    }

    #[test]
    fn the_url_scheme_and_tls_parameter_choose_the_mode_and_port() {
        let plain = config("smtp://relay.example");
        assert_eq!((plain.tls, plain.port), (EmailTls::None, 25));
        let starttls = config("smtp://relay.example?tls=required");
        assert_eq!((starttls.tls, starttls.port), (EmailTls::Required, 587));
        let implicit = config("smtps://relay.example");
        assert_eq!((implicit.tls, implicit.port), (EmailTls::Implicit, 465));
        let custom = config("smtp://relay.example:2525?tls=opportunistic");
        assert_eq!((custom.tls, custom.port), (EmailTls::Opportunistic, 2525));
    }

    #[test]
    fn url_credentials_are_percent_decoded_and_unknown_tls_modes_refused() {
        let c = config("smtp://news%40shop.example:p%2Bw@relay.example");
        assert_eq!(c.user.as_deref(), Some("news@shop.example"));
        assert_eq!(c.password.as_ref().map(Secret::expose), Some("p+w"));
        let settings = EmailSettings {
            smtp_url: "smtp://relay.example?tls=maybe".parse().unwrap(),
            ..EmailSettings::default()
        };
        assert!(EmailConfig::from_settings(&settings, 1).is_err());
    }
}
