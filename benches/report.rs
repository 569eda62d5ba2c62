//! Report generation time for 1M sends: bulk-loads a synthetic campaign run
//! into a fresh SQLite database (users with segments, the plan with a 5 %
//! holdout on top of the sends, one outbox row per send with a few
//! failures and their attempts, opens, clicks, unsubscribes, failed
//! receipts and purchases), then times `report::build` and the JSON, CSV
//! and HTML renderings, and prints the resident memory of the report
//! alone (the high-water mark is reset after loading).
//!
//! ```sh
//! cargo bench --bench report                          # 1M sends, 50k feedback events
//! cargo bench --bench report -- --sends 200000 --feedback 10000
//! cargo bench --bench report -- --db /tmp/report.db   # keep the database to inspect
//! ```
//!
//! Memory is printed twice: the peak `VmHWM`, which counts the pages of
//! the database file SQLite memory-maps as they are read, and `RssAnon`
//! after the report, what the process itself holds (page caches included).
//!
//! A plain binary (`harness = false`): one long timed run says more than
//! many short samples would.

use herald::report::html::to_html;
use herald::report::output::{to_csv, to_json};
use herald::report::{ReportOptions, Windows, build};
use herald::store::Store;
use sea_orm::{ConnectionTrait, Database, DatabaseTransaction, TransactionTrait};
use std::time::Instant;

/// 2026-03-10T12:00:00Z.
const T0: i64 = 1_773_144_000_000;
const HOUR: i64 = 3_600_000;
/// Rows per INSERT statement.
const CHUNK: usize = 2_000;

/// What to generate.
struct Args {
    /// Outbox rows (sends).
    sends: usize,
    /// Feedback events.
    feedback: usize,
    /// Keep the database at this path (must not exist) instead of a temporary one.
    db: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        sends: 1_000_000,
        feedback: 50_000,
        db: None,
    };
    let argv: Vec<String> = std::env::args().collect();
    for pair in argv.windows(2) {
        let value = || pair[1].parse().expect("a number");
        match pair[0].as_str() {
            "--sends" => args.sends = value(),
            "--feedback" => args.feedback = value(),
            "--db" => args.db = Some(pair[1].clone()),
            _ => {}
        }
    }
    args
}

/// A deterministic pseudo-random number for `i` and `salt` (splitmix64).
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Inserts `n` rows of `columns` into `table`, `CHUNK` per statement.
async fn insert(
    txn: &DatabaseTransaction,
    table: &str,
    columns: &str,
    n: usize,
    row: impl Fn(usize) -> Option<String>,
) -> usize {
    let (mut values, mut written) = (Vec::with_capacity(CHUNK), 0);
    for i in 0..n {
        if let Some(v) = row(i) {
            values.push(v);
        }
        if values.len() == CHUNK || (i + 1 == n && !values.is_empty()) {
            let sql = format!(
                "INSERT INTO {table} ({columns}) VALUES {}",
                values.join(",")
            );
            txn.execute_unprepared(&sql).await.expect("bulk insert");
            written += values.len();
            values.clear();
        }
    }
    written
}

/// The user id of recipient `i`.
fn user(i: usize) -> String {
    format!("u{i:07}")
}

/// Whether recipient `i` (of `recipients`) is held out: the last 1/21.
fn held_out(i: usize, sends: usize) -> bool {
    i >= sends
}

/// Loads users, segments, a campaign, its run and plan, outbox, attempts.
async fn load_run(txn: &DatabaseTransaction, sends: usize) {
    let recipients = sends + sends / 20;
    insert(
        txn,
        "users",
        "user_id, attributes, created_at, updated_at",
        recipients,
        |i| Some(format!("('{}','{{}}',0,0)", user(i))),
    )
    .await;
    txn.execute_unprepared(&format!(
        "INSERT INTO segment_models (model_id, kind, k, params, active, created_at) VALUES (1, 'kmeans', 8, '{{}}', true, {T0});\
         INSERT INTO items (item_id, title, attributes, updated_at) VALUES {};\
         INSERT INTO campaigns (campaign_id, name, spec, status, created_at, updated_at) VALUES (1, 'Bench', '{{}}', 'done', {T0}, {T0});\
         INSERT INTO campaign_runs (run_id, campaign_id, occurrence, status, seed, segment_model_id, scheduled_for, created_at) \
         VALUES (1, 1, 'bench', 'done', 1, 1, {T0}, {T0})",
        (0..100).map(|i| format!("('i{i:03}','Item','{{}}',0)")).collect::<Vec<_>>().join(",")
    ))
    .await
    .expect("campaign");
    insert(
        txn,
        "segment_assignments",
        "model_id, user_id, segment_id, distance",
        recipients,
        |i| Some(format!("(1,'{}',{},0.5)", user(i), mix(i as u64, 1) % 8)),
    )
    .await;
    insert(
        txn,
        "run_recipients",
        "run_id, user_id, variant, channel, decision, reason",
        recipients,
        |i| {
            let variant = if i.is_multiple_of(2) { "A" } else { "B" };
            Some(if held_out(i, sends) {
                format!("(1,'{}','{variant}',NULL,'holdout','holdout')", user(i))
            } else {
                format!("(1,'{}','{variant}','{}','send',NULL)", user(i), channel(i))
            })
        },
    )
    .await;
    insert(txn, "outbox", OUTBOX_COLUMNS, sends, |i| {
        Some(outbox_row(i))
    })
    .await;
    insert(
        txn,
        "delivery_attempts",
        "outbox_id, attempt, worker, outcome, started_at, finished_at",
        sends,
        |i| failed(i).then(|| format!("({},1,'w','permanent',{T0},{T0})", i + 1)),
    )
    .await;
}

const OUTBOX_COLUMNS: &str = "outbox_id, run_id, user_id, channel, address, variant, payload, \
    dedup_key, status, attempts, next_attempt_at, sent_at, created_at, updated_at";

fn channel(i: usize) -> &'static str {
    if mix(i as u64, 2) % 10 < 7 {
        "push"
    } else {
        "email"
    }
}

/// 2 % of sends fail.
fn failed(i: usize) -> bool {
    mix(i as u64, 3).is_multiple_of(50)
}

fn outbox_row(i: usize) -> String {
    let variant = if i.is_multiple_of(2) { "A" } else { "B" };
    let (status, sent_at) = if failed(i) {
        ("failed", "NULL".to_owned())
    } else {
        (
            "sent",
            (T0 + (mix(i as u64, 4) % (3 * HOUR as u64)) as i64).to_string(),
        )
    };
    format!(
        "({},1,'{}','{}','{{}}','{variant}','{{}}','d{i}','{status}',1,{T0},{sent_at},{T0},{T0})",
        i + 1,
        user(i),
        channel(i)
    )
}

/// Feedback events on random sends and purchases by random recipients.
async fn load_feedback(txn: &DatabaseTransaction, sends: usize, n: usize) {
    let recipients = (sends + sends / 20) as u64;
    insert(
        txn,
        "feedback_events",
        "kind, run_id, user_id, item_id, source, ts",
        n,
        |i| {
            let r = mix(i as u64, 5);
            let kind = match r % 100 {
                0..=59 => "open",
                60..=94 => "click",
                95..=97 => "unsubscribe",
                _ => "failed",
            };
            let who = user((mix(i as u64, 6) % sends as u64) as usize);
            let ts = T0 + 3 * HOUR + (r % (24 * HOUR as u64)) as i64;
            Some(format!(
                "('{kind}',1,'{who}','i{:03}','bench',{ts})",
                r % 100
            ))
        },
    )
    .await;
    insert(
        txn,
        "events",
        "event_id, user_id, item_id, event, ts, value, source",
        n / 2,
        |i| {
            let r = mix(i as u64, 7);
            let who = user((r % recipients) as usize);
            let ts = T0 + (mix(i as u64, 8) % (10 * 24 * HOUR as u64)) as i64;
            Some(format!(
                "({i},'{who}','i{:03}','purchase',{ts},{}.5,'bench')",
                r % 100,
                r % 90 + 10
            ))
        },
    )
    .await;
}

/// A `/proc/self/status` figure (`VmHWM`, `RssAnon`, ...) in MiB.
fn status_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Resets the peak resident set to the current one (Linux `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args();
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let store = Store::connect(&url, 4).await?;
    store.migrate().await?;
    let started = Instant::now();
    let loader = Database::connect(&url).await?;
    let txn = loader.begin().await?;
    load_run(&txn, args.sends).await;
    load_feedback(&txn, args.sends, args.feedback).await;
    txn.commit().await?;
    loader.close().await?;
    println!(
        "loaded {} sends, {} holdout, {} feedback events and {} purchases in {:.1} s",
        args.sends,
        args.sends / 20,
        args.feedback,
        args.feedback / 2,
        started.elapsed().as_secs_f64()
    );
    reset_peak_rss();
    let windows = Windows {
        click_ms: 7 * 24 * HOUR,
        view_ms: 24 * HOUR,
    };
    let started = Instant::now();
    let attribution = herald::report::attribute(&store, windows).await?;
    println!(
        "attribution alone: {} credited (run, user) pairs in {:.2} s",
        attribution.len(),
        started.elapsed().as_secs_f64()
    );
    drop(attribution);
    let started = Instant::now();
    let report = build(&store, &ReportOptions::new(None, windows)).await?;
    let built = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let (json, csv, html) = (to_json(&report)?, to_csv(&report)?, to_html(&report)?);
    let rendered = started.elapsed().as_secs_f64();
    let total: u64 = report.groups.iter().map(|g| g.counts.sent).sum();
    let converted: u64 = report.groups.iter().map(|g| g.counts.converted).sum();
    println!(
        "report: {} groups, {total} sent, {converted} converted; built in {built:.2} s, \
         rendered JSON {} KiB, CSV {} KiB, HTML {} KiB in {rendered:.3} s; \
         peak RSS (VmHWM, with SQLite's page cache and memory-mapped file) {:.0} MiB, \
         anonymous RSS after {:.0} MiB",
        report.groups.len(),
        json.len() / 1024,
        csv.len() / 1024,
        html.len() / 1024,
        status_mib("VmHWM"),
        status_mib("RssAnon")
    );
    store.close().await;
    Ok(())
}
