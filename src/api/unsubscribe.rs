//! `/u/{token}`: the unsubscribe page (GET: a confirm button, or the
//! confirmation when the user already is unsubscribed from that channel)
//! and its POST, which is also the RFC 8058 one-click target that mail
//! clients call with the body `List-Unsubscribe=One-Click`. The POST turns
//! the channel's consent off and records `unsubscribe` once: repeating it
//! answers 200 again and changes nothing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::domain::now_millis;
use crate::feedback::events::event;
use crate::feedback::{LinkKind, LinkToken};
use crate::render::UnsubscribePage;

/// `GET /u/{token}`.
pub async fn page(
    State(state): State<AppState>,
    Path(text): Path<String>,
) -> Result<Response, ApiError> {
    let token = state.links.key().verify(&text, LinkKind::Unsubscribe)?;
    let consent = state
        .store
        .consent(&token.user_id, token.channel.as_str())
        .await?;
    let done = consent.is_some_and(|c| !c.granted);
    render(&state, &token, &text, done)
}

/// `POST /u/{token}` with `List-Unsubscribe=One-Click`.
pub async fn one_click(
    State(state): State<AppState>,
    Path(text): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let token = state.links.key().verify(&text, LinkKind::Unsubscribe)?;
    if !is_one_click(&body) {
        return Err(ApiError::BadRequest(
            "an unsubscribe POST carries List-Unsubscribe=One-Click (RFC 8058)",
        ));
    }
    let row = event(&token, "unsubscribe", "unsubscribe", now_millis());
    state.store.unsubscribe(&row).await?;
    render(&state, &token, &text, true)
}

/// Whether the body says `List-Unsubscribe=One-Click`, form-encoded or
/// as a multipart form field (RFC 8058 allows both).
fn is_one_click(body: &[u8]) -> bool {
    let encoded = url::form_urlencoded::parse(body)
        .any(|(k, v)| k.trim() == "List-Unsubscribe" && v.trim() == "One-Click");
    encoded || multipart_one_click(body)
}

/// The multipart form: a part named `List-Unsubscribe` holding `One-Click`.
fn multipart_one_click(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.split("name=\"List-Unsubscribe\"")
        .nth(1)
        .and_then(|rest| rest.split("\r\n\r\n").nth(1))
        .is_some_and(|value| value.trim_start().starts_with("One-Click"))
}

/// The page for `token`; the form posts back to the same signed URL
/// (relative, so it works behind any public base).
fn render(
    state: &AppState,
    token: &LinkToken,
    text: &str,
    done: bool,
) -> Result<Response, ApiError> {
    let brand = brand(&state.settings.email.from);
    let page = UnsubscribePage {
        brand: &brand,
        action: text,
        channel: token.channel.as_str(),
        done,
    };
    let html = askama::Template::render(&page).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::HeaderName::from_static("x-robots-tag"), "noindex"),
        ],
        Html(html),
    )
        .into_response())
}

/// The sender's display name from `email.from` (`Shop <news@shop.example>`
/// gives `Shop`), else the address's domain.
fn brand(from: &str) -> String {
    let name = from
        .split('<')
        .next()
        .unwrap_or_default()
        .trim()
        .trim_matches('"')
        .trim();
    if !name.is_empty() && from.contains('<') {
        return name.to_owned();
    }
    let address = from.trim().trim_start_matches('<').trim_end_matches('>');
    address
        .rsplit_once('@')
        .map_or_else(|| "us".to_owned(), |(_, domain)| domain.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_click_bodies_are_recognised_in_both_encodings() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(b"x=1&List-Unsubscribe=One-Click"));
        let multipart = b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
        assert!(is_one_click(multipart));
        assert!(!is_one_click(b""));
        assert!(!is_one_click(b"List-Unsubscribe=No"));
    }

    #[test]
    fn the_brand_is_the_senders_display_name_or_domain() {
        assert_eq!(brand("Shop <news@shop.example>"), "Shop");
        assert_eq!(brand("\"Big Shop\" <news@shop.example>"), "Big Shop");
        assert_eq!(brand("news@shop.example"), "shop.example");
        assert_eq!(brand(""), "us");
    }
}
