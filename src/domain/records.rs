//! Validated records as they enter the store: one struct per import kind,
//! built by `ingest` from a file row or by the API from a JSON body.

use super::{DeviceToken, Email, EventKind, ItemId, Phone, Platform, Timezone, UserId};
use std::fmt;

/// A delivery channel a user can consent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Mobile and web push (APNs or FCM, by device).
    Push,
    /// Email over SMTP.
    Email,
    /// SMS through a Twilio-compatible API.
    Sms,
    /// A signed HTTP POST to the customer's endpoint.
    Webhook,
}

impl Channel {
    /// Every channel, in fallback order.
    pub const ALL: [Channel; 4] = [Self::Push, Self::Email, Self::Sms, Self::Webhook];

    /// Parses a channel name.
    pub fn parse(value: &str) -> Result<Self, super::Invalid> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == value.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                super::Invalid::new(format!(
                    "`{value}` is not a channel (use push, email, sms or webhook)"
                ))
            })
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A consent decision for one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRecord {
    /// The channel it applies to.
    pub channel: Channel,
    /// Whether the user agreed to receive messages on it.
    pub granted: bool,
}

/// A user as imported. `None` means "not given in this row".
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    /// The customer's id for this user.
    pub user_id: UserId,
    /// Email address.
    pub email: Option<Email>,
    /// E.164 phone number.
    pub phone: Option<Phone>,
    /// IANA timezone, used for quiet hours and local-time schedules.
    pub timezone: Option<Timezone>,
    /// Locale such as `en-US`.
    pub locale: Option<String>,
    /// ISO country code.
    pub country: Option<String>,
    /// City name.
    pub city: Option<String>,
    /// Age in years.
    pub age: Option<i32>,
    /// Gender as the customer records it.
    pub gender: Option<String>,
    /// Signup instant, milliseconds since the epoch.
    pub signup_at: Option<i64>,
    /// Consents given in this row.
    pub consents: Vec<ConsentRecord>,
    /// Every extra column, as a JSON object.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A catalogue item as imported.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRecord {
    /// The customer's id for this item.
    pub item_id: ItemId,
    /// Display title.
    pub title: String,
    /// Category name.
    pub category: Option<String>,
    /// Brand name.
    pub brand: Option<String>,
    /// Price in `currency` units.
    pub price: Option<f64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// Product page.
    pub url: Option<String>,
    /// Product image.
    pub image_url: Option<String>,
    /// Whether it can be recommended now.
    pub in_stock: bool,
    /// When it was added, milliseconds since the epoch.
    pub created_at: Option<i64>,
    /// Every extra column, as a JSON object.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// A behavioural event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Who did it.
    pub user_id: UserId,
    /// To which item, when it is about one.
    pub item_id: Option<ItemId>,
    /// What they did.
    pub event: EventKind,
    /// When, milliseconds since the epoch.
    pub ts: i64,
    /// Revenue or another amount.
    pub value: Option<f64>,
}

/// A push device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRecord {
    /// Its owner.
    pub user_id: UserId,
    /// Which provider serves it.
    pub platform: Platform,
    /// The provider's address for it.
    pub token: DeviceToken,
    /// The app (bundle id or package name).
    pub app_id: String,
    /// When it registered, milliseconds since the epoch.
    pub created_at: Option<i64>,
}
