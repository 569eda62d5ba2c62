//! The dashboard: server-rendered askama pages (`templates/dashboard/`,
//! inline CSS, no script, no external assets) behind a sign-in with an
//! API key that opens a server-side session ([`session`]; the cookie holds
//! an opaque session id, never the key). Every form post carries the
//! session's CSRF token. An error page shows what the visitor can act on
//! (an unknown campaign) or a generic message with a reference; the
//! internal detail goes to the log under that reference.
//!
//! | route | shows |
//! |---|---|
//! | `GET/POST /dashboard/login` | the key form; opens a session (`herald_session` cookie) |
//! | `GET/POST /dashboard/logout` | the sign-out button; ends the session |
//! | `GET /dashboard` | campaigns with status and key rates |
//! | `GET /dashboard/campaigns/{id}` | the report's charts and tables |
//! | `GET /dashboard/campaigns/{id}/preview?user=ID` | the rendered message |
//! | `GET /dashboard/campaigns/{id}/edit?text=...&user=ID` | the editor with a preview of the edited file |
//! | `POST /dashboard/campaigns/{id}/edit` | save a draft's file |
//! | `GET /dashboard/segments` | the active model's segments |

pub mod campaign;
pub mod editor;
pub mod login;
pub mod pages;
pub mod session;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use crate::campaign::engine::CampaignError;
use crate::report::{ReportError, ReportOptions, Windows};
use crate::store::StoreError;

/// Why a page could not be shown; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The report failed.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No campaign has this id.
    #[error("no campaign {0}: the dashboard lists the campaigns")]
    UnknownCampaign(i64),
    /// A template failed to render.
    #[error("cannot render the page: {0}")]
    Render(#[from] askama::Error),
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        match self {
            Self::UnknownCampaign(_) | Self::Report(ReportError::UnknownCampaign(_)) => {
                (StatusCode::NOT_FOUND, format!("{self}\n")).into_response()
            }
            internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}\n", logged(&internal)),
            )
                .into_response(),
        }
    }
}

/// Logs an internal error under a fresh reference and returns the text a
/// visitor sees instead: a generic message with that reference.
pub(crate) fn logged(error: &dyn std::fmt::Display) -> String {
    let reference = format!("{:08x}", rand::random::<u32>());
    tracing::error!(%reference, %error, "dashboard request failed");
    format!(
        "The dashboard could not do this (reference {reference}); the server log has the details."
    )
}

/// What a page shows for a failed campaign operation: the reason when the
/// visitor can act on it, a reference to the log for a store failure.
pub(crate) fn shown(error: &CampaignError) -> String {
    match error {
        CampaignError::Store(e) => logged(e),
        e => e.to_string(),
    }
}

/// A rendered template as an HTML response.
pub(crate) fn page(template: &impl Template) -> Result<Response, DashboardError> {
    Ok(Html(template.render()?).into_response())
}

/// The report options from the settings, for one campaign or all.
pub(crate) fn report_options(state: &AppState, campaign: Option<i64>) -> ReportOptions {
    ReportOptions::new(campaign, Windows::from_settings(&state.settings.feedback))
}

/// The dashboard routes; everything but the login form needs a session,
/// and every POST under it the session's CSRF token.
pub fn router(state: AppState) -> Router<AppState> {
    let guarded = Router::new()
        .route("/", get(pages::index))
        .route("/segments", get(pages::segments))
        .route("/campaigns/{id}", get(campaign::show))
        .route("/campaigns/{id}/preview", get(campaign::preview))
        .route("/campaigns/{id}/edit", get(editor::show).post(editor::save))
        .route("/logout", get(login::logout_form).post(login::logout))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            session::require_session,
        ));
    Router::new()
        .route("/login", get(login::form).post(login::login))
        .merge(guarded)
}
