//! Render contexts: what a template sees for one user. The same builder
//! serves planning, previews, fallbacks and the sample users that validate
//! a campaign's templates when it is created, so a preview is exactly what
//! a run sends.
//!
//! Links are signed per message ([`crate::feedback::links`]): each item's
//! `url` becomes its click link (destination: the item's own URL),
//! `links.click` is the first item's click link (the push deep link by
//! default), `links.unsubscribe` the `/u/` link for the message's channel,
//! `links.open_pixel` the `/t/o/` pixel for email, push data's `open_url`
//! the same `/t/o/` link for the app to request when the notification is
//! opened (how apps report push opens without an API key), and
//! `delivery.sms_status_callback` the `/t/r/` receipt URL for SMS. Tokens
//! are deterministic, so a re-plan yields the same links.

use super::ranking::Ranked;
use crate::campaign::engine::{CampaignError, Engine};
use crate::domain::{Channel, millis_to_rfc3339, now_millis};
use crate::feedback::{FeedbackError, LinkKind, LinkToken, Linker, link_key};
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
    /// Signs links under the public base URL.
    links: Linker,
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
        links: Linker,
        segments: HashMap<i32, String>,
        attributes: BTreeSet<String>,
    ) -> Self {
        Self {
            campaign: CampaignContext {
                id: campaign_id.map_or_else(String::new, |id| id.to_string()),
                name: name.to_owned(),
            },
            links,
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
        let settings = engine.settings();
        // The clock only dates the generated secret's row, the first time.
        let key = link_key(&settings.security, engine.store(), now_millis())
            .await
            .map_err(|e| match e {
                FeedbackError::Store(e) => CampaignError::Store(e),
                other => CampaignError::Other(other.to_string()),
            })?;
        let links = Linker::new(settings.server.public_url.as_url().as_str(), key);
        Ok(Self::new(campaign_id, name, links, segments, attributes))
    }

    /// The base of links, without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.links.base()
    }

    /// The signed link of `kind` for one message.
    fn link(
        &self,
        kind: LinkKind,
        message: &Message<'_>,
        item_id: Option<&str>,
        destination: Option<&str>,
    ) -> String {
        self.links.url(&LinkToken {
            kind,
            run_id: message.run_id,
            user_id: message.user_id.to_owned(),
            variant: message.variant.to_owned(),
            channel: message.channel,
            item_id: item_id.map(str::to_owned),
            destination: destination.map(str::to_owned),
        })
    }

    /// Each item's URL replaced by its click link; URLs that are not
    /// absolute stay as they are (a redirect could not reach them).
    fn sign_items(&self, message: &Message<'_>, items: &mut [ItemContext]) {
        for item in items {
            if url::Url::parse(&item.url).is_ok() {
                item.url = self.link(
                    LinkKind::Click,
                    message,
                    Some(&item.item_id),
                    Some(&item.url),
                );
            }
        }
    }

    /// The template links of one message on its channel.
    fn links(&self, message: &Message<'_>, items: &[ItemContext]) -> Links {
        Links {
            click: items.first().map(|i| i.url.clone()).unwrap_or_default(),
            unsubscribe: self.link(LinkKind::Unsubscribe, message, None, None),
            unsubscribe_mailto: None,
            open_pixel: (message.channel == Channel::Email)
                .then(|| self.link(LinkKind::Open, message, None, None)),
        }
    }

    /// The context of `user`'s message on `channel` in run `run_id` (0
    /// for previews and samples), with its links signed.
    pub fn context(
        &self,
        user: &UserFactRow,
        variant: &str,
        mut items: Vec<ItemContext>,
        run_id: i64,
        channel: Channel,
    ) -> RenderContext {
        let message = Message {
            run_id,
            user_id: &user.user_id,
            variant,
            channel,
        };
        self.sign_items(&message, &mut items);
        let links = self.links(&message, &items);
        let sms_status_callback =
            (channel == Channel::Sms).then(|| self.link(LinkKind::Receipt, &message, None, None));
        let message_id = super::dedup_key(run_id, &user.user_id);
        let mut data = BTreeMap::from([("message_id".to_owned(), message_id)]);
        if channel == Channel::Push {
            let open = self.link(LinkKind::Open, &message, None, None);
            data.insert("open_url".to_owned(), open);
        }
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
            links,
            delivery: DeliveryMeta {
                data,
                sms_status_callback,
            },
        }
    }
}

/// The message a link belongs to.
struct Message<'a> {
    /// The run (0 for previews).
    run_id: i64,
    /// The recipient.
    user_id: &'a str,
    /// The variant.
    variant: &'a str,
    /// The channel it goes out on.
    channel: Channel,
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
