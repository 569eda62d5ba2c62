//! The messages adapters send: an address, a stable id, and content
//! already rendered for one channel. Plain data, built by `render`.

use crate::domain::Platform;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Address {
    /// A push device: APNs for iOS, FCM for Android and web.
    Device {
        /// Which provider serves the token.
        platform: Platform,
        /// The provider's token.
        token: String,
    },
    /// An email address.
    Email(String),
    /// An E.164 phone number.
    Phone(String),
    /// The customer's webhook endpoint (from configuration).
    Webhook,
}

/// APNs priority, also mapped onto FCM's android priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PushPriority {
    /// Deliver now (APNs 10, FCM high).
    #[default]
    High,
    /// Deliver when convenient for the device (APNs 5, FCM normal).
    Normal,
}

/// A push notification, provider-neutral.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PushMessage {
    /// Alert title.
    pub title: String,
    /// Alert body.
    pub body: String,
    /// App icon badge count.
    pub badge: Option<u32>,
    /// Sound name (`default`).
    pub sound: Option<String>,
    /// Notification category (action buttons).
    pub category: Option<String>,
    /// Thread / group id.
    pub thread_id: Option<String>,
    /// Lets a notification service extension modify it (images).
    pub mutable_content: bool,
    /// Where a tap leads (app deep link or tracked URL).
    pub deep_link: Option<String>,
    /// Image to show, when the platform supports it.
    pub image_url: Option<String>,
    /// Custom data: tracking ids and anything the app needs. String
    /// values, as FCM requires.
    pub data: BTreeMap<String, String>,
    /// Replaces an earlier notification with the same key on the device.
    pub collapse_id: Option<String>,
    /// Unix seconds after which the provider should drop it.
    pub expiration: Option<i64>,
    /// Delivery priority.
    pub priority: PushPriority,
}

/// An email: subject, HTML and text bodies and unsubscribe links.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EmailMessage {
    /// Subject line.
    pub subject: String,
    /// The HTML body (already laid out and escaped).
    pub html: String,
    /// The plain-text alternative.
    pub text: String,
    /// One-click unsubscribe URL (RFC 8058), for `List-Unsubscribe`.
    pub unsubscribe_url: Option<String>,
    /// `mailto:` unsubscribe address, for `List-Unsubscribe`.
    pub unsubscribe_mailto: Option<String>,
}

/// An SMS.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SmsMessage {
    /// The text.
    pub body: String,
    /// Where the provider posts delivery receipts.
    pub status_callback: Option<String>,
}

/// A webhook call: a JSON document, signed by the adapter.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookMessage {
    /// The JSON body.
    pub body: serde_json::Value,
}

/// The content, rendered for one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RenderedMessage {
    /// For APNs or FCM.
    Push(PushMessage),
    /// For SMTP.
    Email(EmailMessage),
    /// For the SMS API.
    Sms(SmsMessage),
    /// For the webhook.
    Webhook(WebhookMessage),
}

/// One message to one address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// Stable per (campaign run, user): a UUID-formatted key that becomes
    /// the apns-id, the email Message-ID local part and the webhook
    /// idempotency key, so a retried or replayed send is recognisable.
    pub id: String,
    /// The recipient.
    pub address: Address,
    /// What to send.
    pub content: RenderedMessage,
}
