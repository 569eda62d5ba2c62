//! The overview pages: every campaign with its status and key rates (one
//! report over all campaigns), and the active segment model's segments.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use std::collections::BTreeMap;

use super::{DashboardError, page, report_options};
use crate::api::AppState;
use crate::report::build;
use crate::report::model::Counts;
use crate::report::stats::wilson;
use crate::store::SegmentRow;

/// One campaign's row on the overview.
#[derive(Debug)]
pub struct CampaignLine {
    /// Its id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// `scheduled`, `paused`, `cancelled` or `done`.
    pub status: String,
    /// Users targeted, formatted.
    pub targeted: String,
    /// Messages delivered, formatted.
    pub delivered: String,
    /// Open rate over delivered.
    pub open_rate: String,
    /// Click-through rate over delivered.
    pub ctr: String,
    /// Attributed conversions of treated users.
    pub conversions: String,
    /// Attributed revenue.
    pub revenue: String,
}

/// `GET /dashboard`.
#[derive(Debug, Template)]
#[template(path = "dashboard/index.html")]
pub struct IndexPage {
    /// The page title.
    pub title: String,
    /// One line per campaign.
    pub campaigns: Vec<CampaignLine>,
}

/// `GET /dashboard/segments`.
#[derive(Debug, Template)]
#[template(path = "dashboard/segments.html")]
pub struct SegmentsPage {
    /// The page title.
    pub title: String,
    /// "Model 3 · k = 5 · silhouette 0.41", or `None` without a model.
    pub model: Option<String>,
    /// The segments, largest first, with their top items.
    pub segments: Vec<SegmentLine>,
    /// Users in all segments.
    pub total: i64,
    /// The window the top items are counted over, in days.
    pub days: i64,
}

/// A segment with the titles of its top items.
#[derive(Debug)]
pub struct SegmentLine {
    /// The segment.
    pub segment: SegmentRow,
    /// Its most engaged-with items, best first.
    pub items: Vec<String>,
}

/// Top items shown per segment.
const TOP_ITEMS: i64 = 5;

/// Days before the newest event the top items are counted over.
const TOP_ITEM_DAYS: i64 = 30;

/// A share as "4.1%", or "–" with nothing to divide by.
fn rate(successes: u64, trials: u64) -> String {
    wilson(successes, trials).map_or("–".to_owned(), |i| format!("{:.1}%", i.estimate * 100.0))
}

fn line(id: i64, name: &str, status: &str, c: &Counts) -> CampaignLine {
    CampaignLine {
        id,
        name: name.to_owned(),
        status: status.to_owned(),
        targeted: c.targeted.to_string(),
        delivered: c.delivered.to_string(),
        open_rate: rate(c.opened, c.delivered),
        ctr: rate(c.clicked, c.delivered),
        conversions: c.treated_converted.to_string(),
        revenue: format!("{:.2}", c.revenue.amount()),
    }
}

/// `GET /dashboard`: every campaign, newest first.
pub async fn index(State(state): State<AppState>) -> Result<Response, DashboardError> {
    let report = build(&state.store, &report_options(&state, None)).await?;
    let mut totals: BTreeMap<i64, Counts> = BTreeMap::new();
    for g in &report.groups {
        totals.entry(g.campaign_id).or_default().merge(&g.counts);
    }
    let mut rows = state.store.campaigns().await?;
    rows.sort_by_key(|c| std::cmp::Reverse(c.campaign_id));
    let campaigns = rows
        .iter()
        .map(|c| {
            let counts = totals.remove(&c.campaign_id).unwrap_or_default();
            line(c.campaign_id, &c.name, &c.status, &counts)
        })
        .collect();
    page(&IndexPage {
        title: "herald · campaigns".to_owned(),
        campaigns,
    })
}

/// `GET /dashboard/segments`.
pub async fn segments(State(state): State<AppState>) -> Result<Response, DashboardError> {
    let model = state.store.active_segment_model().await?;
    let (summary, segments, top) = match model {
        None => (None, Vec::new(), Vec::new()),
        Some(m) => {
            let silhouette = m
                .silhouette
                .map_or(String::new(), |s| format!(" · silhouette {s:.2}"));
            let summary = format!("Model {} · k = {}{silhouette}", m.model_id, m.k);
            let segments = state.store.segments(m.model_id).await?;
            let top = state
                .store
                .segment_top_items(m.model_id, TOP_ITEM_DAYS, TOP_ITEMS)
                .await?;
            (Some(summary), segments, top)
        }
    };
    let lines = segments
        .into_iter()
        .map(|segment| {
            let items = top
                .iter()
                .filter(|t| t.segment_id == segment.segment_id)
                .map(|t| t.title.clone())
                .collect();
            SegmentLine { segment, items }
        })
        .collect::<Vec<_>>();
    page(&SegmentsPage {
        title: "herald · segments".to_owned(),
        model: summary,
        total: lines.iter().map(|l| l.segment.size).sum(),
        days: TOP_ITEM_DAYS,
        segments: lines,
    })
}
