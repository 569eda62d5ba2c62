//! `herald import users|items|events|devices FILE [--strict]`: prints each
//! rejected row to stderr as `FILE:LINE: field: reason` and a summary line
//! on stdout.

use super::progress::Progress;
use crate::config::Settings;
use crate::ingest::import::{ImportObserver, ImportOptions, Kind, RowIssue, import_file};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Arguments of `herald import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What the file holds.
    pub kind: KindArg,
    /// A .csv (with a header row) or .jsonl file.
    pub file: PathBuf,
    /// Reject the whole file if any row is bad; nothing is written then.
    #[arg(long)]
    pub strict: bool,
}

/// The kinds of import file.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// user_id, email, phone, timezone, ... plus extra attribute columns.
    Users,
    /// item_id, title, category, brand, price, ...
    Items,
    /// user_id, item_id, event, ts, value.
    Events,
    /// user_id, platform, token, app_id, created_at.
    Devices,
}

impl From<KindArg> for Kind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Users => Kind::Users,
            KindArg::Items => Kind::Items,
            KindArg::Events => Kind::Events,
            KindArg::Devices => Kind::Devices,
        }
    }
}

/// Prints issues as they come and drives the progress bar.
struct Printer {
    /// The progress over the file's bytes.
    progress: Progress,
}

impl ImportObserver for Printer {
    fn issue(&mut self, issue: &RowIssue) {
        self.progress.finish();
        eprintln!("{issue}");
    }

    fn progress(&mut self, bytes: u64) {
        self.progress.set(bytes);
    }
}

/// Runs `herald import`.
pub async fn run(settings: &Settings, args: ImportArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let kind = Kind::from(args.kind);
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let label = format!("importing {}", args.file.display());
    let mut printer = Printer {
        progress: Progress::new(&label, size, true),
    };
    let options = ImportOptions {
        strict: args.strict,
        ..ImportOptions::default()
    };
    let result = import_file(&store, kind, &args.file, &options, &mut printer).await;
    printer.progress.finish();
    store.close().await;
    let report = result?;
    let mut line = format!(
        "{}: {} {} imported, {} rejected ({} rows read)",
        args.file.display(),
        report.imported,
        kind.as_str(),
        report.rejected,
        report.read
    );
    if report.unchanged > 0 {
        line.push_str(&format!(", {} already present", report.unchanged));
    }
    println!("{line}");
    Ok(())
}
