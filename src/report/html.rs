//! The report as one self-contained HTML page (askama `templates/report.html`,
//! inline CSS, no script): per campaign the headline figures, the runs, the
//! variant comparison and the lift against the holdout in words a marketer
//! reads at a glance, three charts (funnel per variant, CTR by segment,
//! sends over time) and every group in a folded table. All figures are
//! formatted here, so the template only places them.

use super::ReportError;
use super::model::{Counts, Group, Lift, Report, VariantComparison};
use super::stats::{Interval, wilson};
use super::svg::{self, count, percent};
use askama::Template;
use std::collections::BTreeMap;

/// The page.
#[derive(Debug, Template)]
#[template(path = "report.html")]
pub struct ReportPage {
    /// The page title.
    pub title: String,
    /// How the figures were made (windows, confidence).
    pub method: String,
    /// One section per campaign.
    pub campaigns: Vec<CampaignView>,
}

/// One campaign's section.
#[derive(Debug)]
pub struct CampaignView {
    /// "Campaign 3 · Weekend picks".
    pub heading: String,
    /// Headline figures as (label, value).
    pub headline: Vec<(String, String)>,
    /// One row per run.
    pub runs: Vec<Vec<String>>,
    /// One row per variant per run.
    pub variants: Vec<Vec<String>>,
    /// One row per lift estimate.
    pub lift: Vec<Vec<String>>,
    /// Funnel per variant (SVG).
    pub funnel: String,
    /// CTR by segment (SVG).
    pub ctr: String,
    /// Sends over time (SVG).
    pub timeline: String,
    /// Every group of the campaign.
    pub groups: Vec<Vec<String>>,
}

/// An interval as "4.1% (3.2%–5.0%)".
fn rate_text(i: Option<Interval>) -> String {
    i.map_or("–".to_owned(), |i| {
        format!(
            "{} ({}–{})",
            percent(i.estimate),
            percent(i.low),
            percent(i.high)
        )
    })
}

/// A difference in percentage points with its interval.
fn points_text(i: Option<Interval>) -> String {
    let pp = |x: f64| format!("{:+.2}", x * 100.0);
    i.map_or("–".to_owned(), |i| {
        format!("{} pp ({} to {})", pp(i.estimate), pp(i.low), pp(i.high))
    })
}

/// A relative lift with its interval.
fn relative_text(i: Option<Interval>) -> String {
    let pc = |x: f64| format!("{:+.1}", x * 100.0);
    i.map_or("–".to_owned(), |i| {
        format!("{}% ({} to {})", pc(i.estimate), pc(i.low), pc(i.high))
    })
}

/// A p-value with its reading.
fn p_text(p: Option<f64>) -> String {
    match p {
        None => "–".to_owned(),
        Some(p) if p < 0.001 => "p < 0.001 · significant".to_owned(),
        Some(p) if p < 0.05 => format!("p = {p:.3} · significant"),
        Some(p) => format!("p = {p:.3} · not significant"),
    }
}

/// Revenue with two decimals.
fn money(c: &Counts) -> String {
    format!("{:.2}", c.revenue.amount())
}

/// Counts pooled by a key over one campaign's groups.
fn pooled<K: Ord>(groups: &[&Group], key: impl Fn(&Group) -> K) -> BTreeMap<K, Counts> {
    let mut out: BTreeMap<K, Counts> = BTreeMap::new();
    for g in groups {
        out.entry(key(g)).or_default().merge(&g.counts);
    }
    out
}

fn headline(total: &Counts, lift: Option<&Lift>) -> Vec<(String, String)> {
    let mut h = vec![
        ("Targeted".to_owned(), count(total.targeted)),
        ("Delivered".to_owned(), count(total.delivered)),
        (
            "CTR".to_owned(),
            rate_text(wilson(total.clicked, total.delivered)),
        ),
        ("Conversions".to_owned(), count(total.treated_converted)),
        ("Revenue".to_owned(), money(total)),
    ];
    if let Some(l) = lift {
        h.push((
            format!("Lift (run {})", l.run_id),
            points_text(l.difference),
        ));
    }
    h
}

fn run_rows(report: &Report, campaign_id: i64, groups: &[&Group]) -> Vec<Vec<String>> {
    let by_run = pooled(groups, |g| g.run_id);
    let runs = report
        .campaigns
        .iter()
        .filter(|c| c.campaign_id == campaign_id);
    runs.flat_map(|c| c.runs.iter())
        .map(|r| {
            let c = by_run.get(&r.run_id).cloned().unwrap_or_default();
            vec![
                r.run_id.to_string(),
                r.scheduled_for.clone(),
                r.status.clone(),
                count(c.targeted),
                count(c.sent),
                count(c.delivered),
                count(c.opened),
                count(c.clicked),
                rate_text(wilson(c.clicked, c.delivered)),
                count(c.treated_converted),
                money(&c),
            ]
        })
        .collect()
}

fn variant_row(v: &VariantComparison) -> Vec<String> {
    vec![
        v.run_id.to_string(),
        v.variant.clone(),
        count(v.delivered),
        rate_text(v.ctr),
        p_text(v.ctr_test.map(|t| t.p_value)),
        rate_text(v.conversion),
        p_text(v.conversion_test.map(|t| t.p_value)),
    ]
}

fn lift_row(l: &Lift) -> Vec<String> {
    vec![
        l.run_id.to_string(),
        l.variant.clone().unwrap_or_else(|| "all".to_owned()),
        format!("{} / {}", count(l.treated_converted), count(l.treated)),
        format!("{} / {}", count(l.holdout_converted), count(l.holdout)),
        points_text(l.difference),
        relative_text(l.relative),
        p_text(l.test.map(|t| t.p_value)),
    ]
}

fn group_row(g: &Group) -> Vec<String> {
    let reasons = |m: &BTreeMap<String, u64>| {
        let parts: Vec<String> = m
            .iter()
            .map(|(k, v)| format!("{k} {}", count(*v)))
            .collect();
        parts.join(", ")
    };
    let c = &g.counts;
    vec![
        g.run_id.to_string(),
        g.variant.clone().unwrap_or_default(),
        g.segment.map_or("–".to_owned(), |s| s.to_string()),
        g.channel.clone().unwrap_or_else(|| "–".to_owned()),
        count(c.targeted),
        reasons(&c.suppressed),
        count(c.sent),
        count(c.delivered),
        reasons(&c.failed),
        count(c.opened),
        count(c.clicked),
        count(c.converted),
        count(c.unsubscribed),
        money(c),
    ]
}

fn charts(report: &Report, campaign_id: i64, groups: &[&Group]) -> (String, String, String) {
    let by_variant = pooled(groups, |g| g.variant.clone());
    let funnel: Vec<(String, [u64; 6])> = by_variant
        .iter()
        .filter_map(|(v, c)| v.as_ref().map(|v| (v.clone(), stages(c))))
        .collect();
    let by_segment = pooled(groups, |g| g.segment);
    let segments: Vec<(String, Option<Interval>)> = by_segment
        .iter()
        .map(|(s, c)| {
            let label = s.map_or("none".to_owned(), |s| format!("seg {s}"));
            (label, wilson(c.clicked, c.delivered))
        })
        .collect();
    let points: Vec<(i64, u64)> = report
        .timeline
        .iter()
        .filter(|p| p.campaign_id == campaign_id)
        .map(|p| (p.start_ms, p.sent))
        .collect();
    (
        svg::funnel(&funnel),
        svg::rate_bars("CTR by segment", &segments),
        svg::timeline(&points),
    )
}

/// The funnel stages of pooled counts.
fn stages(c: &Counts) -> [u64; 6] {
    [
        c.targeted,
        c.sent,
        c.delivered,
        c.opened,
        c.clicked,
        c.treated_converted,
    ]
}

/// One campaign's section of `report`: figures, tables and charts.
pub fn campaign_view(report: &Report, campaign_id: i64, name: &str) -> CampaignView {
    let groups: Vec<&Group> = report
        .groups
        .iter()
        .filter(|g| g.campaign_id == campaign_id)
        .collect();
    let total = pooled(&groups, |_| ()).remove(&()).unwrap_or_default();
    let lifts: Vec<&Lift> = report
        .lift
        .iter()
        .filter(|l| l.campaign_id == campaign_id)
        .collect();
    let latest = lifts.iter().rev().find(|l| l.variant.is_none()).copied();
    let (funnel, ctr, timeline) = charts(report, campaign_id, &groups);
    CampaignView {
        heading: format!("Campaign {campaign_id} · {name}"),
        headline: headline(&total, latest),
        runs: run_rows(report, campaign_id, &groups),
        variants: report
            .variants
            .iter()
            .filter(|v| v.campaign_id == campaign_id)
            .map(variant_row)
            .collect(),
        lift: lifts.into_iter().map(lift_row).collect(),
        funnel,
        ctr,
        timeline,
        groups: groups.into_iter().map(group_row).collect(),
    }
}

/// The report as an HTML page.
pub fn to_html(report: &Report) -> Result<String, ReportError> {
    let title = match report.scope.campaign {
        Some(id) => format!("herald report · campaign {id}"),
        None => "herald report · all campaigns".to_owned(),
    };
    let method = format!(
        "Rates are over delivered messages with Wilson {:.0}% intervals; a purchase counts for the last message clicked within {} before it, else the last delivered within {}; lift compares every user planned to be sent to with the holdout (Newcombe interval, z-test).",
        report.scope.confidence * 100.0,
        report.scope.click_window,
        report.scope.view_window
    );
    let campaigns = report
        .campaigns
        .iter()
        .map(|c| campaign_view(report, c.campaign_id, &c.name))
        .collect();
    let page = ReportPage {
        title,
        method,
        campaigns,
    };
    page.render()
        .map_err(|e| ReportError::Render(e.to_string()))
}
