//! Provider size limits: push payload bytes as APNs and FCM will see
//! them, and SMS segments.
//!
//! SMS: a text that fits the GSM 03.38 alphabet (basic table, extension
//! characters such as `€ [ ] { }` cost two septets) is sent as GSM-7,
//! 160 septets in one part or 153 per part of a concatenated message;
//! anything else is UCS-2, 70 UTF-16 units alone or 67 per part. Parts
//! never split an escape pair or a surrogate pair.

use std::collections::BTreeMap;

use serde_json::json;

use crate::channels::PushMessage;
use crate::channels::apns::{ApnsPayloadError, payload_json};
use crate::channels::fcm::payload::DEEP_LINK_KEY as FCM_DEEP_LINK_KEY;
use crate::channels::fcm::{FcmPayloadError, message_json};

/// GSM 03.38 basic character set (one septet each).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table (escape + septet: two each).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// How an SMS is encoded on the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    /// 7-bit GSM default alphabet.
    Gsm7,
    /// 16-bit UCS-2 (any character outside GSM-7).
    Ucs2,
}

/// How an SMS body splits into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsSegments {
    /// The encoding the text needs.
    pub encoding: SmsEncoding,
    /// Length in septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// Number of parts billed and sent.
    pub segments: usize,
}

/// Counts the parts `text` is sent as.
pub fn sms_segments(text: &str) -> SmsSegments {
    let gsm: Option<Vec<usize>> = text.chars().map(gsm_cost).collect();
    match gsm {
        Some(costs) => split(costs, SmsEncoding::Gsm7, 160, 153),
        None => split(
            text.chars().map(char::len_utf16).collect(),
            SmsEncoding::Ucs2,
            70,
            67,
        ),
    }
}

/// Septets a character costs in GSM-7, `None` outside the alphabet.
fn gsm_cost(ch: char) -> Option<usize> {
    if GSM_BASIC.contains(ch) {
        Some(1)
    } else if GSM_EXTENDED.contains(ch) {
        Some(2)
    } else {
        None
    }
}

/// Packs per-character costs into parts of `multi` units, or one part of
/// up to `single` units.
fn split(costs: Vec<usize>, encoding: SmsEncoding, single: usize, multi: usize) -> SmsSegments {
    let units: usize = costs.iter().sum();
    if units <= single {
        let segments = usize::from(units > 0);
        return SmsSegments {
            encoding,
            units,
            segments,
        };
    }
    let (mut segments, mut used) = (1, 0);
    for cost in costs {
        if used + cost > multi {
            segments += 1;
            used = 0;
        }
        used += cost;
    }
    SmsSegments {
        encoding,
        units,
        segments,
    }
}

/// Bytes of the APNs JSON payload for `push`, as the APNs adapter builds
/// it (`channels::apns::payload_json`, a2's builder): the size even when
/// over the limit; other payload errors (reserved keys) as they are.
pub fn apns_payload_len(push: &PushMessage) -> Result<usize, ApnsPayloadError> {
    match payload_json(push) {
        Ok(json) => Ok(json.len()),
        Err(ApnsPayloadError::TooLarge { size }) => Ok(size),
        Err(other) => Err(other),
    }
}

/// Bytes FCM's 4096-byte limit counts for `push` (the notification and
/// the data, as the FCM adapter measures them); reserved data keys as
/// errors.
pub fn fcm_payload_len(push: &PushMessage) -> Result<usize, FcmPayloadError> {
    match message_json(push, "", 0, std::time::Duration::ZERO) {
        Ok(_) => Ok(fcm_counted_bytes(push)),
        Err(FcmPayloadError::TooLarge { size }) => Ok(size),
        Err(other) => Err(other),
    }
}

/// `notification` JSON plus `data` JSON (with the deep link), in bytes.
fn fcm_counted_bytes(push: &PushMessage) -> usize {
    let mut notification = json!({ "title": push.title, "body": push.body });
    if let Some(image) = &push.image_url {
        notification["image"] = json!(image);
    }
    let mut data: BTreeMap<&str, &str> = push
        .data
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(link) = &push.deep_link {
        data.insert(FCM_DEEP_LINK_KEY, link);
    }
    notification.to_string().len() + json!(data).to_string().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm_extension_characters_cost_two_septets() {
        let s = sms_segments("€[]");
        assert_eq!((s.encoding, s.units, s.segments), (SmsEncoding::Gsm7, 6, 1));
    }

    #[test]
    fn an_escape_pair_is_never_split_across_parts() {
        // 152 septets then a two-septet euro: the euro moves to part 2.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        assert_eq!(sms_segments(&text).segments, 2);
        assert_eq!(sms_segments("").segments, 0);
    }
}
