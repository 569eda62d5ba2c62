//! The HTTP server under stalled clients: half-sent requests are closed
//! after the header timeout while `/healthz` keeps answering, and the
//! connection cap bounds how many are held at once.

use std::sync::Arc;
use std::time::Duration;

use crate::campaign::fixtures::NOW;
use crate::helpers::sqlite;
use herald::api::{AppState, ServerLimits, serve_http_with};
use herald::config::Settings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// A server with `limits`; its address, stop switch and task.
async fn start(
    limits: ServerLimits,
) -> (
    String,
    watch::Sender<bool>,
    tokio::task::JoinHandle<std::io::Result<()>>,
    crate::helpers::TestDb,
) {
    let db = sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let state = AppState::new(db.store.clone(), Arc::new(Settings::default()), NOW)
        .await
        .unwrap();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(serve_http_with(state, listener, rx, limits));
    (address, stop, task, db)
}

/// A connection that sent half a request line and stalls.
async fn stalled(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /heal").await.unwrap();
    stream
}

/// Waits until the server closes `stream` (EOF or reset).
async fn closed(mut stream: TcpStream) {
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// `GET /healthz` over a fresh connection; the status line.
async fn health(address: &str) -> String {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn fifty_half_sent_requests_are_closed_after_the_header_timeout_while_healthz_answers() {
    let limits = ServerLimits {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 64,
        ..ServerLimits::default()
    };
    let (address, stop, task, _db) = start(limits).await;
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(stalled(&address).await);
    }
    let answered = tokio::time::timeout(Duration::from_millis(900), health(&address))
        .await
        .expect("healthz answers while 50 requests stall");
    assert_eq!(answered, "HTTP/1.1 200 OK");
    let all_closed = futures_util::future::join_all(held.into_iter().map(closed));
    tokio::time::timeout(Duration::from_secs(10), all_closed)
        .await
        .expect("the server closes every stalled connection");
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_connection_over_the_cap_waits_until_a_stalled_one_is_dropped() {
    let limits = ServerLimits {
        header_read_timeout: Duration::from_secs(1),
        max_connections: 3,
        ..ServerLimits::default()
    };
    let (address, stop, task, _db) = start(limits).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(stalled(&address).await);
    }
    // The three stalled connections hold every slot: the fourth is served
    // only once the header timeout (1 s) has dropped one of them.
    let started = std::time::Instant::now();
    let line = tokio::time::timeout(Duration::from_secs(10), health(&address))
        .await
        .expect("served once a slot is free");
    assert_eq!(line, "HTTP/1.1 200 OK");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "served over the cap after {:?}",
        started.elapsed()
    );
    let mut dropped = 0;
    for stream in held {
        if tokio::time::timeout(Duration::from_secs(5), closed(stream))
            .await
            .is_ok()
        {
            dropped += 1;
        }
    }
    assert_eq!(dropped, 3, "every stalled connection is dropped");
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}
