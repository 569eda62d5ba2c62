//! Turning an FCM HTTP v1 response into an [`Outcome`].
//!
//! | response | outcome |
//! |---|---|
//! | 200 `{"name"}` | `Delivered` with the message name |
//! | `UNREGISTERED` (404) | `TokenGone` |
//! | `INVALID_ARGUMENT` about the registration token | `TokenGone` |
//! | 401 `UNAUTHENTICATED` | `Retry` (the caller drops the access token) |
//! | `SENDER_ID_MISMATCH` (403) | `TokenRejected`: the token is another project's |
//! | 403 `PERMISSION_DENIED` | `Credentials`: the account may not send for the project |
//! | `QUOTA_EXCEEDED` (429), `UNAVAILABLE` (503), `INTERNAL` (500), other 5xx | `Retry`, honouring `Retry-After` |
//! | any other | `Permanent` with FCM's code and message |
//!
//! The error JSON is Google's: `{"error": {"code", "message", "status",
//! "details": [{"@type": "...FcmError", "errorCode": "UNREGISTERED"}]}}`;
//! every part is optional here.

use serde::Deserialize;

use super::client::FcmReply;
use crate::channels::Outcome;
use crate::channels::http::truncate_reason;

/// `{"error": ...}`.
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    /// The error, if the body is one.
    #[serde(default)]
    error: ErrorBody,
}

/// Google's error object.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    /// Human-readable message.
    #[serde(default)]
    message: String,
    /// Canonical status (`NOT_FOUND`, `INVALID_ARGUMENT`, ...).
    #[serde(default)]
    status: String,
    /// Typed details; FCM's carries `errorCode`.
    #[serde(default)]
    details: Vec<Detail>,
}

/// One entry of `details`.
#[derive(Debug, Default, Deserialize)]
struct Detail {
    /// FCM's error code (`UNREGISTERED`, `QUOTA_EXCEEDED`, ...).
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
    /// `BadRequest` field violations.
    #[serde(rename = "fieldViolations", default)]
    field_violations: Vec<FieldViolation>,
}

/// A `BadRequest` field violation.
#[derive(Debug, Default, Deserialize)]
struct FieldViolation {
    /// The offending field, e.g. `message.token`.
    #[serde(default)]
    field: String,
}

/// A successful send's body.
#[derive(Debug, Deserialize)]
struct Sent {
    /// `projects/{project}/messages/{id}`.
    name: Option<String>,
}

/// Whether FCM refused the access token (the caller should drop it).
pub(crate) fn is_unauthenticated(reply: &FcmReply) -> bool {
    reply.status == 401
}

/// Classifies a reply.
pub(crate) fn classify(reply: &FcmReply) -> Outcome {
    if reply.status == 200 {
        let name = serde_json::from_str::<Sent>(&reply.body)
            .ok()
            .and_then(|s| s.name);
        return Outcome::Delivered { provider_id: name };
    }
    let error = serde_json::from_str::<Envelope>(&reply.body)
        .unwrap_or_default()
        .error;
    classify_error(reply, &error)
}

/// Classifies an error reply.
fn classify_error(reply: &FcmReply, error: &ErrorBody) -> Outcome {
    let code = error_code(error).unwrap_or(&error.status);
    let reason = describe(reply.status, code, &error.message);
    match (reply.status, code) {
        (_, "UNREGISTERED") => Outcome::TokenGone { reason },
        (_, "INVALID_ARGUMENT") if is_about_token(error) => Outcome::TokenGone { reason },
        (_, "SENDER_ID_MISMATCH") => Outcome::TokenRejected {
            reason,
            fix: "[fcm] project_id (the project the apps register with)".to_owned(),
        },
        (401, _) => Outcome::Retry {
            after: None,
            reason,
        },
        (403, _) => Outcome::Credentials {
            reason,
            fix: "[fcm] service_account_file and project_id (an account allowed to send \
                  for the project)"
                .to_owned(),
        },
        (_, "QUOTA_EXCEEDED" | "UNAVAILABLE" | "INTERNAL") | (429 | 500..=599, _) => {
            Outcome::Retry {
                after: reply.retry_after,
                reason,
            }
        }
        _ => Outcome::Permanent { reason },
    }
}

/// FCM's `errorCode`, from the first detail that has one.
fn error_code(error: &ErrorBody) -> Option<&str> {
    error
        .details
        .iter()
        .find_map(|d| d.error_code.as_deref())
        .filter(|c| !c.is_empty())
}

/// Whether an INVALID_ARGUMENT is about the registration token.
fn is_about_token(error: &ErrorBody) -> bool {
    let message = error.message.to_ascii_lowercase();
    let field = error
        .details
        .iter()
        .flat_map(|d| &d.field_violations)
        .any(|v| v.field == "message.token");
    field || message.contains("registration token")
}

/// `UNREGISTERED: Requested entity was not found.`, or `HTTP 502`.
fn describe(status: u16, code: &str, message: &str) -> String {
    match (code.is_empty(), message.is_empty()) {
        (true, _) => format!("HTTP {status}"),
        (false, true) => code.to_owned(),
        (false, false) => truncate_reason(&format!("{code}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reply(status: u16, body: &str) -> FcmReply {
        FcmReply {
            status,
            retry_after: Some(Duration::from_secs(9)),
            body: body.to_owned(),
        }
    }

    fn error(code: u16, status: &str, message: &str, error_code: &str) -> String {
        serde_json::json!({"error": {"code": code, "message": message, "status": status,
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                         "errorCode": error_code}]}})
        .to_string()
    }

    #[test]
    fn an_invalid_argument_about_the_token_means_the_token_is_gone() {
        let body = error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            "INVALID_ARGUMENT",
        );
        assert_eq!(classify(&reply(400, &body)).kind(), "token_gone");
        let other = error(
            400,
            "INVALID_ARGUMENT",
            "Invalid value at 'message.data'",
            "INVALID_ARGUMENT",
        );
        assert_eq!(classify(&reply(400, &other)).kind(), "permanent");
    }

    #[test]
    fn quota_errors_retry_after_the_given_delay() {
        let body = error(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota exceeded",
            "QUOTA_EXCEEDED",
        );
        assert_eq!(
            classify(&reply(429, &body)),
            Outcome::Retry {
                after: Some(Duration::from_secs(9)),
                reason: "QUOTA_EXCEEDED: Quota exceeded".into()
            }
        );
    }

    #[test]
    fn a_foreign_token_is_rejected_and_a_forbidden_account_is_a_credentials_failure() {
        let foreign = error(403, "PERMISSION_DENIED", "", "SENDER_ID_MISMATCH");
        assert_eq!(classify(&reply(403, &foreign)).kind(), "token_rejected");
        let denied = error(403, "PERMISSION_DENIED", "Permission denied", "");
        assert_eq!(classify(&reply(403, &denied)).kind(), "credentials");
    }

    #[test]
    fn a_non_json_gateway_error_is_retried() {
        assert_eq!(classify(&reply(502, "<html>")).kind(), "retry");
        assert_eq!(classify(&reply(404, "<html>")).kind(), "permanent");
    }
}
