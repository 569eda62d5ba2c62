//! `herald export training --out FILE [--json]`: every exposure joined
//! with the outcomes that followed it, point-in-time correct, as CSV for
//! retraining elsewhere (see [`crate::report::training`]). Written through
//! a temporary file beside the target and renamed, so a failed export
//! never leaves half a file under the name.

use crate::config::Settings;
use crate::domain::now_millis;
use crate::report::training::{TrainingOptions, export_training};
use clap::{Args, Subcommand};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Arguments of `herald export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export.
    #[command(subcommand)]
    pub what: ExportWhat,
    /// Print one JSON document (`{"rows", "out"}`) instead of a line.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The exports.
#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// Exposures with their later outcomes (opened, clicked, converted, revenue) as CSV.
    Training {
        /// The CSV file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Exposures read per query.
const PAGE: u64 = 5_000;

/// Runs `herald export`.
pub async fn run(settings: &Settings, args: ExportArgs) -> anyhow::Result<()> {
    let ExportWhat::Training { out } = args.what;
    let store = super::open_store(settings).await?;
    let options = TrainingOptions {
        click_window_ms: settings.feedback.click_window_ms(),
        now: now_millis(),
        page_size: PAGE,
    };
    let result = write_training(&store, &options, &out).await;
    store.close().await;
    let rows = result?;
    if args.json {
        let doc = serde_json::json!({ "rows": rows, "out": out.display().to_string() });
        println!("{doc}");
    } else {
        println!("wrote {rows} training rows to {}", out.display());
    }
    Ok(())
}

/// Streams the training CSV into a temporary file and renames it to `out`.
async fn write_training(
    store: &crate::store::Store,
    options: &TrainingOptions,
    out: &Path,
) -> anyhow::Result<u64> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let cannot = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", out.display());
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    let rows = export_training(store, options, BufWriter::new(tmp.as_file())).await?;
    tmp.persist(out).map_err(|e| cannot(e.error))?;
    Ok(rows)
}
