//! `herald demo`: the main job on the embedded default. A fresh SQLite
//! database in `--out`, a generated shop, segments and the ranker, then
//! `--rounds` campaign rounds (push through APNs or FCM, with email then
//! SMS fallback, two variants, a 10 % holdout, three recommended items)
//! sent through the built-in
//! sandbox providers over loopback. Simulated customers open, click the
//! signed links over HTTP and buy; the ranker is retrained between rounds
//! (on the clicks once there are enough); the end is an HTML and a JSON
//! report. `--json` prints `{"rounds": [...], "report": PATH}`.

mod simulate;

use super::progress::Progress;
use super::shop::{self, StageTime};
use crate::api::{AppState, serve_http};
use crate::campaign::engine::{Engine, PlanReport};
use crate::channels::sandbox::{Sandbox, SandboxConfig};
use crate::config::{self, LoadOptions, Settings};
use crate::dispatch::{ChannelSet, Worker};
use crate::domain::now_millis;
use crate::ingest::synth::{GenParams, Truth};
use crate::report::stats::wilson;
use crate::report::{self, Report, ReportOptions, Windows};
use crate::store::Store;
use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use simulate::{Behaviour, Customers};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Arguments of `herald demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users in the generated shop.
    #[arg(long, default_value_t = 20_000)]
    pub users: u64,
    /// Catalogue items.
    #[arg(long, default_value_t = 2_000)]
    pub items: u64,
    /// Campaign rounds, with retraining in between.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Seed of the shop, the models and the simulated customers.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder: database, shop files, reports (replaced if present).
    #[arg(long, default_value = "herald-demo")]
    pub out: PathBuf,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// One round's figures, as measured by herald's own report.
#[derive(Debug, Clone, Serialize)]
struct Round {
    /// 1-based.
    round: u32,
    /// Users the audience matched.
    targeted: u64,
    /// Users not sent to, by reason (holdout, no consent, no address...).
    suppressed: BTreeMap<String, u64>,
    /// Messages sent.
    sent: u64,
    /// Delivered.
    delivered: u64,
    /// Users who opened.
    opens: u64,
    /// Users who clicked.
    clicks: u64,
    /// Clickers over delivered.
    ctr: f64,
    /// The CTR's 95 % Wilson interval (low, high).
    ctr_interval: Option<(f64, f64)>,
    /// Treated users with a purchase credited to the round (the holdout's
    /// own purchases are in the lift, not here).
    conversions: u64,
    /// Relative conversion lift of treated users over the holdout.
    lift: Option<f64>,
}

/// Runs `herald demo`.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.users < 50 || args.items < 10 || !(1..=20).contains(&args.rounds) {
        bail!("--users must be at least 50, --items at least 10, --rounds 1 to 20");
    }
    let out = fresh_dir(&args.out)?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the tracking server on 127.0.0.1")?;
    let public_url = format!("http://{}", listener.local_addr()?);
    let sandbox = Sandbox::start(SandboxConfig::default()).await?;
    let settings = Arc::new(demo_settings(&sandbox, &out, &public_url)?);
    let store = Store::connect(settings.database.url.expose(), 4).await?;
    store.migrate().await?;
    let (stop, shutdown) = watch::channel(false);
    let result = demo(&store, &settings, listener, shutdown, &out, &args).await;
    let _ = stop.send(true);
    sandbox.shutdown().await;
    store.close().await;
    let (stages, rounds, report) = result?;
    print(&args, &stages, &rounds, &report);
    Ok(())
}

/// Empties (or creates) the output folder's demo files.
fn fresh_dir(out: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for name in ["demo.db", "demo.db-wal", "demo.db-shm"] {
        let _ = std::fs::remove_file(out.join(name));
    }
    out.canonicalize()
        .with_context(|| format!("reading {}", out.display()))
}

/// Settings pointing at the sandbox and the tracking server.
fn demo_settings(sandbox: &Sandbox, out: &Path, public_url: &str) -> anyhow::Result<Settings> {
    let extra = format!(
        "[server]\npublic_url = \"{public_url}\"\n\n[policy]\nfrequency_cap = \"\"\nquiet_hours = \"\"\n\n\
         [dispatch]\nbackoff_base = \"50ms\"\nbackoff_max = \"1s\"\n\n[dispatch.email]\nconcurrency = 128\n"
    );
    let file = sandbox.write_settings(&out.join("sandbox"), &extra)?;
    let url = format!("sqlite://{}?mode=rwc", out.join("demo.db").display());
    Ok(config::load(&LoadOptions::from_process(
        Some(file),
        Some(url),
    ))?)
}

type Outcome = (Vec<StageTime>, Vec<Round>, PathBuf);

async fn demo(
    store: &Store,
    settings: &Arc<Settings>,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
    out: &Path,
    args: &DemoArgs,
) -> anyhow::Result<Outcome> {
    let events = args.users * 20;
    let params = GenParams::new(args.users, args.items, events, args.seed);
    let mut stages = shop::build(store, &params, &out.join("shop")).await?;
    stages.extend(shop::train(store, 6, args.seed).await?);
    let state = AppState::new(store.clone(), settings.clone(), now_millis()).await?;
    let server = tokio::spawn(serve_http(state.clone(), listener, shutdown));
    let truth = Truth::load(&out.join("shop")).context("reading the shop's truth")?;
    let mut customers = Customers::new(store, &state.links, &truth, args.seed).await?;
    let engine = Engine::new(store.clone(), settings.clone());
    let mut rounds = Vec::new();
    let mut progress = Progress::new("campaign rounds", u64::from(args.rounds), false);
    for round in 1..=args.rounds {
        let (campaign, plan, behaviour) = play_round(&engine, &mut customers, out, round).await?;
        tracing::info!(
            round,
            opens = behaviour.opens,
            clicks = behaviour.clicks,
            "demo round"
        );
        rounds.push(measure(store, settings, campaign, round, plan.skipped).await?);
        if round < args.rounds {
            stages.push(shop::retrain_rank(store, args.seed + u64::from(round)).await?);
        }
        progress.set(u64::from(round));
    }
    progress.finish();
    let report = write_reports(store, settings, out).await?;
    drop(server);
    Ok((stages, rounds, report))
}

/// Creates, plans and sends one round's campaign, then lets the customers
/// react; returns the campaign id and what planning and the customers did.
async fn play_round(
    engine: &Engine,
    customers: &mut Customers<'_>,
    out: &Path,
    round: u32,
) -> anyhow::Result<(i64, PlanReport, Behaviour)> {
    let file = out.join(format!("round-{round}.toml"));
    std::fs::write(&file, campaign_file(round))?;
    let now = now_millis();
    let id = engine.create(&file, now).await?;
    let (run, _) = engine.open_by_hand(id, false, now).await?;
    let channels = ChannelSet::from_settings(engine.settings())?;
    let worker = Worker::new(
        engine.store().clone(),
        channels,
        engine.settings().dispatch.clone(),
        "demo",
    )
    .with_fallback(engine.fallback());
    // Sending follows the planner page by page.
    let (planned, done) = watch::channel(false);
    let planning = async {
        let plan = engine.plan(&run, "demo", now).await;
        let _ = planned.send(true);
        plan
    };
    let (plan, sent) = tokio::join!(planning, worker.follow(run.run_id, done));
    let plan = plan?;
    sent?;
    engine.finish_if_drained(run.run_id, now_millis()).await?;
    let behaviour = customers.react(run.run_id, now_millis()).await?;
    Ok((id, plan, behaviour))
}

/// The round's campaign: push (APNs or FCM by device), else email, else
/// SMS; two variants; a holdout.
fn campaign_file(round: u32) -> String {
    format!(
        "name = \"Weekly picks, round {round}\"\nchannels = [\"push\", \"email\", \"sms\"]\n\
         schedule = {{ at = \"2026-01-01T00:00:00Z\" }}\nholdout = 0.1\n\
         recommendations = {{ n = 3, diversity = 0.2 }}\n\n\
         [[variants]]\nname = \"A\"\nweight = 0.5\ntitle = \"{{{{ items[0].title }}}} is waiting\"\n\
         body = \"From {{{{ items[0].price | money(items[0].currency) }}}}\"\n\
         email_subject = \"Your picks this week\"\nemail_template = \"weekly_picks\"\n\n\
         [[variants]]\nname = \"B\"\nweight = 0.5\ntitle = \"Picked for you: {{{{ items[0].title }}}}\"\n\
         body = \"{{{{ items[0].reason }}}}\"\n\
         email_subject = \"{{{{ items[0].title }}}} and more, picked for you\"\nemail_template = \"weekly_picks\"\n"
    )
}

/// The round's figures from herald's own report of its campaign.
async fn measure(
    store: &Store,
    settings: &Settings,
    campaign: i64,
    round: u32,
    suppressed: BTreeMap<String, u64>,
) -> anyhow::Result<Round> {
    let windows = Windows::from_settings(&settings.feedback);
    let report = report::build(store, &ReportOptions::new(Some(campaign), windows)).await?;
    let mut total = report::model::Counts::default();
    for group in &report.groups {
        total.merge(&group.counts);
    }
    let lift = report
        .lift
        .iter()
        .find(|l| l.variant.is_none())
        .and_then(|l| l.relative.map(|r| r.estimate));
    Ok(Round {
        round,
        targeted: total.targeted,
        sent: total.sent,
        delivered: total.delivered,
        opens: total.opened,
        clicks: total.clicked,
        ctr: total.clicked as f64 / total.delivered.max(1) as f64,
        ctr_interval: wilson(total.clicked, total.delivered).map(|i| (i.low, i.high)),
        suppressed,
        conversions: total.treated_converted,
        lift,
    })
}

/// Writes `report.html` and `report.json` over every round.
async fn write_reports(store: &Store, settings: &Settings, out: &Path) -> anyhow::Result<PathBuf> {
    let windows = Windows::from_settings(&settings.feedback);
    let report: Report = report::build(store, &ReportOptions::new(None, windows)).await?;
    let html = out.join("report.html");
    std::fs::write(&html, report::html::to_html(&report)?)
        .with_context(|| format!("writing {}", html.display()))?;
    let json = out.join("report.json");
    std::fs::write(&json, report::output::to_json(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    Ok(html)
}

/// One line of the round table.
fn print_round(r: &Round) {
    let lift = r
        .lift
        .map_or("n/a".to_owned(), |l| format!("{:+.0}%", l * 100.0));
    let interval = r.ctr_interval.map_or(String::new(), |(low, high)| {
        format!("[{:.1}, {:.1}]", low * 100.0, high * 100.0)
    });
    println!(
        "{:>5} {:>9} {:>11} {:>8} {:>10} {:>6} {:>7} {:>5.2}% {:<15} {:>12} {:>16}",
        r.round,
        r.targeted,
        r.suppressed.values().sum::<u64>(),
        r.sent,
        r.delivered,
        r.opens,
        r.clicks,
        r.ctr * 100.0,
        interval,
        r.conversions,
        lift
    );
}

fn print(args: &DemoArgs, stages: &[StageTime], rounds: &[Round], report: &Path) {
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "rounds": rounds, "report": report, "stages": stages })
        );
        return;
    }
    for s in stages {
        println!("{:<16} {:>9} in {:>6.2} s", s.stage, s.items, s.seconds);
    }
    println!(
        "round  targeted  suppressed     sent  delivered  opens  clicks  CTR (95% interval)      conversions  lift vs holdout"
    );
    for r in rounds {
        print_round(r);
    }
    for pair in rounds.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        println!(
            "retrained before round {}: CTR {:.2}% -> {:.2}% ({:+.2} points)",
            after.round,
            before.ctr * 100.0,
            after.ctr * 100.0,
            (after.ctr - before.ctr) * 100.0
        );
    }
    for r in rounds {
        let reasons: Vec<String> = r
            .suppressed
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!("round {} suppressed: {}", r.round, reasons.join(", "));
    }
    println!("report: {}", report.display());
}
