//! The training export: one row per exposure with the outcomes that came
//! after it was shown (point-in-time correct), paged and streamed.

use super::fixture::{
    self, DAY, HOUR, MIN, T0, exposure, feedback, insert_feedback, insert_purchases,
};
use crate::helpers::test_dbs;
use herald::report::training::{TrainingOptions, export_training};

#[tokio::test]
async fn the_training_export_counts_only_outcomes_after_each_exposure_was_shown() {
    for db in test_dbs().await {
        let sql = fixture::Sql::open(&db).await;
        fixture::people(&sql, 2).await;
        let s = fixture::campaign_and_run(&db, None).await;
        let plan: Vec<_> = ["u01", "u02"]
            .iter()
            .map(|u| fixture::plan_row(u, "A", Some("push"), "send", None))
            .collect();
        let shown = [
            exposure("u01", "i1", 1),
            exposure("u01", "i2", 2),
            exposure("u02", "i1", 1),
        ];
        db.store
            .write_plan_page(s.run_id, &plan, &[], &shown)
            .await
            .unwrap();
        sql.run(r#"UPDATE exposures SET features = '{"recency":3,"segment":"a, b"}'"#)
            .await;
        let r = s.run_id;
        insert_feedback(
            &sql,
            &[
                feedback("click", r, "u01", Some("i1"), T0 + HOUR),
                feedback("open", r, "u02", None, T0 - 30 * MIN),
                feedback("click", r, "u02", Some("i1"), T0 - HOUR),
            ],
        )
        .await;
        insert_purchases(
            &sql,
            &[
                (1, "u01", "i1", T0 + 2 * DAY, 20.0),
                (2, "u01", "i2", T0 - DAY, 8.0),
                (3, "u02", "i1", T0 + 8 * DAY, 4.0),
            ],
        )
        .await;
        sql.close().await;
        let options = TrainingOptions {
            click_window_ms: 7 * DAY,
            now: T0 + 3 * DAY,
            page_size: 2,
        };
        let mut out = Vec::new();
        let n = export_training(&db.store, &options, &mut out)
            .await
            .unwrap();
        assert_eq!(n, 3, "{}", db.name());
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header[..4], ["run_id", "user_id", "item_id", "rank"]);
        let at = |name: &str| header.iter().position(|h| h == name).unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let fields = |row: &csv::StringRecord| {
            [
                "user_id",
                "item_id",
                "opened",
                "clicked",
                "clicked_item",
                "converted",
                "revenue",
                "window_closed",
            ]
            .map(|c| row[at(c)].to_owned())
        };
        assert_eq!(
            fields(&rows[0]),
            ["u01", "i1", "0", "1", "1", "1", "20", "0"],
            "{}",
            db.name()
        );
        assert_eq!(
            fields(&rows[1]),
            ["u01", "i2", "0", "1", "0", "0", "0", "0"],
            "{}",
            db.name()
        );
        assert_eq!(
            fields(&rows[2]),
            ["u02", "i1", "0", "0", "0", "0", "0", "0"],
            "{}",
            db.name()
        );
        assert_eq!(
            &rows[0][at("features")],
            r#"{"recency":3,"segment":"a, b"}"#
        );
        assert_eq!(&rows[0][at("shown_at")], "2026-03-10T12:00:00Z");
        assert_eq!(&rows[0][at("rank_model_id")], "3");
    }
}
