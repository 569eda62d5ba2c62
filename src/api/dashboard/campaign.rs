//! One campaign: the report's headline figures, charts and tables (the
//! sections of [`crate::report::html`]), and the preview of its message
//! for a chosen user.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{DashboardError, page, report_options};
use crate::api::AppState;
use crate::campaign::engine::Engine;
use crate::channels::RenderedMessage;
use crate::domain::now_millis;
use crate::report::build;
use crate::report::html::{CampaignView, campaign_view};

/// `GET /dashboard/campaigns/{id}`.
#[derive(Debug, Template)]
#[template(path = "dashboard/campaign.html")]
pub struct CampaignPage {
    /// The page title.
    pub title: String,
    /// The campaign's id, for the preview link.
    pub id: i64,
    /// `scheduled`, `paused`, `cancelled` or `done`.
    pub status: String,
    /// The report section.
    pub view: CampaignView,
}

/// One channel's rendered message, ready to place.
#[derive(Debug)]
pub struct MessageView {
    /// `push`, `email`, ...
    pub channel: String,
    /// Title or subject.
    pub title: String,
    /// Plain text body (push, SMS, email text, webhook JSON).
    pub body: String,
    /// The email's HTML, shown in a sandboxed frame.
    pub html: Option<String>,
}

/// `GET /dashboard/campaigns/{id}/preview`.
#[derive(Debug, Template)]
#[template(path = "dashboard/preview.html")]
pub struct PreviewPage {
    /// The page title.
    pub title: String,
    /// The campaign's id.
    pub id: i64,
    /// The user asked for, empty before the form is used.
    pub user: String,
    /// Why there is no preview, if there is none.
    pub error: Option<String>,
    /// One message per channel the user can be reached on.
    pub messages: Vec<MessageView>,
}

/// The preview query.
#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    /// The user to render for.
    pub user: Option<String>,
}

/// `GET /dashboard/campaigns/{id}`.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, DashboardError> {
    let row = state
        .store
        .campaign(id)
        .await?
        .ok_or(DashboardError::UnknownCampaign(id))?;
    let report = build(&state.store, &report_options(&state, Some(id))).await?;
    page(&CampaignPage {
        title: format!("herald · {}", row.name),
        id,
        status: row.status,
        view: campaign_view(&report, id, &row.name),
    })
}

/// A rendered message as the pages show it.
pub(crate) fn message_view(channel: String, message: RenderedMessage) -> MessageView {
    let (title, body, html) = match message {
        RenderedMessage::Push(p) => (p.title, p.body, None),
        RenderedMessage::Email(e) => (e.subject, e.text, Some(e.html)),
        RenderedMessage::Sms(s) => (String::new(), s.body, None),
        RenderedMessage::Webhook(w) => (String::new(), w.body.to_string(), None),
    };
    MessageView {
        channel,
        title,
        body,
        html,
    }
}

/// `GET /dashboard/campaigns/{id}/preview?user=ID`: the form, and the
/// messages when a user is given (400 with the reason when they cannot be
/// rendered).
pub async fn preview(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<PreviewQuery>,
) -> Result<Response, DashboardError> {
    let row = state
        .store
        .campaign(id)
        .await?
        .ok_or(DashboardError::UnknownCampaign(id))?;
    let user = query.user.unwrap_or_default().trim().to_owned();
    let mut preview = PreviewPage {
        title: format!("herald · preview · {}", row.name),
        id,
        user: user.clone(),
        error: None,
        messages: Vec::new(),
    };
    if user.is_empty() {
        return page(&preview);
    }
    let engine = Engine::new(state.store.clone(), state.settings.clone());
    match engine.preview(id, &user, now_millis()).await {
        Ok(messages) => {
            preview.messages = messages
                .into_iter()
                .map(|(c, m)| message_view(c.to_string(), m))
                .collect();
            page(&preview)
        }
        Err(e) => {
            preview.error = Some(super::shown(&e));
            let mut response = page(&preview)?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
    }
}
