//! The command line: parse arguments (clap), load the layered settings,
//! open the store and hand off to the stage that does the work. Every
//! command takes `--config FILE` and `--database URL`. A user error ends
//! with exit code 1 and one line naming what to fix; clap's usage errors
//! exit with 2.

mod apikey;
mod bench;
mod demo;
mod campaign;
mod export;
mod gen_data;
mod import;
mod progress;
mod rank;
mod report;
mod sandbox;
mod segment;
mod shop;
mod user;
mod worker;

pub use rank::train_model;

use crate::config::{self, Settings};
use crate::store::Store;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// herald: push-notification campaigns, from segments to feedback.
#[derive(Debug, Parser)]
#[command(name = "herald", version, about, long_about = None)]
pub struct Cli {
    /// A settings file layered over config/default.toml and config/$HERALD_ENV.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The database URL (overrides every other setting), e.g. sqlite://herald.db?mode=rwc.
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the database migrations (or revert them all with --down).
    Migrate {
        /// Revert every migration instead (drops herald's tables).
        #[arg(long)]
        down: bool,
    },
    /// Import users, items, events or devices from CSV or JSON Lines.
    Import(import::ImportArgs),
    /// Train, list and show k-means segments described in words.
    Segment(segment::SegmentArgs),
    /// Ranking models: train, evaluate offline, recommend.
    Rank(rank::RankArgs),
    /// Run the sandbox providers (APNs, FCM, SMTP, SMS) on loopback.
    Sandbox(sandbox::SandboxArgs),
    /// Write a synthetic shop (users, items, events, devices and the hidden truth).
    GenData(gen_data::GenDataArgs),
    /// The scale benchmark: a generated shop, a push and an email campaign to the sandbox.
    Bench(bench::BenchArgs),
    /// The whole loop on the embedded database: shop, models, campaign rounds, feedback, report.
    Demo(demo::DemoArgs),
    /// Campaigns: create (or draft), update a draft, list, show, preview, run, schedule, pause, resume, cancel, explain.
    Campaign(campaign::CampaignArgs),
    /// Dispatch workers only: send due outbox messages until Ctrl-C or SIGTERM.
    Worker(worker::WorkerArgs),
    /// The scheduler, dispatch workers and HTTP server (tracking routes and
    /// the /api/v1 JSON API) in one process until Ctrl-C or SIGTERM.
    Serve(worker::ServeArgs),
    /// Feedback analytics per campaign, run, variant, segment and channel (HTML, JSON or CSV).
    Report(report::ReportArgs),
    /// Export data for use elsewhere: `export training --out FILE`.
    Export(export::ExportArgs),
    /// API keys for /api/v1: create (printed once), list, revoke.
    Apikey(apikey::ApikeyArgs),
    /// Privacy requests per user: `user export ID --out FILE`, `user erase ID`.
    User(user::UserArgs),
}

/// A mistake in how a command was called (not in the data): exits with 2
/// like clap's own usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The exit code for an error: 2 for usage mistakes, 1 for the rest.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = load_settings(&cli)?;
    match cli.command {
        Command::Migrate { down } => migrate(&settings, down).await,
        Command::Import(args) => import::run(&settings, args).await,
        Command::GenData(args) => gen_data::run(args),
        Command::Segment(args) => segment::run(&settings, args).await,
        Command::Sandbox(args) => sandbox::run(args).await,
        Command::Rank(args) => rank::run(&settings, args).await,
        Command::Bench(args) => bench::run(cli.database.clone(), args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Campaign(args) => campaign::run(&settings, args).await,
        Command::Worker(args) => worker::run_worker(&settings, args).await,
        Command::Serve(args) => worker::run_serve(&settings, args).await,
        Command::Report(args) => report::run(&settings, args).await,
        Command::Export(args) => export::run(&settings, args).await,
        Command::Apikey(args) => apikey::run(&settings, args).await,
        Command::User(args) => user::run(&settings, args).await,
    }
}

fn load_settings(cli: &Cli) -> anyhow::Result<Settings> {
    let options = config::LoadOptions::from_process(cli.config.clone(), cli.database.clone());
    Ok(config::load(&options)?)
}

/// Opens the store named by the settings and brings its schema up to date.
pub(crate) async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(
        settings.database.url.expose(),
        settings.database.max_connections.get(),
    )
    .await?;
    store.migrate().await?;
    Ok(store)
}

async fn migrate(settings: &Settings, down: bool) -> anyhow::Result<()> {
    let store = Store::connect(settings.database.url.expose(), 1).await?;
    if down {
        store.migrate_down().await?;
        println!("reverted every migration on {}", settings.database.url);
    } else {
        store.migrate().await?;
        println!("migrations applied on {}", settings.database.url);
    }
    store.close().await;
    Ok(())
}
