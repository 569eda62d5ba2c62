//! Tests of the generator as a whole: files, formats and the latent model
//! showing through the events. Sizes stay small so debug builds run fast.

mod formats;
mod model;

use std::path::Path;

use chrono::{DateTime, Utc};
use tempfile::TempDir;

use super::{GenParams, GenSummary, generate};

/// A small shop: 500 users, 200 items, 20k events.
fn small(seed: u64) -> GenParams {
    GenParams::new(500, 200, 20_000, seed)
}

/// Generates `params` into a fresh temporary directory.
fn generated(params: &GenParams) -> (TempDir, GenSummary) {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = generate(params, dir.path(), &|_, _| {}).expect("generation succeeds");
    (dir, summary)
}

/// The header and rows of a CSV file, as strings.
fn read_csv(dir: &Path, name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(dir.join(name)).expect("readable csv");
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            r.expect("well-formed row")
                .iter()
                .map(String::from)
                .collect()
        })
        .collect();
    (header, rows)
}

/// One parsed `events.csv` row.
struct EventRow {
    user: String,
    item: String,
    kind: String,
    ts: DateTime<Utc>,
    value: String,
}

/// Every event, in file order, with timestamps parsed as RFC 3339.
fn read_events(dir: &Path) -> Vec<EventRow> {
    let (_, rows) = read_csv(dir, "events.csv");
    rows.into_iter()
        .map(|r| EventRow {
            user: r[0].clone(),
            item: r[1].clone(),
            kind: r[2].clone(),
            ts: DateTime::parse_from_rfc3339(&r[3])
                .expect("RFC 3339 ts")
                .with_timezone(&Utc),
            value: r[4].clone(),
        })
        .collect()
}
