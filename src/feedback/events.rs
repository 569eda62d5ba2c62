//! The `feedback_events` rows a verified link or receipt becomes. Sources
//! say which door an event came through: `link` (a click or the open
//! pixel), `unsubscribe` (the page's button or an RFC 8058 one-click POST
//! from a mail client; they send the same body), `sms_receipt` (the
//! provider's StatusCallback).

use super::token::LinkToken;
use crate::store::NewFeedback;

/// The row for `kind` from a verified token, at `now` (ms).
pub fn event(token: &LinkToken, kind: &str, source: &str, now: i64) -> NewFeedback {
    NewFeedback {
        kind: kind.to_owned(),
        run_id: Some(token.run_id),
        user_id: token.user_id.clone(),
        channel: Some(token.channel.as_str().to_owned()),
        variant: Some(token.variant.clone()),
        item_id: token.item_id.clone(),
        value: None,
        source: source.to_owned(),
        ts: now,
    }
}

/// The feedback kind of a Twilio `MessageStatus`: `delivered`, or
/// `failed` for `failed` and `undelivered`; `None` for the intermediate
/// states (`queued`, `sending`, `sent`, ...), which are not recorded.
pub fn sms_receipt_kind(status: &str) -> Option<&'static str> {
    match status.trim().to_ascii_lowercase().as_str() {
        "delivered" => Some("delivered"),
        "failed" | "undelivered" => Some("failed"),
        _ => None,
    }
}

/// The row of an SMS receipt: its kind, with the provider's numeric
/// `ErrorCode` as the value of a failure.
pub fn sms_receipt(
    token: &LinkToken,
    status: &str,
    error_code: Option<&str>,
    now: i64,
) -> Option<NewFeedback> {
    let kind = sms_receipt_kind(status)?;
    let mut row = event(token, kind, "sms_receipt", now);
    if kind == "failed" {
        row.value = error_code.and_then(|c| c.trim().parse::<f64>().ok());
    }
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;
    use crate::feedback::LinkKind;

    fn token() -> LinkToken {
        LinkToken {
            kind: LinkKind::Receipt,
            run_id: 5,
            user_id: "u9".into(),
            variant: "A".into(),
            channel: Channel::Sms,
            item_id: None,
            destination: None,
        }
    }

    #[test]
    fn twilio_statuses_map_to_delivered_and_failed_and_the_rest_is_ignored() {
        assert_eq!(sms_receipt_kind("delivered"), Some("delivered"));
        assert_eq!(sms_receipt_kind("undelivered"), Some("failed"));
        assert_eq!(sms_receipt_kind("Failed"), Some("failed"));
        for other in ["queued", "sending", "sent", "accepted", ""] {
            assert_eq!(sms_receipt_kind(other), None, "{other}");
        }
    }

    #[test]
    fn a_failed_receipt_keeps_the_provider_error_code() {
        let row = sms_receipt(&token(), "undelivered", Some("30005"), 7).unwrap();
        assert_eq!(
            (row.kind.as_str(), row.value, row.ts),
            ("failed", Some(30005.0), 7)
        );
        assert_eq!(row.channel.as_deref(), Some("sms"));
        let ok = sms_receipt(&token(), "delivered", Some("0"), 7).unwrap();
        assert_eq!(ok.value, None);
    }
}
