//! The accept loop of `herald serve`, with limits so that careless or
//! hostile clients cannot hold the server:
//!
//! - at most [`ServerLimits::max_connections`] connections are served at
//!   once; further ones wait in the kernel's backlog until one closes;
//! - a client must send a request's headers within
//!   [`ServerLimits::header_read_timeout`] (HTTP/1: also the idle time
//!   allowed between keep-alive requests; HTTP/2: its 24-byte preface),
//!   else the connection is closed;
//! - a handler that runs longer than [`ServerLimits::request_timeout`]
//!   answers 503, except `POST .../run`, which plans a whole campaign run
//!   and is not cut short halfway.
//!
//! Shutdown stops accepting and lets the requests in flight finish, as
//! `axum::serve` does.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// The limits of the HTTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time a handler may take before the request answers 503.
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Serves `router` on `listener` with `limits` until `shutdown` turns
/// true, then stops accepting and lets requests in flight finish.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    limits: ServerLimits,
) -> std::io::Result<()> {
    let timeout = limits.request_timeout;
    let router = router.layer(axum::middleware::from_fn(move |req, next| {
        deadline(timeout, req, next)
    }));
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let Some((stream, permit)) = accepted else {
            continue;
        };
        let service = TowerToHyperService::new(router.clone().into_service::<Incoming>());
        let (builder, graceful) = (builder.clone(), graceful.watcher());
        tokio::spawn(async move {
            if opening(&stream, limits.header_read_timeout).await {
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                if let Err(e) = graceful.watch(conn.into_owned()).await {
                    tracing::trace!("connection ended: {e}");
                }
            }
            drop(permit);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// The next connection, once a permit is free (`None` when accepting
/// failed: too many open files, a reset before accept).
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let permit = Arc::clone(permits).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => Some((stream, permit)),
        Err(e) => {
            tracing::warn!("accepting a connection failed: {e}");
            // e.g. EMFILE: give the process a moment before the next try.
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Waits, at most `limit`, until the client has sent enough to tell
/// HTTP/1 (any first byte but `P`) from HTTP/2 (the 24-byte preface);
/// hyper's own header timeout covers HTTP/1 from there. False when the
/// client sent nothing usable in time or closed.
async fn opening(stream: &TcpStream, limit: Duration) -> bool {
    let wait = async {
        let mut head = [0u8; 24];
        loop {
            let n = stream.peek(&mut head).await?;
            if n == 0 {
                return Ok::<bool, std::io::Error>(false);
            }
            if head[0] != b'P' || n == head.len() {
                return Ok(true);
            }
            // `PRI * HTTP/2.0` or `POST` arriving in pieces: look again.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    matches!(tokio::time::timeout(limit, wait).await, Ok(Ok(true)))
}

/// Answers 503 when the handler takes longer than `limit` (a planning
/// `POST .../run` excepted).
async fn deadline(limit: Duration, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path().ends_with("/run") {
        return next.run(req).await;
    }
    let route = req.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("{route}: no answer within {limit:?}, answered 503");
            let message = format!(
                "the request took longer than {}s; retry later\n",
                limit.as_secs()
            );
            (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
        }
    }
}
