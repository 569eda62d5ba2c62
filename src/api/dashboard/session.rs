//! Dashboard sessions. Signing in with an API key (the same keys as
//! `/api/v1`, checked by the same [`crate::api::auth::check_key`]) opens a
//! session: a random 256-bit id in the `herald_session` cookie
//! (`HttpOnly; SameSite=Lax; Path=/`, `Secure` when `server.public_url`
//! is https, expiring after [`SESSION_TTL_MS`]); the store keeps only the
//! id's SHA-256, the key that signed in, a CSRF token and the expiry
//! ([`crate::store::Store::session`]). A page without a valid session
//! (none, unknown, expired, signed out, or its key revoked) redirects to
//! the sign-in form.
//!
//! CSRF: every POST under the session must carry the session's token in
//! its `csrf` form field (a synchronizer token, compared in constant
//! time); without it or with another one the answer is 403 and the
//! handler never runs. The sign-in form itself has no session yet: its
//! token is paired with a short-lived `herald_login` cookie instead
//! ([`crate::api::dashboard::login`]).

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::DashboardError;
use crate::api::AppState;
use crate::api::auth::hash_key;
use crate::domain::now_millis;

/// The cookie holding the session id.
pub const SESSION_COOKIE: &str = "herald_session";

/// How long a session lasts after sign-in (12 hours).
pub const SESSION_TTL_MS: i64 = 12 * 3_600_000;

/// Where pages send a visitor without a valid session.
pub const LOGIN_PATH: &str = "/dashboard/login";

/// Largest form body read to check its CSRF token (the editor posts a
/// whole campaign file).
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// The signed-in session of a request, for handlers that render forms
/// or end it.
#[derive(Debug, Clone)]
pub struct Signed {
    /// SHA-256 (hex) of the session id.
    pub hash: String,
    /// The token the session's forms carry.
    pub csrf: String,
}

/// 32 random bytes, base64url: session ids and CSRF tokens.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// Equality in time independent of where the inputs differ.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The cookie `name` of a request, if any.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax`, `Secure` when the
/// dashboard is served over https, gone after `max_age_secs` (0 deletes).
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age_secs: i64,
) -> String {
    let secure = state.settings.server.public_url.as_url().scheme() == "https";
    let flag = if secure { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Lax; Path={path}; Max-Age={max_age_secs}{flag}")
}

/// The layer: lets a request with a valid session through (a POST only
/// with the session's CSRF token), else redirects to the sign-in form.
pub async fn require_session(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, DashboardError> {
    let Some(hash) = cookie(request.headers(), SESSION_COOKIE).map(hash_key) else {
        return Ok(Redirect::to(LOGIN_PATH).into_response());
    };
    let Some(session) = state.store.session(&hash, now_millis()).await? else {
        return Ok(Redirect::to(LOGIN_PATH).into_response());
    };
    let mut request = if request.method() == Method::POST {
        match with_csrf(request, &session.csrf_token).await {
            Ok(request) => request,
            Err(refused) => return Ok(refused),
        }
    } else {
        request
    };
    request.extensions_mut().insert(Signed {
        hash,
        csrf: session.csrf_token,
    });
    Ok(next.run(request).await)
}

/// The `csrf` field of a form body.
pub fn form_token(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
}

/// The request again when its form carries `expected`, else the 403.
async fn with_csrf(request: Request, expected: &str) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| forbidden("the form is larger than the dashboard accepts"))?;
    match form_token(&bytes) {
        Some(token) if same(&token, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(forbidden(
            "the form's CSRF token is missing or stale: reload the page and submit it again",
        )),
    }
}

/// A 403 with the reason.
pub fn forbidden(reason: &str) -> Response {
    (StatusCode::FORBIDDEN, format!("{reason}\n")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_read_from_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; herald_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }

    #[test]
    fn the_csrf_field_is_found_in_a_form_body_and_compared_whole() {
        assert_eq!(form_token(b"text=x&csrf=t0k%2B").as_deref(), Some("t0k+"));
        assert_eq!(form_token(b"text=x"), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 43);
    }
}
