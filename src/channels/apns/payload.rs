//! The APNs request body and headers for one [`PushMessage`], built with
//! a2's public payload types.
//!
//! a2 0.10's `APS` has no `thread-id`, so the `aps` dictionary is a2's
//! [`APS`] flattened next to it. Custom data (the tracking ids, the deep
//! link, the image for a notification service extension) sits at the top
//! level beside `aps`, where iOS apps read it. The header values come from
//! a2's [`NotificationOptions`] (priority, push type, collapse id checked
//! for 64 bytes). A body over 4096 bytes is refused here, before sending.

use std::collections::BTreeMap;
use std::time::Duration;

use a2::request::notification::{
    CollapseId, DefaultNotificationBuilder, NotificationBuilder, NotificationOptions, Priority,
    PushType,
};
use a2::request::payload::{APS, PayloadLike};
use serde::Serialize;

use crate::channels::{PushMessage, PushPriority};

/// The largest body APNs accepts, in bytes.
pub const APNS_MAX_PAYLOAD: usize = 4096;

/// The custom-data key carrying [`PushMessage::deep_link`].
pub const DEEP_LINK_KEY: &str = "deep_link";

/// The custom-data key carrying [`PushMessage::image_url`].
pub const IMAGE_URL_KEY: &str = "image_url";

/// Why a message cannot become an APNs request. Always permanent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApnsPayloadError {
    /// The JSON body is over 4096 bytes.
    #[error("APNs payload is {size} bytes; the limit is {APNS_MAX_PAYLOAD}")]
    TooLarge {
        /// Its size.
        size: usize,
    },
    /// A custom-data key would replace the `aps` dictionary.
    #[error("custom data key `aps` is reserved by APNs")]
    ReservedKey,
    /// The collapse id is over 64 bytes.
    #[error("APNs collapse id is longer than 64 bytes")]
    CollapseIdTooLong,
    /// serde could not encode it (not expected for string data).
    #[error("APNs payload could not be encoded: {0}")]
    Encode(String),
}

/// The `aps` dictionary: a2's fields plus `thread-id`.
#[derive(Debug, Serialize)]
struct Aps<'a> {
    /// a2's alert, badge, sound, category and mutable-content.
    #[serde(flatten)]
    base: APS<'a>,
    /// Groups notifications in Notification Center.
    #[serde(rename = "thread-id", skip_serializing_if = "Option::is_none")]
    thread_id: Option<&'a str>,
}

/// The whole body, an a2 [`PayloadLike`].
#[derive(Debug, Serialize)]
struct Body<'a> {
    /// The Apple-defined dictionary.
    aps: Aps<'a>,
    /// Custom data, at the top level.
    #[serde(flatten)]
    data: BTreeMap<&'a str, &'a str>,
    /// Header values; not part of the JSON.
    #[serde(skip)]
    options: NotificationOptions<'a>,
    /// The device; not part of the JSON.
    #[serde(skip)]
    device_token: &'a str,
}

impl PayloadLike for Body<'_> {
    fn get_device_token(&self) -> &str {
        self.device_token
    }

    fn get_options(&self) -> &NotificationOptions<'_> {
        &self.options
    }
}

/// One request, ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnsRequest {
    /// The JSON body.
    pub body: String,
    /// Header name and value pairs, `apns-*` only (no authorization).
    pub headers: Vec<(&'static str, String)>,
}

/// What the headers need besides the message.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// `apns-id`: the outbound message id (a UUID).
    pub apns_id: &'a str,
    /// `apns-topic`: the bundle id.
    pub topic: &'a str,
    /// Now, Unix seconds, for the default expiration.
    pub now: i64,
    /// Expiration used when the message has none.
    pub default_ttl: Duration,
}

/// The JSON body APNs would receive for `message`, size-checked. Used by
/// the adapter and by campaign validation.
pub fn payload_json(message: &PushMessage) -> Result<String, ApnsPayloadError> {
    let body = body(message, "", NotificationOptions::default())?;
    encode(&body)
}

/// The body and headers for `message` to `device_token`.
pub fn request(
    message: &PushMessage,
    device_token: &str,
    context: RequestContext<'_>,
) -> Result<ApnsRequest, ApnsPayloadError> {
    let body = body(message, device_token, options(message, context)?)?;
    let json = encode(&body)?;
    Ok(ApnsRequest {
        body: json,
        headers: headers(body.get_options()),
    })
}

/// Builds the body with a2's notification builder.
fn body<'a>(
    message: &'a PushMessage,
    device_token: &'a str,
    options: NotificationOptions<'a>,
) -> Result<Body<'a>, ApnsPayloadError> {
    let mut base = alert(message).build(device_token, NotificationOptions::default());
    // a2 always writes `mutable-content: 0`; omit it unless it is set.
    base.aps.mutable_content = message.mutable_content.then_some(1);
    Ok(Body {
        aps: Aps {
            base: base.aps,
            thread_id: message.thread_id.as_deref(),
        },
        data: custom_data(message)?,
        options,
        device_token,
    })
}

/// The a2 builder with the alert, badge, sound and category set.
fn alert(message: &PushMessage) -> DefaultNotificationBuilder<'_> {
    let mut builder = DefaultNotificationBuilder::new();
    if !message.title.is_empty() {
        builder = builder.set_title(&message.title);
    }
    builder = builder.set_body(&message.body);
    if let Some(badge) = message.badge {
        builder = builder.set_badge(badge);
    }
    if let Some(sound) = &message.sound {
        builder = builder.set_sound(sound);
    }
    if let Some(category) = &message.category {
        builder = builder.set_category(category);
    }
    builder
}

/// The message's data plus the deep link and image URL.
fn custom_data(message: &PushMessage) -> Result<BTreeMap<&str, &str>, ApnsPayloadError> {
    let mut data: BTreeMap<&str, &str> = message
        .data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if data.contains_key("aps") {
        return Err(ApnsPayloadError::ReservedKey);
    }
    if let Some(link) = &message.deep_link {
        data.insert(DEEP_LINK_KEY, link);
    }
    if let Some(image) = &message.image_url {
        data.insert(IMAGE_URL_KEY, image);
    }
    Ok(data)
}

/// a2's options for the headers.
fn options<'a>(
    message: &'a PushMessage,
    context: RequestContext<'a>,
) -> Result<NotificationOptions<'a>, ApnsPayloadError> {
    let collapse_id = match &message.collapse_id {
        Some(id) => Some(CollapseId::new(id).map_err(|_| ApnsPayloadError::CollapseIdTooLong)?),
        None => None,
    };
    let ttl = i64::try_from(context.default_ttl.as_secs()).unwrap_or(i64::MAX);
    let expiration = message
        .expiration
        .unwrap_or_else(|| context.now.saturating_add(ttl));
    Ok(NotificationOptions {
        apns_id: Some(context.apns_id),
        apns_push_type: Some(PushType::Alert),
        apns_expiration: Some(u64::try_from(expiration).unwrap_or(0)),
        apns_priority: Some(match message.priority {
            PushPriority::High => Priority::High,
            PushPriority::Normal => Priority::Normal,
        }),
        apns_topic: Some(context.topic),
        apns_collapse_id: collapse_id,
    })
}

/// The `apns-*` headers for a2's options, in a fixed order.
fn headers(options: &NotificationOptions<'_>) -> Vec<(&'static str, String)> {
    let mut headers = Vec::with_capacity(6);
    let mut push = |name, value: Option<String>| {
        if let Some(value) = value {
            headers.push((name, value));
        }
    };
    push("apns-topic", options.apns_topic.map(str::to_owned));
    push(
        "apns-push-type",
        options.apns_push_type.map(|t| t.to_string()),
    );
    push(
        "apns-priority",
        options.apns_priority.as_ref().map(|p| p.to_string()),
    );
    push(
        "apns-expiration",
        options.apns_expiration.map(|e| e.to_string()),
    );
    push(
        "apns-collapse-id",
        options
            .apns_collapse_id
            .as_ref()
            .map(|c| c.value.to_owned()),
    );
    push("apns-id", options.apns_id.map(str::to_owned));
    headers
}

/// Serialises through a2 and enforces the size limit.
fn encode(body: &Body<'_>) -> Result<String, ApnsPayloadError> {
    let json = body
        .to_json_string()
        .map_err(|e| ApnsPayloadError::Encode(e.to_string()))?;
    if json.len() > APNS_MAX_PAYLOAD {
        return Err(ApnsPayloadError::TooLarge { size: json.len() });
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_only_message_has_a_plain_alert_and_no_mutable_content() {
        let message = PushMessage {
            body: "Hi".into(),
            ..PushMessage::default()
        };
        assert_eq!(payload_json(&message).unwrap(), r#"{"aps":{"alert":"Hi"}}"#);
    }

    #[test]
    fn custom_data_may_not_replace_aps() {
        let mut message = PushMessage::default();
        message.data.insert("aps".into(), "x".into());
        assert_eq!(payload_json(&message), Err(ApnsPayloadError::ReservedKey));
    }

    #[test]
    fn a_body_over_4096_bytes_is_refused_with_its_size() {
        let message = PushMessage {
            body: "x".repeat(4100),
            ..PushMessage::default()
        };
        let err = payload_json(&message).unwrap_err();
        assert!(matches!(err, ApnsPayloadError::TooLarge { size } if size > 4096));
    }

    #[test]
    fn a_missing_expiration_defaults_to_now_plus_the_ttl() {
        let message = PushMessage::default();
        let context = RequestContext {
            apns_id: "id",
            topic: "t",
            now: 100,
            default_ttl: Duration::from_secs(50),
        };
        let request = request(&message, "tok", context).unwrap();
        assert!(request.headers.contains(&("apns-expiration", "150".into())));
        assert!(request.headers.contains(&("apns-priority", "10".into())));
    }
}
