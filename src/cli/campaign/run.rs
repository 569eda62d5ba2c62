//! `herald campaign run ID [--dry-run] [--plan-out FILE]`: resume the
//! campaign's unfinished run or open the next manual one, plan it and
//! (unless dry) send its outbox through a dispatch worker built from the
//! settings, then close the run. Sending starts with the first planned
//! page rather than after the whole plan. Ctrl-C stops planning and
//! sending between pages and batches and releases the leases, so
//! rerunning the command resumes.
//!
//! The command returns once nothing is due: messages deferred by quiet
//! hours (or retried later than the longest backoff) stay pending for
//! `herald worker` or `herald serve`, and the summary says so.
//!
//! When a provider refuses herald's credentials or settings (its circuit
//! opens), the command stops at once and exits non-zero with one line
//! naming the channel, the provider's answer and the setting to fix; the
//! messages stay pending, so a rerun after the fix sends them.

use crate::campaign::engine::Engine;
use crate::cli::progress::Progress;
use crate::cli::worker::shutdown_on_signal;
use crate::dispatch::circuit::FIRST_PROBE_MS;
use crate::dispatch::{ChannelSet, Circuits, POLL_INTERVAL, Step, Trip, Worker};
use crate::domain::{millis_to_rfc3339, now_millis};
use crate::scheduler::owner_id;
use crate::store::{RunRow, Store};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::sync::watch;

/// Arguments of `herald campaign run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The campaign id.
    pub id: i64,
    /// Plan without sending: the plan is written (and --plan-out filled)
    /// but nothing is queued or sent.
    #[arg(long)]
    pub dry_run: bool,
    /// Plan and queue the messages but leave the sending to `herald
    /// worker` processes (scale-out; herald extension).
    #[arg(long, conflicts_with = "dry_run")]
    pub plan_only: bool,
    /// Also write the plan as CSV in user order, columns
    /// `user_id,variant,channel,decision,reason,payload_hash,not_before`;
    /// two dry runs on the same data, models and seed give byte-identical
    /// files (herald extension).
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,
}

/// What `campaign run` did; `--json` prints it as is.
#[derive(Debug, Default, Serialize)]
struct Summary {
    /// The campaign.
    campaign_id: i64,
    /// The run.
    run_id: i64,
    /// Its occurrence key.
    occurrence: String,
    /// Its status at the end.
    status: String,
    /// Whether an unfinished run was resumed.
    resumed: bool,
    /// A dry run (nothing queued).
    dry_run: bool,
    /// Users the audience matched (plan rows, holdout included).
    targeted: i64,
    /// Messages queued to send now (or that would be, for a dry run);
    /// deferred ones are counted apart.
    sent: i64,
    /// Messages held for quiet hours.
    deferred: i64,
    /// Users not sent to, by reason.
    skipped: BTreeMap<String, i64>,
    /// Outbox rows accepted by their provider.
    delivered: i64,
    /// Outbox rows given up on.
    failed: i64,
    /// Outbox rows still to send (deferred or retried later).
    pending: i64,
    /// Seconds this command worked.
    seconds: f64,
    /// Targeted users per second of this command.
    recipients_per_second: f64,
    /// True when Ctrl-C stopped the sending early.
    interrupted: bool,
    /// The plan CSV, when written.
    plan_out: Option<String>,
}

/// Runs `herald campaign run`.
pub async fn run(engine: &Engine, args: &RunArgs, json: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    let sends_here = !args.dry_run && !args.plan_only;
    let configured = ChannelSet::configured_in(engine.settings());
    let sender = engine.clone().sending_through(configured);
    let engine = if sends_here { &sender } else { engine };
    let owner = owner_id();
    let (run, resumed) = open(engine, args).await?;
    let shutdown = shutdown_on_signal();
    let unplanned = matches!(run.status.as_str(), "planning" | "dry_run");
    let (planned_tx, planned) = watch::channel(!unplanned);
    // The flag turns true however planning ends, so the sender stops
    // waiting for pages once it has sent what there is.
    let planning = async {
        let result = if unplanned {
            plan(engine, &run, &owner, shutdown.clone(), args.id).await
        } else {
            Ok(())
        };
        let _ = planned_tx.send(true);
        result
    };
    let sending = async {
        if args.dry_run || args.plan_only {
            return Ok(Ended::Drained);
        }
        send(engine, &run, &owner, shutdown.clone(), planned).await
    };
    let (planning, sending) = tokio::join!(planning, sending);
    planning?;
    let ended = sending?;
    let interrupted = ended == Ended::Interrupted;
    if ended == Ended::Drained && !args.dry_run && !args.plan_only {
        engine.finish_if_drained(run.run_id, now_millis()).await?;
    }
    if let Some(path) = &args.plan_out {
        write_plan(engine.store(), run.run_id, path).await?;
    }
    let mut summary = summarise(engine.store(), run.run_id, start).await?;
    summary.campaign_id = args.id;
    summary.resumed = resumed;
    summary.dry_run = args.dry_run;
    summary.interrupted = interrupted;
    summary.plan_out = args.plan_out.as_ref().map(|p| p.display().to_string());
    print(&summary, json)?;
    if let Ended::Refused(trip) = ended {
        anyhow::bail!(
            "{trip} ({} messages kept pending: rerun `herald campaign run {}` once fixed)",
            summary.pending,
            args.id
        );
    }
    if interrupted {
        anyhow::bail!(
            "interrupted: {} messages still pending; rerun `herald campaign run {}` to resume",
            summary.pending,
            args.id
        );
    }
    Ok(())
}

/// The run to work on: the unfinished one (never for a dry run), else a
/// new manual (or dry) run numbered after the campaign's runs.
async fn open(engine: &Engine, args: &RunArgs) -> anyhow::Result<(RunRow, bool)> {
    let store = engine.store();
    engine.load(args.id).await?;
    if !args.dry_run
        && let Some(run) = store.unfinished_run(args.id).await?
    {
        return Ok((run, true));
    }
    let (run, _) = (engine.open_by_hand(args.id, args.dry_run, now_millis())).await?;
    Ok((run, false))
}

/// Plans the run; Ctrl-C ends it between pages with a hint to resume.
async fn plan(
    engine: &Engine,
    run: &RunRow,
    owner: &str,
    mut shutdown: watch::Receiver<bool>,
    campaign_id: i64,
) -> anyhow::Result<()> {
    tokio::select! {
        planned = engine.plan(run, owner, now_millis()) => { planned?; }
        Ok(_) = shutdown.wait_for(|stop| *stop) => anyhow::bail!(
            "interrupted while planning run {}: rerun `herald campaign run {campaign_id}` to \
             resume it (at once on this host; from another host once the planner lease of a \
             minute has expired)",
            run.run_id
        ),
    }
    Ok(())
}

/// How the sending ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ended {
    /// Nothing left due (or the campaign stopped being scheduled).
    Drained,
    /// Ctrl-C.
    Interrupted,
    /// A provider refused herald's credentials or settings.
    Refused(Trip),
}

/// Sends the run's due outbox rows, from the first planned page on,
/// until the plan is complete and none is due now, Ctrl-C, or a
/// provider's circuit opens.
async fn send(
    engine: &Engine,
    run: &RunRow,
    owner: &str,
    shutdown: watch::Receiver<bool>,
    planned: watch::Receiver<bool>,
) -> anyhow::Result<Ended> {
    let settings = engine.settings();
    let channels = ChannelSet::from_settings(settings)?;
    let circuits = channels.circuits().clone();
    let worker = Worker::new(
        engine.store().clone(),
        channels,
        settings.dispatch.clone(),
        owner,
    )
    .with_fallback(engine.fallback());
    let total = pending_count(engine.store(), run.run_id).await?;
    let mut progress = Progress::new("sending", total, false);
    // Rows held by a circuit come back after its first probe interval: a
    // rerun after fixing the settings waits for them.
    let horizon = i64::try_from(settings.dispatch.backoff_max.get().as_millis())
        .unwrap_or(i64::MAX)
        .max(FIRST_PROBE_MS);
    let sending = Sending {
        worker: &worker,
        circuits: &circuits,
        engine,
        run,
        horizon,
    };
    let result = sending.drain(shutdown, planned, &mut progress).await;
    progress.finish();
    let released = worker.release().await;
    let ended = result?;
    released?;
    Ok(ended)
}

/// What the stepping loop works with.
struct Sending<'a> {
    /// The worker.
    worker: &'a Worker,
    /// Its providers' circuits.
    circuits: &'a Circuits,
    /// The engine (campaign status).
    engine: &'a Engine,
    /// The run being sent.
    run: &'a RunRow,
    /// Rows due later than this many ms from now are left pending.
    horizon: i64,
}

impl Sending<'_> {
    /// The stepping loop behind [`send`]: returns when the shutdown flag
    /// turns true, when a provider's circuit opens, or once the plan is
    /// complete and nothing is left due within `horizon` ms, or the
    /// campaign stopped being `scheduled`. While the plan grows, an idle
    /// worker waits for the next page.
    async fn drain(
        &self,
        mut shutdown: watch::Receiver<bool>,
        mut planned: watch::Receiver<bool>,
        progress: &mut Progress,
    ) -> anyhow::Result<Ended> {
        let mut done = 0;
        let mut sized = *planned.borrow();
        while !*shutdown.borrow() {
            let complete = plan_complete(&planned);
            if complete && !sized {
                sized = true;
                let pending = pending_count(self.engine.store(), self.run.run_id).await?;
                progress.set_total(done + pending);
            }
            let now = now_millis();
            let step = self.worker.step(now, Some(self.run.run_id)).await?;
            if let Some(trip) = self.circuits.tripped() {
                return Ok(Ended::Refused(trip));
            }
            match step {
                Step::Worked(tally) => {
                    done += tally.delivered + tally.failed;
                    progress.set(done);
                    continue;
                }
                Step::Idle { .. } if !complete => {
                    let _ = tokio::time::timeout(PAGE_WAIT, planned.changed()).await;
                    continue;
                }
                Step::Idle { next_due: None } => return Ok(Ended::Drained),
                Step::Idle {
                    next_due: Some(due),
                } if due > now + self.horizon => return Ok(Ended::Drained),
                Step::Idle { .. }
                    if !still_scheduled(self.engine, self.run.campaign_id).await? =>
                {
                    return Ok(Ended::Drained);
                }
                Step::Idle { .. } => {}
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = shutdown.changed() => {}
            }
        }
        Ok(Ended::Interrupted)
    }
}

/// How long an idle sender waits for the planner's next page.
const PAGE_WAIT: std::time::Duration = std::time::Duration::from_millis(20);

/// Whether the plan is complete (or its planner gave up).
fn plan_complete(planned: &watch::Receiver<bool>) -> bool {
    *planned.borrow() || planned.has_changed().is_err()
}

async fn still_scheduled(engine: &Engine, campaign_id: i64) -> anyhow::Result<bool> {
    let row = engine.store().campaign(campaign_id).await?;
    Ok(row.is_some_and(|c| c.status == "scheduled"))
}

async fn pending_count(store: &Store, run_id: i64) -> anyhow::Result<u64> {
    let counts = store.outbox_counts(run_id).await?;
    Ok(counts
        .iter()
        .filter(|(status, _)| status == "pending")
        .map(|(_, n)| u64::try_from(*n).unwrap_or(0))
        .sum())
}

/// Writes the run's plan as CSV, in user order.
async fn write_plan(store: &Store, run_id: i64, path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot write --plan-out {}", path.display()))?;
    let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
    out.write_record([
        "user_id",
        "variant",
        "channel",
        "decision",
        "reason",
        "payload_hash",
        "not_before",
    ])?;
    let mut after: Option<String> = None;
    loop {
        let page = store.plan_page(run_id, after.as_deref(), 10_000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.user_id.clone());
        for row in &page {
            let not_before = row.not_before.map(millis_to_rfc3339).unwrap_or_default();
            out.write_record([
                row.user_id.as_str(),
                row.variant.as_deref().unwrap_or(""),
                row.channel.as_deref().unwrap_or(""),
                row.decision.as_str(),
                row.reason.as_deref().unwrap_or(""),
                row.payload_hash.as_deref().unwrap_or(""),
                not_before.as_str(),
            ])?;
        }
    }
    out.flush()
        .with_context(|| format!("cannot write --plan-out {}", path.display()))?;
    Ok(())
}

/// The run's figures from its plan and outbox.
async fn summarise(store: &Store, run_id: i64, start: Instant) -> anyhow::Result<Summary> {
    let run = store.run(run_id).await?.context("the run disappeared")?;
    let mut s = Summary {
        run_id,
        occurrence: run.occurrence,
        status: run.status,
        ..Summary::default()
    };
    for (decision, reason, n) in store.plan_counts(run_id).await? {
        s.targeted += n;
        match decision.as_str() {
            "send" => s.sent += n,
            "deferred" => s.deferred += n,
            _ => *s.skipped.entry(reason.unwrap_or(decision)).or_default() += n,
        }
    }
    for (status, n) in store.outbox_counts(run_id).await? {
        match status.as_str() {
            "sent" => s.delivered += n,
            "failed" => s.failed += n,
            "pending" => s.pending += n,
            _ => {}
        }
    }
    s.seconds = start.elapsed().as_secs_f64();
    s.recipients_per_second = s.targeted as f64 / s.seconds.max(1e-3);
    Ok(s)
}

fn print(s: &Summary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    let kind = if s.dry_run { "dry run" } else { "run" };
    let resumed = if s.resumed { " (resumed)" } else { "" };
    println!(
        "campaign {} {kind} {}{resumed}: {} [{}]",
        s.campaign_id, s.run_id, s.occurrence, s.status
    );
    println!("targeted   {:>9}", s.targeted);
    let sent = if s.dry_run { "would send" } else { "sent" };
    println!("{sent:<10} {:>9}", s.sent);
    println!("deferred   {:>9}", s.deferred);
    for (reason, n) in &s.skipped {
        println!("skipped    {n:>9}  {reason}");
    }
    if !s.dry_run {
        println!("delivered  {:>9}", s.delivered);
        println!("failed     {:>9}", s.failed);
        if s.pending > 0 {
            println!(
                "pending    {:>9}  (deferred or retrying: `herald worker` or `herald serve` sends them)",
                s.pending
            );
        }
    }
    println!(
        "{:.1} s, {:.0} recipients/s",
        s.seconds, s.recipients_per_second
    );
    if let Some(path) = &s.plan_out {
        println!("plan written to {path}");
    }
    Ok(())
}
