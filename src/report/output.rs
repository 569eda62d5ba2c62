//! The report as JSON (one document, keys in a fixed order) and as CSV (one
//! row per group; every suppression and failure reason seen anywhere in the
//! report gets its own column, sorted, so rows line up). Rates are written
//! with six decimals, revenue as given.

use super::ReportError;
use super::model::{Group, Report};
use super::stats::Interval;
use std::collections::{BTreeMap, BTreeSet};

/// The report as pretty-printed JSON with a final newline.
pub fn to_json(report: &Report) -> Result<String, ReportError> {
    let mut text =
        serde_json::to_string_pretty(report).map_err(|e| ReportError::Render(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// A named count column.
type CountColumn = (&'static str, fn(&Group) -> u64);

/// A named rate column.
type RateColumn = (&'static str, fn(&Group) -> Option<Interval>);

/// The fixed count columns after the dimensions, with their getters.
const COUNTS: [CountColumn; 9] = [
    ("targeted", |g| g.counts.targeted),
    ("treated", |g| g.counts.treated),
    ("holdout", |g| g.counts.holdout),
    ("deferred", |g| g.counts.deferred),
    ("suppressed", |g| g.counts.suppressed_total()),
    ("sent", |g| g.counts.sent),
    ("delivered", |g| g.counts.delivered),
    ("failed", |g| g.counts.failed_total()),
    ("pending", |g| g.counts.pending),
];

/// The count columns after the reasons.
const OUTCOMES: [CountColumn; 8] = [
    ("cancelled", |g| g.counts.cancelled),
    ("opened", |g| g.counts.opened),
    ("clicked", |g| g.counts.clicked),
    ("unsubscribed", |g| g.counts.unsubscribed),
    ("converted", |g| g.counts.converted),
    ("treated_converted", |g| g.counts.treated_converted),
    ("holdout_converted", |g| g.counts.holdout_converted),
    ("purchases", |g| g.counts.purchases),
];

/// The rate columns, each written as rate, low, high.
const RATES: [RateColumn; 3] = [
    ("open_rate", |g| g.rates.open),
    ("ctr", |g| g.rates.click),
    ("conversion_rate", |g| g.rates.conversion),
];

/// Every reason in `pick(group)` over all groups, sorted.
fn reasons(report: &Report, pick: fn(&Group) -> &BTreeMap<String, u64>) -> Vec<String> {
    let set: BTreeSet<&String> = report.groups.iter().flat_map(|g| pick(g).keys()).collect();
    set.into_iter().cloned().collect()
}

/// The header row.
fn header(suppressed: &[String], failed: &[String]) -> Vec<String> {
    let mut h: Vec<String> = [
        "campaign_id",
        "campaign",
        "run_id",
        "occurrence",
        "variant",
        "segment",
        "channel",
    ]
    .map(str::to_owned)
    .to_vec();
    h.extend(COUNTS.iter().map(|(n, _)| (*n).to_owned()));
    h.extend(suppressed.iter().map(|r| format!("suppressed:{r}")));
    h.extend(failed.iter().map(|r| format!("failed:{r}")));
    h.extend(OUTCOMES.iter().map(|(n, _)| (*n).to_owned()));
    h.push("revenue".to_owned());
    for (name, _) in RATES {
        h.extend([
            name.to_owned(),
            format!("{name}_low"),
            format!("{name}_high"),
        ]);
    }
    h
}

/// Campaign names and run occurrences by id.
struct Names<'a> {
    campaigns: BTreeMap<i64, &'a str>,
    runs: BTreeMap<i64, &'a str>,
}

impl<'a> Names<'a> {
    fn of(report: &'a Report) -> Self {
        let campaigns = report
            .campaigns
            .iter()
            .map(|c| (c.campaign_id, c.name.as_str()))
            .collect();
        let runs = report
            .campaigns
            .iter()
            .flat_map(|c| c.runs.iter().map(|r| (r.run_id, r.occurrence.as_str())))
            .collect();
        Self { campaigns, runs }
    }
}

/// One group's row.
fn row(g: &Group, names: &Names<'_>, suppressed: &[String], failed: &[String]) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let mut r = vec![
        g.campaign_id.to_string(),
        names
            .campaigns
            .get(&g.campaign_id)
            .copied()
            .unwrap_or("")
            .to_owned(),
        g.run_id.to_string(),
        names.runs.get(&g.run_id).copied().unwrap_or("").to_owned(),
        opt(g.variant.clone()),
        opt(g.segment.map(|s| s.to_string())),
        opt(g.channel.clone()),
    ];
    r.extend(COUNTS.iter().map(|(_, f)| f(g).to_string()));
    let count = |m: &BTreeMap<String, u64>, k: &String| m.get(k).copied().unwrap_or(0).to_string();
    r.extend(suppressed.iter().map(|k| count(&g.counts.suppressed, k)));
    r.extend(failed.iter().map(|k| count(&g.counts.failed, k)));
    r.extend(OUTCOMES.iter().map(|(_, f)| f(g).to_string()));
    r.push(g.counts.revenue.amount().to_string());
    for (_, f) in RATES {
        match f(g) {
            Some(i) => r.extend([i.estimate, i.low, i.high].map(|v| format!("{v:.6}"))),
            None => r.extend([String::new(), String::new(), String::new()]),
        }
    }
    r
}

/// The report as CSV, one row per group, with a header.
pub fn to_csv(report: &Report) -> Result<String, ReportError> {
    let suppressed = reasons(report, |g| &g.counts.suppressed);
    let failed = reasons(report, |g| &g.counts.failed);
    let names = Names::of(report);
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ReportError::Render(e.to_string());
    w.write_record(header(&suppressed, &failed)).map_err(fail)?;
    for g in &report.groups {
        w.write_record(row(g, &names, &suppressed, &failed))
            .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ReportError::Render(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ReportError::Render(e.to_string()))
}
