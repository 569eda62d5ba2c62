//! SMS through a Twilio-compatible Messages API (SPEC §6):
//! `POST {endpoint}/2010-04-01/Accounts/{sid}/Messages.json` with HTTP
//! Basic auth (account SID, token from `sms.auth_token_file`) and form
//! fields `To`, `From`, `Body`, `StatusCallback`.
//!
//! Numbers are checked to be E.164 before sending. 201 is delivered with
//! the message SID; 429 and 5xx retry (Retry-After honoured); invalid or
//! unsubscribed numbers and every other 4xx are permanent.

mod client;
mod config;
mod payload;

pub use client::SmsChannel;
pub use config::{SmsConfig, SmsConfigError, messages_url};
pub use payload::{classify, form};
