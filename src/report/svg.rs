//! The report's charts as inline SVG, drawn here rather than by a charting
//! library: a funnel per variant (horizontal bars from targeted to
//! converted), CTR by segment (bars with Wilson interval whiskers) and
//! sends over time (bars per hour, or per day past three days). Output is
//! plain text with fixed sizes and rounded coordinates, so the same data
//! gives the same bytes; labels are XML-escaped.

use super::stats::Interval;
use crate::domain::millis_to_rfc3339;
use std::fmt::Write;

/// Bar colours, one per variant in order (colour-blind-safe palette).
const PALETTE: [&str; 6] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
];

/// The funnel's stages, in order.
pub const STAGES: [&str; 6] = [
    "Targeted",
    "Sent",
    "Delivered",
    "Opened",
    "Clicked",
    "Converted",
];

/// Escapes text for SVG/XML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A percentage: two decimals under 10 % (where rates and their
/// intervals usually are), one above.
pub fn percent(x: f64) -> String {
    let p = x * 100.0;
    if p.abs() < 10.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// A count with thousands separators (`1,234,567`).
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The opening tag of a chart.
fn open(width: u32, height: u32, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\" \
         font-family=\"Helvetica,Arial,sans-serif\" font-size=\"12\">",
        escape(label)
    )
}

/// A chart saying there is nothing to draw.
fn empty(label: &str, message: &str) -> String {
    let mut s = open(400, 40, label);
    let _ = write!(
        s,
        "<text x=\"0\" y=\"24\" fill=\"#52606d\">{}</text></svg>",
        escape(message)
    );
    s
}

/// Funnel per variant: `(variant, counts per stage)`.
pub fn funnel(variants: &[(String, [u64; 6])]) -> String {
    let max = variants.iter().map(|(_, s)| s[0]).max().unwrap_or(0);
    if variants.is_empty() || max == 0 {
        return empty("Funnel per variant", "No recipients yet.");
    }
    let (label_w, bar_w, row_h) = (90.0, 400.0, 20.0);
    let block = row_h * 6.0 + 28.0;
    let height = (block * variants.len() as f64).round() as u32;
    let mut s = open(640, height, "Funnel per variant");
    for (i, (name, stages)) in variants.iter().enumerate() {
        let top = block * i as f64;
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.0}\" font-weight=\"bold\">Variant {}</text>",
            top + 16.0,
            escape(name)
        );
        for (j, (stage, n)) in STAGES.iter().zip(stages).enumerate() {
            let y = top + 24.0 + row_h * j as f64;
            let w = (*n as f64 / max as f64 * bar_w).max(1.0);
            let share = percent(*n as f64 / stages[0].max(1) as f64);
            let _ = write!(
                s,
                "<text x=\"0\" y=\"{:.0}\">{stage}</text>\
                 <rect x=\"{label_w:.0}\" y=\"{:.0}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{colour}\"/>\
                 <text x=\"{:.1}\" y=\"{:.0}\">{} ({share})</text>",
                y + 13.0,
                y + 2.0,
                row_h - 4.0,
                label_w + w + 6.0,
                y + 13.0,
                count(*n),
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A round upper bound for a rate axis: the next of 1, 2, 5 × 10^k at or
/// above `x` (at least 1 %).
fn nice_ceiling(x: f64) -> f64 {
    let x = x.max(0.01);
    let magnitude = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= x - 1e-12)
        .unwrap_or(x)
}

/// CTR per segment with interval whiskers: `(label, CTR)`.
pub fn rate_bars(label: &str, bars: &[(String, Option<Interval>)]) -> String {
    if bars.iter().all(|(_, r)| r.is_none()) {
        return empty(label, "No delivered messages yet.");
    }
    let top = bars
        .iter()
        .filter_map(|(_, r)| r.map(|i| i.high))
        .fold(0.0, f64::max);
    let ymax = nice_ceiling(top);
    let (left, plot_h, slot) = (48.0, 160.0, 56.0);
    let width = (left + slot * bars.len() as f64 + 16.0).max(320.0).round() as u32;
    let mut s = open(width, 210, label);
    for tick in [0.0, 0.5, 1.0] {
        let y = 10.0 + plot_h * (1.0 - tick);
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{width}\" y2=\"{y:.1}\" stroke=\"#e4e7eb\"/>\
             <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#52606d\">{}</text>",
            left - 6.0,
            y + 4.0,
            percent(ymax * tick)
        );
    }
    let scale = |v: f64| 10.0 + plot_h * (1.0 - (v / ymax).min(1.0));
    for (i, (name, rate)) in bars.iter().enumerate() {
        let x = left + slot * i as f64 + 10.0;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"200\" text-anchor=\"middle\">{}</text>",
            x + 18.0,
            escape(name)
        );
        if let Some(r) = rate {
            bar_with_whisker(&mut s, x, r, &scale);
        }
    }
    s.push_str("</svg>");
    s
}

/// One bar of width 36 at `x` with its interval whisker and value.
fn bar_with_whisker(s: &mut String, x: f64, r: &Interval, scale: &dyn Fn(f64) -> f64) {
    let (y, base) = (scale(r.estimate), scale(0.0));
    let (lo, hi, mid) = (scale(r.low), scale(r.high), x + 18.0);
    let _ = write!(
        s,
        "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"36\" height=\"{:.1}\" fill=\"{}\"/>\
         <line x1=\"{mid:.1}\" y1=\"{lo:.1}\" x2=\"{mid:.1}\" y2=\"{hi:.1}\" stroke=\"#1f2933\"/>\
         <line x1=\"{:.1}\" y1=\"{lo:.1}\" x2=\"{:.1}\" y2=\"{lo:.1}\" stroke=\"#1f2933\"/>\
         <line x1=\"{:.1}\" y1=\"{hi:.1}\" x2=\"{:.1}\" y2=\"{hi:.1}\" stroke=\"#1f2933\"/>\
         <text x=\"{mid:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
        (base - y).max(0.5),
        PALETTE[0],
        mid - 5.0,
        mid + 5.0,
        mid - 5.0,
        mid + 5.0,
        (hi - 4.0).max(9.0),
        percent(r.estimate)
    );
}

/// Milliseconds in an hour and a day.
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Hourly points regrouped per day when they span more than three days.
fn buckets(points: &[(i64, u64)]) -> (Vec<(i64, u64)>, &'static str) {
    let span = match (points.first(), points.last()) {
        (Some(a), Some(b)) => b.0 - a.0,
        _ => 0,
    };
    if span <= 3 * DAY {
        return (points.to_vec(), "hour");
    }
    let mut days: Vec<(i64, u64)> = Vec::new();
    for &(t, n) in points {
        let day = t.div_euclid(DAY) * DAY;
        match days.last_mut() {
            Some(last) if last.0 == day => last.1 += n,
            _ => days.push((day, n)),
        }
    }
    (days, "day")
}

/// Messages sent over time from hourly `(start ms, sent)` points, sorted.
pub fn timeline(points: &[(i64, u64)]) -> String {
    let (points, unit) = buckets(points);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0);
    if max == 0 {
        return empty("Sends over time", "Nothing sent yet.");
    }
    let (first, last) = (points[0].0, points[points.len() - 1].0);
    let step = if unit == "day" { DAY } else { HOUR };
    let slots = ((last - first) / step + 1).max(1) as f64;
    let (left, plot_w, plot_h) = (48.0, 560.0, 150.0);
    let bar = (plot_w / slots).min(40.0);
    let mut s = open(640, 200, "Sends over time");
    let _ = write!(
        s,
        "<text x=\"{:.0}\" y=\"14\" text-anchor=\"end\" fill=\"#52606d\">{}</text>\
         <line x1=\"{left}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"#9aa5b1\"/>",
        left - 6.0,
        count(max),
        10.0 + plot_h,
        left + plot_w,
        10.0 + plot_h
    );
    for (t, n) in &points {
        let x = left + ((t - first) / step) as f64 * bar;
        let h = (*n as f64 / max as f64 * plot_h).max(1.0);
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"/>",
            10.0 + plot_h - h,
            (bar - 1.0).max(1.0),
            PALETTE[0]
        );
    }
    let _ = write!(
        s,
        "<text x=\"{left}\" y=\"180\" fill=\"#52606d\">{}</text>\
         <text x=\"{:.0}\" y=\"180\" text-anchor=\"end\" fill=\"#52606d\">{} (per {unit})</text></svg>",
        millis_to_rfc3339(first),
        left + plot_w,
        millis_to_rfc3339(last)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators_and_small_rates_two_decimals() {
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
        assert_eq!(percent(0.0175), "1.75%");
        assert_eq!(percent(0.25), "25.0%");
    }

    #[test]
    fn axis_bounds_round_up_to_one_two_or_five() {
        assert_eq!(nice_ceiling(0.031), 0.05);
        assert_eq!(nice_ceiling(0.12), 0.2);
        assert_eq!(nice_ceiling(0.0), 0.01);
    }

    #[test]
    fn labels_are_escaped_and_empty_charts_say_so() {
        let svg = funnel(&[("<A>".into(), [4, 3, 3, 2, 1, 0])]);
        assert!(svg.contains("Variant &lt;A&gt;") && svg.ends_with("</svg>"));
        assert!(timeline(&[]).contains("Nothing sent yet."));
    }

    #[test]
    fn a_week_of_hours_is_drawn_per_day() {
        let points: Vec<(i64, u64)> = (0..7 * 24).map(|h| (h * HOUR, 1)).collect();
        let (days, unit) = buckets(&points);
        assert_eq!((days.len(), unit, days[0].1), (7, "day", 24));
    }
}
