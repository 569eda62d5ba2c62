//! `herald bench`: the scale benchmark. A generated shop is imported into
//! a fresh database (SQLite in the output folder, or the `--database`
//! given, which must be empty), segments and the ranker are trained, and
//! two campaigns, push and email, are planned (audience, rank lookup,
//! policy, render) and sent to the sandbox providers over loopback, by
//! this process or by `--workers N` `herald worker --drain` processes.
//! Beside the push campaign, `h2load` posts the same APNs body to the
//! same sandbox with no orchestration: the ceiling the campaign is
//! compared with. Prints the rate and peak memory of every phase.
//!
//! `--prepare` stops after the shop and the models; `--reuse` runs the
//! campaigns on a database prepared so, so data generation and training
//! (minutes and gigabytes at a million users) are measured apart from
//! the campaigns and need not be repeated.

mod campaign;
mod h2load;
mod memory;

use super::shop::{self, StageTime};
use crate::campaign::engine::Engine;
use crate::channels::RenderedMessage;
use crate::channels::sandbox::{Sandbox, SandboxConfig};
use crate::config::{self, LoadOptions, Settings};
use crate::ingest::synth::GenParams;
use crate::store::Store;
use anyhow::{Context, bail};
use campaign::{CampaignFigures, Sending};
use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `herald bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Users in the generated shop (each gets both campaigns).
    #[arg(long, default_value_t = 100_000)]
    pub users: u64,
    /// Catalogue items.
    #[arg(long, default_value_t = 5_000)]
    pub items: u64,
    /// Behavioural events per user.
    #[arg(long, default_value_t = 10)]
    pub events_per_user: u64,
    /// Seed of the shop and the models.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Working folder (shop files, SQLite database, sandbox settings);
    /// a temporary one when not given.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Send with this many `herald worker --drain` processes instead of
    /// in this process (scale-out; use with a PostgreSQL --database).
    #[arg(long, default_value_t = 0)]
    pub workers: u32,
    /// Skip ranking: messages carry no recommended items.
    #[arg(long)]
    pub no_rank: bool,
    /// Only build the shop and train the models (in `--out` or the
    /// `--database` given), then stop.
    #[arg(long, conflicts_with = "reuse")]
    pub prepare: bool,
    /// Run the campaigns on a database `--prepare` built, skipping data
    /// generation and training.
    #[arg(long)]
    pub reuse: bool,
    /// Senders in this process, each a worker with its own connections.
    #[arg(long, default_value_t = 2)]
    pub senders: u32,
    /// Plan the whole run before sending (else sending starts with the
    /// first planned page).
    #[arg(long)]
    pub sequential: bool,
    /// The campaigns to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["push", "email"])]
    pub channels: Vec<BenchChannel>,
    /// Requests h2load sends for the ceiling (0: as many as push
    /// recipients, at least 100,000).
    #[arg(long, default_value_t = 0)]
    pub h2load_requests: u64,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// A benchmark campaign's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchChannel {
    /// Push to the APNs and FCM sandboxes, with the h2load ceiling.
    Push,
    /// Email to the SMTP sandbox.
    Email,
}

/// What a benchmark run measured.
struct Figures {
    /// Data generation, import and training (absent with `--reuse`).
    stages: Vec<PhasedStage>,
    /// The push campaign with the h2load ceiling.
    push: Option<CampaignFigures>,
    /// The email campaign.
    email: Option<CampaignFigures>,
    /// The h2load run.
    ceiling: Option<h2load::Ceiling>,
}

/// A stage with the peak memory of its phase (several stages share one
/// phase: generation and import, or training).
#[derive(Debug, Clone, serde::Serialize)]
struct PhasedStage {
    /// The stage.
    #[serde(flatten)]
    stage: StageTime,
    /// Peak resident memory of its phase (MiB).
    phase_peak_rss_mib: Option<f64>,
}

/// Runs `herald bench`.
pub async fn run(database: Option<String>, args: BenchArgs) -> anyhow::Result<()> {
    let temp = tempfile::tempdir().context("creating a temporary folder")?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let url =
        database.unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let sandbox = Sandbox::start(SandboxConfig {
        record_limit: 1_000,
        ..SandboxConfig::default()
    })
    .await?;
    let settings_file = sandbox.write_settings(&dir.join("sandbox"), BENCH_SETTINGS)?;
    let settings = Arc::new(config::load(&LoadOptions::from_process(
        Some(settings_file.clone()),
        Some(url.clone()),
    ))?);
    let store = Store::connect(&url, settings.database.max_connections.get()).await?;
    store.migrate().await?;
    let context = Bench {
        store: &store,
        settings: &settings,
        settings_file: &settings_file,
        url: &url,
        dir: &dir,
        args: &args,
        apns_url: &sandbox.apns_url,
    };
    let result = context.run().await;
    store.close().await;
    sandbox.shutdown().await;
    print(&args, &result?);
    Ok(())
}

/// Dispatch and policy for the benchmark: no caps or quiet hours, retries
/// fast enough to finish, and 64 SMTP connections (lettre spends about
/// 44 ms per message per connection against a local server).
const BENCH_SETTINGS: &str = "[policy]\nfrequency_cap = \"\"\nquiet_hours = \"\"\n\n\
    [dispatch]\nbackoff_base = \"50ms\"\nbackoff_max = \"1s\"\n\n\
    [dispatch.email]\nconcurrency = 64\n";

/// Everything one benchmark run works with.
struct Bench<'a> {
    store: &'a Store,
    settings: &'a Arc<Settings>,
    settings_file: &'a Path,
    url: &'a str,
    dir: &'a Path,
    args: &'a BenchArgs,
    /// The APNs sandbox, for h2load.
    apns_url: &'a str,
}

impl Bench<'_> {
    async fn run(&self) -> anyhow::Result<Figures> {
        let stages = self.prepare().await?;
        let mut figures = Figures {
            stages,
            push: None,
            email: None,
            ceiling: None,
        };
        if self.args.prepare {
            return Ok(figures);
        }
        let engine = Engine::new(self.store.clone(), self.settings.clone());
        let sending = Sending {
            engine: &engine,
            settings: self.settings,
            settings_file: self.settings_file,
            url: self.url,
            workers: self.args.workers,
            senders: self.args.senders,
            sequential: self.args.sequential,
        };
        let items = !self.args.no_rank;
        if self.args.channels.contains(&BenchChannel::Push) {
            let mut push = sending.campaign(self.dir, "push", items).await?;
            figures.ceiling = self.ceiling(&push).await?;
            if let Some(c) = &figures.ceiling {
                push.h2load_per_second = Some(c.per_second);
                push.share_of_h2load = Some(push.per_second / c.per_second.max(1e-9));
            }
            done("push", &push, figures.ceiling.as_ref());
            figures.push = Some(push);
        }
        if self.args.channels.contains(&BenchChannel::Email) {
            let email = sending.campaign(self.dir, "email", items).await?;
            done("email", &email, None);
            figures.email = Some(email);
        }
        Ok(figures)
    }

    /// Deletes what earlier benchmark runs left in a reused database (their
    /// campaigns with runs, plan, outbox, attempts and exposures), so every
    /// run measures the prepared shop rather than one that grew with each
    /// run (ten runs took a 1M shop from 3.1 to 15.3 GB). Devices
    /// an earlier run found dead stay deactivated.
    async fn forget_earlier_runs(&self) -> anyhow::Result<()> {
        // A pool of its own, closed before the campaigns: SQLite's memory
        // for a delete of millions of rows goes with its connection and
        // does not count in the campaign's peak.
        let store = Store::connect(self.url, 1).await?;
        for channel in ["push", "email"] {
            let name = campaign::campaign_name(channel);
            let deleted = store.delete_campaigns_named(&name).await?;
            if deleted > 0 {
                tracing::info!(deleted, name, "deleted earlier benchmark campaigns");
            }
        }
        store.close().await;
        Ok(())
    }

    /// The shop and the models, unless reused; each phase with its peak.
    async fn prepare(&self) -> anyhow::Result<Vec<PhasedStage>> {
        let users = self.store.count("users").await?;
        if self.args.reuse {
            if users == 0 {
                bail!("--reuse needs a database prepared with `herald bench --prepare`");
            }
            self.forget_earlier_runs().await?;
            return Ok(Vec::new());
        }
        if users > 0 {
            bail!(
                "{}: the benchmark needs an empty database (or --reuse)",
                crate::store::mask_password(self.url)
            );
        }
        let args = self.args;
        let params = GenParams::new(
            args.users,
            args.items,
            args.users * args.events_per_user,
            args.seed,
        );
        memory::reset_peak();
        let built = shop::build(self.store, &params, &self.dir.join("shop")).await?;
        let mut stages = phased(built, memory::peak_rss_mib());
        if !args.no_rank {
            memory::reset_peak();
            let trained = shop::train(self.store, 8, args.seed).await?;
            stages.extend(phased(trained, memory::peak_rss_mib()));
        }
        Ok(stages)
    }

    /// h2load against the APNs sandbox with the body of a message the
    /// push campaign sent.
    async fn ceiling(&self, push: &CampaignFigures) -> anyhow::Result<Option<h2load::Ceiling>> {
        let sample = self.store.sent_page(push.run_id, 0, 1).await?;
        let Some(row) = sample.first() else {
            return Ok(None);
        };
        let RenderedMessage::Push(message) = serde_json::from_str(&row.payload)? else {
            return Ok(None);
        };
        let body = crate::channels::apns::payload_json(&message)?;
        let requests = match self.args.h2load_requests {
            0 => push.recipients.max(100_000),
            n => n,
        };
        let streams = self.settings.dispatch.apns.concurrency.get();
        let (url, dir) = (self.apns_url.to_owned(), self.dir.to_path_buf());
        tokio::task::spawn_blocking(move || h2load::measure(&url, &body, requests, streams, &dir))
            .await?
    }
}

/// Logs a finished campaign's figures at once (stderr), so a long run
/// that is stopped later keeps them.
fn done(channel: &str, figures: &CampaignFigures, ceiling: Option<&h2load::Ceiling>) {
    let figures = serde_json::to_string(figures).unwrap_or_default();
    let ceiling = serde_json::to_string(&ceiling).unwrap_or_default();
    tracing::info!(channel, %figures, %ceiling, "bench campaign finished");
}

/// Stages of one phase, each carrying the phase's peak.
fn phased(stages: Vec<StageTime>, peak: Option<f64>) -> Vec<PhasedStage> {
    stages
        .into_iter()
        .map(|stage| PhasedStage {
            stage,
            phase_peak_rss_mib: peak,
        })
        .collect()
}

fn print(args: &BenchArgs, figures: &Figures) {
    if args.json {
        let stage_list: Vec<Value> = figures
            .stages
            .iter()
            .map(|s| json!({"stage": s.stage.stage, "items": s.stage.items, "seconds": s.stage.seconds, "per_second": s.stage.per_second(), "phase_peak_rss_mib": s.phase_peak_rss_mib}))
            .collect();
        println!(
            "{}",
            json!({"push": figures.push, "email": figures.email, "h2load": figures.ceiling, "users": args.users, "workers": args.workers, "stages": stage_list})
        );
        return;
    }
    for s in &figures.stages {
        println!(
            "{:<18} {:>10} in {:>7.2} s  {:>10.0}/s  phase peak {:.0} MiB",
            s.stage.stage,
            s.stage.items,
            s.stage.seconds,
            s.stage.per_second(),
            s.phase_peak_rss_mib.unwrap_or(0.0)
        );
    }
    let campaigns = [("push", &figures.push), ("email", &figures.email)];
    for (name, c) in campaigns
        .into_iter()
        .filter_map(|(n, c)| Some((n, c.as_ref()?)))
    {
        println!(
            "{name:<6} {} recipients of {} users: plan {:.2} s ({:.0} users/s, peak {}), send {:.2} s ({:.0}/s, peak {}), {:.0} recipients/s end to end, {} delivered",
            c.recipients,
            c.planned_users,
            c.plan_seconds,
            c.plan_users_per_second,
            mib(c.plan_peak_rss_mib),
            c.send_seconds,
            c.send_per_second,
            mib(c.send_peak_rss_mib),
            c.per_second,
            c.delivered,
        );
    }
    if let Some(c) = &figures.ceiling {
        let share = figures
            .push
            .as_ref()
            .and_then(|p| p.share_of_h2load)
            .unwrap_or(0.0);
        println!(
            "h2load {} requests ({} ok), 1 connection, {} streams: {:.0} requests/s; push end to end = {:.1} % of it",
            c.requests,
            c.succeeded,
            c.streams,
            c.per_second,
            share * 100.0
        );
    }
}

/// A peak in MiB, or `-` when not measured apart (sending overlapped
/// planning, or not on Linux).
fn mib(peak: Option<f64>) -> String {
    peak.map_or_else(|| "-".to_owned(), |p| format!("{p:.0} MiB"))
}
