//! `herald worker` and `herald serve`: the long-running processes.
//! `worker` runs dispatch workers only (scale-out: any number of them
//! against one PostgreSQL database, leases keep them apart); `serve` runs
//! the HTTP server (tracking and unsubscribe routes, `/healthz`) on
//! `server.bind`, the scheduler and a dispatch worker in one process. Both
//! stop gracefully on Ctrl-C or SIGTERM: the current batch is recorded,
//! leases are released, HTTP requests in flight finish, and another
//! process picks up where they left off.

use crate::api::{AppState, ServerLimits, serve_http_with};
use crate::campaign::engine::Engine;
use crate::config::Settings;
use crate::dispatch::{ChannelSet, DrainReport, Worker};
use crate::domain::now_millis;
use crate::scheduler::{Scheduler, owner_id};
use crate::store::Store;
use anyhow::Context;
use clap::Args;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Arguments of `herald worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Exit once the outbox has nothing pending instead of serving until
    /// Ctrl-C or SIGTERM (herald extension, for batch jobs and `bench`).
    #[arg(long)]
    pub drain: bool,
}

/// Arguments of `herald serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Connections served at once; more wait in the kernel's backlog.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (also the idle
    /// time allowed between keep-alive requests) before it is disconnected.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub header_timeout: u64,
    /// Seconds a request may take before it answers 503 (`POST
    /// /api/v1/campaigns/{id}/run`, which plans a whole run, excepted).
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub request_timeout: u64,
}

impl ServeArgs {
    /// The HTTP server's limits these flags set.
    pub fn limits(&self) -> ServerLimits {
        ServerLimits {
            header_read_timeout: Duration::from_secs(self.header_timeout.max(1)),
            request_timeout: Duration::from_secs(self.request_timeout.max(1)),
            max_connections: self.max_connections.max(1),
        }
    }
}

/// A flag that turns true on Ctrl-C or SIGTERM, for graceful shutdown.
pub(crate) fn shutdown_on_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing the current batch");
        let _ = tx.send(true);
    });
    rx
}

/// Waits for Ctrl-C or (on Unix) SIGTERM.
async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// A dispatch worker on `store` with the settings' adapters and the
/// campaigns' channel fallback.
fn worker(store: &Store, settings: &Settings, owner: &str) -> anyhow::Result<Worker> {
    let engine = Engine::new(store.clone(), Arc::new(settings.clone()));
    let channels = ChannelSet::from_settings(settings)?;
    Ok(
        Worker::new(store.clone(), channels, settings.dispatch.clone(), owner)
            .with_fallback(engine.fallback()),
    )
}

fn report(owner: &str, report: &DrainReport) {
    let t = &report.totals;
    println!(
        "worker {owner}: {} delivered, {} failed, {} retried, {} redirected, {} fell back, in {} batches",
        t.delivered, t.failed, t.retried, t.redirected, t.fell_back, report.batches
    );
}

/// Runs `herald worker`.
pub async fn run_worker(settings: &Settings, args: WorkerArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let owner = owner_id();
    let shutdown = shutdown_on_signal();
    let worker = worker(&store, settings, &owner)?;
    tracing::info!(%owner, drain = args.drain, "dispatch worker started");
    let result = if args.drain {
        worker.drain(None, shutdown).await
    } else {
        worker.run(shutdown).await
    };
    store.close().await;
    report(&owner, &result?);
    Ok(())
}

/// Runs `herald serve`: the HTTP server, the scheduler and a dispatch
/// worker until Ctrl-C or SIGTERM.
pub async fn run_serve(settings: &Settings, args: ServeArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let owner = owner_id();
    let shared = Arc::new(settings.clone());
    let state = AppState::new(store.clone(), shared.clone(), now_millis()).await?;
    let bind = settings.server.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on server.bind {bind}"))?;
    let address = listener.local_addr().context("reading the bound address")?;
    let shutdown = shutdown_on_signal();
    let configured = ChannelSet::configured_in(settings);
    let engine = Engine::new(store.clone(), shared).sending_through(configured);
    let worker = worker(&store, settings, &owner)?;
    let scheduler = Scheduler::new(engine, owner.clone());
    eprintln!(
        "herald serve: http://{address} (tracking, unsubscribe, /healthz); scheduler and dispatch worker running as {owner} (Ctrl-C or SIGTERM stops them)"
    );
    let (_, sent, http) = tokio::join!(
        scheduler.run(shutdown.clone()),
        worker.run(shutdown.clone()),
        serve_http_with(state, listener, shutdown, args.limits())
    );
    store.close().await;
    http.context("the HTTP server failed")?;
    report(&owner, &sent?);
    Ok(())
}
