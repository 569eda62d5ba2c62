//! `herald bench`: the scale benchmark. A generated shop is imported into
//! a fresh database (SQLite in the output folder, or the `--database`
//! given, which must be empty), segments and the ranker are trained, and
//! two campaigns, push and email, are planned (audience, rank lookup,
//! policy, render) and sent to the sandbox providers over loopback, by
//! this process or by `--workers N` `herald worker --drain` processes.
//! Prints the rate of every stage and the peak memory.

use super::shop::{self, StageTime};
use crate::campaign::engine::{Engine, PlanReport};
use crate::campaign::occurrence::Occurrence;
use crate::channels::sandbox::{Sandbox, SandboxConfig};
use crate::config::{self, LoadOptions, Settings};
use crate::dispatch::{ChannelSet, Worker};
use crate::domain::now_millis;
use crate::ingest::synth::GenParams;
use crate::store::Store;
use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

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
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// One campaign's figures.
#[derive(Debug, Clone, serde::Serialize)]
struct CampaignFigures {
    /// Users planned to be sent to.
    recipients: u64,
    /// Planning (audience, rank lookup, policy, render, outbox writes).
    plan_seconds: f64,
    /// Sending until the outbox was drained.
    send_seconds: f64,
    /// Plan plus send.
    seconds: f64,
    /// Recipients per second end to end.
    per_second: f64,
    /// Rows the providers accepted.
    delivered: i64,
    /// Raw provider capacity from h2load, when installed (push only).
    h2load_per_second: Option<f64>,
    /// Peak resident memory of this process so far.
    peak_rss_mib: Option<f64>,
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
    let sandbox = Sandbox::start(SandboxConfig::default()).await?;
    let settings_file = sandbox.write_settings(&dir.join("sandbox"), BENCH_SETTINGS)?;
    let settings = Arc::new(config::load(&LoadOptions::from_process(
        Some(settings_file.clone()),
        Some(url.clone()),
    ))?);
    let store = Store::connect(&url, settings.database.max_connections.get()).await?;
    store.migrate().await?;
    if store.count("users").await? > 0 {
        bail!(
            "{}: the benchmark needs an empty database",
            crate::store::mask_password(&url)
        );
    }
    let result = bench(&store, &settings, &settings_file, &url, &dir, &args).await;
    store.close().await;
    sandbox.shutdown().await;
    let (stages, push, email) = result?;
    print(&args, &stages, &push, &email);
    Ok(())
}

/// Dispatch and policy for the benchmark: no caps or quiet hours, retries
/// fast enough to finish, and 64 SMTP connections (lettre spends about
/// 44 ms per message per connection against a local server).
const BENCH_SETTINGS: &str = "[policy]\nfrequency_cap = \"\"\nquiet_hours = \"\"\n\n\
    [dispatch]\nbackoff_base = \"50ms\"\nbackoff_max = \"1s\"\n\n\
    [dispatch.email]\nconcurrency = 64\n";

async fn bench(
    store: &Store,
    settings: &Arc<Settings>,
    settings_file: &Path,
    url: &str,
    dir: &Path,
    args: &BenchArgs,
) -> anyhow::Result<(Vec<StageTime>, CampaignFigures, CampaignFigures)> {
    let params = GenParams::new(
        args.users,
        args.items,
        args.users * args.events_per_user,
        args.seed,
    );
    let mut stages = shop::build(store, &params, &dir.join("shop")).await?;
    if !args.no_rank {
        stages.extend(shop::train(store, 8, args.seed).await?);
    }
    let engine = Engine::new(store.clone(), settings.clone());
    let sending = Sending {
        engine: &engine,
        settings,
        settings_file,
        url,
        workers: args.workers,
    };
    let push = sending.campaign(dir, "push", !args.no_rank).await?;
    let email = sending.campaign(dir, "email", !args.no_rank).await?;
    Ok((stages, push, email))
}

/// How campaigns are sent.
struct Sending<'a> {
    /// The engine.
    engine: &'a Engine,
    /// Settings pointing at the sandbox.
    settings: &'a Arc<Settings>,
    /// The same settings as a file, for worker processes.
    settings_file: &'a Path,
    /// The database URL, for worker processes.
    url: &'a str,
    /// Worker processes (0 = this process sends).
    workers: u32,
}

impl Sending<'_> {
    async fn campaign(
        &self,
        dir: &Path,
        channel: &str,
        items: bool,
    ) -> anyhow::Result<CampaignFigures> {
        let file = dir.join(format!("bench-{channel}.toml"));
        std::fs::write(&file, campaign_file(channel, items))?;
        let now = now_millis();
        let id = self.engine.create(&file, now).await?;
        let (run, _) = self
            .engine
            .open(id, &Occurrence::manual(1, now, false), false, now)
            .await?;
        let start = Instant::now();
        let owner = format!("bench-{}", std::process::id());
        let report: PlanReport = self.engine.plan(&run, &owner, now).await?;
        let plan_seconds = start.elapsed().as_secs_f64();
        let sent = Instant::now();
        self.drain(run.run_id, &owner).await?;
        let send_seconds = sent.elapsed().as_secs_f64();
        self.engine
            .finish_if_drained(run.run_id, now_millis())
            .await?;
        let delivered = self
            .engine
            .store()
            .outbox_counts(run.run_id)
            .await?
            .into_iter()
            .filter(|(s, _)| s == "sent")
            .map(|(_, n)| n)
            .sum();
        let recipients = report.send + report.deferred;
        let seconds = plan_seconds + send_seconds;
        Ok(CampaignFigures {
            recipients,
            plan_seconds,
            send_seconds,
            seconds,
            per_second: recipients as f64 / seconds.max(1e-9),
            delivered,
            h2load_per_second: None,
            peak_rss_mib: super::rank::peak_rss_mib(),
        })
    }

    async fn drain(&self, run_id: i64, owner: &str) -> anyhow::Result<()> {
        if self.workers == 0 {
            let channels = ChannelSet::from_settings(self.settings)?;
            let worker = Worker::new(
                self.engine.store().clone(),
                channels,
                self.settings.dispatch.clone(),
                owner,
            )
            .with_fallback(self.engine.fallback());
            let (_stop, shutdown) = tokio::sync::watch::channel(false);
            worker.drain(Some(run_id), shutdown).await?;
            return Ok(());
        }
        let exe = std::env::current_exe().context("locating the herald binary")?;
        let mut children = Vec::new();
        for _ in 0..self.workers {
            let child = tokio::process::Command::new(&exe)
                .arg("--config")
                .arg(self.settings_file)
                .arg("--database")
                .arg(self.url)
                .args(["worker", "--drain"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .context("starting a worker process")?;
            children.push(child);
        }
        for mut child in children {
            let status = child.wait().await?;
            if !status.success() {
                bail!("a worker process failed ({status})");
            }
        }
        Ok(())
    }
}

/// The benchmark's campaign on one channel.
fn campaign_file(channel: &str, items: bool) -> String {
    let (recommendations, body) = if items {
        (
            "recommendations = { n = 3, diversity = 0.2 }\n",
            "{{ items[0].title }} and {{ items | length - 1 }} more picks for you",
        )
    } else {
        ("", "New picks for you")
    };
    format!(
        "name = \"bench {channel}\"\nchannels = [\"{channel}\"]\nschedule = {{ at = \"2026-01-01T00:00:00Z\" }}\n{recommendations}\n\
         [[variants]]\nname = \"A\"\nweight = 1.0\ntitle = \"Hello {{{{ user.user_id }}}}\"\nbody = \"{body}\"\n\
         email_subject = \"Picks for {{{{ user.user_id }}}}\"\nemail_template = \"weekly_picks\"\n"
    )
}

fn print(args: &BenchArgs, stages: &[StageTime], push: &CampaignFigures, email: &CampaignFigures) {
    if args.json {
        let stage_list: Vec<Value> = stages
            .iter()
            .map(|s| json!({"stage": s.stage, "items": s.items, "seconds": s.seconds, "per_second": s.per_second()}))
            .collect();
        println!(
            "{}",
            json!({"push": push, "email": email, "users": args.users, "workers": args.workers, "stages": stage_list})
        );
        return;
    }
    for s in stages {
        println!(
            "{:<18} {:>10} in {:>7.2} s  {:>10.0}/s",
            s.stage,
            s.items,
            s.seconds,
            s.per_second()
        );
    }
    for (name, c) in [("push", push), ("email", email)] {
        println!(
            "{name:<6} {} recipients: plan {:.2} s, send {:.2} s, {:.0} recipients/s end to end, {} delivered, peak {:.0} MiB",
            c.recipients,
            c.plan_seconds,
            c.send_seconds,
            c.per_second,
            c.delivered,
            c.peak_rss_mib.unwrap_or(0.0)
        );
    }
}
