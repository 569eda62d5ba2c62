//! Events per second that `POST /api/v1/events/batch` stores, with the load
//! coming from another process over loopback: this bench starts the real
//! `herald serve` as a child process on a fresh SQLite database, creates
//! an API key with `herald apikey create --json`, creates the users through
//! `POST /api/v1/users/batch` and the items through the importer, then
//! drives `--concurrency` keep-alive connections posting batches of
//! `--batch` distinct events until `--events` are stored, and prints the
//! rate. At the end it counts the `events` rows: every event sent must be
//! one row (the batch is committed before it is answered).
//!
//! ```sh
//! cargo bench --bench ingest                               # 200000 events, 1000 a batch, 4 connections
//! cargo bench --bench ingest -- --events 500000 --concurrency 8
//! ```
//!
//! A plain binary (`harness = false`); client and server share the
//! machine's cores, so the figure is end-to-end for one box.

#[path = "support/serve.rs"]
mod child;
use child::serve;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use herald::ingest::import::{ImportObserver, ImportOptions, Kind, RowIssue, import_file};
use herald::store::Store;
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error>;

/// What to run.
struct Args {
    /// Events in total (rounded up to whole batches).
    events: usize,
    /// Events per request.
    batch: usize,
    /// Concurrent connections.
    concurrency: usize,
    /// Users the events are spread over.
    users: usize,
    /// Items the events are spread over.
    items: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        events: 200_000,
        batch: 1_000,
        concurrency: 4,
        users: 2_000,
        items: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<usize>().ok());
        match flag.as_str() {
            "--events" => args.events = value().unwrap_or(args.events).max(1),
            "--batch" => args.batch = value().unwrap_or(args.batch).max(1),
            "--concurrency" => args.concurrency = value().unwrap_or(args.concurrency).max(1),
            "--users" => args.users = value().unwrap_or(args.users).max(1),
            "--items" => args.items = value().unwrap_or(args.items).max(1),
            _ => {} // `cargo bench` passes `--bench`
        }
    }
    args
}

/// Fails on any import issue.
struct Strict;

impl ImportObserver for Strict {
    fn issue(&mut self, issue: &RowIssue) {
        panic!("fixture import: {issue}");
    }

    fn progress(&mut self, _bytes: u64) {}
}

/// Imports `items` items into the store at `url`.
async fn import_items(dir: &std::path::Path, store: &Store, items: usize) -> Result<(), BoxError> {
    let mut csv = String::from("item_id,title,category,price,currency\n");
    for i in 0..items {
        csv.push_str(&format!("i{i:04},Item {i},cat{},9.99,EUR\n", i % 10));
    }
    let path = dir.join("items.csv");
    std::fs::write(&path, csv)?;
    let options = ImportOptions::default();
    import_file(store, Kind::Items, &path, &options, &mut Strict).await?;
    Ok(())
}

/// A new API key from `herald apikey create --json`.
fn api_key(url: &str) -> Result<String, BoxError> {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "--database",
            url,
            "apikey",
            "create",
            "ingest-bench",
            "--json",
        ])
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned().into());
    }
    let created: Value = serde_json::from_slice(&output.stdout)?;
    Ok(created["key"]
        .as_str()
        .ok_or("no key in the output")?
        .to_owned())
}

/// Creates the users through `POST /api/v1/users/batch`.
async fn create_users(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    users: usize,
) -> Result<(), BoxError> {
    let all: Vec<Value> = (0..users)
        .map(|i| json!({"user_id": format!("u{i:05}"), "email": format!("u{i}@example.com")}))
        .collect();
    for chunk in all.chunks(1_000) {
        let response = client
            .post(format!("{base}/api/v1/users/batch"))
            .bearer_auth(key)
            .json(&chunk)
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!("users batch: {}", response.text().await?).into());
        }
    }
    Ok(())
}

/// The body of batch `n`: distinct events (their timestamps differ).
fn batch_body(n: usize, args: &Args) -> String {
    const KINDS: [&str; 3] = ["view", "add_to_cart", "purchase"];
    let base = 1_767_225_600; // 2026-01-01T00:00:00Z
    let events: Vec<Value> = (0..args.batch)
        .map(|i| {
            let e = n * args.batch + i;
            let ts = chrono::DateTime::from_timestamp(base + e as i64, 0).unwrap_or_default();
            json!({
                "user_id": format!("u{:05}", e % args.users),
                "item_id": format!("i{:04}", (e / 7) % args.items),
                "event": KINDS[e % KINDS.len()],
                "ts": ts.to_rfc3339(),
            })
        })
        .collect();
    serde_json::to_string(&events).unwrap_or_default()
}

/// Posts batches `0..batches` over `concurrency` connections; returns the
/// events the server said it inserted and the failures.
async fn load(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    bodies: Arc<Vec<String>>,
    concurrency: usize,
) -> (u64, Vec<String>) {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, next, bodies) = (client.clone(), next.clone(), bodies.clone());
            let url = format!("{base}/api/v1/events/batch");
            let key = key.to_owned();
            tokio::spawn(async move {
                let (mut inserted, mut failures) = (0, Vec::new());
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(n) else {
                        return (inserted, failures);
                    };
                    let response = client
                        .post(&url)
                        .bearer_auth(&key)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match response {
                        Ok(r) if r.status().is_success() => {
                            let written: Value = r.json().await.unwrap_or_default();
                            inserted += written["inserted"].as_u64().unwrap_or(0);
                        }
                        Ok(r) => failures.push(r.text().await.unwrap_or_default()),
                        Err(e) => failures.push(e.to_string()),
                    }
                }
            })
        })
        .collect();
    let (mut inserted, mut failures) = (0, Vec::new());
    for task in tasks {
        let (n, f) = task.await.expect("load task");
        inserted += n;
        failures.extend(f);
    }
    (inserted, failures)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = parse_args();
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("herald.db").display()
    );
    let store = Store::connect(&url, 4).await?;
    store.migrate().await?;
    import_items(dir.path(), &store, args.items).await?;
    let key = api_key(&url)?;
    let (mut child, address) = serve(&url).await?;
    let base = format!("http://{address}");
    herald::channels::tls::ensure_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    create_users(&client, &base, &key, args.users).await?;
    let batches = args.events.div_ceil(args.batch);
    let bodies = Arc::new(
        (0..batches)
            .map(|n| batch_body(n, &args))
            .collect::<Vec<_>>(),
    );
    let sent = (batches * args.batch) as u64;
    let started = Instant::now();
    let (inserted, failures) = load(&client, &base, &key, bodies, args.concurrency).await;
    let elapsed = started.elapsed();
    let pid = child.id().ok_or("herald serve already exited")?.to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    let stored = store.count("events").await?;
    store.close().await;
    println!(
        "ingest: {sent} events in {batches} batches of {} over {} connections in {:.2} s = {:.0} events/s stored",
        args.batch,
        args.concurrency,
        elapsed.as_secs_f64(),
        inserted as f64 / elapsed.as_secs_f64(),
    );
    println!(
        "ingest: {inserted} inserted as answered, {stored} event rows in the database, {} failed requests",
        failures.len()
    );
    if let Some(first) = failures.first() {
        return Err(format!("{} batches failed, first: {first}", failures.len()).into());
    }
    if inserted != sent || stored != sent {
        return Err(format!("{sent} events sent, {inserted} inserted, {stored} stored").into());
    }
    Ok(())
}
