//! `herald report [--campaign ID] [--format html|json|csv] [--out FILE]
//! [--json]`: feedback analytics. With `--out` the report is written to
//! the file in `--format` (or the format its extension names, else HTML);
//! without it the chosen format goes to stdout, or a plain-text summary
//! when no format is given. `--json` prints the JSON report on stdout
//! whatever else is asked.

use crate::config::Settings;
use crate::report::html::to_html;
use crate::report::model::Report;
use crate::report::output::{to_csv, to_json};
use crate::report::stats::Interval;
use crate::report::{ReportOptions, Windows, build};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// Arguments of `herald report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only this campaign (default: every campaign).
    #[arg(long, value_name = "ID")]
    pub campaign: Option<i64>,
    /// Output format (default: from the --out extension, else html; a text summary without --out).
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Write the report to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One HTML page with SVG charts.
    Html,
    /// One JSON document.
    Json,
    /// One CSV row per group.
    Csv,
}

/// The format a file name asks for by its extension.
fn format_of(path: &Path) -> Option<ReportFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => Some(ReportFormat::Html),
        "json" => Some(ReportFormat::Json),
        "csv" => Some(ReportFormat::Csv),
        _ => None,
    }
}

/// The report in `format`.
pub fn render(report: &Report, format: ReportFormat) -> anyhow::Result<String> {
    Ok(match format {
        ReportFormat::Html => to_html(report)?,
        ReportFormat::Json => to_json(report)?,
        ReportFormat::Csv => to_csv(report)?,
    })
}

/// Runs `herald report`.
pub async fn run(settings: &Settings, args: ReportArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let windows = Windows::from_settings(&settings.feedback);
    let result = build(&store, &ReportOptions::new(args.campaign, windows)).await;
    store.close().await;
    let report = result?;
    if let Some(out) = &args.out {
        let format = args.format.or(format_of(out)).unwrap_or(ReportFormat::Html);
        std::fs::write(out, render(&report, format)?)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
        if !args.json {
            println!("wrote {} groups to {}", report.groups.len(), out.display());
        }
    }
    if args.json {
        print!("{}", to_json(&report)?);
    } else if args.out.is_none() {
        match args.format {
            Some(format) => print!("{}", render(&report, format)?),
            None => print!("{}", summary(&report)),
        }
    }
    Ok(())
}

/// A rate as "4.1% [3.2–5.0]".
fn rate(i: Option<Interval>) -> String {
    i.map_or("-".to_owned(), |i| {
        format!(
            "{:.1}% [{:.1}-{:.1}]",
            i.estimate * 100.0,
            i.low * 100.0,
            i.high * 100.0
        )
    })
}

/// The plain-text summary: one line per variant of each run, then lift.
fn summary(report: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>8} {:>6} {:<8} {:>9} {:>9} {:>8} {:>22} {:>9}",
        "campaign", "run", "variant", "delivered", "clicked", "converted", "CTR (95%)", "p"
    );
    for v in &report.variants {
        let p = v
            .ctr_test
            .map_or("-".to_owned(), |t| format!("{:.3}", t.p_value));
        let _ = writeln!(
            s,
            "{:>8} {:>6} {:<8} {:>9} {:>9} {:>8} {:>22} {:>9}",
            v.campaign_id,
            v.run_id,
            v.variant,
            v.delivered,
            v.clicked,
            v.converted,
            rate(v.ctr),
            p
        );
    }
    for l in report.lift.iter().filter(|l| l.variant.is_none()) {
        let d = l.difference.map_or("-".to_owned(), |d| {
            format!(
                "{:+.2} pp [{:+.2}, {:+.2}]",
                d.estimate * 100.0,
                d.low * 100.0,
                d.high * 100.0
            )
        });
        let _ = writeln!(
            s,
            "campaign {} run {}: lift {d} ({}/{} treated vs {}/{} holdout converted)",
            l.campaign_id, l.run_id, l.treated_converted, l.treated, l.holdout_converted, l.holdout
        );
    }
    if report.variants.is_empty() {
        s.push_str("nothing sent yet\n");
    }
    s
}
