//! The campaign editor: the campaign file in a text area with a preview
//! of the edited content for a chosen user. `Preview` renders the text as
//! it stands without storing anything (a GET, so the page can be
//! bookmarked and reloaded); `Save draft` (a POST) replaces a draft's file,
//! validated like a new campaign, and shows the reason when it is refused.
//! The save button carries the session's CSRF token (as the submitting
//! button's value, so the preview's GET never puts it in a URL).

use askama::Template;
use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::campaign::{MessageView, message_view};
use super::session::Signed;
use super::{DashboardError, page};
use crate::api::AppState;
use crate::campaign::engine::{CampaignError, Engine};
use crate::campaign::lifecycle::editable;
use crate::campaign::plan::campaign_file;
use crate::domain::now_millis;
use crate::store::CampaignRow;

/// `GET|POST /dashboard/campaigns/{id}/edit`.
#[derive(Debug, Template)]
#[template(path = "dashboard/edit.html")]
pub struct EditPage {
    /// The page title.
    pub title: String,
    /// The campaign's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: String,
    /// Whether it can be saved (a draft).
    pub editable: bool,
    /// `toml` or `json`.
    pub format: String,
    /// The text in the editor.
    pub text: String,
    /// The user previewed, empty for none.
    pub user: String,
    /// What just happened (saved).
    pub notice: Option<String>,
    /// Why the text cannot be previewed or saved.
    pub error: Option<String>,
    /// The preview, one message per channel the user can be reached on.
    pub messages: Vec<MessageView>,
    /// The session's CSRF token, carried by the save button.
    pub csrf: String,
}

/// The editor's query (GET) or form (POST).
#[derive(Debug, Default, Deserialize)]
pub struct EditForm {
    /// The edited campaign file; the stored one when absent.
    pub text: Option<String>,
    /// The user to preview for.
    pub user: Option<String>,
    /// Set after a save, to say so.
    pub saved: Option<String>,
}

/// The campaign row and its stored (format, text).
async fn stored(
    state: &AppState,
    id: i64,
) -> Result<(CampaignRow, String, String), DashboardError> {
    let row = state
        .store
        .campaign(id)
        .await?
        .ok_or(DashboardError::UnknownCampaign(id))?;
    let (format, text) = campaign_file(&row);
    Ok((row, format, text))
}

/// The page for `row` with `text` in the editor; `csrf` for its save.
fn edit_page(
    row: &CampaignRow,
    format: String,
    text: String,
    user: String,
    csrf: String,
) -> EditPage {
    EditPage {
        title: format!("herald · edit · {}", row.name),
        id: row.campaign_id,
        name: row.name.clone(),
        status: row.status.clone(),
        editable: editable(&row.status).is_ok(),
        format,
        text,
        user,
        notice: None,
        error: None,
        messages: Vec::new(),
        csrf,
    }
}

/// The page as a response, 400 when it carries an error.
fn respond(edit: &EditPage) -> Result<Response, DashboardError> {
    let mut response = page(edit)?;
    if edit.error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

/// `GET /dashboard/campaigns/{id}/edit[?text=...&user=ID]`: the editor,
/// with the preview of the text for the user when one is given.
pub async fn show(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<i64>,
    Query(form): Query<EditForm>,
) -> Result<Response, DashboardError> {
    let (row, format, saved_text) = stored(&state, id).await?;
    let text = form.text.unwrap_or(saved_text);
    let user = form.user.unwrap_or_default().trim().to_owned();
    let mut edit = edit_page(&row, format, text, user, signed.csrf);
    if form.saved.is_some() {
        edit.notice = Some("Draft saved.".to_owned());
    }
    if !edit.user.is_empty() {
        let engine = Engine::new(state.store.clone(), state.settings.clone());
        let json = edit.format == "json";
        match engine
            .preview_text(id, &edit.text, json, &edit.user, now_millis())
            .await
        {
            Ok(messages) => {
                edit.messages = messages
                    .into_iter()
                    .map(|(c, m)| message_view(c.to_string(), m))
                    .collect();
            }
            Err(e) => edit.error = Some(super::shown(&e)),
        }
    }
    respond(&edit)
}

/// `POST /dashboard/campaigns/{id}/edit`: saves a draft's text and goes
/// back to the editor, or shows the editor with the reason (400, or 409
/// when the campaign is no longer a draft).
pub async fn save(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Result<Response, DashboardError> {
    let (row, format, saved_text) = stored(&state, id).await?;
    let text = form.text.unwrap_or(saved_text);
    let user = form.user.unwrap_or_default().trim().to_owned();
    let engine = Engine::new(state.store.clone(), state.settings.clone());
    let json = format == "json";
    let file = format!("campaign {id}");
    match engine
        .update_from_text(id, &text, json, &file, now_millis())
        .await
    {
        Ok(()) => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("user", &user)
                .append_pair("saved", "1")
                .finish();
            Ok(Redirect::to(&format!("/dashboard/campaigns/{id}/edit?{query}")).into_response())
        }
        Err(e) => {
            let conflict = matches!(e, CampaignError::Status { .. });
            let mut edit = edit_page(&row, format, text, user, signed.csrf);
            edit.error = Some(super::shown(&e));
            let mut response = respond(&edit)?;
            if conflict {
                *response.status_mut() = StatusCode::CONFLICT;
            }
            Ok(response)
        }
    }
}
