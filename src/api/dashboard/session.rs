//! Dashboard sign-in: a form takes an API key (the same keys as
//! `/api/v1`, checked by the same [`check_key`], which also records the
//! key's `last_used_at`) and keeps it in the
//! `herald_key` cookie (`HttpOnly; SameSite=Strict; Path=/dashboard`).
//! A page without a valid cookie redirects to the form.

use askama::Template;
use axum::Form;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{DashboardError, page};
use crate::api::AppState;
use crate::api::auth::{KeyCheck, check_key};
use crate::domain::now_millis;

/// The cookie holding the key.
pub const COOKIE: &str = "herald_key";

/// Where pages send a visitor without a valid cookie.
pub const LOGIN_PATH: &str = "/dashboard/login";

/// The sign-in page.
#[derive(Debug, Template)]
#[template(path = "dashboard/login.html")]
pub struct LoginPage {
    /// Why the last attempt failed, if it did.
    pub error: Option<String>,
}

/// The posted form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    /// The API key.
    pub key: String,
}

/// Whether `key` is a stored, unrevoked API key (its use is recorded).
pub async fn key_is_valid(state: &AppState, key: &str) -> Result<bool, DashboardError> {
    Ok(check_key(&state.store, key, now_millis()).await? == KeyCheck::Valid)
}

/// The `herald_key` cookie of a request, if any.
pub fn cookie_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The layer: lets a request with a valid cookie through, else redirects
/// to the sign-in form.
pub async fn require_cookie(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, DashboardError> {
    let valid = match cookie_key(request.headers()) {
        Some(key) => key_is_valid(&state, key).await?,
        None => false,
    };
    if !valid {
        return Ok(Redirect::to(LOGIN_PATH).into_response());
    }
    Ok(next.run(request).await)
}

/// `GET /dashboard/login`.
pub async fn form() -> Result<Response, DashboardError> {
    page(&LoginPage { error: None })
}

/// `POST /dashboard/login`: sets the cookie and goes to the dashboard, or
/// shows the form again with the reason (401).
pub async fn login(
    State(state): State<AppState>,
    Form(form): Form<LoginForm>,
) -> Result<Response, DashboardError> {
    let key = form.key.trim();
    if !key_is_valid(&state, key).await? {
        let error = "unknown or revoked API key; `herald apikey create NAME` makes one";
        let mut response = page(&LoginPage {
            error: Some(error.to_owned()),
        })?;
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(response);
    }
    let cookie = format!("{COOKIE}={key}; HttpOnly; SameSite=Strict; Path=/dashboard");
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/dashboard")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_read_from_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; herald_key=hk_x_y; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_key(&headers), Some("hk_x_y"));
        assert_eq!(cookie_key(&HeaderMap::new()), None);
    }
}
