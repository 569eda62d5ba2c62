//! Planning a whole run: hold the planner lease (renewed per page), stream
//! the users in scope a page at a time from where the last written page
//! ended, plan and write each page in one transaction, and close the run
//! as `sending` (or keep `dry_run`) with its report. A run already planned
//! only reports; finishing a drained run closes it.
//!
//! Three things overlap, each on its own connection: a reader task fetches
//! the next page of users while this one is planned, and the previous
//! page's transaction (with the lease renewal and the progress counts)
//! commits in a task of its own. Pages are still written one at a time and
//! in order (a page's write starts once the one before it committed), so
//! a planner killed at any moment resumes after the last page it wrote.

use super::page::PageOutput;
use super::page::plan_page;
use super::setup::Setup;
use super::{PAGE_USERS, PLANNER_LEASE_MS};
use crate::campaign::engine::{CampaignError, Engine, PlanReport};
use crate::campaign::occurrence::{Occurrence, Scope};
use crate::store::{CampaignRow, RunRow, Store, StoreError, UserFactRow};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The planner lease of one run, renewed as planning goes on. Lease times
/// advance with a monotonic clock from the `now` planning was given; they
/// never reach the plan.
#[derive(Clone)]
struct Lease {
    store: Store,
    run_id: i64,
    owner: String,
    now: i64,
    started: Instant,
}

impl Lease {
    /// Takes or renews the lease; `Busy` when another planner holds it.
    async fn renew(&self) -> Result<(), CampaignError> {
        let at = self.now + self.started.elapsed().as_millis() as i64;
        let held = self
            .store
            .claim_planner(self.run_id, &self.owner, at, at + PLANNER_LEASE_MS)
            .await?;
        if held {
            Ok(())
        } else {
            Err(CampaignError::Busy(self.run_id))
        }
    }
}

/// One run being planned.
struct Planning<'a> {
    engine: &'a Engine,
    setup: Setup,
    run: RunRow,
    lease: Lease,
    now: i64,
    /// Counts so far (including pages written by an earlier planner).
    report: PlanReport,
    /// The previous page's write, still committing.
    writing: Option<JoinHandle<Result<(), CampaignError>>>,
}

/// Refuses campaigns that must not send.
fn check_status(row: &CampaignRow) -> Result<(), CampaignError> {
    let hint = match row.status.as_str() {
        "paused" => "resume it with `herald campaign resume`",
        "cancelled" => "a cancelled campaign does not run; create it again",
        _ => return Ok(()),
    };
    Err(CampaignError::Status {
        id: row.campaign_id,
        status: row.status.clone(),
        hint,
    })
}

/// Whether the run's plan is complete.
fn planned(run: &RunRow) -> bool {
    matches!(run.status.as_str(), "sending" | "done" | "cancelled")
        || (run.status == "dry_run" && run.finished_at.is_some())
}

/// The counts stored with the run (empty when unreadable).
fn stored(run: &RunRow) -> PlanReport {
    serde_json::from_str(&run.stats).unwrap_or_default()
}

/// The report from the plan itself: every decision counted once, however
/// many planners wrote it.
async fn counted(store: &Store, run_id: i64, scanned: u64) -> Result<PlanReport, CampaignError> {
    let mut report = PlanReport {
        run_id,
        ..PlanReport::default()
    };
    for (decision, reason, n) in store.plan_counts(run_id).await? {
        let n = n.max(0) as u64;
        report.targeted += n;
        match decision.as_str() {
            "send" => report.send += n,
            "deferred" => report.deferred += n,
            _ => {
                *report
                    .skipped
                    .entry(reason.unwrap_or(decision))
                    .or_default() += n
            }
        }
    }
    report.scanned = scanned.max(report.targeted);
    Ok(report)
}

/// Plans `run` under the lease held by `owner`; see [`Engine::plan`].
pub(crate) async fn plan(
    engine: &Engine,
    run: &RunRow,
    owner: &str,
    now: i64,
) -> Result<PlanReport, CampaignError> {
    let store = engine.store();
    let run = store
        .run(run.run_id)
        .await?
        .ok_or_else(|| CampaignError::Other(format!("no run {}", run.run_id)))?;
    let loaded = engine.load(run.campaign_id).await?;
    check_status(&loaded.row)?;
    if planned(&run) {
        return counted(store, run.run_id, stored(&run).scanned).await;
    }
    if run.status == "failed" {
        return Err(CampaignError::Other(format!(
            "run {} failed before planning (`herald campaign show {}` says why); start a new \
             one with `herald campaign run {}`",
            run.run_id, run.campaign_id, run.campaign_id
        )));
    }
    if run.status != "dry_run" {
        super::providers::check(engine, &run, &loaded.spec.channels, now).await?;
    }
    let lease = Lease {
        store: store.clone(),
        run_id: run.run_id,
        owner: owner.to_owned(),
        now,
        started: Instant::now(),
    };
    lease.renew().await?;
    let setup = Setup::new(engine, loaded, run.segment_model_id, run.rank_model_id).await?;
    let mut planning = Planning {
        engine,
        setup,
        report: PlanReport {
            run_id: run.run_id,
            ..stored(&run)
        },
        run,
        lease,
        now,
        writing: None,
    };
    match Occurrence::scope_of(&planning.run.occurrence) {
        Scope::TriggerFires => planning.triggered().await?,
        scope => planning.scan(&scope).await?,
    }
    planning.close().await
}

/// Whether a user's timezone puts them in `scope` (no timezone = UTC).
fn covers(scope: &Scope, user: &UserFactRow) -> bool {
    match scope {
        Scope::Timezone(zone) => {
            let tz = user.profile.get("timezone").and_then(|v| v.as_str());
            tz.unwrap_or("UTC") == zone
        }
        Scope::Everyone | Scope::TriggerFires => true,
    }
}

impl Planning<'_> {
    fn dry(&self) -> bool {
        self.run.status == "dry_run"
    }

    /// Every user after the last planned one, page by page.
    async fn scan(&mut self, scope: &Scope) -> Result<(), CampaignError> {
        let store = self.engine.store();
        let cursor = store.last_planned_user(self.run.run_id).await?;
        let facts = Facts {
            segment_model_id: self.setup.segment_model_id,
            activity: self.setup.activity,
        };
        let mut pages = prefetch(store.clone(), cursor, facts);
        while let Some(page) = pages.recv().await {
            let in_scope: Vec<UserFactRow> =
                page?.into_iter().filter(|u| covers(scope, u)).collect();
            self.page(in_scope, false).await?;
        }
        Ok(())
    }

    /// The users of the run's trigger fires not planned yet.
    async fn triggered(&mut self) -> Result<(), CampaignError> {
        let store = self.engine.store();
        let users = store.run_trigger_users(self.run.run_id).await?;
        let start = match store.last_planned_user(self.run.run_id).await? {
            Some(last) => users.iter().position(|u| *u == last).map_or(0, |p| p + 1),
            None => 0,
        };
        for chunk in users[start..].chunks(PAGE_USERS as usize) {
            let facts = store.user_facts(chunk, self.setup.segment_model_id).await?;
            self.page(facts, true).await?;
        }
        Ok(())
    }

    /// Plans one page of users in scope and starts writing it (with the
    /// lease renewal and the progress counts) once the page before it is
    /// written.
    async fn page(&mut self, users: Vec<UserFactRow>, trigger: bool) -> Result<(), CampaignError> {
        self.report.scanned += users.len() as u64;
        let admitted: Vec<UserFactRow> = users
            .into_iter()
            .filter(|u| self.setup.admits(u, trigger, self.now))
            .collect();
        let mut out = if admitted.is_empty() {
            PageOutput::default()
        } else {
            plan_page(self.engine, &self.setup, &self.run, &admitted, self.now).await?
        };
        self.add(&out.plan);
        if self.dry() {
            out.outbox.clear();
            out.exposures.clear();
        }
        let write = PageWrite {
            lease: self.lease.clone(),
            status: self.run.status.clone(),
            stats: serde_json::to_string(&self.report).unwrap_or_default(),
            out,
        };
        self.written().await?;
        self.writing = Some(tokio::spawn(write.run()));
        Ok(())
    }

    /// Waits for the page being written, if any.
    async fn written(&mut self) -> Result<(), CampaignError> {
        match self.writing.take() {
            Some(handle) => handle
                .await
                .map_err(|e| CampaignError::Other(format!("writing a plan page: {e}")))?,
            None => Ok(()),
        }
    }

    /// Adds a written page to the running counts.
    fn add(&mut self, plan: &[crate::store::PlanRow]) {
        for row in plan {
            self.report.targeted += 1;
            match row.decision.as_str() {
                "send" => self.report.send += 1,
                "deferred" => self.report.deferred += 1,
                other => {
                    let reason = row.reason.clone().unwrap_or_else(|| other.to_owned());
                    *self.report.skipped.entry(reason).or_default() += 1;
                }
            }
        }
    }

    /// Counts the plan and moves the run on: `sending`, or a finished
    /// `dry_run`.
    async fn close(mut self) -> Result<PlanReport, CampaignError> {
        self.written().await?;
        let store = self.engine.store();
        let mut report = counted(store, self.run.run_id, self.report.scanned).await?;
        if let Some(ranking) = &self.setup.ranking {
            (report.ranked_from_lists, report.ranked_live) = ranking.counts();
        }
        let stats = serde_json::to_string(&report).unwrap_or_default();
        let (status, finished) = if self.dry() {
            ("dry_run", Some(self.now))
        } else {
            ("sending", None)
        };
        store
            .set_run_status(self.run.run_id, status, Some(&stats), finished)
            .await?;
        tracing::info!(
            run = report.run_id,
            targeted = report.targeted,
            send = report.send,
            deferred = report.deferred,
            scanned = report.scanned,
            ranked_from_lists = report.ranked_from_lists,
            ranked_live = report.ranked_live,
            "run planned"
        );
        Ok(report)
    }
}

/// One planned page on its way to the store.
struct PageWrite {
    /// The planner's lease, renewed once the page is written.
    lease: Lease,
    /// The run's status, kept while planning.
    status: String,
    /// The run's counts up to this page, as JSON.
    stats: String,
    /// The rows.
    out: PageOutput,
}

impl PageWrite {
    /// Writes the page in one transaction, renews the lease and records
    /// the counts (the time of each goes to the debug log).
    async fn run(self) -> Result<(), CampaignError> {
        let (store, run_id) = (&self.lease.store, self.lease.run_id);
        let mut laps = crate::domain::Laps::start();
        if !self.out.plan.is_empty() {
            let out = &self.out;
            store
                .write_plan_page(run_id, &out.plan, &out.outbox, &out.exposures)
                .await?;
        }
        let write_us = laps.lap();
        self.lease.renew().await?;
        let renew_us = laps.lap();
        store
            .set_run_status(run_id, &self.status, Some(&self.stats), None)
            .await?;
        tracing::debug!(
            run_id,
            write_us,
            renew_us,
            status_us = laps.lap(),
            "plan page done"
        );
        Ok(())
    }
}

/// Which facts the pages carry.
#[derive(Debug, Clone, Copy)]
struct Facts {
    /// Segments under this model.
    segment_model_id: Option<i64>,
    /// Activity aggregates, when the audience reads them.
    activity: bool,
}

/// Pages of users after `cursor`, read ahead by a task of their own (one
/// page waits while the current one is planned); the task stops after the
/// last page, at the first error, or when the receiver is dropped.
fn prefetch(
    store: Store,
    mut cursor: Option<String>,
    facts: Facts,
) -> mpsc::Receiver<Result<Vec<UserFactRow>, StoreError>> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let page = store
                .user_fact_page_with(
                    cursor.as_deref(),
                    PAGE_USERS,
                    facts.segment_model_id,
                    facts.activity,
                )
                .await;
            let last = match &page {
                Ok(users) => {
                    cursor = users.last().map(|u| u.user_id.clone());
                    users.len() as u64 != PAGE_USERS
                }
                Err(_) => true,
            };
            if matches!(&page, Ok(users) if users.is_empty())
                || tx.send(page).await.is_err()
                || last
            {
                return;
            }
        }
    });
    rx
}

/// Closes a `sending` run whose outbox has nothing pending; a one-off
/// (`at`) campaign is `done` with it.
pub(crate) async fn finish_if_drained(
    engine: &Engine,
    run_id: i64,
    now: i64,
) -> Result<bool, CampaignError> {
    let store = engine.store();
    let run = store
        .run(run_id)
        .await?
        .ok_or_else(|| CampaignError::Other(format!("no run {run_id}")))?;
    if run.status != "sending" {
        return Ok(false);
    }
    let counts = store.outbox_counts(run_id).await?;
    if counts
        .iter()
        .any(|(status, n)| status == "pending" && *n > 0)
    {
        return Ok(false);
    }
    store
        .set_run_status(run_id, "done", None, Some(now))
        .await?;
    if run.occurrence.starts_with("at:")
        && let Some(campaign) = store.campaign(run.campaign_id).await?
        && campaign.status == "scheduled"
    {
        store
            .set_campaign_status(run.campaign_id, "done", now)
            .await?;
    }
    Ok(true)
}
