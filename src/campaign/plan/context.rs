//! Render contexts: what a template sees for one user. The same builder
//! serves planning, previews, fallbacks and the sample users that validate
//! a campaign's templates when it is created, so a preview is exactly what
//! a run sends.

use super::ranking::Ranked;
use crate::campaign::engine::{CampaignError, Engine};
use crate::domain::millis_to_rfc3339;
use crate::render::{
    CampaignContext, DeliveryMeta, ItemContext, Links, RenderContext, SegmentContext, UserContext,
    VariantContext,
};
use crate::store::{ItemRow, UserFactRow};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Typed user columns; an extra attribute of the same name is dropped.
const TYPED: [&str; 10] = [
    "user_id",
    "email",
    "phone",
    "timezone",
    "locale",
    "country",
    "city",
    "age",
    "gender",
    "signup_at",
];

/// What every context of one campaign shares.
#[derive(Debug, Clone)]
pub(crate) struct ContextBase {
    /// The campaign's id and name.
    campaign: CampaignContext,
    /// Base of links, without a trailing slash.
    public_url: String,
    /// Segment descriptions under the segment model in use.
    segments: HashMap<i32, String>,
    /// The user attribute columns: a user without one sees `none`, as
    /// for a typed column, rather than an undefined name.
    attributes: BTreeSet<String>,
}

impl ContextBase {
    /// A base for a campaign; `campaign_id` is none before it is stored.
    pub fn new(
        campaign_id: Option<i64>,
        name: &str,
        public_url: &str,
        segments: HashMap<i32, String>,
        attributes: BTreeSet<String>,
    ) -> Self {
        Self {
            campaign: CampaignContext {
                id: campaign_id.map_or_else(String::new, |id| id.to_string()),
                name: name.to_owned(),
            },
            public_url: public_url.trim_end_matches('/').to_owned(),
            segments,
            attributes,
        }
    }

    /// A base with the segment descriptions of `segment_model_id`.
    pub async fn load(
        engine: &Engine,
        campaign_id: Option<i64>,
        name: &str,
        segment_model_id: Option<i64>,
        attributes: BTreeSet<String>,
    ) -> Result<Self, CampaignError> {
        let segments = segment_descriptions(engine, segment_model_id).await?;
        let public_url = engine.settings().server.public_url.as_url().as_str();
        Ok(Self::new(
            campaign_id,
            name,
            public_url,
            segments,
            attributes,
        ))
    }

    /// The base of links.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The context of `user` in run `run_id` (0 for previews and samples).
    pub fn context(
        &self,
        user: &UserFactRow,
        variant: &str,
        items: Vec<ItemContext>,
        run_id: i64,
    ) -> RenderContext {
        let click = items.first().map(|i| i.url.clone()).unwrap_or_default();
        let message_id = super::dedup_key(run_id, &user.user_id);
        RenderContext {
            user: user_context(user, &self.attributes),
            items,
            segment: SegmentContext {
                id: user.segment.map(i64::from),
                description: user
                    .segment
                    .and_then(|s| self.segments.get(&s).cloned())
                    .unwrap_or_default(),
            },
            campaign: self.campaign.clone(),
            variant: VariantContext {
                name: variant.to_owned(),
            },
            links: Links {
                click,
                unsubscribe: format!("{}/u/{run_id}/{}", self.public_url, user.user_id),
                unsubscribe_mailto: None,
                open_pixel: None,
            },
            delivery: DeliveryMeta {
                data: BTreeMap::from([("message_id".to_owned(), message_id)]),
                sms_status_callback: None,
            },
        }
    }
}

/// Segment id → description, empty without a segment model.
async fn segment_descriptions(
    engine: &Engine,
    segment_model_id: Option<i64>,
) -> Result<HashMap<i32, String>, CampaignError> {
    let Some(model) = segment_model_id else {
        return Ok(HashMap::new());
    };
    let rows = engine.store().segments(model).await?;
    Ok(rows
        .into_iter()
        .map(|s| (s.segment_id, s.description))
        .collect())
}

/// A profile string column.
fn text(user: &UserFactRow, name: &str) -> Option<String> {
    user.profile
        .get(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// The recipient's columns, typed and extra; `known` attribute columns
/// the user lacks are `none`.
pub(crate) fn user_context(user: &UserFactRow, known: &BTreeSet<String>) -> UserContext {
    let mut attributes = user.attributes.clone();
    for name in known {
        if !attributes.contains_key(name) {
            attributes.insert(name.clone(), serde_json::Value::Null);
        }
    }
    for name in TYPED {
        attributes.remove(name);
    }
    UserContext {
        user_id: user.user_id.clone(),
        email: text(user, "email"),
        phone: text(user, "phone"),
        timezone: text(user, "timezone"),
        locale: text(user, "locale"),
        country: text(user, "country"),
        city: text(user, "city"),
        age: user
            .profile
            .get("age")
            .and_then(|v| v.as_i64())
            .and_then(|a| i32::try_from(a).ok()),
        gender: text(user, "gender"),
        signup_at: user
            .profile
            .get("signup_at")
            .and_then(|v| v.as_i64())
            .map(millis_to_rfc3339),
        attributes,
    }
}

/// The recommended items that still exist, with their details, in rank
/// order.
pub(crate) fn shown<'a>(
    ranked: &'a [Ranked],
    details: &'a HashMap<String, ItemRow>,
) -> Vec<(&'a Ranked, &'a ItemRow)> {
    ranked
        .iter()
        .filter_map(|r| details.get(&r.item_id).map(|d| (r, d)))
        .collect()
}

/// Template items from [`shown`] items; rank 1 first.
pub(crate) fn item_contexts(shown: &[(&Ranked, &ItemRow)]) -> Vec<ItemContext> {
    shown
        .iter()
        .enumerate()
        .map(|(i, (ranked, item))| ItemContext {
            item_id: item.item_id.clone(),
            title: item.title.clone(),
            category: item.category.clone(),
            brand: item.brand.clone(),
            price: item.price,
            currency: item.currency.clone(),
            url: item.url.clone().unwrap_or_default(),
            image_url: item.image_url.clone(),
            reason: ranked.reason.clone(),
            rank: i as u32 + 1,
            attributes: item.attributes.clone(),
        })
        .collect()
}

/// Stand-in items for validating templates when no ranker can say what a
/// user would get: every column set, so `items[0].price | money(...)`
/// renders.
pub(crate) fn sample_items(n: usize, public_url: &str) -> Vec<ItemContext> {
    (1..=n)
        .map(|i| ItemContext {
            item_id: format!("sample-{i}"),
            title: format!("Sample item {i}"),
            category: Some("sample".into()),
            brand: Some("Sample".into()),
            price: Some(19.99),
            currency: Some("USD".into()),
            url: format!("{public_url}/items/sample-{i}"),
            image_url: Some(format!("{public_url}/items/sample-{i}.jpg")),
            reason: "picked for you".into(),
            rank: i as u32,
            attributes: serde_json::Map::new(),
        })
        .collect()
}
