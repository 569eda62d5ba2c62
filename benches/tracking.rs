//! Clicks per second that `/t/c/{token}` records, with the load coming
//! from another process over loopback: this bench starts the real
//! `herald serve` as a child process on a fresh SQLite database (a few
//! users, one run), then drives `--concurrency` keep-alive connections of
//! signed click requests (redirects not followed) until `--clicks`
//! requests are answered, and prints the rate and latency percentiles.
//! At the end it counts the `click` rows in `feedback_events`: each
//! answered click must be one row (the route records before it answers).
//!
//! ```sh
//! cargo bench --bench tracking                              # 20000 clicks, 32 connections
//! cargo bench --bench tracking -- --clicks 50000 --concurrency 64
//! ```
//!
//! A plain binary (`harness = false`): one long timed run says more about
//! a server than many short samples would. Client and server share the
//! machine's cores, so the figure is end-to-end for one box.

#[path = "support/serve.rs"]
mod child;
use child::serve;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use herald::config::Settings;
use herald::domain::{Channel, now_millis};
use herald::feedback::{LinkKind, LinkToken, Linker, link_key};
use herald::ingest::import::{ImportObserver, ImportOptions, Kind, RowIssue, import_file};
use herald::store::{NewCampaign, NewRun, Store};

/// What to run.
struct Args {
    /// Click requests in total.
    clicks: usize,
    /// Concurrent connections.
    concurrency: usize,
    /// Users in the shop (links are spread over them).
    users: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        clicks: 20_000,
        concurrency: 32,
        users: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse::<usize>().ok());
        match flag.as_str() {
            "--clicks" => args.clicks = value().unwrap_or(args.clicks),
            "--concurrency" => args.concurrency = value().unwrap_or(args.concurrency).max(1),
            "--users" => args.users = value().unwrap_or(args.users).max(1),
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

/// A fresh database with `users` users and one run; returns the run id.
async fn prepare(
    dir: &std::path::Path,
    url: &str,
    users: usize,
) -> Result<(Store, i64), Box<dyn std::error::Error>> {
    let store = Store::connect(url, 4).await?;
    store.migrate().await?;
    let mut csv = String::from("user_id,email,timezone,consent_email\n");
    for i in 0..users {
        csv.push_str(&format!("u{i:04},u{i}@example.com,UTC,true\n"));
    }
    let path = dir.join("users.csv");
    std::fs::write(&path, csv)?;
    import_file(
        &store,
        Kind::Users,
        &path,
        &ImportOptions::default(),
        &mut Strict,
    )
    .await?;
    let now = now_millis();
    let campaign = NewCampaign {
        name: "tracking bench".into(),
        spec: "{}".into(),
        status: "done".into(),
        variants: Vec::new(),
        now,
    };
    let campaign_id = store.insert_campaign(&campaign).await?;
    let run = NewRun {
        campaign_id,
        occurrence: "bench".into(),
        status: "dry_run".into(),
        seed: 0,
        segment_model_id: None,
        rank_model_id: None,
        scheduled_for: now,
        now,
    };
    let (run, _) = store.open_run(&run).await?;
    Ok((store, run.run_id))
}

/// Signed click paths (`/t/c/...`) spread over the users and 20 items.
fn click_paths(linker: &Linker, run_id: i64, users: usize) -> Vec<String> {
    (0..users * 20)
        .map(|n| {
            let token = LinkToken {
                kind: LinkKind::Click,
                run_id,
                user_id: format!("u{:04}", n % users),
                variant: if n % 2 == 0 { "A" } else { "B" }.into(),
                channel: Channel::Email,
                item_id: Some(format!("item-{}", n % 20)),
                destination: Some(format!(
                    "https://shop.example/p/item-{}?utm_source=herald",
                    n % 20
                )),
            };
            let url = linker.url(&token);
            url[linker.base().len()..].to_owned()
        })
        .collect()
}

/// Sends `total` clicks over `concurrency` connections; returns each
/// request's latency and the number answered 302.
async fn load(
    base: &str,
    paths: Arc<Vec<String>>,
    total: usize,
    concurrency: usize,
) -> (Vec<Duration>, usize) {
    herald::channels::tls::ensure_crypto_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("http client");
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, next, paths, base) =
                (client.clone(), next.clone(), paths.clone(), base.to_owned());
            tokio::spawn(async move {
                let (mut latencies, mut redirected) = (Vec::new(), 0);
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return (latencies, redirected);
                    }
                    let url = format!("{base}{}", paths[n % paths.len()]);
                    let started = Instant::now();
                    let response = client.get(&url).send().await;
                    latencies.push(started.elapsed());
                    if response.is_ok_and(|r| r.status() == 302) {
                        redirected += 1;
                    }
                }
            })
        })
        .collect();
    let (mut all, mut redirected) = (Vec::with_capacity(total), 0);
    for task in tasks {
        let (latencies, ok) = task.await.expect("load task");
        all.extend(latencies);
        redirected += ok;
    }
    (all, redirected)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args();
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("herald.db").display()
    );
    let (store, run_id) = prepare(dir.path(), &url, args.users).await?;
    let settings = Settings::default();
    let key = link_key(&settings.security, &store, now_millis()).await?;
    let linker = Linker::new(settings.server.public_url.as_url().as_str(), key);
    let paths = Arc::new(click_paths(&linker, run_id, args.users));
    let (mut child, address) = serve(&url).await?;
    let base = format!("http://{address}");
    // Warm up: connections, prepared statements, the SQLite page cache.
    let (_, warm) = load(&base, paths.clone(), args.concurrency * 4, args.concurrency).await;
    let before = store.feedback_count("click").await?;
    let started = Instant::now();
    let (mut latencies, redirected) = load(&base, paths, args.clicks, args.concurrency).await;
    let elapsed = started.elapsed();
    let recorded = store.feedback_count("click").await? - before;
    latencies.sort();
    let pid = child.id().ok_or("herald serve already exited")?.to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    let total = store.feedback_count("click").await?;
    store.close().await;
    println!(
        "tracking: {} clicks over {} connections in {:.2} s = {:.0} clicks/s recorded (p50 {:.2} ms, p99 {:.2} ms)",
        args.clicks,
        args.concurrency,
        elapsed.as_secs_f64(),
        recorded as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
    println!(
        "tracking: {redirected} answered 302, {recorded} click rows recorded in the timed run, {total} in all ({warm} warm-up); serve exit {:?}",
        status.ok().and_then(|s| s.ok()).and_then(|s| s.code())
    );
    if redirected != args.clicks || recorded as usize != args.clicks {
        return Err(format!(
            "{} clicks sent, {redirected} redirected, {recorded} recorded",
            args.clicks
        )
        .into());
    }
    Ok(())
}
