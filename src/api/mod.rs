//! herald's HTTP side (axum): the public, unauthenticated routes that
//! signed links lead to, and the health check. Each public route is
//! guarded by the HMAC signature of its token ([`crate::feedback::links`]);
//! errors become statuses in one place ([`error`]).
//!
//! | route | does |
//! |---|---|
//! | `GET /t/c/{token}` | records a click, 302 to the signed destination |
//! | `GET /t/o/{token}` | records an open, answers a 1x1 GIF (`no-store`) |
//! | `GET /u/{token}` | the unsubscribe page |
//! | `POST /u/{token}` | unsubscribes (RFC 8058 one-click), idempotent, 200 |
//! | `POST /t/r/{token}` | SMS StatusCallback: `delivered` / `failed` |
//! | `GET /healthz` | 200 when the database answers, else 503 |
//! | `GET /metrics` | Prometheus text ([`metrics`]); needs an API key, like `/api/v1` |
//!
//! The authenticated JSON API lives under `/api/v1` ([`v1`], keys in [`auth`]),
//! the HTML dashboard under `/dashboard` ([`dashboard`]). The accept loop
//! ([`server`]) bounds connections, header reads and handler time.

pub mod auth;
pub mod dashboard;
pub mod error;
pub mod metrics;
pub mod privacy;
pub mod server;
pub mod tracking;
pub mod unsubscribe;
pub mod v1;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Settings;
use crate::feedback::{FeedbackError, Linker, Recorder, link_key};
use crate::store::Store;
use error::ApiError;
pub use server::ServerLimits;

/// What every handler shares; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// The settings (public URL, sender name).
    pub settings: Arc<Settings>,
    /// Signs and verifies links under `server.public_url`.
    pub links: Linker,
    /// Writes clicks, opens and receipts in group commits.
    pub recorder: Recorder,
}

impl AppState {
    /// The state with the link key resolved (see
    /// [`link_key`]: the secret file, else the database's secret, created
    /// at `now` ms if missing) and the event writer started (so this runs
    /// inside a Tokio runtime).
    pub async fn new(
        store: Store,
        settings: Arc<Settings>,
        now: i64,
    ) -> Result<Self, FeedbackError> {
        let key = link_key(&settings.security, &store, now).await?;
        let links = Linker::new(settings.server.public_url.as_url().as_str(), key);
        Ok(Self {
            recorder: Recorder::start(store.clone()),
            store,
            settings,
            links,
        })
    }
}

/// The router with every route above.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/t/c/{token}", get(tracking::click))
        .route("/t/o/{token}", get(tracking::open))
        .route("/t/r/{token}", post(tracking::receipt))
        .route(
            "/u/{token}",
            get(unsubscribe::page).post(unsubscribe::one_click),
        )
        .route(
            "/metrics",
            get(metrics::scrape).route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_key,
            )),
        )
        .nest("/api/v1", v1::router(state.clone()))
        .nest("/dashboard", dashboard::router(state.clone()))
        .route_layer(axum::middleware::from_fn(metrics::count_requests))
        .fallback(not_found)
        .with_state(state)
}

/// Serves the router on `listener` with the default [`ServerLimits`]
/// until `shutdown` turns true, then stops accepting and lets requests in
/// flight finish.
pub async fn serve_http(
    state: AppState,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    serve_http_with(state, listener, shutdown, ServerLimits::default()).await
}

/// [`serve_http`] with `limits` (connections, header and request timeouts).
pub async fn serve_http_with(
    state: AppState,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
    limits: ServerLimits,
) -> std::io::Result<()> {
    server::serve(router(state), listener, shutdown, limits).await
}

/// `GET /healthz`.
async fn health(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ok\n")
}

/// Any other path: a plain 404.
async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}
