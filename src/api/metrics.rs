//! `GET /metrics`: herald's counters in the Prometheus text format, and
//! the middleware counting API requests by matched route and status.
//!
//! The scrape is not public: it needs `Authorization: Bearer KEY` with an
//! API key, like `/api/v1` (401 without, 403 with a revoked key), so the
//! send volumes and route counts are not served to anyone who finds the
//! host. Prometheus sends the key from a file
//! (`authorization: { credentials_file: ... }` in its scrape config).
//!
//! The registry is process-wide ([`global`]) so the dispatch workers,
//! the tracking routes and the HTTP layer feed the same numbers without
//! threading a handle through every stage. Workers record once per batch
//! (ARCHITECTURE rule 10); only the latency histogram takes one
//! observation per send. The outbox depth is read from the store at
//! scrape time with one `COUNT`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `herald_sends_total` | counter | `provider` (the channel), `outcome` |
//! | `herald_retries_total` | counter | |
//! | `herald_dead_tokens_total` | counter | |
//! | `herald_send_seconds` | histogram | `provider` |
//! | `herald_outbox_depth` | gauge | |
//! | `herald_circuit_state` | gauge (0 closed, 1 open, 2 half-open) | `provider` |
//! | `herald_tracking_hits_total` | counter | `kind` |
//! | `herald_http_requests_total` | counter | `route`, `status` |

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use super::AppState;
use super::error::ApiError;
use crate::dispatch::Tally;
use crate::store::{AttemptRecord, OutboxRow};

/// Every herald metric, registered in one registry.
#[derive(Debug)]
pub struct Metrics {
    /// Where the metrics below are registered.
    registry: Registry,
    /// Send attempts by provider and outcome.
    sends: IntCounterVec,
    /// Attempts that failed transiently and were scheduled again.
    retries: IntCounter,
    /// Tokens the providers reported gone.
    dead_tokens: IntCounter,
    /// Duration of each send attempt, by provider.
    send_seconds: HistogramVec,
    /// Pending outbox rows, set at scrape time.
    outbox_depth: IntGauge,
    /// Each provider's circuit: 0 closed, 1 open, 2 half-open.
    circuit_state: IntGaugeVec,
    /// Clicks, opens and receipts through the tracking routes.
    tracking_hits: IntCounterVec,
    /// HTTP requests by matched route and status.
    http_requests: IntCounterVec,
}

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// A counter vector; the names are constants, so failure is a bug.
fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition")
}

impl Metrics {
    /// Fresh metrics in their own registry.
    fn new() -> Self {
        let buckets = vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ];
        let metrics = Self {
            registry: Registry::new(),
            sends: counter_vec(
                "herald_sends_total",
                "Send attempts by provider and outcome.",
                &["provider", "outcome"],
            ),
            retries: IntCounter::new("herald_retries_total", "Sends scheduled again.")
                .expect("valid metric definition"),
            dead_tokens: IntCounter::new(
                "herald_dead_tokens_total",
                "Device tokens the providers reported gone.",
            )
            .expect("valid metric definition"),
            send_seconds: HistogramVec::new(
                HistogramOpts::new("herald_send_seconds", "Send attempt latency.").buckets(buckets),
                &["provider"],
            )
            .expect("valid metric definition"),
            outbox_depth: IntGauge::new("herald_outbox_depth", "Pending outbox rows.")
                .expect("valid metric definition"),
            circuit_state: IntGaugeVec::new(
                Opts::new(
                    "herald_circuit_state",
                    "Provider circuit: 0 closed, 1 open (credentials or settings refused), 2 half-open.",
                ),
                &["provider"],
            )
            .expect("valid metric definition"),
            tracking_hits: counter_vec(
                "herald_tracking_hits_total",
                "Tracking route hits by kind.",
                &["kind"],
            ),
            http_requests: counter_vec(
                "herald_http_requests_total",
                "HTTP requests by matched route and status.",
                &["route", "status"],
            ),
        };
        metrics.register_all();
        metrics
    }

    /// Registers every metric once.
    fn register_all(&self) {
        let all: [Box<dyn prometheus::core::Collector>; 8] = [
            Box::new(self.sends.clone()),
            Box::new(self.retries.clone()),
            Box::new(self.dead_tokens.clone()),
            Box::new(self.send_seconds.clone()),
            Box::new(self.outbox_depth.clone()),
            Box::new(self.circuit_state.clone()),
            Box::new(self.tracking_hits.clone()),
            Box::new(self.http_requests.clone()),
        ];
        for collector in all {
            self.registry
                .register(collector)
                .expect("metric names are distinct");
        }
    }

    /// Records one batch's attempts: sends by provider and outcome, dead
    /// tokens, and each attempt's latency. `rows` are the batch's claimed
    /// rows (for the provider of each attempt).
    pub fn observe_attempts<'a>(
        &self,
        rows: &[OutboxRow],
        attempts: impl IntoIterator<Item = &'a AttemptRecord>,
    ) {
        let providers: HashMap<i64, &str> = rows
            .iter()
            .map(|r| (r.outbox_id, r.channel.as_str()))
            .collect();
        let mut sends: HashMap<(&str, &str), u64> = HashMap::new();
        let mut dead = 0;
        for attempt in attempts.into_iter().filter(|a| a.outcome != "held") {
            let provider = providers
                .get(&attempt.outbox_id)
                .copied()
                .unwrap_or("unknown");
            *sends
                .entry((provider, attempt.outcome.as_str()))
                .or_default() += 1;
            dead += u64::from(attempt.outcome == "token_gone");
            let seconds = (attempt.finished_at - attempt.started_at).max(0) as f64 / 1000.0;
            self.send_seconds
                .with_label_values(&[provider])
                .observe(seconds);
        }
        for ((provider, outcome), n) in sends {
            self.sends.with_label_values(&[provider, outcome]).inc_by(n);
        }
        self.dead_tokens.inc_by(dead);
    }

    /// Records what a batch's tally says beyond the attempts: retries.
    pub fn observe_tally(&self, tally: &Tally) {
        self.retries.inc_by(tally.retried);
    }

    /// Counts one tracking hit (`click`, `open`, `delivered`, ...).
    pub fn tracking_hit(&self, kind: &str) {
        self.tracking_hits.with_label_values(&[kind]).inc();
    }

    /// Counts one HTTP request.
    pub fn http_request(&self, route: &str, status: u16) {
        self.http_requests
            .with_label_values(&[route, &status.to_string()])
            .inc();
    }

    /// Sets a provider's circuit state (0 closed, 1 open, 2 half-open).
    pub fn set_circuit_state(&self, provider: &str, state: i64) {
        self.circuit_state.with_label_values(&[provider]).set(state);
    }

    /// Sets the outbox depth gauge.
    pub fn set_outbox_depth(&self, pending: u64) {
        self.outbox_depth
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
    }

    /// Every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// `GET /metrics`: reads the outbox depth, then renders every metric.
pub async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    let pending = state.store.pending_outbox_count().await?;
    let metrics = global();
    metrics.set_outbox_depth(pending);
    let body = metrics.render();
    let content_type = (header::CONTENT_TYPE, "text/plain; version=0.0.4");
    Ok(([content_type], body).into_response())
}

/// Middleware: counts each request by its matched route (the pattern,
/// e.g. `/t/c/{token}`, never the raw URL) and response status.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    global().http_request(&route, response.status().as_u16());
    response
}
