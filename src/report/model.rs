//! The report as data: what was made of which campaigns and runs, one row
//! of counts and rates per campaign × run × variant × segment × channel,
//! the variant comparisons, the lift against the holdout and sends per
//! hour. Every list is sorted and every map is a `BTreeMap`, and fields
//! serialise in declaration order, so the same data gives the same JSON
//! byte for byte.

use super::stats::{Interval, ZTest};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A feedback report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// What the report covers and how it attributed.
    pub scope: Scope,
    /// The campaigns and runs covered, by id.
    pub campaigns: Vec<CampaignInfo>,
    /// One row per campaign × run × variant × segment × channel.
    pub groups: Vec<Group>,
    /// Each variant of a run against the run's first variant.
    pub variants: Vec<VariantComparison>,
    /// Treated users against the holdout, per run (all variants, then each).
    pub lift: Vec<Lift>,
    /// Messages sent per campaign and hour.
    pub timeline: Vec<TimelinePoint>,
}

/// What a report covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scope {
    /// The one campaign reported on, or `None` for all.
    pub campaign: Option<i64>,
    /// Click-through window (e.g. `7d`).
    pub click_window: String,
    /// View-through window (e.g. `1d`).
    pub view_window: String,
    /// Confidence level of every interval.
    pub confidence: f64,
}

/// A campaign with its runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignInfo {
    /// Its id.
    pub campaign_id: i64,
    /// Its name.
    pub name: String,
    /// Its runs (dry runs left out), by id.
    pub runs: Vec<RunInfo>,
}

/// A run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// Its id.
    pub run_id: i64,
    /// The schedule slot it served.
    pub occurrence: String,
    /// Its status.
    pub status: String,
    /// The slot's instant, RFC 3339 in UTC.
    pub scheduled_for: String,
}

/// Revenue in millionths, summed exactly; written as a decimal number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Revenue(pub i64);

impl Revenue {
    /// The amount as a decimal number.
    pub fn amount(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }
}

impl Serialize for Revenue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.amount())
    }
}

/// Counts of distinct users (each recipient once per run, however often
/// they clicked), plus purchases and revenue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Plan rows: everyone the audience matched.
    pub targeted: u64,
    /// Planned to be sent to (`send` or `deferred`).
    pub treated: u64,
    /// Held out as the control group.
    pub holdout: u64,
    /// Deferred by quiet hours (also counted as treated).
    pub deferred: u64,
    /// Not sent to, by reason.
    pub suppressed: BTreeMap<String, u64>,
    /// Accepted by the provider.
    pub sent: u64,
    /// Sent, without a receipt saying it failed.
    pub delivered: u64,
    /// Given up on, by the last attempt's outcome.
    pub failed: BTreeMap<String, u64>,
    /// Still queued.
    pub pending: u64,
    /// Cancelled before sending.
    pub cancelled: u64,
    /// Opened (a click counts as an open).
    pub opened: u64,
    /// Clicked.
    pub clicked: u64,
    /// Unsubscribed through this message.
    pub unsubscribed: u64,
    /// Users with a purchase credited to this run.
    pub converted: u64,
    /// Of those, treated users.
    pub treated_converted: u64,
    /// Of those, holdout users.
    pub holdout_converted: u64,
    /// Purchases credited.
    pub purchases: u64,
    /// Their value.
    pub revenue: Revenue,
}

impl Counts {
    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Counts) {
        for (a, b) in self.scalars_mut().into_iter().zip(other.scalars()) {
            *a += b;
        }
        for (reason, n) in &other.suppressed {
            *self.suppressed.entry(reason.clone()).or_default() += n;
        }
        for (reason, n) in &other.failed {
            *self.failed.entry(reason.clone()).or_default() += n;
        }
        self.revenue.0 += other.revenue.0;
    }

    /// Every plain counter, in declaration order.
    fn scalars(&self) -> [u64; 15] {
        [
            self.targeted,
            self.treated,
            self.holdout,
            self.deferred,
            self.sent,
            self.delivered,
            self.pending,
            self.cancelled,
            self.opened,
            self.clicked,
            self.unsubscribed,
            self.converted,
            self.treated_converted,
            self.holdout_converted,
            self.purchases,
        ]
    }

    /// Every plain counter, mutably, in the order of [`Counts::scalars`].
    fn scalars_mut(&mut self) -> [&mut u64; 15] {
        [
            &mut self.targeted,
            &mut self.treated,
            &mut self.holdout,
            &mut self.deferred,
            &mut self.sent,
            &mut self.delivered,
            &mut self.pending,
            &mut self.cancelled,
            &mut self.opened,
            &mut self.clicked,
            &mut self.unsubscribed,
            &mut self.converted,
            &mut self.treated_converted,
            &mut self.holdout_converted,
            &mut self.purchases,
        ]
    }

    /// Users suppressed for any reason.
    pub fn suppressed_total(&self) -> u64 {
        self.suppressed.values().sum()
    }

    /// Users whose message failed for any reason.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// Rates over delivered messages with their Wilson intervals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rates {
    /// Opened / delivered.
    pub open: Option<Interval>,
    /// Clicked / delivered (CTR).
    pub click: Option<Interval>,
    /// Treated users converted / delivered.
    pub conversion: Option<Interval>,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The campaign.
    pub campaign_id: i64,
    /// The run.
    pub run_id: i64,
    /// The variant (`None` for users planned without one).
    pub variant: Option<String>,
    /// The segment under the run's segmentation.
    pub segment: Option<i32>,
    /// The channel sent on (or planned; `None` for holdout and unreachable users).
    pub channel: Option<String>,
    /// The counts.
    pub counts: Counts,
    /// The rates.
    pub rates: Rates,
}

/// A variant of a run against the run's baseline (its first variant).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantComparison {
    /// The campaign.
    pub campaign_id: i64,
    /// The run.
    pub run_id: i64,
    /// This variant.
    pub variant: String,
    /// The variant it is compared with.
    pub baseline: String,
    /// Delivered messages.
    pub delivered: u64,
    /// Clickers.
    pub clicked: u64,
    /// Treated users converted.
    pub converted: u64,
    /// CTR with its interval.
    pub ctr: Option<Interval>,
    /// Conversion rate with its interval.
    pub conversion: Option<Interval>,
    /// CTR against the baseline's (`None` for the baseline itself).
    pub ctr_test: Option<ZTest>,
    /// Conversion rate against the baseline's.
    pub conversion_test: Option<ZTest>,
}

/// Treated users against holdout users of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lift {
    /// The campaign.
    pub campaign_id: i64,
    /// The run.
    pub run_id: i64,
    /// One variant's treated users, or `None` for all of them.
    pub variant: Option<String>,
    /// Treated users.
    pub treated: u64,
    /// Of those, converted.
    pub treated_converted: u64,
    /// Holdout users of the run (every variant).
    pub holdout: u64,
    /// Of those, converted.
    pub holdout_converted: u64,
    /// Treated conversion rate.
    pub treated_rate: Option<Interval>,
    /// Holdout conversion rate.
    pub holdout_rate: Option<Interval>,
    /// Treated minus holdout rate (percentage points as a fraction).
    pub difference: Option<Interval>,
    /// Treated rate over holdout rate, minus one.
    pub relative: Option<Interval>,
    /// Whether the rates differ.
    pub test: Option<ZTest>,
}

/// Messages sent in one campaign in one hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelinePoint {
    /// The campaign.
    pub campaign_id: i64,
    /// The hour's start, RFC 3339 in UTC.
    pub hour: String,
    /// The hour's start (ms), for charts.
    #[serde(skip)]
    pub start_ms: i64,
    /// Messages sent.
    pub sent: u64,
}
