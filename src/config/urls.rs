//! URL settings: the database URL and the HTTP and SMTP endpoints.
//!
//! Each is checked for its scheme and host at load time. A URL may carry a
//! password (`postgres://user:pass@host/db`, `?password=`), so `Debug`,
//! `Display` and `Serialize` mask it; `expose()` is the one way to the real
//! text, for the code that connects.

use std::fmt;
use std::str::FromStr;

use url::Url;

use super::values::{ValueError, serde_via_str};

/// What a password or `password=` query parameter is replaced with.
const MASK: &str = "redacted";

/// `url` with its password and any `password` query parameter masked.
fn redact_url(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        // Fails only for URLs that cannot have credentials, which then have none.
        let _ = url.set_password(Some(MASK));
    }
    let has_password_param = url
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("password"));
    if has_password_param {
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let mut query = url.query_pairs_mut();
        query.clear();
        for (k, v) in &pairs {
            let shown = if k.eq_ignore_ascii_case("password") {
                MASK
            } else {
                v
            };
            query.append_pair(k, shown);
        }
    }
    url.to_string()
}

/// The database to connect to: `sqlite:...` or `postgres://...`
/// (`postgresql://`). Its password is masked in `Debug`, `Display` and
/// `Serialize`; [`DatabaseUrl::expose`] gives the full URL to the store.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

/// The database engine a [`DatabaseUrl`] points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseBackend {
    /// An embedded SQLite file (the default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl DatabaseUrl {
    /// The full URL, password included, for opening the connection pool.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Which engine the URL names.
    pub fn backend(&self) -> DatabaseBackend {
        if self.0.starts_with("sqlite:") {
            DatabaseBackend::Sqlite
        } else {
            DatabaseBackend::Postgres
        }
    }

    /// The URL with its password masked, for logs and `herald config`.
    pub fn redacted(&self) -> String {
        match Url::parse(&self.0) {
            Ok(url) => redact_url(&url),
            Err(_) => format!("{}:[{MASK}]", self.0.split(':').next().unwrap_or("")),
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = ValueError;

    /// Error messages never repeat the URL, which may hold a password.
    fn from_str(text: &str) -> Result<Self, ValueError> {
        let text = text.trim();
        if text.starts_with("sqlite:") {
            return Ok(Self(text.to_owned()));
        }
        if !(text.starts_with("postgres:") || text.starts_with("postgresql:")) {
            return Err(ValueError::new(
                "expected a URL starting with sqlite: or postgres:// (postgresql://)",
            ));
        }
        let url = Url::parse(text)
            .map_err(|e| ValueError::new(format!("not a valid PostgreSQL URL: {e}")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ValueError::new("PostgreSQL URL has no host"));
        }
        Ok(Self(text.to_owned()))
    }
}

impl Default for DatabaseUrl {
    fn default() -> Self {
        Self("sqlite://herald.db?mode=rwc".to_owned())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

serde_via_str!(
    DatabaseUrl,
    "a database URL such as \"sqlite://herald.db?mode=rwc\""
);

/// Parses `text` as an absolute URL with a host and one of `schemes`.
fn parse_url(text: &str, schemes: &[&str]) -> Result<Url, ValueError> {
    let url = Url::parse(text.trim()).map_err(|e| ValueError::new(format!("invalid URL: {e}")))?;
    if !schemes.contains(&url.scheme()) {
        let allowed = schemes.join("://, ");
        return Err(ValueError::new(format!(
            "unsupported scheme {:?}: expected {allowed}://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ValueError::new("URL has no host"));
    }
    Ok(url)
}

/// An `http://` or `https://` URL with a host: provider endpoints, the public
/// base URL, webhook targets. Any password in it is masked when shown.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HttpUrl(Url);

impl HttpUrl {
    /// The parsed URL, for building request URLs with [`Url::join`].
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// Whether the URL uses TLS (`https`).
    pub fn is_tls(&self) -> bool {
        self.0.scheme() == "https"
    }
}

impl FromStr for HttpUrl {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        parse_url(text, &["http", "https"]).map(Self)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_tuple("HttpUrl")
            .field(&redact_url(&self.0))
            .finish()
    }
}

serde_via_str!(HttpUrl, "an http:// or https:// URL");

/// An SMTP server URL: `smtp://host:port`, `smtp://host?tls=required` or
/// `smtps://host`, optionally with a user name. A password in it is masked
/// when shown; prefer `email.password_file`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SmtpUrl(Url);

impl SmtpUrl {
    /// The full URL, credentials included, for the mail transport.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The parsed URL (host, port, user name, `tls` parameter).
    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

impl FromStr for SmtpUrl {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        parse_url(text, &["smtp", "smtps"]).map(Self)
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_tuple("SmtpUrl")
            .field(&redact_url(&self.0))
            .finish()
    }
}

serde_via_str!(SmtpUrl, "an smtp:// or smtps:// URL");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_must_be_sqlite_or_postgres() {
        assert!("sqlite://herald.db?mode=rwc".parse::<DatabaseUrl>().is_ok());
        assert!("sqlite::memory:".parse::<DatabaseUrl>().is_ok());
        assert!(
            "postgresql://db.internal/herald"
                .parse::<DatabaseUrl>()
                .is_ok()
        );
        assert!("mysql://db/herald".parse::<DatabaseUrl>().is_err());
        assert!("herald.db".parse::<DatabaseUrl>().is_err());
    }

    #[test]
    fn database_url_passwords_are_masked_everywhere_but_expose() {
        let url: DatabaseUrl = "postgres://herald:hunter2@db/herald".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://herald:redacted@db/herald");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://herald:hunter2@db/herald");
        let query: DatabaseUrl = "postgres://db/herald?password=hunter2".parse().unwrap();
        assert!(!query.to_string().contains("hunter2"));
    }

    #[test]
    fn bad_database_urls_are_refused_without_echoing_the_password() {
        let err = "postgres://herald:hunter2@db:99999/herald"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn http_and_smtp_urls_check_their_scheme() {
        assert!("https://api.push.apple.com".parse::<HttpUrl>().is_ok());
        assert!("ftp://example.com".parse::<HttpUrl>().is_err());
        assert!("smtps://mail.example.com".parse::<SmtpUrl>().is_ok());
        assert!("https://mail.example.com".parse::<SmtpUrl>().is_err());
    }
}
