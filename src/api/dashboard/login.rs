//! Signing in and out of the dashboard. The sign-in form is protected
//! from cross-site posts like every other form, but there is no session
//! yet to hold its CSRF token: showing the form sets a random token in a
//! short-lived `herald_login` cookie (`Path=/dashboard/login`) and in the
//! form, and the post must carry both, equal. A valid key then opens a
//! session (see [`super::session`]); signing out deletes it server-side
//! and expires the cookie.

use askama::Template;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, http::HeaderValue};
use serde::Deserialize;

use super::session::{
    LOGIN_PATH, SESSION_COOKIE, SESSION_TTL_MS, Signed, cookie, random_token, same, set_cookie,
};
use super::{DashboardError, page};
use crate::api::AppState;
use crate::api::auth::{KeyCheck, check_key, hash_key, prefix_of};
use crate::domain::now_millis;
use crate::store::NewSession;

/// The cookie pairing the sign-in form with its post.
pub const LOGIN_COOKIE: &str = "herald_login";

/// How long a sign-in form stays valid (seconds).
const LOGIN_FORM_SECS: i64 = 3_600;

/// The sign-in page.
#[derive(Debug, Template)]
#[template(path = "dashboard/login.html")]
pub struct LoginPage {
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
    /// The form's CSRF token (also in the `herald_login` cookie).
    pub csrf: String,
}

/// The sign-out page.
#[derive(Debug, Template)]
#[template(path = "dashboard/logout.html")]
pub struct LogoutPage {
    /// The page title.
    pub title: String,
    /// The session's CSRF token.
    pub csrf: String,
}

/// The posted sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The API key.
    pub key: String,
    /// The form's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// The sign-in form with a fresh token (and its cookie), answering
/// `status` with `error` shown.
fn login_page(
    state: &AppState,
    status: StatusCode,
    error: Option<&str>,
) -> Result<Response, DashboardError> {
    let csrf = random_token();
    let mut response = page(&LoginPage {
        error: error.map(str::to_owned),
        csrf: csrf.clone(),
    })?;
    *response.status_mut() = status;
    let value = set_cookie(state, LOGIN_COOKIE, &csrf, LOGIN_PATH, LOGIN_FORM_SECS);
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /dashboard/login`.
pub async fn form(State(state): State<AppState>) -> Result<Response, DashboardError> {
    login_page(&state, StatusCode::OK, None)
}

/// `POST /dashboard/login`: opens a session and goes to the dashboard;
/// 403 when the form's token does not match its cookie, 401 with the
/// reason when the key is not valid.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, DashboardError> {
    let paired =
        cookie(&headers, LOGIN_COOKIE).is_some_and(|c| !c.is_empty() && same(c, &form.csrf));
    if !paired {
        let reason = "the sign-in form expired or was not sent from this dashboard; sign in again";
        return login_page(&state, StatusCode::FORBIDDEN, Some(reason));
    }
    let now = now_millis();
    let key = form.key.trim();
    let key_id = match check_key(&state.store, key, now).await? {
        KeyCheck::Valid => key_id(&state, key).await?,
        _ => None,
    };
    let Some(key_id) = key_id else {
        let error = "unknown or revoked API key; `herald apikey create NAME` makes one";
        return login_page(&state, StatusCode::UNAUTHORIZED, Some(error));
    };
    let id = random_token();
    let session = NewSession {
        hash: hash_key(&id),
        key_id,
        csrf_token: random_token(),
        created_at: now,
        expires_at: now + SESSION_TTL_MS,
    };
    state.store.create_session(&session).await?;
    let cookies = [
        set_cookie(&state, SESSION_COOKIE, &id, "/", SESSION_TTL_MS / 1000),
        set_cookie(&state, LOGIN_COOKIE, "", LOGIN_PATH, 0),
    ];
    Ok(with_cookies(
        Redirect::to("/dashboard").into_response(),
        &cookies,
    ))
}

/// The stored id of a valid key.
async fn key_id(state: &AppState, key: &str) -> Result<Option<i64>, DashboardError> {
    let Some(prefix) = prefix_of(key) else {
        return Ok(None);
    };
    Ok(state
        .store
        .api_key_by_prefix(prefix)
        .await?
        .map(|row| row.key_id))
}

/// `response` with each of `cookies` set.
fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for value in cookies {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `GET /dashboard/logout`: the sign-out button.
pub async fn logout_form(Extension(signed): Extension<Signed>) -> Result<Response, DashboardError> {
    page(&LogoutPage {
        title: "herald · sign out".to_owned(),
        csrf: signed.csrf,
    })
}

/// `POST /dashboard/logout` (CSRF-checked by the session layer): deletes
/// the session and expires its cookie.
pub async fn logout(
    State(state): State<AppState>,
    Extension(signed): Extension<Signed>,
) -> Result<Response, DashboardError> {
    state.store.delete_session(&signed.hash).await?;
    let expired = set_cookie(&state, SESSION_COOKIE, "", "/", 0);
    Ok(with_cookies(
        Redirect::to(LOGIN_PATH).into_response(),
        &[expired],
    ))
}
