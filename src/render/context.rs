//! The render context: plain data a template sees, one value per user.
//!
//! Built by the campaign planner from the store (user row, ranked items,
//! segment) and the signed links from `feedback`; rendering only reads it.
//! Top-level keys are fixed ([`CONTEXT_KEYS`]) so validation can name an
//! unknown variable before any user is rendered. Optional columns
//! serialize as `none` rather than being absent, so a template that uses
//! `user.city` renders for every user (as an empty string when unset) and
//! strict undefined only fires on names that do not exist at all.

use std::collections::BTreeMap;

use serde::Serialize;

/// The top-level names a template may use.
pub const CONTEXT_KEYS: [&str; 6] = ["user", "items", "segment", "campaign", "variant", "links"];

/// Everything one user's message is rendered from.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RenderContext {
    /// The recipient: every column, typed or extra (`user.first_name`).
    pub user: UserContext,
    /// Ranked recommendations, best first.
    pub items: Vec<ItemContext>,
    /// The user's segment.
    pub segment: SegmentContext,
    /// The campaign being sent.
    pub campaign: CampaignContext,
    /// The variant this user was assigned.
    pub variant: VariantContext,
    /// Tracked and unsubscribe URLs, already signed.
    pub links: Links,
    /// Delivery metadata that is not template data (tracking ids, receipts).
    #[serde(skip)]
    pub delivery: DeliveryMeta,
}

/// The recipient's columns. Typed columns are always present (`none` when
/// unset); extra import columns are flattened beside them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserContext {
    /// The customer's id for the user.
    pub user_id: String,
    /// Email address.
    pub email: Option<String>,
    /// E.164 phone number.
    pub phone: Option<String>,
    /// IANA timezone; the `datetime` and `date` filters format in it
    /// (UTC when unset).
    pub timezone: Option<String>,
    /// Locale such as `de-DE`; the default locale of the `money` filter.
    pub locale: Option<String>,
    /// ISO country code.
    pub country: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Age in years.
    pub age: Option<i32>,
    /// Gender as recorded.
    pub gender: Option<String>,
    /// Signup instant, RFC 3339.
    pub signup_at: Option<String>,
    /// Every extra column (`first_name`, `tier`, ...).
    #[serde(flatten)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// One recommended item with why it was picked and its tracked link.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ItemContext {
    /// The customer's id for the item.
    pub item_id: String,
    /// Display title.
    pub title: String,
    /// Category.
    pub category: Option<String>,
    /// Brand.
    pub brand: Option<String>,
    /// Price in `currency` units.
    pub price: Option<f64>,
    /// ISO 4217 currency code.
    pub currency: Option<String>,
    /// Tracked click URL leading to the product page.
    pub url: String,
    /// Product image.
    pub image_url: Option<String>,
    /// Why it was recommended, in words (`because you viewed ...`).
    pub reason: String,
    /// Position in the ranking, 1 first.
    pub rank: u32,
    /// Every extra item column.
    #[serde(flatten)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// The user's segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SegmentContext {
    /// Segment id; `none` for users outside any segment.
    pub id: Option<i64>,
    /// The segment described in words.
    pub description: String,
}

/// The campaign being sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CampaignContext {
    /// Campaign id.
    pub id: String,
    /// Campaign name.
    pub name: String,
}

/// The variant assigned to the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VariantContext {
    /// Variant name (`A`).
    pub name: String,
}

/// URLs given to templates as plain strings; signing happens in `feedback`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Links {
    /// Tracked landing link (the push deep link unless the variant sets one).
    pub click: String,
    /// Signed unsubscribe page (also the RFC 8058 one-click POST target).
    pub unsubscribe: String,
    /// `mailto:` unsubscribe address, for `List-Unsubscribe`.
    pub unsubscribe_mailto: Option<String>,
    /// Open-tracking pixel for email.
    pub open_pixel: Option<String>,
}

/// What a message carries besides its content; not visible to templates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryMeta {
    /// Extra push data (string values), e.g. the outbox message id.
    pub data: BTreeMap<String, String>,
    /// Where the SMS provider posts delivery receipts.
    pub sms_status_callback: Option<String>,
}
