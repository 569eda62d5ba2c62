//! The synthetic shop generator behind `herald gen-data`.
//!
//! [`generate`] writes a realistic shop into a directory: `users.csv`,
//! `items.csv`, `events.csv` and `devices.csv` in the import formats of
//! SPEC §3, plus the hidden ground truth the behaviour was drawn from
//! (`truth.jsonl` per user, `items_truth.jsonl` per item, see [`truth`]).
//! Later stages load that truth with [`Truth::load`] to simulate opens and
//! clicks and to score rankings against what users really prefer.
//!
//! The latent model, in one paragraph: every item has a category, a brand, a
//! price percentile within its category and a Zipf-like popularity. Every
//! user has a sparse category preference (Dirichlet with a small
//! concentration, so one to three categories dominate), a few favourite
//! brands, a price level in `0..1`, a heavy-tailed activity and a best local
//! hour. A user picks a category from their preferences (5 % exploration),
//! then an item in it with probability proportional to popularity times
//! [`truth::brand_factor`] times [`truth::price_match`]; views turn into carts
//! and carts into purchases more often the higher [`affinity`] is.
//!
//! Everything is deterministic for a seed: each stage and each user draws
//! from its own ChaCha8 stream (seed, stage, index), and the clock is never
//! read: the history ends at [`GenParams::end`]. Files are streamed through
//! buffered writers, user by user; memory is O(items) and independent of the
//! numbers of users and events (1M users, 20M events: about 30 MB, 23 s).

mod activity;
mod catalog;
mod devices;
mod geo;
mod latent;
mod lexicon;
mod lifecycle;
mod people;
mod population;
mod rng;
pub mod truth;
mod write;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};

pub use truth::{ItemTruth, Truth, UserTruth, affinity};

/// The parameters of one generated shop.
#[derive(Debug, Clone, PartialEq)]
pub struct GenParams {
    /// Number of users (`>= 1`).
    pub users: u64,
    /// Number of catalogue items (`>= 1`).
    pub items: u64,
    /// Exact number of rows written to `events.csv` (may be 0).
    pub events: u64,
    /// Seed of every random stream; the same seed gives byte-identical files.
    pub seed: u64,
    /// Exclusive end of the event history (a fixed anchor, never the clock).
    pub end: DateTime<Utc>,
    /// Length of the event history in days (`1..=3650`).
    pub days: u32,
}

impl GenParams {
    /// Parameters with the default history: 180 days ending 2026-11-01T00:00:00Z.
    pub fn new(users: u64, items: u64, events: u64, seed: u64) -> Self {
        Self {
            users,
            items,
            events,
            seed,
            end: default_end(),
            days: 180,
        }
    }
}

impl Default for GenParams {
    fn default() -> Self {
        Self::new(1_000, 200, 50_000, 42)
    }
}

/// The default end of the history, 2026-11-01T00:00:00Z.
pub fn default_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSummary {
    /// Rows in `users.csv`.
    pub users: u64,
    /// Rows in `items.csv`.
    pub items: u64,
    /// Rows in `events.csv` (always `params.events`).
    pub events: u64,
    /// Rows in `devices.csv`.
    pub devices: u64,
    /// Every file written, in the order they were finished.
    pub files: Vec<PathBuf>,
}

/// A stage of the generation, reported to the progress hook with a running count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Items written so far (reported once, when the catalogue is done).
    Items,
    /// Users written so far (out of `params.users`).
    Users,
    /// Event rows written so far (out of `params.events`).
    Events,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A parameter is out of range.
    #[error("invalid gen-data parameter `{field}`: {reason}")]
    InvalidParams { field: &'static str, reason: String },
    /// The output directory could not be created.
    #[error("cannot create output directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file could not be created or written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A truth file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A truth file has a malformed line.
    #[error("{}:{line}: {source}", path.display())]
    Parse {
        path: PathBuf,
        line: u64,
        source: serde_json::Error,
    },
    /// An internal model could not be built (a bug, not a user error).
    #[error("synthetic model error: {0}")]
    Model(String),
}

/// Generates a synthetic shop into `out_dir` (created if missing).
///
/// Writes `items.csv`, `items_truth.jsonl`, `users.csv`, `devices.csv`,
/// `events.csv` and `truth.jsonl`. `progress` is called with running counts
/// per [`Stage`] (every few thousand users and once at the end of each
/// stage); pass `&|_, _| {}` to ignore it. Fails on invalid parameters
/// before touching the disk, and on any I/O error naming the file.
pub fn generate(
    params: &GenParams,
    out_dir: &Path,
    progress: &dyn Fn(Stage, u64),
) -> Result<GenSummary, SynthError> {
    let window = validate(params)?;
    std::fs::create_dir_all(out_dir).map_err(|source| SynthError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let catalog = catalog::Catalog::generate(params.seed, params.items, &window)?;
    let mut files = catalog::write_items(&catalog, out_dir)?;
    progress(Stage::Items, params.items);
    let shop = population::Shop {
        params,
        window: &window,
        catalog: &catalog,
    };
    let written = population::write_population(&shop, out_dir, progress)?;
    files.extend(written.files);
    Ok(GenSummary {
        users: params.users,
        items: params.items,
        events: written.events,
        devices: written.devices,
        files,
    })
}

/// Checks the parameters and derives the event window from them.
fn validate(params: &GenParams) -> Result<lifecycle::Window, SynthError> {
    let invalid = |field, reason: &str| SynthError::InvalidParams {
        field,
        reason: reason.into(),
    };
    if params.users == 0 {
        return Err(invalid("users", "must be at least 1"));
    }
    if params.users >= 1 << 48 {
        return Err(invalid("users", "must be below 2^48"));
    }
    if params.items == 0 {
        return Err(invalid("items", "must be at least 1"));
    }
    if params.items > u64::from(u32::MAX) {
        return Err(invalid("items", "must be at most 4294967295"));
    }
    if !(1..=3650).contains(&params.days) {
        return Err(invalid("days", "must be between 1 and 3650"));
    }
    lifecycle::Window::new(params.end.timestamp(), params.days)
        .ok_or_else(|| invalid("end", "end minus days must fall between 1980 and 9000"))
}
