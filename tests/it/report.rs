//! Feedback analytics end to end on every backend: attribution windows
//! (click-through, view-through, holdout, receipts), the report's counts on
//! a fully known run (see `report/fixture.rs`), byte-identical output
//! across builds and page sizes, the HTML page with its SVG charts, the
//! CSV forms, the point-in-time training export, a run planned by the real
//! engine, and the `report` and `export` commands.

mod cli;
mod fixture;
mod training;

use crate::helpers::test_dbs;
use fixture::{DAY, HOUR, Seeded, T0, seed};
use herald::report::html::to_html;
use herald::report::model::{Counts, Report};
use herald::report::output::{to_csv, to_json};
use herald::report::{ReportOptions, Windows, attribute, build};
use herald::store::Store;

/// The default windows: 7 days after a click, 1 day after a delivery.
pub const WINDOWS: Windows = Windows {
    click_ms: 7 * DAY,
    view_ms: DAY,
};

/// The report of the seeded campaign.
async fn report(store: &Store, s: Seeded, page_size: u64) -> Report {
    let options = ReportOptions {
        page_size,
        ..ReportOptions::new(Some(s.campaign_id), WINDOWS)
    };
    build(store, &options).await.expect("report")
}

/// The counts of one group.
fn counts<'a>(
    r: &'a Report,
    variant: &str,
    segment: Option<i32>,
    channel: Option<&str>,
) -> &'a Counts {
    let g = r.groups.iter().find(|g| {
        g.variant.as_deref() == Some(variant)
            && g.segment == segment
            && g.channel.as_deref() == channel
    });
    &g.unwrap_or_else(|| panic!("no group {variant}/{segment:?}/{channel:?}"))
        .counts
}

#[tokio::test]
async fn purchases_are_credited_by_click_window_then_view_window_and_never_without_delivery() {
    for db in test_dbs().await {
        let s = seed(&db).await;
        let a = attribute(&db.store, WINDOWS).await.unwrap();
        let name = db.name();
        let u01 = a.get(s.run_id, "u01").expect("u01 converted");
        assert_eq!((u01.click_through, u01.view_through), (1, 0), "{name}");
        assert_eq!(
            u01.revenue_micros, 20_000_000,
            "{name}: the +9d purchase is outside"
        );
        let u02 = a.get(s.run_id, "u02").expect("u02 converted");
        assert_eq!((u02.click_through, u02.view_through), (0, 1), "{name}");
        assert_eq!(
            a.get(s.run_id, "u03"),
            None,
            "{name}: +2d is outside the view window"
        );
        assert_eq!(
            a.get(s.run_id, "u08"),
            None,
            "{name}: a failed receipt is no delivery"
        );
        assert_eq!(a.get(s.run_id, "u09").map(|c| c.holdout), Some(1), "{name}");
        assert_eq!(a.get(s.run_id, "u10"), None, "{name}");

        let wider = Windows {
            click_ms: DAY,
            view_ms: 3 * DAY,
        };
        let b = attribute(&db.store, wider).await.unwrap();
        assert_eq!(
            b.get(s.run_id, "u03").map(|c| c.view_through),
            Some(1),
            "{name}"
        );
        let u01 = b.get(s.run_id, "u01").expect("u01 still converted");
        assert_eq!((u01.click_through, u01.view_through), (0, 1), "{name}");
        assert_eq!(b.get(s.run_id, "u10").map(|c| c.holdout), Some(1), "{name}");
    }
}

#[tokio::test]
async fn a_purchase_goes_to_the_last_message_before_it_not_to_a_later_one() {
    for db in test_dbs().await {
        let s = seed(&db).await;
        let sql = fixture::Sql::open(&db).await;
        // A second run of the campaign reaches u02 after the purchase and
        // u03 just before theirs: only u03's moves to it.
        let later = db
            .store
            .open_run(&herald::store::NewRun {
                campaign_id: s.campaign_id,
                occurrence: "manual-2".into(),
                status: "done".into(),
                seed: 2,
                segment_model_id: None,
                rank_model_id: None,
                scheduled_for: T0 + DAY,
                now: T0 + DAY,
            })
            .await
            .unwrap()
            .0;
        let plan: Vec<_> = ["u02", "u03"]
            .iter()
            .map(|u| fixture::plan_row(u, "A", Some("push"), "send", None))
            .collect();
        let outbox: Vec<_> = plan
            .iter()
            .map(|p| fixture::outbox_row(later.run_id, p))
            .collect();
        db.store
            .write_plan_page(later.run_id, &plan, &outbox, &[])
            .await
            .unwrap();
        sql.run(&format!(
            "UPDATE outbox SET status = 'sent', sent_at = {} WHERE run_id = {}",
            T0 + DAY + HOUR,
            later.run_id
        ))
        .await;
        sql.close().await;
        let a = attribute(&db.store, WINDOWS).await.unwrap();
        assert_eq!(
            a.get(s.run_id, "u02").map(|c| c.view_through),
            Some(1),
            "{}",
            db.name()
        );
        assert_eq!(a.get(later.run_id, "u02"), None, "{}", db.name());
        assert_eq!(
            a.get(later.run_id, "u03").map(|c| c.view_through),
            Some(1),
            "{}",
            db.name()
        );
    }
}

#[tokio::test]
async fn the_report_counts_each_recipient_once_in_its_group() {
    for db in test_dbs().await {
        let s = seed(&db).await;
        let r = report(&db.store, s, 20_000).await;
        let name = db.name();
        assert_eq!(r.groups.len(), 6, "{name}: {:#?}", r.groups);
        let a = counts(&r, "A", Some(0), Some("push"));
        assert_eq!(
            (a.targeted, a.treated, a.sent, a.delivered),
            (4, 4, 3, 3),
            "{name}"
        );
        assert_eq!(a.failed.get("permanent"), Some(&1), "{name}");
        assert_eq!(
            (a.opened, a.clicked, a.converted, a.purchases),
            (2, 1, 2, 2),
            "{name}"
        );
        assert_eq!(a.revenue.amount(), 25.0, "{name}");
        let b = counts(&r, "B", Some(0), Some("email"));
        assert_eq!(
            (b.sent, b.opened, b.clicked, b.unsubscribed),
            (2, 1, 1, 1),
            "{name}"
        );
        let receipt = counts(&r, "B", Some(1), Some("email"));
        assert_eq!(
            (receipt.sent, receipt.delivered, receipt.converted),
            (2, 1, 0),
            "{name}"
        );
        let held = counts(&r, "A", Some(1), None);
        assert_eq!(
            (held.targeted, held.holdout, held.holdout_converted),
            (2, 1, 1),
            "{name}"
        );
        assert_eq!(
            held.suppressed.get("no_reachable_channel"),
            Some(&1),
            "{name}"
        );
        let deferred = counts(&r, "B", Some(1), Some("push"));
        assert_eq!(
            (deferred.deferred, deferred.pending, deferred.sent),
            (1, 1, 0),
            "{name}"
        );
        assert_eq!(r.timeline.len(), 1, "{name}");
        assert_eq!(
            (r.timeline[0].hour.as_str(), r.timeline[0].sent),
            ("2026-03-10T12:00:00Z", 7)
        );
    }
}

#[tokio::test]
async fn variants_are_compared_and_lift_is_measured_against_the_holdout() {
    for db in test_dbs().await {
        let s = seed(&db).await;
        let r = report(&db.store, s, 20_000).await;
        let name = db.name();
        let names: Vec<&str> = r.variants.iter().map(|v| v.variant.as_str()).collect();
        assert_eq!(names, ["A", "B"], "{name}");
        let (a, b) = (&r.variants[0], &r.variants[1]);
        assert_eq!((a.delivered, a.clicked, a.converted), (3, 1, 2), "{name}");
        assert_eq!(
            a.ctr_test, None,
            "{name}: the baseline is not tested against itself"
        );
        assert_eq!(
            b.ctr_test.map(|t| t.p_value),
            Some(1.0),
            "{name}: 1/3 against 1/3"
        );
        assert!(b.conversion_test.unwrap().p_value < 0.2, "{name}");
        let all = &r.lift[0];
        assert_eq!(all.variant, None);
        assert_eq!(
            (
                all.treated,
                all.treated_converted,
                all.holdout,
                all.holdout_converted
            ),
            (9, 2, 2, 1),
            "{name}"
        );
        let d = all.difference.unwrap();
        assert!((d.estimate - (2.0 / 9.0 - 0.5)).abs() < 1e-12, "{name}");
        assert!(d.low < d.estimate && d.estimate < d.high, "{name}");
        assert!(all.relative.is_some() && all.test.is_some(), "{name}");
        let by_variant: Vec<_> = r.lift[1..]
            .iter()
            .map(|l| (l.variant.clone(), l.treated))
            .collect();
        assert_eq!(
            by_variant,
            [(Some("A".into()), 4), (Some("B".into()), 5)],
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_same_data_gives_byte_identical_reports_whatever_the_page_size() {
    for db in test_dbs().await {
        let s = seed(&db).await;
        let first = report(&db.store, s, 20_000).await;
        let second = report(&db.store, s, 2).await;
        assert_eq!(first, second, "{}", db.name());
        assert_eq!(to_json(&first).unwrap(), to_json(&second).unwrap());
        assert_eq!(to_csv(&first).unwrap(), to_csv(&second).unwrap());
        assert_eq!(to_html(&first).unwrap(), to_html(&second).unwrap());
        let json: serde_json::Value = serde_json::from_str(&to_json(&first).unwrap()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 6);
        assert_eq!(
            json["groups"][0]["counts"]["revenue"],
            25.0,
            "{}",
            db.name()
        );
    }
}

#[tokio::test]
async fn the_html_report_renders_its_three_charts_and_escapes_names() {
    for db in test_dbs().await {
        let s = seed(&db).await;
        let mut r = report(&db.store, s, 20_000).await;
        r.campaigns[0].name = "Spring <sale> & more".into();
        let html = to_html(&r).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_eq!(html.matches("<svg").count(), 3, "{}", db.name());
        for part in [
            "Funnel per variant",
            "CTR by segment",
            "Sends over time",
            "Variant A",
            "seg 1",
        ] {
            assert!(html.contains(part), "{}: no {part}", db.name());
        }
        assert!(
            html.contains("Spring &#60;sale&#62; &#38; more")
                || html.contains("Spring &lt;sale&gt; &amp; more")
        );
        assert!(!html.contains("<sale>") && !html.contains("<script"));
    }
}

#[tokio::test]
async fn the_csv_report_has_a_header_and_one_row_per_group_with_reason_columns() {
    for db in test_dbs().await {
        let s = seed(&db).await;
        let r = report(&db.store, s, 20_000).await;
        let text = to_csv(&r).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        for column in [
            "campaign",
            "variant",
            "segment",
            "channel",
            "suppressed:no_reachable_channel",
            "failed:permanent",
            "ctr_low",
            "revenue",
        ] {
            assert!(
                header.iter().any(|h| h == column),
                "{}: no {column}",
                db.name()
            );
        }
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 6, "{}", db.name());
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(&rows[0][at("campaign")], "Spring");
        assert_eq!(&rows[0][at("revenue")], "25");
        assert_eq!(&rows[0][at("failed:permanent")], "1");
    }
}

#[tokio::test]
async fn an_unknown_campaign_is_an_error_naming_how_to_find_the_ids() {
    for db in test_dbs().await {
        let options = ReportOptions::new(Some(404), WINDOWS);
        let err = build(&db.store, &options).await.unwrap_err().to_string();
        assert!(
            err.contains("404") && err.contains("campaign list"),
            "{err}"
        );
        let empty = build(&db.store, &ReportOptions::new(None, WINDOWS))
            .await
            .unwrap();
        assert!(empty.groups.is_empty());
        assert!(to_html(&empty).unwrap().contains("No campaigns"));
    }
}
