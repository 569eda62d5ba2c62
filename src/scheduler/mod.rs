//! The scheduler: one tick takes the current time, finds the campaign
//! slots that are due (one-off `at`, cron in a fixed or the user's
//! timezone, event triggers), opens a run for each and plans it. The loop
//! around the tick shuts down explicitly.
//!
//! Only campaigns with status `scheduled` run. A tick also resumes runs
//! left `planning` by a process that died (the planner lease decides who
//! plans; a run another process holds is skipped), and closes `sending`
//! runs whose outbox has drained. Opening a run is idempotent per slot
//! (the occurrence key is unique per campaign), so two schedulers racing
//! for a slot plan it once. Missed cron slots are caught up by running
//! only the latest one (see [`slots`]).

pub mod slots;
pub mod triggers;

use crate::campaign::engine::{CampaignError, Engine};
use crate::campaign::occurrence::Occurrence;
use crate::campaign::spec::{Schedule, ScheduleZone};
use crate::store::{CampaignRow, RunRow, StoreError, TriggerEvent};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;
use triggers::{ArrivalCursor, Trigger};

/// How often the loop ticks.
pub const POLL: Duration = Duration::from_secs(1);

/// How long the distinct user timezones are reused before being read
/// again (ms): reading them scans the users table.
const ZONES_TTL_MS: i64 = 60_000;

/// What one tick did (ARCHITECTURE rule 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickOutcome {
    /// Runs were planned (opened now or resumed), by id.
    Ran {
        /// The runs planned in this tick.
        runs: Vec<i64>,
    },
    /// Nothing was due.
    Idle,
}

/// Why a tick failed.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A campaign operation failed.
    #[error(transparent)]
    Campaign(#[from] CampaignError),
}

/// The scheduler of one process.
pub struct Scheduler {
    /// Opens and plans runs.
    engine: Engine,
    /// This process's lease owner id (see [`owner_id`]).
    owner: String,
    /// Per trigger campaign, how far its events were read, by arrival.
    cursors: HashMap<i64, ArrivalCursor>,
    /// The distinct user timezones and when they were read (ms).
    zones: Option<(i64, Vec<String>)>,
    /// The pause between ticks of [`Scheduler::run`].
    poll: Duration,
}

impl Scheduler {
    /// A scheduler planning as `owner`, ticking every [`POLL`].
    pub fn new(engine: Engine, owner: impl Into<String>) -> Self {
        Self {
            engine,
            owner: owner.into(),
            cursors: HashMap::new(),
            zones: None,
            poll: POLL,
        }
    }

    /// The same scheduler with another pause between ticks.
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// One step at `now` (ms): opens, plans and closes the runs of every
    /// `scheduled` campaign. A campaign that fails is logged and skipped
    /// so the others still run; the error only ends the tick when the
    /// campaigns cannot be listed.
    pub async fn tick(&mut self, now: i64) -> Result<TickOutcome, SchedulerError> {
        let campaigns = self.engine.store().campaigns().await?;
        self.cursors.retain(|id, _| {
            campaigns.iter().any(|c| {
                c.campaign_id == *id && matches!(c.status.as_str(), "scheduled" | "paused")
            })
        });
        let mut runs = Vec::new();
        for row in campaigns.iter().filter(|c| c.status == "scheduled") {
            match self.tick_campaign(row, now).await {
                Ok(planned) => runs.extend(planned),
                Err(error) => tracing::warn!(
                    campaign_id = row.campaign_id,
                    %error,
                    "scheduler skipped the campaign this tick"
                ),
            }
        }
        Ok(if runs.is_empty() {
            TickOutcome::Idle
        } else {
            TickOutcome::Ran { runs }
        })
    }

    /// Ticks every poll interval until `shutdown` turns true (or its
    /// sender is dropped); a tick in progress is abandoned at shutdown
    /// (planning resumes from its last written page).
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let now = crate::domain::now_millis();
            tokio::select! {
                outcome = self.tick(now) => log_outcome(outcome),
                _ = shutdown.changed() => break,
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
    }

    /// One campaign's tick; returns the runs it planned.
    async fn tick_campaign(
        &mut self,
        row: &CampaignRow,
        now: i64,
    ) -> Result<Vec<i64>, SchedulerError> {
        let id = row.campaign_id;
        let schedule = self.engine.load(id).await?.spec.schedule;
        let runs = self.engine.store().runs(id).await?;
        let mut pending: Vec<RunRow> = runs
            .iter()
            .filter(|r| r.status == "planning")
            .cloned()
            .collect();
        for occurrence in self.due(&schedule, row.created_at, &runs, now).await? {
            let (run, _) = self.engine.open(id, &occurrence, false, now).await?;
            push_planning(&mut pending, run);
        }
        if let Schedule::Trigger {
            event,
            delay,
            window,
            ..
        } = &schedule
        {
            let trigger = Trigger {
                event: event.clone(),
                delay_ms: millis(delay.get()),
                window_ms: millis(window.get()).max(1),
            };
            if let Some(run) = self.collect_triggers(row, &trigger, now).await? {
                push_planning(&mut pending, run);
            }
        }
        let planned = self.plan_all(&pending, now).await?;
        self.finish_drained(row, &schedule, &runs, now).await?;
        Ok(planned)
    }

    /// The cron and `at` occurrences due now.
    async fn due(
        &mut self,
        schedule: &Schedule,
        created_at: i64,
        runs: &[RunRow],
        now: i64,
    ) -> Result<Vec<Occurrence>, SchedulerError> {
        let per_user = matches!(
            schedule,
            Schedule::Cron {
                zone: ScheduleZone::User,
                ..
            }
        );
        let zones = if per_user {
            self.user_zones(now).await?
        } else {
            Vec::new()
        };
        let ran = slots::ran_occurrences(runs);
        Ok(slots::due_occurrences(
            schedule, created_at, &ran, &zones, now,
        ))
    }

    /// The distinct user timezones, read at most every [`ZONES_TTL_MS`].
    async fn user_zones(&mut self, now: i64) -> Result<Vec<String>, SchedulerError> {
        if let Some((at, zones)) = &self.zones
            && (*at..*at + ZONES_TTL_MS).contains(&now)
        {
            return Ok(zones.clone());
        }
        let zones = self.engine.store().user_timezones().await?;
        self.zones = Some((now, zones.clone()));
        Ok(zones)
    }

    /// Reads the trigger's new events into fires, then hands the due
    /// fires to a fresh run (returned, still to plan).
    async fn collect_triggers(
        &mut self,
        row: &CampaignRow,
        trigger: &Trigger,
        now: i64,
    ) -> Result<Option<RunRow>, SchedulerError> {
        let id = row.campaign_id;
        let store = self.engine.store().clone();
        let (cursor, mut events) = self.new_events(row, trigger, now).await?;
        events.sort_by(|a, b| (a.ts, &a.user_id).cmp(&(b.ts, &b.user_id)));
        for fire in triggers::fires_for(&events, trigger) {
            store.record_trigger_fire(id, &fire, now).await?;
        }
        self.cursors.insert(id, cursor);
        let due = store
            .due_trigger_fires(id, now, triggers::FIRES_PER_RUN)
            .await?;
        if due.is_empty() {
            return Ok(None);
        }
        let (run, _) = self
            .engine
            .open(id, &Occurrence::trigger(now), false, now)
            .await?;
        store.attach_trigger_fires(id, &due, run.run_id).await?;
        tracing::info!(
            campaign_id = id,
            run_id = run.run_id,
            fires = due.len(),
            "trigger fires due"
        );
        Ok(Some(run))
    }

    /// The trigger's events not read before, in arrival order (see
    /// [`triggers`]), and the cursor past them (kept by the caller once
    /// their fires are recorded, so a failed tick reads them again): a
    /// fresh cursor starts at the latest arrival and reads the look-back
    /// by timestamp; a running one reads arrivals from its overlap on.
    async fn new_events(
        &self,
        row: &CampaignRow,
        trigger: &Trigger,
        now: i64,
    ) -> Result<(ArrivalCursor, Vec<TriggerEvent>), SchedulerError> {
        let store = self.engine.store();
        let min_ts = trigger.first_cursor(row.created_at, now);
        let (mut cursor, from) = match self.cursors.get(&row.campaign_id) {
            Some(cursor) => (cursor.clone(), Some(cursor.read_from())),
            None => (
                ArrivalCursor::at(store.latest_arrival(&trigger.event).await?),
                None,
            ),
        };
        let read = store.trigger_events(&trigger.event, min_ts, from).await?;
        let fresh = cursor.take_new(read);
        Ok((cursor, fresh))
    }

    /// Plans each run; one held by another process is skipped, and one
    /// that failed for want of provider settings is logged (once: the run
    /// is `failed` now, so no later tick plans it again).
    async fn plan_all(&self, runs: &[RunRow], now: i64) -> Result<Vec<i64>, SchedulerError> {
        let mut planned = Vec::new();
        for run in runs {
            match self.engine.plan(run, &self.owner, now).await {
                Ok(report) => {
                    tracing::info!(
                        campaign_id = run.campaign_id,
                        run_id = run.run_id,
                        occurrence = %run.occurrence,
                        targeted = report.targeted,
                        send = report.send,
                        deferred = report.deferred,
                        "run planned"
                    );
                    planned.push(run.run_id);
                }
                Err(CampaignError::Busy(_)) => {}
                Err(error @ CampaignError::Unconfigured { .. }) => {
                    tracing::error!(campaign_id = run.campaign_id, %error, "run not sent");
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(planned)
    }

    /// Closes drained `sending` runs; a one-off campaign whose run is
    /// closed becomes `done`.
    async fn finish_drained(
        &self,
        row: &CampaignRow,
        schedule: &Schedule,
        runs: &[RunRow],
        now: i64,
    ) -> Result<(), SchedulerError> {
        for run in runs.iter().filter(|r| r.status == "sending") {
            let finished = self.engine.finish_if_drained(run.run_id, now).await?;
            if finished
                && matches!(schedule, Schedule::At(at) if Occurrence::at(*at).key == run.occurrence)
            {
                self.engine
                    .store()
                    .set_campaign_status(row.campaign_id, "done", now)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Adds `run` to the runs to plan when it is still `planning` and not
/// there yet.
fn push_planning(pending: &mut Vec<RunRow>, run: RunRow) {
    if run.status == "planning" && !pending.iter().any(|r| r.run_id == run.run_id) {
        pending.push(run);
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn log_outcome(outcome: Result<TickOutcome, SchedulerError>) {
    match outcome {
        Ok(TickOutcome::Ran { runs }) => tracing::debug!(?runs, "scheduler tick ran"),
        Ok(TickOutcome::Idle) => {}
        Err(error) => tracing::warn!(%error, "scheduler tick failed; retrying"),
    }
}

/// This process's id for leases (planner and outbox):
/// `hostname-pid-random`, unique across hosts and restarts.
pub fn owner_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "herald".to_owned());
    let random: u32 = rand::random();
    format!("{host}-{}-{random:08x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `serve` and embedders spawn the loop on a multi-threaded runtime.
    #[allow(dead_code)]
    fn the_loop_can_be_spawned(scheduler: Scheduler, shutdown: watch::Receiver<bool>) {
        tokio::spawn(scheduler.run(shutdown));
    }

    #[test]
    fn owner_ids_name_the_host_and_process_and_differ() {
        let (a, b) = (owner_id(), owner_id());
        assert_ne!(a, b);
        assert!(a.contains(&format!("-{}-", std::process::id())), "{a}");
    }
}
