//! `campaign explain`: why one user did or did not get a campaign, in
//! sentences. The newest run that planned the user answers (its decision,
//! variant, channel and reason, and what the outbox did); a user no run
//! planned is evaluated now: the audience rule, then the contact policy.

use super::page::utc;
use super::preview::{user_facts, variant_of};
use crate::campaign::engine::{CampaignError, Engine, Explanation};
use crate::campaign::policy::{Decision, Reason, Rules, decide};
use crate::domain::millis_to_rfc3339;
use crate::segment::audience::Audience;
use crate::store::{PlanRow, RunRow};

/// The sentence for a stored reason code.
fn reason_sentence(code: &str, rules: &Rules) -> String {
    match code {
        "holdout" => Reason::Holdout.explain(),
        "no_consent" => Reason::NoConsent.explain(),
        "no_reachable_channel" => Reason::NoReachableChannel.explain(),
        "frequency_capped" => rules.frequency_cap.map_or_else(
            || "already reached the frequency cap".to_owned(),
            |cap| Reason::FrequencyCapped(cap).explain(),
        ),
        "quiet_hours" => Reason::QuietHours.explain(),
        "render_error" => "the message did not render for their data (a template failed; \
             `herald campaign preview` shows the error)"
            .to_owned(),
        "consent_withdrawn_after_planning" => {
            "their consent for the channel was withdrawn after the run was planned".to_owned()
        }
        "unsubscribed_after_planning" => "they unsubscribed after the run was planned".to_owned(),
        "erased_after_planning" => "they were erased after the run was planned".to_owned(),
        "device_deactivated_after_planning" => {
            "their device was deactivated after the run was planned".to_owned()
        }
        other => other.to_owned(),
    }
}

/// What a decision means, in words.
fn decision_sentence(row: &PlanRow, rules: &Rules) -> String {
    let variant = row.variant.as_deref().unwrap_or("-");
    let channel = row.channel.as_deref().unwrap_or("-");
    let reason = row
        .reason
        .as_deref()
        .map(|r| reason_sentence(r, rules))
        .unwrap_or_default();
    match row.decision.as_str() {
        "send" => match row.not_before {
            Some(at) => format!(
                "planned to send variant {variant} on {channel} at {}, their best hour",
                millis_to_rfc3339(at)
            ),
            None => format!("planned to send variant {variant} on {channel}"),
        },
        "deferred" => format!(
            "planned to send variant {variant} on {channel} at {}: {reason}",
            row.not_before.map(millis_to_rfc3339).unwrap_or_default()
        ),
        "holdout" => format!("held out (variant {variant}): {reason}"),
        _ => format!("not sent (variant {variant}): {reason}"),
    }
}

/// See [`Engine::explain`].
pub(crate) async fn explain(
    engine: &Engine,
    campaign_id: i64,
    user_id: &str,
    now: i64,
) -> Result<Explanation, CampaignError> {
    let loaded = engine.load(campaign_id).await?;
    let rules = super::rules(&loaded.spec, engine.settings());
    let store = engine.store();
    for run in store.runs(campaign_id).await? {
        if let Some(row) = store.plan_row(run.run_id, user_id).await? {
            return planned(engine, &run, row, &rules).await;
        }
    }
    fresh(engine, loaded, user_id, &rules, now).await
}

/// The answer from the run that planned the user.
async fn planned(
    engine: &Engine,
    run: &RunRow,
    row: PlanRow,
    rules: &Rules,
) -> Result<Explanation, CampaignError> {
    let dry = if run.status == "dry_run" {
        " (a dry run: nothing is sent)"
    } else {
        ""
    };
    let mut lines = vec![format!(
        "Run {} ({}){dry} planned user {}: {}.",
        run.run_id,
        run.occurrence,
        row.user_id,
        decision_sentence(&row, rules)
    )];
    for message in engine
        .store()
        .outbox_for_user(run.run_id, &row.user_id)
        .await?
    {
        if message.status == "skipped" {
            let reason = engine.store().outbox_reason(message.outbox_id).await?;
            let reason = reason_sentence(reason.as_deref().unwrap_or("skipped"), rules);
            lines.push(format!(
                "The {} message was not sent: {reason}.",
                message.channel
            ));
            continue;
        }
        let attempts = match message.attempts {
            1 => "1 attempt".to_owned(),
            n => format!("{n} attempts"),
        };
        lines.push(match message.status.as_str() {
            "sent" => format!("The {} message was sent after {attempts}.", message.channel),
            "pending" => format!(
                "The {} message is queued to send ({attempts} so far, next at {}).",
                message.channel,
                millis_to_rfc3339(message.next_attempt_at)
            ),
            status => format!(
                "The {} message is {status} after {attempts}.",
                message.channel
            ),
        });
    }
    Ok(Explanation {
        campaign_id: run.campaign_id,
        user_id: row.user_id.clone(),
        run_id: Some(run.run_id),
        decision: row.decision.clone(),
        reason: row.reason.clone(),
        variant: row.variant.clone(),
        channel: row.channel.clone(),
        lines,
    })
}

/// The answer for a user no run planned: evaluated at `now`.
async fn fresh(
    engine: &Engine,
    loaded: crate::campaign::engine::Loaded,
    user_id: &str,
    rules: &Rules,
    now: i64,
) -> Result<Explanation, CampaignError> {
    let store = engine.store();
    let segment_model = store.active_segment_model().await?.map(|m| m.model_id);
    let user = user_facts(engine, user_id, segment_model).await?;
    let campaign_id = loaded.row.campaign_id;
    let mut explanation = Explanation {
        campaign_id,
        user_id: user_id.to_owned(),
        run_id: None,
        decision: "not_in_audience".into(),
        reason: None,
        variant: None,
        channel: None,
        lines: vec![format!(
            "No run of campaign {campaign_id} has planned user {user_id}; evaluated now:"
        )],
    };
    if let Some(source) = &loaded.spec.audience {
        let audience = Audience::compile(source, &loaded.attributes)
            .map_err(|e| CampaignError::Other(format!("campaign {campaign_id}: {e}")))?;
        let verdict = audience.matches(&user, now);
        if !matches!(verdict, Ok(true)) {
            let why = verdict.err().map_or(String::new(), |e| format!(": {e}"));
            explanation
                .lines
                .push(format!("not in the audience (rule: {source}){why}."));
            return Ok(explanation);
        }
        explanation
            .lines
            .push(format!("in the audience (rule: {source})."));
    }
    let sent = match rules.frequency_cap {
        Some(cap) => {
            let since = now - cap.per.length().num_milliseconds();
            let counts = store
                .contact_counts(std::slice::from_ref(&user.user_id), since)
                .await?;
            counts.get(&user.user_id).copied().unwrap_or(0)
        }
        None => 0,
    };
    let decision = decide(&loaded.spec, campaign_id, rules, &user, sent, utc(now));
    let row = as_plan_row(&decision, user_id);
    explanation.lines.push(format!(
        "If it ran now: {}.",
        decision_sentence(&row, rules)
    ));
    explanation.variant = Some(variant_of(&decision).to_owned());
    explanation.decision = row.decision;
    explanation.reason = row.reason;
    explanation.channel = row.channel;
    Ok(explanation)
}

/// A decision as the plan row it would become (before rendering).
fn as_plan_row(decision: &Decision, user_id: &str) -> PlanRow {
    let (decision_name, reason, channel, not_before) = match decision {
        Decision::Skip { reason, .. } => {
            let name = if *reason == Reason::Holdout {
                "holdout"
            } else {
                "suppressed"
            };
            (name, Some(reason.code()), None, None)
        }
        Decision::Send {
            channel,
            not_before: Some(at),
            ..
        } => (
            "deferred",
            Some(Reason::QuietHours.code()),
            Some(*channel),
            Some(*at),
        ),
        Decision::Send { channel, .. } => ("send", None, Some(*channel), None),
    };
    PlanRow {
        user_id: user_id.to_owned(),
        variant: Some(variant_of(decision).to_owned()),
        channel: channel.map(|c| c.as_str().to_owned()),
        decision: decision_name.to_owned(),
        reason: reason.map(str::to_owned),
        payload_hash: None,
        not_before,
    }
}
