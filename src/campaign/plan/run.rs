//! Planning a whole run: hold the planner lease (renewed per page), stream
//! the users in scope a page at a time from where the last written page
//! ended, plan and write each page in one transaction, and close the run
//! as `sending` (or keep `dry_run`) with its report. A run already planned
//! only reports; finishing a drained run closes it.

use super::page::plan_page;
use super::setup::Setup;
use super::{PAGE_USERS, PLANNER_LEASE_MS};
use crate::campaign::engine::{CampaignError, Engine, PlanReport};
use crate::campaign::occurrence::{Occurrence, Scope};
use crate::store::{CampaignRow, RunRow, Store, UserFactRow};
use std::time::Instant;

/// The planner lease of one run, renewed as planning goes on. Lease times
/// advance with a monotonic clock from the `now` planning was given; they
/// never reach the plan.
struct Lease<'a> {
    store: &'a Store,
    run_id: i64,
    owner: &'a str,
    now: i64,
    started: Instant,
}

impl Lease<'_> {
    /// Takes or renews the lease; `Busy` when another planner holds it.
    async fn renew(&self) -> Result<(), CampaignError> {
        let at = self.now + self.started.elapsed().as_millis() as i64;
        let held = self
            .store
            .claim_planner(self.run_id, self.owner, at, at + PLANNER_LEASE_MS)
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
    lease: Lease<'a>,
    now: i64,
    /// Counts so far (including pages written by an earlier planner).
    report: PlanReport,
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
    let lease = Lease {
        store,
        run_id: run.run_id,
        owner,
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
        let mut cursor = store.last_planned_user(self.run.run_id).await?;
        loop {
            let page = store
                .user_fact_page(cursor.as_deref(), PAGE_USERS, self.setup.segment_model_id)
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            cursor = Some(last.user_id.clone());
            let full = page.len() as u64 == PAGE_USERS;
            let in_scope: Vec<UserFactRow> =
                page.into_iter().filter(|u| covers(scope, u)).collect();
            self.page(in_scope, false).await?;
            if !full {
                return Ok(());
            }
        }
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

    /// Plans and writes one page of users in scope, then renews the lease
    /// and records progress.
    async fn page(&mut self, users: Vec<UserFactRow>, trigger: bool) -> Result<(), CampaignError> {
        self.report.scanned += users.len() as u64;
        let admitted: Vec<UserFactRow> = users
            .into_iter()
            .filter(|u| self.setup.admits(u, trigger, self.now))
            .collect();
        if !admitted.is_empty() {
            let out = plan_page(self.engine, &self.setup, &self.run, &admitted, self.now).await?;
            let store = self.engine.store();
            if self.dry() {
                store
                    .write_plan_page(self.run.run_id, &out.plan, &[], &[])
                    .await?;
            } else {
                store
                    .write_plan_page(self.run.run_id, &out.plan, &out.outbox, &out.exposures)
                    .await?;
            }
            self.add(&out.plan);
        }
        self.lease.renew().await?;
        let stats = serde_json::to_string(&self.report).unwrap_or_default();
        self.engine
            .store()
            .set_run_status(self.run.run_id, &self.run.status, Some(&stats), None)
            .await?;
        Ok(())
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
    async fn close(self) -> Result<PlanReport, CampaignError> {
        let store = self.engine.store();
        let report = counted(store, self.run.run_id, self.report.scanned).await?;
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
            "run planned"
        );
        Ok(report)
    }
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
