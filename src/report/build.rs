//! Making a report: attribute every purchase, then walk each run of the
//! campaigns in scope a page of recipients at a time, counting each into
//! its group, and finally derive rates, comparisons, lift and the
//! timeline. Memory holds one page of recipients, the feedback flags of
//! one run's engaged users and the credited purchases, never a whole run.

use super::ReportError;
use super::aggregate::{Aggregator, Recipient, flags_by_user};
use super::attribution::{Attribution, Windows, attribute};
use super::compare;
use super::model::{CampaignInfo, Report, RunInfo, Scope, TimelinePoint};
use super::stats::CONFIDENCE;
use crate::config::Duration;
use crate::domain::millis_to_rfc3339;
use crate::store::{CampaignRow, RunRow, Store};

/// Recipients read per query.
pub const DEFAULT_PAGE: u64 = 20_000;

/// What to report on and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// One campaign, or all.
    pub campaign: Option<i64>,
    /// The attribution windows.
    pub windows: Windows,
    /// Recipients read per query.
    pub page_size: u64,
}

impl ReportOptions {
    /// Options for `campaign` (or all) with the given windows.
    pub fn new(campaign: Option<i64>, windows: Windows) -> Self {
        Self {
            campaign,
            windows,
            page_size: DEFAULT_PAGE,
        }
    }
}

/// Builds the report.
pub async fn build(store: &Store, options: &ReportOptions) -> Result<Report, ReportError> {
    let campaigns = in_scope(store, options.campaign).await?;
    let attribution = attribute(store, options.windows).await?;
    let mut agg = Aggregator::default();
    let mut infos = Vec::with_capacity(campaigns.len());
    for campaign in campaigns {
        let runs = reported_runs(store, campaign.campaign_id).await?;
        for run in &runs {
            add_run(store, &mut agg, run, &attribution, options.page_size).await?;
        }
        infos.push(campaign_info(campaign, &runs));
    }
    Ok(assemble(options, infos, agg))
}

/// The campaigns reported on, by id.
async fn in_scope(store: &Store, campaign: Option<i64>) -> Result<Vec<CampaignRow>, ReportError> {
    match campaign {
        Some(id) => match store.campaign(id).await? {
            Some(row) => Ok(vec![row]),
            None => Err(ReportError::UnknownCampaign(id)),
        },
        None => Ok(store.campaigns().await?),
    }
}

/// A campaign's runs, oldest first, dry runs left out.
async fn reported_runs(store: &Store, campaign_id: i64) -> Result<Vec<RunRow>, ReportError> {
    let mut runs: Vec<RunRow> = store
        .runs(campaign_id)
        .await?
        .into_iter()
        .filter(|r| r.status != "dry_run")
        .collect();
    runs.sort_by_key(|r| r.run_id);
    Ok(runs)
}

/// Counts every recipient of one run.
async fn add_run(
    store: &Store,
    agg: &mut Aggregator,
    run: &RunRow,
    attribution: &Attribution,
    page_size: u64,
) -> Result<(), ReportError> {
    let flags = flags_by_user(store.report_feedback(run.run_id).await?);
    let mut after = String::new();
    loop {
        let page = store
            .report_recipients(run.run_id, run.segment_model_id, &after, page_size.max(1))
            .await?;
        for fact in &page {
            agg.add(&Recipient {
                campaign_id: run.campaign_id,
                run_id: run.run_id,
                fact,
                flags: flags.get(&fact.user_id).copied().unwrap_or_default(),
                conversion: attribution.get(run.run_id, &fact.user_id),
            });
        }
        match page.last() {
            Some(last) if page.len() as u64 >= page_size.max(1) => after = last.user_id.clone(),
            _ => return Ok(()),
        }
    }
}

fn campaign_info(campaign: CampaignRow, runs: &[RunRow]) -> CampaignInfo {
    CampaignInfo {
        campaign_id: campaign.campaign_id,
        name: campaign.name,
        runs: runs
            .iter()
            .map(|r| RunInfo {
                run_id: r.run_id,
                occurrence: r.occurrence.clone(),
                status: r.status.clone(),
                scheduled_for: millis_to_rfc3339(r.scheduled_for),
            })
            .collect(),
    }
}

/// A window as config text (`7d`, `1d`, `12h`).
fn window_text(ms: i64) -> String {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0)).to_string()
}

fn assemble(options: &ReportOptions, campaigns: Vec<CampaignInfo>, agg: Aggregator) -> Report {
    Report {
        scope: Scope {
            campaign: options.campaign,
            click_window: window_text(options.windows.click_ms),
            view_window: window_text(options.windows.view_ms),
            confidence: CONFIDENCE,
        },
        campaigns,
        groups: compare::groups(&agg.groups),
        variants: compare::variants(&agg.groups),
        lift: compare::lift(&agg.groups),
        timeline: agg
            .timeline
            .iter()
            .map(|(&(campaign_id, start_ms), &sent)| TimelinePoint {
                campaign_id,
                hour: millis_to_rfc3339(start_ms),
                start_ms,
                sent,
            })
            .collect(),
    }
}
