//! Turning an APNs response into an [`Outcome`] (ARCHITECTURE rule 5: the
//! adapter classifies, the dispatcher decides).
//!
//! | response | outcome |
//! |---|---|
//! | 200 | `Delivered` with the `apns-id` |
//! | 410 | `TokenGone` |
//! | 400 `BadDeviceToken`, 400 `DeviceTokenNotForTopic` | `TokenRejected`: dead, or a wrong topic or endpoint when most tokens get it |
//! | 403 `ExpiredProviderToken` | `Retry` (the caller refreshes the token) |
//! | any other 403 (`InvalidProviderToken`, `MissingProviderToken`, ...) | `Credentials`: fix the key, key id or team id |
//! | 400 `TopicDisallowed`, `BadTopic`, `MissingTopic` | `Credentials`: fix the topic |
//! | 429, 5xx | `Retry`, honouring `Retry-After` |
//! | any other | `Permanent` with Apple's reason |
//!
//! The body is parsed leniently: a2's `ErrorReason` has no catch-all
//! variant, so the reason is read as a string first and matched against
//! a2's enum only when it is one Apple documents.

use a2::response::ErrorReason;
use serde::Deserialize;

use super::client::ApnsReply;
use crate::channels::Outcome;
use crate::channels::http::truncate_reason;

/// Apple's error body, any reason accepted.
#[derive(Debug, Deserialize)]
struct LenientErrorBody {
    /// The reason string, e.g. `BadDeviceToken`.
    reason: Option<String>,
}

/// A response's reason: the text and, when Apple documents it, a2's enum.
#[derive(Debug)]
pub(crate) struct Reason {
    /// The text to log (`BadDeviceToken`, or `HTTP 502` without a body).
    pub text: String,
    /// a2's variant, when the text is one.
    pub known: Option<ErrorReason>,
}

impl Reason {
    /// Reads the body's `reason`, tolerating anything.
    pub(crate) fn parse(status: u16, body: &str) -> Self {
        let text = serde_json::from_str::<LenientErrorBody>(body)
            .ok()
            .and_then(|b| b.reason)
            .map(|r| truncate_reason(&r));
        let known = text
            .as_ref()
            .and_then(|t| serde_json::from_value(serde_json::Value::String(t.clone())).ok());
        Self {
            text: text.unwrap_or_else(|| format!("HTTP {status}")),
            known,
        }
    }

    /// Whether APNs refused the provider token as too old.
    pub(crate) fn is_expired_provider_token(&self) -> bool {
        matches!(self.known, Some(ErrorReason::ExpiredProviderToken))
    }
}

/// Classifies a reply; `message_id` stands in for a missing `apns-id`.
pub(crate) fn classify(reply: &ApnsReply, message_id: &str) -> Outcome {
    if reply.status == 200 {
        let id = reply
            .apns_id
            .clone()
            .unwrap_or_else(|| message_id.to_owned());
        return Outcome::Delivered {
            provider_id: Some(id),
        };
    }
    let reason = Reason::parse(reply.status, &reply.body);
    classify_error(reply, reason)
}

/// What to fix when APNs refuses the provider token.
pub(crate) const FIX_KEY: &str =
    "[apns] key_file, key_id and team_id (the .p8 key of the app's team)";

/// What to fix when APNs refuses the topic or most device tokens.
pub(crate) const FIX_TOPIC: &str =
    "[apns] topic (the app's bundle id) and endpoint (sandbox or production)";

/// Classifies a non-200 reply.
fn classify_error(reply: &ApnsReply, reason: Reason) -> Outcome {
    let rejected = matches!(
        reason.known,
        Some(ErrorReason::BadDeviceToken | ErrorReason::DeviceTokenNotForTopic)
    );
    let bad_topic = matches!(
        reason.known,
        Some(ErrorReason::TopicDisallowed | ErrorReason::BadTopic | ErrorReason::MissingTopic)
    );
    match reply.status {
        410 => Outcome::TokenGone {
            reason: reason.text,
        },
        400 if rejected => Outcome::TokenRejected {
            reason: reason.text,
            fix: FIX_TOPIC.to_owned(),
        },
        400 if bad_topic => credentials(reason.text, FIX_TOPIC),
        403 if reason.is_expired_provider_token() => Outcome::Retry {
            after: None,
            reason: reason.text,
        },
        403 => credentials(reason.text, FIX_KEY),
        429 | 500..=599 => Outcome::Retry {
            after: reply.retry_after,
            reason: reason.text,
        },
        status => Outcome::Permanent {
            reason: format!("HTTP {status} {}", reason.text),
        },
    }
}

/// A `Credentials` outcome.
fn credentials(reason: String, fix: &str) -> Outcome {
    Outcome::Credentials {
        reason,
        fix: fix.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reply(status: u16, body: &str) -> ApnsReply {
        ApnsReply {
            status,
            apns_id: None,
            retry_after: Some(Duration::from_secs(3)),
            body: body.to_owned(),
        }
    }

    #[test]
    fn reasons_unknown_to_a2_are_kept_as_text() {
        let outcome = classify(&reply(400, r#"{"reason":"InvalidPushType"}"#), "id");
        assert_eq!(
            outcome,
            Outcome::Permanent {
                reason: "HTTP 400 InvalidPushType".into()
            }
        );
    }

    #[test]
    fn a_refused_token_is_for_the_dispatcher_to_judge_and_a_bad_topic_is_a_setting() {
        let rejected = classify(&reply(400, r#"{"reason":"BadDeviceToken"}"#), "id");
        assert_eq!(rejected.kind(), "token_rejected");
        let foreign = classify(&reply(400, r#"{"reason":"DeviceTokenNotForTopic"}"#), "id");
        assert_eq!(foreign.kind(), "token_rejected");
        let topic = classify(&reply(400, r#"{"reason":"TopicDisallowed"}"#), "id");
        assert_eq!(topic, credentials("TopicDisallowed".into(), FIX_TOPIC));
        let gone = classify(&reply(410, r#"{"reason":"Unregistered"}"#), "id");
        assert_eq!(gone.kind(), "token_gone");
    }

    #[test]
    fn a_refused_provider_token_is_a_credentials_failure_but_an_expired_one_retries() {
        let invalid = classify(&reply(403, r#"{"reason":"InvalidProviderToken"}"#), "id");
        assert_eq!(invalid, credentials("InvalidProviderToken".into(), FIX_KEY));
        let expired = classify(&reply(403, r#"{"reason":"ExpiredProviderToken"}"#), "id");
        assert_eq!(expired.kind(), "retry");
    }

    #[test]
    fn server_errors_without_a_body_retry_after_the_given_delay() {
        let outcome = classify(&reply(502, "<html>bad gateway</html>"), "id");
        assert_eq!(
            outcome,
            Outcome::Retry {
                after: Some(Duration::from_secs(3)),
                reason: "HTTP 502".into()
            }
        );
    }

    #[test]
    fn a_success_without_an_apns_id_reports_the_message_id() {
        let outcome = classify(&reply(200, ""), "msg-1");
        assert_eq!(
            outcome,
            Outcome::Delivered {
                provider_id: Some("msg-1".into())
            }
        );
    }
}
