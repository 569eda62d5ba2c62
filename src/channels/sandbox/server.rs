//! Serving an axum router the way providers do: HTTP/1.1 and HTTP/2 on one
//! port (h2c by prior knowledge on plain TCP, ALPN under TLS), with up to
//! 1000 concurrent streams per connection as APNs allows. Each accepted
//! connection is counted in the record; dropping the [`ServerHandle`] stops
//! the listener and every open connection.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::SandboxError;
use super::record::Record;

/// Streams one HTTP/2 connection may carry at once (APNs allows 1000).
pub const MAX_CONCURRENT_STREAMS: u32 = 1000;

/// A running server; dropping it stops it.
pub struct ServerHandle {
    /// The accept loop, which owns the connection tasks.
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// Wraps a server task.
    pub fn new(task: JoinHandle<()>) -> Self {
        Self { task }
    }

    /// Stops accepting and closes every connection.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` for `provider`.
pub async fn bind(provider: &'static str, addr: SocketAddr) -> Result<TcpListener, SandboxError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SandboxError::Bind {
            provider,
            addr,
            source,
        })
}

/// Serves `router` on `listener`, under TLS when `tls` is set.
pub fn serve(
    provider: &'static str,
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    record: Record,
) -> ServerHandle {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    ServerHandle::new(tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            record.connection_opened(provider);
            let _ = stream.set_nodelay(true);
            connections.spawn(connection(stream, router.clone(), acceptor.clone()));
            while connections.try_join_next().is_some() {}
        }
    }))
}

/// Serves one connection until the client closes it.
async fn connection(
    stream: TcpStream,
    router: Router,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) {
    match acceptor {
        Some(acceptor) => {
            if let Ok(tls) = acceptor.accept(stream).await {
                http(TokioIo::new(tls), router).await;
            }
        }
        None => http(TokioIo::new(stream), router).await,
    }
}

/// Speaks HTTP/1.1 or HTTP/2 (detected from the first bytes).
async fn http<I>(io: TokioIo<I>, router: Router)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    let service = TowerToHyperService::new(router);
    // A client that goes away mid-request is not the sandbox's problem.
    let _ = builder.serve_connection(io, service).await;
}
