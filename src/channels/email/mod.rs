//! Email over SMTP (SPEC §6): lettre's async transport with a connection
//! pool to `email.smtp_url`, multipart/alternative text + HTML, a
//! Message-ID derived from the outbox id, and `List-Unsubscribe` /
//! `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
//!
//! Classification: SMTP 4xx (greylisting, mailbox busy) and connection or
//! TLS errors are `Retry`; 5xx (unknown user, policy rejection) is
//! `Permanent`. The password comes from `email.password_file` and never
//! appears in logs or outcomes.

mod client;
mod config;
mod payload;

pub use client::EmailChannel;
pub use config::{EmailConfig, EmailConfigError, EmailTls};
pub use payload::{EmailPayloadError, build_message, message_id};
