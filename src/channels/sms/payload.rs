//! The Twilio Messages API on the wire: the form a send posts and the
//! classification of its answer.
//!
//! 201 carries the message `sid`. Errors carry Twilio's JSON
//! `{"code": 21211, "message": "...", "status": 400}`: 429 and 5xx are
//! retried (honouring `Retry-After`); the invalid-number family (21211
//! invalid `To`, 21614 not a mobile number, 21217, 21401, 21407) and
//! 21610 (the recipient replied STOP) are permanent with a reason saying
//! so, as is every other 4xx. A 401 (the account SID and token refused)
//! and the codes for a `From` the account cannot send from (21212, 21606,
//! 21659) are credentials failures: no message can go until they are fixed.

use std::time::Duration;

use serde::Deserialize;

use crate::channels::Outcome;
use crate::channels::http::truncate_reason;

/// Twilio codes meaning the `To` number cannot receive SMS.
const INVALID_NUMBER: &[u64] = &[21211, 21217, 21401, 21407, 21408, 21612, 21614];
/// Twilio code for a recipient who unsubscribed (replied STOP).
const UNSUBSCRIBED: u64 = 21610;
/// Twilio codes meaning the `From` number is not the account's to send from.
const BAD_SENDER: &[u64] = &[21212, 21606, 21659];

/// The form fields of one send.
pub fn form<'a>(
    to: &'a str,
    from: &'a str,
    body: &'a str,
    callback: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut fields = vec![("To", to), ("From", from), ("Body", body)];
    if let Some(url) = callback {
        fields.push(("StatusCallback", url));
    }
    fields
}

/// The parts of Twilio's JSON answers herald reads.
#[derive(Debug, Default, Deserialize)]
struct Reply {
    /// Message SID (success).
    sid: Option<String>,
    /// Error code (failure).
    code: Option<u64>,
    /// Error text (failure).
    message: Option<String>,
}

/// Classifies an HTTP answer; `retry_after` is the parsed header.
pub fn classify(status: u16, body: &str, retry_after: Option<Duration>) -> Outcome {
    let reply: Reply = serde_json::from_str(body).unwrap_or_default();
    if (200..300).contains(&status) {
        return Outcome::Delivered {
            provider_id: reply.sid,
        };
    }
    let reason = reason(status, &reply, body);
    match (status, reply.code) {
        (429 | 500..=599, _) => Outcome::Retry {
            after: retry_after,
            reason,
        },
        (401, _) => credentials(reason, "[sms] account_sid and auth_token_file"),
        (_, Some(code)) if BAD_SENDER.contains(&code) => credentials(reason, "[sms] from"),
        (_, Some(code)) if INVALID_NUMBER.contains(&code) => Outcome::Permanent {
            reason: format!("invalid number: {reason}"),
        },
        (_, Some(UNSUBSCRIBED)) => Outcome::Permanent {
            reason: format!("recipient unsubscribed: {reason}"),
        },
        _ => Outcome::Permanent { reason },
    }
}

/// A `Credentials` outcome.
fn credentials(reason: String, fix: &str) -> Outcome {
    Outcome::Credentials {
        reason,
        fix: fix.to_owned(),
    }
}

/// `HTTP 400: 21211 The 'To' number ... is not a valid phone number.`
fn reason(status: u16, reply: &Reply, body: &str) -> String {
    let text = match (&reply.code, &reply.message) {
        (Some(code), Some(message)) => format!("{code} {message}"),
        (Some(code), None) => code.to_string(),
        (None, Some(message)) => message.clone(),
        (None, None) => body.trim().to_owned(),
    };
    truncate_reason(&format!("HTTP {status}: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_answers_are_classified() {
        let ok = classify(201, r#"{"sid":"SM0123","status":"queued"}"#, None);
        assert_eq!(
            ok,
            Outcome::Delivered {
                provider_id: Some("SM0123".into())
            }
        );
        let busy = classify(429, "{}", Some(Duration::from_secs(3)));
        assert!(matches!(busy, Outcome::Retry { after: Some(d), .. } if d.as_secs() == 3));
        let bad = classify(400, r#"{"code":21211,"message":"bad To"}"#, None);
        assert_eq!(
            bad,
            Outcome::Permanent {
                reason: "invalid number: HTTP 400: 21211 bad To".into()
            }
        );
        let stop = classify(400, r#"{"code":21610,"message":"STOP"}"#, None);
        assert!(
            matches!(stop, Outcome::Permanent { reason } if reason.starts_with("recipient unsubscribed"))
        );
        assert!(matches!(
            classify(503, "", None),
            Outcome::Retry { after: None, .. }
        ));
        assert!(matches!(classify(403, "", None), Outcome::Permanent { .. }));
    }

    #[test]
    fn refused_credentials_or_sender_are_credentials_failures() {
        let refused = classify(401, r#"{"code":20003,"message":"Authenticate"}"#, None);
        assert_eq!(
            refused,
            credentials(
                "HTTP 401: 20003 Authenticate".into(),
                "[sms] account_sid and auth_token_file"
            )
        );
        let sender = classify(400, r#"{"code":21606,"message":"not yours"}"#, None);
        assert!(matches!(sender, Outcome::Credentials { fix, .. } if fix == "[sms] from"));
    }
}
