//! Per-channel builders: a compiled variant plus one user's context
//! becomes the [`RenderedMessage`] an adapter sends.
//!
//! Push carries the tracking ids in its data (`campaign_id`, `variant`,
//! `user_id`, `item_ids` and whatever the planner put in
//! [`DeliveryMeta::data`](super::DeliveryMeta)); email is the escaped body
//! inside the askama frame with a text alternative always present; SMS
//! uses `sms_body` or `body`; the webhook gets one JSON document.

use minijinja::context;
use minijinja::value::Value;
use serde_json::json;

use super::layout::{self, EmailHtmlLayout, EmailTextLayout};
use super::text::{html_to_text, strip_scripts};
use super::{Field, RenderContext, RenderError, Renderer};
use crate::channels::{EmailMessage, PushMessage, RenderedMessage, SmsMessage, WebhookMessage};
use crate::domain::Channel;

impl Renderer {
    /// Renders the variant for `channel` and one user.
    pub fn render(
        &self,
        channel: Channel,
        ctx: &RenderContext,
    ) -> Result<RenderedMessage, RenderError> {
        Ok(match channel {
            Channel::Push => RenderedMessage::Push(self.push(ctx)?),
            Channel::Email => RenderedMessage::Email(self.email(ctx)?),
            Channel::Sms => RenderedMessage::Sms(self.sms(ctx)?),
            Channel::Webhook => RenderedMessage::Webhook(self.webhook(ctx)?),
        })
    }

    /// A push notification: title and body, deep link (`links.click` by
    /// default), image, tracking ids in `data`.
    pub fn push(&self, ctx: &RenderContext) -> Result<PushMessage, RenderError> {
        let value = Self::context_value(ctx);
        let body = self.required(Field::Body, &value, "push")?;
        let title = self.text(Field::Title, &value)?.unwrap_or_default();
        let deep_link = self
            .text(Field::DeepLink, &value)?
            .or_else(|| non_empty(&ctx.links.click));
        let image_url = self
            .text(Field::ImageUrl, &value)?
            .filter(|s| !s.is_empty());
        let content = self.content();
        Ok(PushMessage {
            title,
            body,
            sound: content.sound.clone(),
            category: content.category.clone(),
            thread_id: non_empty(&ctx.campaign.id).map(|id| format!("campaign-{id}")),
            mutable_content: image_url.is_some(),
            deep_link,
            image_url,
            data: tracking_data(ctx),
            collapse_id: content.collapse_id.clone(),
            ..PushMessage::default()
        })
    }

    /// An email: subject, the escaped HTML body in the `email.html`
    /// frame, and the text alternative (`email_text` or the HTML as text)
    /// in the `email.txt` frame.
    pub fn email(&self, ctx: &RenderContext) -> Result<EmailMessage, RenderError> {
        let value = Self::context_value(ctx);
        let subject = one_line(&self.required(Field::EmailSubject, &value, "email")?);
        let message = context! {
            title => self.text(Field::Title, &value)?,
            body => self.text(Field::Body, &value)?,
        };
        let html_value = context! { message => message, ..value.clone() };
        let body_html = self
            .render_field(Field::EmailHtml, &html_value)?
            .map(|h| strip_scripts(&h));
        let body_html = body_html.ok_or_else(|| self.missing("email", Field::EmailHtml))?;
        let body_text = match self.render_field(Field::EmailText, &html_value)? {
            Some(text) => text,
            None => html_to_text(&body_html),
        };
        let preheader = self
            .text(Field::EmailPreheader, &value)?
            .unwrap_or_default();
        let unsubscribe = non_empty(&ctx.links.unsubscribe);
        let html = layout::render(
            "email.html",
            &EmailHtmlLayout {
                subject: &subject,
                preheader: &preheader,
                content: &body_html,
                unsubscribe_url: unsubscribe.as_deref(),
                open_pixel: ctx.links.open_pixel.as_deref(),
            },
        )?;
        let text = layout::render(
            "email.txt",
            &EmailTextLayout {
                content: body_text.trim(),
                unsubscribe_url: unsubscribe.as_deref(),
            },
        )?;
        Ok(EmailMessage {
            subject,
            html,
            text,
            unsubscribe_url: unsubscribe,
            unsubscribe_mailto: ctx.links.unsubscribe_mailto.clone(),
        })
    }

    /// An SMS: `sms_body`, else `body`, trimmed.
    pub fn sms(&self, ctx: &RenderContext) -> Result<SmsMessage, RenderError> {
        let value = Self::context_value(ctx);
        let field = if self.has(Field::SmsBody) {
            Field::SmsBody
        } else {
            Field::Body
        };
        let body = self.required(field, &value, "sms")?;
        Ok(SmsMessage {
            body: body.trim().to_owned(),
            status_callback: ctx.delivery.sms_status_callback.clone(),
        })
    }

    /// A webhook document: the rendered texts, the recipient, the items
    /// and links, and the tracking data.
    pub fn webhook(&self, ctx: &RenderContext) -> Result<WebhookMessage, RenderError> {
        let value = Self::context_value(ctx);
        let items: Vec<serde_json::Value> = ctx
            .items
            .iter()
            .map(|i| json!({ "item_id": i.item_id, "title": i.title, "url": i.url, "reason": i.reason, "rank": i.rank }))
            .collect();
        let body = json!({
            "campaign": { "id": ctx.campaign.id, "name": ctx.campaign.name },
            "variant": ctx.variant.name,
            "user_id": ctx.user.user_id,
            "title": self.text(Field::Title, &value)?,
            "body": self.text(Field::Body, &value)?,
            "deep_link": self.text(Field::DeepLink, &value)?.or_else(|| non_empty(&ctx.links.click)),
            "items": items,
            "links": { "click": ctx.links.click, "unsubscribe": ctx.links.unsubscribe },
            "data": tracking_data(ctx),
        });
        Ok(WebhookMessage { body })
    }

    /// A field rendered and trimmed, `None` when unset.
    fn text(&self, field: Field, value: &Value) -> Result<Option<String>, RenderError> {
        Ok(self
            .render_field(field, value)?
            .map(|s| s.trim().to_owned()))
    }

    /// A field the channel cannot do without.
    fn required(
        &self,
        field: Field,
        value: &Value,
        channel: &'static str,
    ) -> Result<String, RenderError> {
        self.text(field, value)?
            .ok_or_else(|| self.missing(channel, field))
    }

    /// The error for a missing field.
    fn missing(&self, channel: &'static str, field: Field) -> RenderError {
        RenderError::MissingField {
            variant: self.variant().to_owned(),
            channel,
            field: self.key(field),
        }
    }
}

/// Tracking ids every push and webhook carries, plus the planner's data.
fn tracking_data(ctx: &RenderContext) -> std::collections::BTreeMap<String, String> {
    let mut data = ctx.delivery.data.clone();
    data.insert("campaign_id".to_owned(), ctx.campaign.id.clone());
    data.insert("variant".to_owned(), ctx.variant.name.clone());
    data.insert("user_id".to_owned(), ctx.user.user_id.clone());
    if !ctx.items.is_empty() {
        let ids: Vec<&str> = ctx.items.iter().map(|i| i.item_id.as_str()).collect();
        data.insert("item_ids".to_owned(), ids.join(","));
    }
    data
}

/// `Some(text)` unless empty.
fn non_empty(text: &str) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.to_owned())
}

/// A subject on one line with single spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
