//! The FCM HTTP v1 `messages:send` body for one [`PushMessage`].
//!
//! ```text
//! {"message": {"token", "notification": {title, body, image},
//!   "data": {string values, plus deep_link},
//!   "android": {priority, collapse_key, ttl, notification: {click_action, sound}},
//!   "apns": {headers: {apns-priority, apns-expiration, apns-collapse-id},
//!            payload: {aps: {badge, sound, category, thread-id, mutable-content}},
//!            fcm_options: {image}}}}
//! ```
//!
//! The category doubles as Android's `click_action`, as FCM's legacy API
//! mapped them. Data keys FCM reserves and notification + data over 4096
//! bytes are refused here, before sending.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::channels::{PushMessage, PushPriority};

/// The largest notification + data payload FCM accepts, in bytes.
pub const FCM_MAX_PAYLOAD: usize = 4096;

/// The data key carrying [`PushMessage::deep_link`].
pub const DEEP_LINK_KEY: &str = "deep_link";

/// Why a message cannot become an FCM request. Always permanent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FcmPayloadError {
    /// Notification and data together are over 4096 bytes.
    #[error("FCM payload is {size} bytes; the limit is {FCM_MAX_PAYLOAD}")]
    TooLarge {
        /// Their size.
        size: usize,
    },
    /// A data key FCM reserves (`from`, `notification`, `message_type`,
    /// `google.*`, `gcm.*`).
    #[error("data key `{0}` is reserved by FCM")]
    ReservedKey(String),
    /// serde could not encode it (not expected).
    #[error("FCM message could not be encoded: {0}")]
    Encode(String),
}

/// The request envelope.
#[derive(Serialize)]
struct Envelope<'a> {
    /// The message.
    message: Message<'a>,
}

/// An HTTP v1 message.
#[derive(Serialize)]
struct Message<'a> {
    /// The registration token.
    token: &'a str,
    /// Shown by the system on every platform.
    notification: Notification<'a>,
    /// Custom data, string values.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    data: BTreeMap<&'a str, &'a str>,
    /// Android overrides.
    android: Android<'a>,
    /// APNs overrides, for iOS devices registered through FCM.
    apns: Apns<'a>,
}

/// The cross-platform notification.
#[derive(Serialize)]
struct Notification<'a> {
    /// Title, omitted when empty.
    #[serde(skip_serializing_if = "str::is_empty")]
    title: &'a str,
    /// Body.
    body: &'a str,
    /// Image URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
}

/// `android` block.
#[derive(Serialize)]
struct Android<'a> {
    /// `HIGH` or `NORMAL`.
    priority: &'static str,
    /// Replaces an earlier message with the same key.
    #[serde(skip_serializing_if = "Option::is_none")]
    collapse_key: Option<&'a str>,
    /// Seconds to keep it, as a protobuf duration (`3600s`).
    ttl: String,
    /// Click action and sound.
    #[serde(skip_serializing_if = "Option::is_none")]
    notification: Option<AndroidNotification<'a>>,
}

/// `android.notification` block.
#[derive(Serialize)]
struct AndroidNotification<'a> {
    /// Intent action launched on tap (the category).
    #[serde(skip_serializing_if = "Option::is_none")]
    click_action: Option<&'a str>,
    /// Sound resource name.
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<&'a str>,
}

/// `apns` block.
#[derive(Serialize)]
struct Apns<'a> {
    /// APNs request headers, string values.
    headers: BTreeMap<&'static str, String>,
    /// The APNs payload; FCM adds the alert from `notification`.
    payload: ApnsPayload<'a>,
    /// The image for a notification service extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    fcm_options: Option<FcmOptions<'a>>,
}

/// `apns.payload`.
#[derive(Serialize)]
struct ApnsPayload<'a> {
    /// The `aps` dictionary.
    aps: Aps<'a>,
}

/// `apns.payload.aps`, kebab-case as Apple names the keys.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Aps<'a> {
    /// Badge count.
    #[serde(skip_serializing_if = "Option::is_none")]
    badge: Option<u32>,
    /// Sound name.
    #[serde(skip_serializing_if = "Option::is_none")]
    sound: Option<&'a str>,
    /// Category.
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    /// Thread id.
    #[serde(skip_serializing_if = "Option::is_none")]
    thread_id: Option<&'a str>,
    /// 1 when a service extension may modify it.
    #[serde(skip_serializing_if = "Option::is_none")]
    mutable_content: Option<u8>,
}

/// `apns.fcm_options`.
#[derive(Serialize)]
struct FcmOptions<'a> {
    /// Image URL.
    image: &'a str,
}

/// The `messages:send` body for `message` to `token`; `now` (Unix seconds)
/// turns the message's absolute expiration into a TTL.
pub fn message_json(
    message: &PushMessage,
    token: &str,
    now: i64,
    default_ttl: Duration,
) -> Result<String, FcmPayloadError> {
    let data = data(message)?;
    let notification = Notification {
        title: &message.title,
        body: &message.body,
        image: message.image_url.as_deref(),
    };
    check_size(&notification, &data)?;
    let (ttl, expiration) = ttl(message, now, default_ttl);
    let envelope = Envelope {
        message: Message {
            token,
            notification,
            data,
            android: android(message, ttl),
            apns: apns(message, expiration),
        },
    };
    serde_json::to_string(&envelope).map_err(|e| FcmPayloadError::Encode(e.to_string()))
}

/// The message's data plus the deep link; reserved keys refused.
fn data(message: &PushMessage) -> Result<BTreeMap<&str, &str>, FcmPayloadError> {
    let reserved = |k: &str| {
        matches!(k, "from" | "notification" | "message_type")
            || k.starts_with("google.")
            || k.starts_with("gcm.")
    };
    if let Some(key) = message.data.keys().find(|k| reserved(k)) {
        return Err(FcmPayloadError::ReservedKey(key.clone()));
    }
    let mut data: BTreeMap<&str, &str> = message
        .data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(link) = &message.deep_link {
        data.insert(DEEP_LINK_KEY, link);
    }
    Ok(data)
}

/// Refuses notification + data over the limit.
fn check_size(
    notification: &Notification<'_>,
    data: &BTreeMap<&str, &str>,
) -> Result<(), FcmPayloadError> {
    let encode = |e: serde_json::Error| FcmPayloadError::Encode(e.to_string());
    let size = serde_json::to_vec(notification).map_err(encode)?.len()
        + serde_json::to_vec(data).map_err(encode)?.len();
    if size > FCM_MAX_PAYLOAD {
        return Err(FcmPayloadError::TooLarge { size });
    }
    Ok(())
}

/// The TTL in seconds and the absolute expiration (Unix seconds).
fn ttl(message: &PushMessage, now: i64, default_ttl: Duration) -> (u64, i64) {
    let default = i64::try_from(default_ttl.as_secs()).unwrap_or(i64::MAX);
    let expiration = message
        .expiration
        .unwrap_or_else(|| now.saturating_add(default));
    let seconds = u64::try_from(expiration.saturating_sub(now)).unwrap_or(0);
    (seconds, expiration)
}

/// The `android` block.
fn android(message: &PushMessage, ttl: u64) -> Android<'_> {
    let click_action = message.category.as_deref();
    let sound = message.sound.as_deref();
    Android {
        priority: match message.priority {
            PushPriority::High => "HIGH",
            PushPriority::Normal => "NORMAL",
        },
        collapse_key: message.collapse_id.as_deref(),
        ttl: format!("{ttl}s"),
        notification: (click_action.is_some() || sound.is_some()).then_some(AndroidNotification {
            click_action,
            sound,
        }),
    }
}

/// The `apns` block.
fn apns(message: &PushMessage, expiration: i64) -> Apns<'_> {
    let mut headers = BTreeMap::new();
    let priority = match message.priority {
        PushPriority::High => "10",
        PushPriority::Normal => "5",
    };
    headers.insert("apns-priority", priority.to_owned());
    headers.insert("apns-expiration", expiration.max(0).to_string());
    if let Some(id) = &message.collapse_id {
        headers.insert("apns-collapse-id", id.clone());
    }
    let aps = Aps {
        badge: message.badge,
        sound: message.sound.as_deref(),
        category: message.category.as_deref(),
        thread_id: message.thread_id.as_deref(),
        mutable_content: message.mutable_content.then_some(1),
    };
    Apns {
        headers,
        payload: ApnsPayload { aps },
        fcm_options: message
            .image_url
            .as_deref()
            .map(|image| FcmOptions { image }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_minimal_message_has_a_default_ttl_and_high_priority() {
        let message = PushMessage {
            body: "Hi".into(),
            ..PushMessage::default()
        };
        let json = message_json(&message, "tok", 1_000, DAY).unwrap();
        assert_eq!(
            json,
            r#"{"message":{"token":"tok","notification":{"body":"Hi"},"android":{"priority":"HIGH","ttl":"86400s"},"apns":{"headers":{"apns-expiration":"87400","apns-priority":"10"},"payload":{"aps":{}}}}}"#
        );
    }

    #[test]
    fn reserved_data_keys_are_refused_by_name() {
        let mut message = PushMessage::default();
        message.data.insert("google.c.a".into(), "1".into());
        let err = message_json(&message, "tok", 0, DAY).unwrap_err();
        assert_eq!(err, FcmPayloadError::ReservedKey("google.c.a".into()));
    }

    #[test]
    fn an_expiration_in_the_past_is_a_zero_ttl() {
        let message = PushMessage {
            expiration: Some(10),
            ..PushMessage::default()
        };
        let json = message_json(&message, "tok", 100, DAY).unwrap();
        assert!(json.contains(r#""ttl":"0s""#), "{json}");
    }

    #[test]
    fn data_over_4096_bytes_is_refused_with_its_size() {
        let mut message = PushMessage::default();
        message.data.insert("k".into(), "v".repeat(4096));
        let err = message_json(&message, "tok", 0, DAY).unwrap_err();
        assert!(matches!(err, FcmPayloadError::TooLarge { size } if size > 4096));
    }
}
