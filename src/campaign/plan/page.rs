//! Planning one page of users already in scope and in the audience: the
//! contact policy per user (with the page's contact counts for the
//! frequency cap), the best-hour slot of an optimal schedule,
//! recommendations for the users sent to, one rendered message each, and
//! the plan, outbox and exposure rows that record it. Each exposure keeps
//! the blend's feature row of its item (a JSON array in feature order;
//! the training export names them), so clicks can retrain the blend on
//! what the model saw when it ranked.

use super::context::{item_contexts, shown};
use super::message::Unsent;
use super::ranking::Ranked;
use super::setup::Setup;
use crate::campaign::engine::{CampaignError, Engine};
use crate::campaign::policy::{Decision, Reason, decide};
use crate::domain::{Channel, Laps};
use crate::rank::blend::features_compact;
use crate::store::{DeviceRow, ItemRow, NewExposure, NewOutbox, PlanRow, RunRow, UserFactRow};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What one page of users adds to the plan.
#[derive(Debug, Default)]
pub(crate) struct PageOutput {
    /// One decision per user.
    pub plan: Vec<PlanRow>,
    /// One row per user sent to (now or deferred).
    pub outbox: Vec<NewOutbox>,
    /// The items each user sent to is shown.
    pub exposures: Vec<NewExposure>,
    /// Users whose message did not render, with the first error.
    pub render_errors: (u64, Option<String>),
}

/// The instant `now` (ms) as a UTC time.
pub(crate) fn utc(now: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now).unwrap_or_default()
}

/// The policy decision for each user, in order.
pub(crate) async fn decisions(
    engine: &Engine,
    setup: &Setup,
    users: &[UserFactRow],
    now: i64,
) -> Result<Vec<Decision>, CampaignError> {
    let counts = match setup.rules.frequency_cap {
        Some(cap) => {
            let ids: Vec<String> = users.iter().map(|u| u.user_id.clone()).collect();
            let since = now - cap.per.length().num_milliseconds();
            engine.store().contact_counts(&ids, since).await?
        }
        None => HashMap::new(),
    };
    let at = utc(now);
    Ok(users
        .iter()
        .map(|u| {
            let sent = counts.get(&u.user_id).copied().unwrap_or(0);
            decide(&setup.spec, setup.campaign_id, &setup.rules, u, sent, at)
        })
        .collect())
}

/// Recommendations and item details for the users being sent to.
pub(crate) async fn recommendations(
    engine: &Engine,
    setup: &Setup,
    users: &[&UserFactRow],
) -> Result<(Vec<Vec<Ranked>>, HashMap<String, ItemRow>), CampaignError> {
    let Some(ranking) = &setup.ranking else {
        return Ok((vec![Vec::new(); users.len()], HashMap::new()));
    };
    let ranked = ranking.rank(engine.store(), users).await?;
    let mut ids: Vec<String> = ranked.iter().flatten().map(|r| r.item_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let details = engine.store().items_by_id(&ids).await?;
    Ok((ranked, details))
}

/// The active devices of the users sent a push.
async fn devices(
    engine: &Engine,
    push_ids: &[String],
) -> Result<HashMap<String, Vec<DeviceRow>>, CampaignError> {
    if push_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(engine.store().active_devices(push_ids).await?)
}

/// Plans one page.
pub(crate) async fn plan_page(
    engine: &Engine,
    setup: &Setup,
    run: &RunRow,
    users: &[UserFactRow],
    now: i64,
) -> Result<PageOutput, CampaignError> {
    let mut laps = Laps::start();
    let decided = decisions(engine, setup, users, now).await?;
    let timed = super::timing::send_times(engine, setup, users, &decided, now).await?;
    let decide_us = laps.lap();
    let senders: Vec<&UserFactRow> = users
        .iter()
        .zip(&decided)
        .filter(|(_, d)| matches!(d, Decision::Send { .. }))
        .map(|(u, _)| u)
        .collect();
    let push_ids: Vec<String> = users
        .iter()
        .zip(&decided)
        .filter(|(_, d)| {
            matches!(
                d,
                Decision::Send {
                    channel: Channel::Push,
                    ..
                }
            )
        })
        .map(|(u, _)| u.user_id.clone())
        .collect();
    // Two reads on two connections: the items and the devices.
    let ((ranked, details), devices) = tokio::try_join!(
        recommendations(engine, setup, &senders),
        devices(engine, &push_ids)
    )?;
    let fetch_us = laps.lap();
    let mut ranked: HashMap<&str, Vec<Ranked>> = senders
        .iter()
        .map(|u| u.user_id.as_str())
        .zip(ranked)
        .collect();
    let mut out = PageOutput::default();
    for ((user, decision), send_at) in users.iter().zip(decided).zip(timed) {
        let items = ranked.remove(user.user_id.as_str()).unwrap_or_default();
        let device = devices.get(&user.user_id).and_then(|d| d.first());
        let planned = Planned {
            setup,
            run,
            user,
            now,
            send_at,
        };
        planned.record(decision, &items, &details, device, &mut out);
    }
    let compose_us = laps.lap();
    tracing::debug!(
        run = run.run_id,
        users = users.len(),
        decide_us,
        fetch_us,
        compose_us,
        "plan page"
    );
    if let (n @ 1.., Some(first)) = &out.render_errors {
        tracing::warn!(run = run.run_id, users = n, first = %first, "messages did not render; those users are suppressed (render_error)");
    }
    Ok(out)
}

/// One user being planned.
struct Planned<'a> {
    setup: &'a Setup,
    run: &'a RunRow,
    user: &'a UserFactRow,
    now: i64,
    /// The user's best-hour slot under an optimal schedule, when later
    /// than now: the message waits for it but the decision stays `send`.
    send_at: Option<i64>,
}

impl Planned<'_> {
    /// Adds the user's rows for `decision` to `out`.
    fn record(
        &self,
        decision: Decision,
        items: &[Ranked],
        details: &HashMap<String, ItemRow>,
        device: Option<&DeviceRow>,
        out: &mut PageOutput,
    ) {
        match decision {
            Decision::Skip { variant, reason } => out.plan.push(self.skipped(variant, &reason)),
            Decision::Send {
                variant,
                channel,
                not_before,
            } => self.send(&variant, channel, not_before, items, details, device, out),
        }
    }

    /// The plan row of a user not sent to.
    fn skipped(&self, variant: String, reason: &Reason) -> PlanRow {
        let decision = match reason {
            Reason::Holdout => "holdout",
            _ => "suppressed",
        };
        PlanRow {
            user_id: self.user.user_id.clone(),
            variant: Some(variant),
            channel: None,
            decision: decision.to_owned(),
            reason: Some(reason.code().to_owned()),
            payload_hash: None,
            not_before: None,
        }
    }

    /// Renders and records a send (or a deferral to `not_before`).
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        variant: &str,
        channel: Channel,
        not_before: Option<i64>,
        items: &[Ranked],
        details: &HashMap<String, ItemRow>,
        device: Option<&DeviceRow>,
        out: &mut PageOutput,
    ) {
        let shown = shown(items, details);
        let ctx = self.setup.base.context(
            self.user,
            variant,
            item_contexts(&shown),
            self.run.run_id,
            channel,
        );
        let composed = match self
            .setup
            .compose(self.user, device, channel, variant, &ctx)
        {
            Ok(c) => c,
            Err(unsent) => {
                if let Unsent::Render(error) = &unsent {
                    out.render_errors.0 += 1;
                    out.render_errors.1.get_or_insert_with(|| error.clone());
                }
                return out.plan.push(self.unsent(variant, channel, &unsent));
            }
        };
        let payload = composed.payload();
        let hash = super::payload_hash(&payload, self.run.run_id, &composed.dedup_key);
        let (decision, reason) = match (self.send_at, not_before) {
            (None, Some(_)) => ("deferred", Some(Reason::QuietHours.code().to_owned())),
            _ => ("send", None),
        };
        let not_before = self.send_at.or(not_before);
        out.plan.push(PlanRow {
            user_id: self.user.user_id.clone(),
            variant: Some(variant.to_owned()),
            channel: Some(channel.as_str().to_owned()),
            decision: decision.to_owned(),
            reason,
            payload_hash: Some(hash),
            not_before,
        });
        let due = not_before.unwrap_or(self.now);
        out.outbox.push(composed.outbox(
            self.run.run_id,
            &self.user.user_id,
            variant,
            payload,
            due,
            self.now,
        ));
        out.exposures
            .extend(shown.iter().enumerate().map(|(i, (r, _))| NewExposure {
                user_id: self.user.user_id.clone(),
                item_id: r.item_id.clone(),
                rank: i as i32 + 1,
                score: r.score,
                variant: variant.to_owned(),
                channel: channel.as_str().to_owned(),
                reason: r.reason.clone(),
                rank_model_id: self.setup.ranking.as_ref().map(|r| r.model_id()),
                features: features_compact(&r.features),
                shown_at: self.now,
            }));
    }

    /// The plan row of a user whose message could not be made.
    fn unsent(&self, variant: &str, channel: Channel, unsent: &Unsent) -> PlanRow {
        PlanRow {
            user_id: self.user.user_id.clone(),
            variant: Some(variant.to_owned()),
            channel: matches!(unsent, Unsent::Render(_)).then(|| channel.as_str().to_owned()),
            decision: "suppressed".to_owned(),
            reason: Some(unsent.code().to_owned()),
            payload_hash: None,
            not_before: None,
        }
    }
}
