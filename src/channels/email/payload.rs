//! `EmailMessage` -> RFC 5322: multipart/alternative (text, then HTML),
//! `Message-ID` from the outbox id, `Date`, `From`, and the RFC 2369 /
//! RFC 8058 unsubscribe headers, which lettre has no typed form for.

use std::time::{Duration, UNIX_EPOCH};

use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use crate::channels::EmailMessage;

/// Why a message could not be built (never retriable).
#[derive(Debug, thiserror::Error)]
pub enum EmailPayloadError {
    /// The recipient is not a valid mailbox.
    #[error("invalid recipient address: {0}")]
    Recipient(String),
    /// lettre refused the message.
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// Builds the message for one recipient. `now` is Unix seconds (`Date`).
pub fn build_message(
    id: &str,
    from: &Mailbox,
    to: &str,
    email: &EmailMessage,
    now: i64,
) -> Result<Message, EmailPayloadError> {
    let to: Mailbox = to
        .parse()
        .map_err(|_| EmailPayloadError::Recipient(to.to_owned()))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .date(UNIX_EPOCH + Duration::from_secs(u64::try_from(now).unwrap_or(0)))
        .message_id(Some(message_id(id, from)));
    if let Some(value) = list_unsubscribe(email) {
        builder = builder.raw_header(raw("List-Unsubscribe", value));
        if email.unsubscribe_url.is_some() {
            let post = "List-Unsubscribe=One-Click".to_owned();
            builder = builder.raw_header(raw("List-Unsubscribe-Post", post));
        }
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| EmailPayloadError::Build(e.to_string()))
}

/// `<{id}@{sender domain}>`: stable per outbox row, so a retried send
/// carries the same Message-ID and receivers can deduplicate.
pub fn message_id(id: &str, from: &Mailbox) -> String {
    let domain = from.email.domain();
    let local: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .collect();
    format!("<{local}@{domain}>")
}

/// `<https://...>, <mailto:...>` from whichever links the message has.
fn list_unsubscribe(email: &EmailMessage) -> Option<String> {
    let links: Vec<String> = [
        email.unsubscribe_url.as_deref(),
        email.unsubscribe_mailto.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|l| !l.is_empty())
    .map(|l| format!("<{l}>"))
    .collect();
    (!links.is_empty()).then(|| links.join(", "))
}

/// A raw header; the names are constants known to be valid.
fn raw(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}
