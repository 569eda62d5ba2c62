//! Send-time optimisation in the planner, for campaigns with
//! `schedule = { optimal = true, within = ... }`: each user sent to is
//! held until the best slot of their learned hour profile within `within`
//! of the run's time ([`crate::campaign::send_time`]).
//!
//! The segment and global hour histograms are read once per run, on the
//! first page that needs them; each page reads its own senders' opens and
//! clicks. Only feedback at or before the run's time counts, so a plan is
//! a function of the data and the time.
//!
//! Quiet hours still apply on top: slots inside them are not candidates,
//! and a user whose every candidate is quiet keeps the policy's quiet-hours
//! deferral. A user held for their hour keeps the decision `send` with
//! `not_before` set (it is the schedule working, not a deferral); only a
//! quiet-hours hold is `deferred` (`quiet_hours`).

use super::page::utc;
use super::setup::Setup;
use crate::campaign::engine::{CampaignError, Engine};
use crate::campaign::policy::{Decision, quiet_until};
use crate::campaign::send_time::{self, PRIOR_WEIGHT, SegmentHours};
use crate::campaign::spec::Schedule;
use crate::config::QuietHours;
use crate::store::UserFactRow;
use chrono_tz::Tz;
use std::collections::HashMap;

/// The prior of a run, filled on first use.
pub(crate) type PriorCell = tokio::sync::OnceCell<SegmentHours>;

/// For each user, the instant their message is held until for their best
/// hour, when the campaign's schedule is optimal, the user is sent to and
/// that instant is after `now`; `None` otherwise.
pub(crate) async fn send_times(
    engine: &Engine,
    setup: &Setup,
    users: &[UserFactRow],
    decided: &[Decision],
    now: i64,
) -> Result<Vec<Option<i64>>, CampaignError> {
    let none = vec![None; users.len()];
    let Schedule::Optimal { within } = setup.spec.schedule else {
        return Ok(none);
    };
    let senders: Vec<String> = users
        .iter()
        .zip(decided)
        .filter(|(_, d)| matches!(d, Decision::Send { .. }))
        .map(|(u, _)| u.user_id.clone())
        .collect();
    if senders.is_empty() {
        return Ok(none);
    }
    let prior = setup
        .send_time
        .get_or_try_init(|| load_prior(engine, setup.segment_model_id, now))
        .await?;
    let own = engine.store().feedback_quarters(&senders, now).await?;
    let window = Window {
        prior,
        own: &own,
        within_ms: i64::try_from(within.get().as_millis()).unwrap_or(i64::MAX),
        quiet: setup.rules.quiet_hours,
        now,
    };
    Ok(users
        .iter()
        .zip(decided)
        .map(|(user, decision)| match decision {
            Decision::Send { not_before, .. } => window.slot(user, *not_before),
            Decision::Skip { .. } => None,
        })
        .collect())
}

/// Reads the hour histograms of every segment under `segment_model`.
async fn load_prior(
    engine: &Engine,
    segment_model: Option<i64>,
    now: i64,
) -> Result<SegmentHours, CampaignError> {
    let rows = engine
        .store()
        .segment_feedback_quarters(segment_model, now)
        .await?;
    let mut hours = SegmentHours::default();
    for row in rows {
        let tz = zone(row.timezone.as_deref());
        hours.add(row.segment, &[(row.quarter, row.count)], tz);
    }
    Ok(hours)
}

/// What one page's slots are chosen from.
struct Window<'a> {
    /// Segment and global hour histograms.
    prior: &'a SegmentHours,
    /// Each sender's `(quarter, count)` opens and clicks.
    own: &'a HashMap<String, Vec<(i64, i64)>>,
    /// How far past `now` a message may wait (ms).
    within_ms: i64,
    /// Quiet hours in force.
    quiet: Option<QuietHours>,
    /// The run's time (ms).
    now: i64,
}

impl Window<'_> {
    /// The user's slot when it is later than now; `not_before` is the
    /// policy's quiet-hours deferral, which a slot never precedes.
    fn slot(&self, user: &UserFactRow, not_before: Option<i64>) -> Option<i64> {
        let tz = zone(user.profile.get("timezone").and_then(|t| t.as_str()));
        let mut hours = [0.0; 24];
        if let Some(quarters) = self.own.get(&user.user_id) {
            send_time::add_quarters(&mut hours, quarters, tz);
        }
        let weights = send_time::posterior(&hours, &self.prior.prior(user.segment), PRIOR_WEIGHT);
        let allowed = |at: i64| {
            self.quiet
                .is_none_or(|q| quiet_until(&q, utc(at), &tz).is_none())
        };
        let at = send_time::send_slot(&weights, tz, self.now, self.within_ms, allowed)?;
        let at = not_before.map_or(at, |t| t.max(at));
        (at > self.now).then_some(at)
    }
}

/// A stored timezone, UTC when unset or unknown.
fn zone(name: Option<&str>) -> Tz {
    name.and_then(|t| t.parse::<Tz>().ok())
        .unwrap_or(chrono_tz::UTC)
}
