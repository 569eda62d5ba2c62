//! `herald import users|items|events|devices FILE [--strict]`: prints each
//! rejected row to stderr as `FILE:LINE: field: reason` and a summary line
//! on stdout. `herald import --format movielens DIR` reads MovieLens-100k.

use super::UsageError;
use super::progress::Progress;
use crate::config::Settings;
use crate::domain::now_millis;
use crate::ingest::import::{ImportObserver, ImportOptions, Kind, RowIssue, import_file};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Arguments of `herald import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// `KIND FILE` (kind: users, items, events, devices; FILE: .csv with a
    /// header row, or .jsonl), or `DIR` with `--format movielens`.
    #[arg(value_name = "KIND FILE | DIR", num_args = 1..=2, required = true)]
    pub target: Vec<String>,
    /// Read a dataset folder in a known public format instead.
    #[arg(long, value_enum)]
    pub format: Option<DatasetFormat>,
    /// Reject the whole file if any row is bad; nothing is written then.
    #[arg(long)]
    pub strict: bool,
}

/// Public dataset layouts `herald import --format` understands.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DatasetFormat {
    /// MovieLens-100k: RecBole's ml-100k.inter/.user/.item or GroupLens u.data/u.user/u.item.
    Movielens,
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
    match (args.format, args.target.as_slice()) {
        (Some(DatasetFormat::Movielens), [dir]) => movielens(settings, PathBuf::from(dir)).await,
        (Some(_), _) => Err(UsageError(
            "--format movielens takes one folder: herald import --format movielens DIR".into(),
        )
        .into()),
        (None, [kind, file]) => {
            let kind = KindArg::from_str(kind, true).map_err(|_| {
                UsageError(format!(
                    "unknown import kind `{kind}` (use users, items, events or devices)"
                ))
            })?;
            import_one(settings, kind.into(), PathBuf::from(file), args.strict).await
        }
        (None, _) => {
            Err(UsageError("expected KIND FILE, e.g. herald import users users.csv".into()).into())
        }
    }
}

async fn movielens(settings: &Settings, dir: PathBuf) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let result = crate::ingest::movielens::import_dir(&store, &dir, now_millis()).await;
    store.close().await;
    let report = result?;
    println!(
        "{}: {} users, {} movies, {} ratings imported",
        dir.display(),
        report.users,
        report.items,
        report.ratings
    );
    Ok(())
}

async fn import_one(
    settings: &Settings,
    kind: Kind,
    file: PathBuf,
    strict: bool,
) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let label = format!("importing {}", file.display());
    let mut printer = Printer {
        progress: Progress::new(&label, size, true),
    };
    let options = ImportOptions {
        strict,
        ..ImportOptions::default()
    };
    let result = import_file(&store, kind, &file, &options, &mut printer).await;
    printer.progress.finish();
    store.close().await;
    let report = result?;
    let mut line = format!(
        "{}: {} {} imported, {} rejected ({} rows read)",
        file.display(),
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
