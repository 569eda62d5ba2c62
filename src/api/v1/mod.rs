//! The authenticated JSON API under `/api/v1`. Every route but
//! `openapi.json` sits behind [`super::auth::require_key`]; bodies are
//! limited to [`BODY_LIMIT`]; failures answer
//! `{ "error": { "code", "message", "field" } }` ([`JsonError`]).
//!
//! | route | does |
//! |---|---|
//! | `GET /campaigns`, `POST /campaigns[?draft=true]` | list, create from the campaign file as JSON |
//! | `GET /campaigns/{id}`, `PUT /campaigns/{id}` | one campaign with its file; replace a draft's file |
//! | `POST /campaigns/{id}/schedule`, `/pause`, `/resume`, `/cancel` | status changes |
//! | `GET /campaigns/{id}/preview?user=ID` | the messages a user would get now |
//! | `POST /campaigns/{id}/run` | plan a manual run now (workers send it) |
//! | `POST /campaigns/{id}/test?user=ID` | send one user's message now, unrecorded |
//! | `GET /segments`, `GET /segments/{id}` | the active segment model's segments |
//! | `POST /events`, `POST /events/batch` | one event, or many all-or-nothing |
//! | `GET /reports/{campaign_id}` | the campaign's report as JSON |
//! | `GET /users/{id}/export`, `POST /users/{id}/erase` | privacy export and erase |
//! | `POST /users`, `POST /users/batch` | create or update users (all-or-nothing) |
//! | `POST /devices`, `POST /devices/batch` | register push devices (all-or-nothing) |
//! | `GET /segments/{id}/users?after=&limit=` | a keyset page of a segment's user ids |
//! | `GET /openapi.json` | the OpenAPI 3 document (no key needed) |

pub mod campaign_actions;
pub mod campaigns;
pub mod events;
pub mod openapi;
pub mod people;
pub mod reports;
pub mod segment_users;
pub mod segments;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use super::AppState;
use super::auth::require_key;
use super::error::JsonError;
use crate::campaign::engine::Engine;

/// The largest request body accepted (event batches), in bytes.
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// The `/api/v1` routes, to be nested under `/api/v1` in a router whose
/// state is `state`.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(campaigns::list).post(campaigns::create))
        .route(
            "/campaigns/{id}",
            get(campaigns::get).put(campaigns::update),
        )
        .route("/campaigns/{id}/schedule", post(campaigns::schedule))
        .route("/campaigns/{id}/pause", post(campaigns::pause))
        .route("/campaigns/{id}/resume", post(campaigns::resume))
        .route("/campaigns/{id}/cancel", post(campaigns::cancel))
        .route("/campaigns/{id}/preview", get(campaigns::preview))
        .route("/campaigns/{id}/run", post(campaign_actions::run))
        .route("/campaigns/{id}/test", post(campaign_actions::test))
        .route("/segments", get(segments::list))
        .route("/segments/{id}", get(segments::get))
        .route("/events", post(events::one))
        .route("/events/batch", post(events::batch))
        .route("/reports/{campaign_id}", get(reports::get))
        .route("/users/{id}/export", get(super::privacy::export_user))
        .route("/users/{id}/erase", post(super::privacy::erase_user))
        .route("/users", post(people::user_one))
        .route("/users/batch", post(people::user_batch))
        .route("/devices", post(people::device_one))
        .route("/devices/batch", post(people::device_batch))
        .route("/segments/{id}/users", get(segment_users::list))
        .route_layer(from_fn_with_state(state, require_key))
        .route("/openapi.json", get(openapi::document))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .fallback(not_found)
}

/// The campaign engine on the state's store and settings.
fn engine(state: &AppState) -> Engine {
    Engine::new(state.store.clone(), state.settings.clone())
}

/// A numeric id from the request path (a JSON 400 when it is not one).
#[derive(Debug, Clone, Copy)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = JsonError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, JsonError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| JsonError::invalid("id", "the path needs one id"))?;
        raw.parse()
            .map(Id)
            .map_err(|_| JsonError::invalid("id", format!("`{raw}` is not a numeric id")))
    }
}

/// A request body as text, or the error naming why it is unusable.
fn body_text(body: Result<Bytes, BytesRejection>) -> Result<String, JsonError> {
    let bytes = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            JsonError::too_large(format!(
                "the body is over {BODY_LIMIT} bytes; send smaller batches"
            ))
        } else {
            JsonError::invalid("body", "the request body could not be read")
        }
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| JsonError::invalid("body", "the body is not UTF-8"))
}

/// A request body parsed as JSON.
fn body_json(body: Result<Bytes, BytesRejection>) -> Result<serde_json::Value, JsonError> {
    let text = body_text(body)?;
    serde_json::from_str(&text)
        .map_err(|e| JsonError::invalid("body", format!("the body is not valid JSON: {e}")))
}

/// Any other `/api/v1` path: a JSON 404.
async fn not_found() -> JsonError {
    JsonError::not_found("no such API route; GET /api/v1/openapi.json lists them")
}
