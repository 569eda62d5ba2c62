//! `herald user export ID --out FILE` and `herald user erase ID`: the
//! per-user privacy requests (see [`crate::rank::privacy`]: the store's
//! rows and the ranking models' stored histories). The export is written through a
//! temporary file beside the target and renamed, so a failed export never
//! leaves half a file under the name.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::rank::privacy;
use crate::store::Store;

/// Arguments of `herald user`.
#[derive(Debug, Args)]
pub struct UserArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: UserAction,
}

/// The privacy actions.
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Write everything herald holds about a user as one JSON document.
    Export {
        /// The user id.
        id: String,
        /// The JSON file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Remove a user's personal data; anonymous aggregates stay. Idempotent.
    Erase {
        /// The user id.
        id: String,
    },
}

/// Runs `herald user`.
pub async fn run(settings: &Settings, args: UserArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let result = match &args.action {
        UserAction::Export { id, out } => export(&store, id, out).await,
        UserAction::Erase { id } => erase(&store, id).await,
    };
    store.close().await;
    result
}

/// Exports one user to `out`.
async fn export(store: &Store, id: &str, out: &Path) -> anyhow::Result<()> {
    let export = privacy::export_user(store, id).await?;
    if export.is_empty() {
        anyhow::bail!("herald holds no data for user {id}; check the id");
    }
    let json = serde_json::to_vec_pretty(&export)?;
    write_atomically(out, &json)?;
    println!(
        "wrote user {id} to {} ({} events, {} messages, {} recommendation lists, {} model histories)",
        out.display(),
        export.events.len(),
        export.outbox.len(),
        export.rank_lists.len(),
        export.model_history.len()
    );
    Ok(())
}

/// Erases one user and says what was done.
async fn erase(store: &Store, id: &str) -> anyhow::Result<()> {
    let erasure = privacy::erase_user(store, id).await?;
    if erasure.is_noop() {
        println!("nothing to erase for user {id}");
    } else {
        println!(
            "erased user {id}: {} rows deleted, {} rows kept as {}, {} ranking models rewritten",
            erasure.deleted, erasure.pseudonymized, erasure.pseudonym, erasure.models
        );
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `out`, then renames it.
fn write_atomically(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let cannot = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", out.display());
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    file.write_all(bytes).map_err(cannot)?;
    file.persist(out).map_err(|e| cannot(e.error))?;
    Ok(())
}
