//! `herald gen-data`: writes a synthetic shop to a folder, with progress.

use super::progress::Progress;
use crate::ingest::synth::{GenParams, Stage, generate};
use clap::Args;
use std::cell::RefCell;
use std::path::PathBuf;

/// Arguments of `herald gen-data`.
#[derive(Debug, Args)]
pub struct GenDataArgs {
    /// Number of users.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Number of catalogue items.
    #[arg(long, default_value_t = 2_000)]
    pub items: u64,
    /// Number of behavioural events.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Random seed: the same seed writes the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder (created if missing).
    #[arg(long, default_value = "data")]
    pub out: PathBuf,
}

/// Runs `herald gen-data`.
pub fn run(args: GenDataArgs) -> anyhow::Result<()> {
    let params = GenParams::new(args.users, args.items, args.events, args.seed);
    let bar: RefCell<Option<(Stage, Progress)>> = RefCell::new(None);
    let on_progress = |stage: Stage, done: u64| {
        let mut bar = bar.borrow_mut();
        if bar.as_ref().is_none_or(|(s, _)| *s != stage) {
            if let Some((_, old)) = bar.take() {
                old.finish();
            }
            let total = match stage {
                Stage::Items => params.items,
                Stage::Users => params.users,
                Stage::Events => params.events,
            };
            let label = format!("writing {}", stage_name(stage));
            *bar = Some((stage, Progress::new(&label, total, false)));
        }
        if let Some((_, progress)) = bar.as_mut() {
            progress.set(done);
        }
    };
    let summary = generate(&params, &args.out, &on_progress)?;
    if let Some((_, progress)) = bar.borrow_mut().take() {
        progress.finish();
    }
    println!(
        "wrote {} users, {} items, {} events and {} devices to {}",
        summary.users,
        summary.items,
        summary.events,
        summary.devices,
        args.out.display()
    );
    Ok(())
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Items => "items",
        Stage::Users => "users",
        Stage::Events => "events",
    }
}
