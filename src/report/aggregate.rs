//! Folding recipients into groups. Each recipient of a run is counted once
//! in the group of its campaign, run, variant, segment and channel (the
//! channel its message went out on, so a push that fell back to email
//! counts as email), from its plan decision, its outbox rows, the
//! distinct feedback kinds it showed and the purchases credited to it.

use super::attribution::Conversion;
use super::model::Counts;
use crate::store::{OutboxFact, RecipientFact};
use std::collections::{BTreeMap, HashMap};

/// Milliseconds in an hour, the timeline's bucket.
const HOUR_MS: i64 = 3_600_000;

/// The dimensions of a report row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    /// The campaign.
    pub campaign_id: i64,
    /// The run.
    pub run_id: i64,
    /// The variant.
    pub variant: Option<String>,
    /// The segment.
    pub segment: Option<i32>,
    /// The channel.
    pub channel: Option<String>,
}

/// The feedback one user showed in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// An open was recorded.
    pub open: bool,
    /// A click was recorded.
    pub click: bool,
    /// An unsubscribe was recorded.
    pub unsubscribe: bool,
    /// A receipt said the message was not delivered.
    pub failed: bool,
}

/// Flags per user of one run, from (user, kind) pairs.
pub fn flags_by_user(pairs: Vec<(String, String)>) -> HashMap<String, Flags> {
    let mut out: HashMap<String, Flags> = HashMap::new();
    for (user, kind) in pairs {
        let flags = out.entry(user).or_default();
        match kind.as_str() {
            "open" => flags.open = true,
            "click" => flags.click = true,
            "unsubscribe" => flags.unsubscribe = true,
            "failed" => flags.failed = true,
            _ => {}
        }
    }
    out
}

/// Groups and the timeline being built.
#[derive(Debug, Default)]
pub struct Aggregator {
    /// Counts per group.
    pub groups: BTreeMap<GroupKey, Counts>,
    /// Sends per (campaign, hour start).
    pub timeline: BTreeMap<(i64, i64), u64>,
}

/// One recipient with everything known about it.
pub struct Recipient<'a> {
    /// The campaign.
    pub campaign_id: i64,
    /// The run.
    pub run_id: i64,
    /// The plan row and outbox rows.
    pub fact: &'a RecipientFact,
    /// Its feedback.
    pub flags: Flags,
    /// Purchases credited to it.
    pub conversion: Option<&'a Conversion>,
}

impl Aggregator {
    /// Counts one recipient.
    pub fn add(&mut self, r: &Recipient<'_>) {
        let sent = r.fact.outbox.iter().find(|o| o.status == "sent");
        let key = GroupKey {
            campaign_id: r.campaign_id,
            run_id: r.run_id,
            variant: r.fact.variant.clone(),
            segment: r.fact.segment,
            channel: channel_of(r.fact, sent),
        };
        if let Some(at) = sent.and_then(|o| o.sent_at) {
            let hour = at.div_euclid(HOUR_MS) * HOUR_MS;
            *self.timeline.entry((r.campaign_id, hour)).or_default() += 1;
        }
        tally(self.groups.entry(key).or_default(), r, sent);
    }
}

/// The channel a recipient is reported under: where its message was sent,
/// else its last outbox row's, else the planned one.
fn channel_of(fact: &RecipientFact, sent: Option<&OutboxFact>) -> Option<String> {
    sent.or(fact.outbox.last())
        .map(|o| o.channel.clone())
        .or_else(|| fact.channel.clone())
}

/// Adds one recipient to its group's counts.
fn tally(c: &mut Counts, r: &Recipient<'_>, sent: Option<&OutboxFact>) {
    c.targeted += 1;
    let treated = plan_counts(c, r.fact);
    delivery_counts(c, r, sent);
    if r.flags.open || r.flags.click {
        c.opened += 1;
    }
    c.clicked += u64::from(r.flags.click);
    c.unsubscribed += u64::from(r.flags.unsubscribe);
    if let Some(conversion) = r.conversion.filter(|c| c.purchases() > 0) {
        c.converted += 1;
        c.treated_converted += u64::from(treated);
        c.holdout_converted += u64::from(r.fact.decision == "holdout");
        c.purchases += u64::from(conversion.purchases());
        c.revenue.0 += conversion.revenue_micros;
    }
}

/// Counts the plan decision; true for a treated user.
fn plan_counts(c: &mut Counts, fact: &RecipientFact) -> bool {
    let reason = || fact.reason.clone().unwrap_or_else(|| "unknown".to_owned());
    match fact.decision.as_str() {
        "send" => c.treated += 1,
        "deferred" => {
            c.treated += 1;
            c.deferred += 1;
        }
        "holdout" => c.holdout += 1,
        _ => *c.suppressed.entry(reason()).or_default() += 1,
    }
    matches!(fact.decision.as_str(), "send" | "deferred")
}

/// Counts what happened to the recipient's outbox rows.
fn delivery_counts(c: &mut Counts, r: &Recipient<'_>, sent: Option<&OutboxFact>) {
    let rows = &r.fact.outbox;
    if sent.is_some() {
        c.sent += 1;
        c.delivered += u64::from(!r.flags.failed);
    } else if rows.iter().any(|o| o.status == "pending") {
        c.pending += 1;
    } else if let Some(failed) = rows.iter().rev().find(|o| o.status == "failed") {
        *c.failed.entry(failure_reason(failed)).or_default() += 1;
    } else if rows.iter().any(|o| o.status == "cancelled") {
        c.cancelled += 1;
    }
}

/// The reason code of a failed row: its last attempt's outcome.
fn failure_reason(row: &OutboxFact) -> String {
    match row.outcome.as_deref() {
        Some("retry") => "retries_exhausted".to_owned(),
        Some(outcome) => outcome.to_owned(),
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(decision: &str, outbox: Vec<OutboxFact>) -> RecipientFact {
        RecipientFact {
            user_id: "u1".into(),
            variant: Some("A".into()),
            channel: Some("push".into()),
            decision: decision.into(),
            reason: None,
            segment: Some(2),
            outbox,
        }
    }

    fn row(channel: &str, status: &str, outcome: Option<&str>) -> OutboxFact {
        OutboxFact {
            channel: channel.into(),
            status: status.into(),
            sent_at: (status == "sent").then_some(7_200_000),
            outcome: outcome.map(str::to_owned),
        }
    }

    fn add(agg: &mut Aggregator, fact: &RecipientFact, flags: Flags) {
        agg.add(&Recipient {
            campaign_id: 1,
            run_id: 9,
            fact,
            flags,
            conversion: None,
        });
    }

    #[test]
    fn a_push_that_fell_back_to_email_counts_once_as_an_email_sent() {
        let mut agg = Aggregator::default();
        let f = fact(
            "send",
            vec![
                row("push", "failed", Some("token_gone")),
                row("email", "sent", None),
            ],
        );
        add(&mut agg, &f, Flags::default());
        let (key, counts) = agg.groups.iter().next().unwrap();
        assert_eq!(key.channel.as_deref(), Some("email"));
        assert_eq!((counts.sent, counts.failed_total()), (1, 0));
        assert_eq!(agg.timeline.get(&(1, 7_200_000)), Some(&1));
    }

    #[test]
    fn failures_count_by_last_outcome_and_clicks_count_as_opens() {
        let mut agg = Aggregator::default();
        let f = fact("send", vec![row("push", "failed", Some("retry"))]);
        let clicked = Flags {
            click: true,
            ..Flags::default()
        };
        add(&mut agg, &f, clicked);
        let counts = agg.groups.values().next().unwrap();
        assert_eq!(counts.failed.get("retries_exhausted"), Some(&1));
        assert_eq!((counts.opened, counts.clicked, counts.sent), (1, 1, 0));
    }
}
