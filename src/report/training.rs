//! The training set: one CSV row per exposure (an item shown to a user in a
//! run, with its rank, score, variant, channel, ranking model and features
//! snapshot) joined with the outcomes that followed it: opened and clicked
//! (the message, and this item), and purchases of this item within the
//! click window with their revenue.
//!
//! Point-in-time correct: an outcome counts only at or after the
//! exposure's `shown_at`, and the features are the snapshot taken then, so
//! a model trained on a row sees only what it could have known. Rows whose
//! conversion window had not closed at export time say so
//! (`window_closed = false`): their label may still change. Rows are read a
//! page at a time in key order and written as they come, so memory stays
//! flat however many exposures there are.

use super::ReportError;
use crate::domain::millis_to_rfc3339;
use crate::rank::blend::features_named;
use crate::store::{ExposureKey, Store, TrainingRow};
use std::io::Write;

/// The columns of the training CSV, in order.
pub const TRAINING_COLUMNS: [&str; 17] = [
    "run_id",
    "user_id",
    "item_id",
    "rank",
    "score",
    "variant",
    "channel",
    "rank_model_id",
    "shown_at",
    "features",
    "opened",
    "clicked",
    "clicked_item",
    "converted",
    "purchases",
    "revenue",
    "window_closed",
];

/// How to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainingOptions {
    /// Purchases of the item count this long after it was shown (ms).
    pub click_window_ms: i64,
    /// The export time (ms): windows ending after it are still open.
    pub now: i64,
    /// Exposures read per query.
    pub page_size: u64,
}

/// One row's fields.
fn record(row: &TrainingRow, options: &TrainingOptions) -> [String; 17] {
    let flag = |b: bool| u8::from(b).to_string();
    let closed = row.shown_at.saturating_add(options.click_window_ms) <= options.now;
    [
        row.key.run_id.to_string(),
        row.key.user_id.clone(),
        row.key.item_id.clone(),
        row.rank.to_string(),
        row.score.to_string(),
        row.variant.clone(),
        row.channel.clone(),
        row.rank_model_id.map(|m| m.to_string()).unwrap_or_default(),
        millis_to_rfc3339(row.shown_at),
        features_named(&row.features),
        flag(row.opened),
        flag(row.clicked),
        flag(row.clicked_item),
        flag(row.purchases > 0),
        row.purchases.to_string(),
        row.revenue.to_string(),
        flag(closed),
    ]
}

/// Writes every exposure with its outcomes to `out` as CSV with a header;
/// returns the number of rows.
pub async fn export_training(
    store: &Store,
    options: &TrainingOptions,
    out: impl Write,
) -> Result<u64, ReportError> {
    let mut w = csv::Writer::from_writer(out);
    let fail = |e: csv::Error| ReportError::write("the training CSV")(e.into());
    w.write_record(TRAINING_COLUMNS).map_err(fail)?;
    let (mut after, mut n): (Option<ExposureKey>, u64) = (None, 0);
    let limit = options.page_size.max(1);
    loop {
        let page = store
            .training_page(after.as_ref(), options.click_window_ms, limit)
            .await?;
        for row in &page {
            w.write_record(record(row, options)).map_err(fail)?;
        }
        n += page.len() as u64;
        match page.last() {
            Some(last) if page.len() as u64 >= limit => after = Some(last.key.clone()),
            _ => break,
        }
    }
    w.flush().map_err(ReportError::write("the training CSV"))?;
    Ok(n)
}
