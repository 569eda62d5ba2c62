//! The dashboard: server-rendered askama pages (`templates/dashboard/`,
//! inline CSS, no script, no external assets) behind an API key kept in
//! an `HttpOnly` cookie ([`session`]).
//!
//! | route | shows |
//! |---|---|
//! | `GET/POST /dashboard/login` | the key form; sets the `herald_key` cookie |
//! | `GET /dashboard` | campaigns with status and key rates |
//! | `GET /dashboard/campaigns/{id}` | the report's charts and tables |
//! | `GET /dashboard/campaigns/{id}/preview?user=ID` | the rendered message |
//! | `GET /dashboard/campaigns/{id}/edit?text=...&user=ID` | the editor with a preview of the edited file |
//! | `POST /dashboard/campaigns/{id}/edit` | save a draft's file |
//! | `GET /dashboard/segments` | the active model's segments |

pub mod campaign;
pub mod editor;
pub mod pages;
pub mod session;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::AppState;
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
        let status = match self {
            Self::UnknownCampaign(_) | Self::Report(ReportError::UnknownCampaign(_)) => {
                StatusCode::NOT_FOUND
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, format!("{self}\n")).into_response()
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

/// The dashboard routes; everything but the login form needs the cookie.
pub fn router(state: AppState) -> Router<AppState> {
    let guarded = Router::new()
        .route("/", get(pages::index))
        .route("/segments", get(pages::segments))
        .route("/campaigns/{id}", get(campaign::show))
        .route("/campaigns/{id}/preview", get(campaign::preview))
        .route("/campaigns/{id}/edit", get(editor::show).post(editor::save))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            session::require_cookie,
        ));
    Router::new()
        .route("/login", get(session::form).post(session::login))
        .merge(guarded)
}
