//! Exposures labelled by clicks, for retraining the ranker's blend.
//!
//! An exposure has a known outcome once its message reached the user:
//! the run's outbox row for the user was accepted by the provider
//! (`sent`, on any channel, so a fallback counts), or the user opened or
//! clicked the message. Dry runs write no exposures and unsent messages
//! have no outcome, so neither counts. The label is whether the user
//! clicked that item's link in that message at or after it was shown (a
//! `click` row with the exposure's run, user and item): point in time,
//! since the features are the snapshot stored when it was shown.

use super::{Store, StoreError, ctx};
use sea_orm::{ConnectionTrait, QueryResult, Statement};

/// One shown item with a known outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledExposure {
    /// The feature row stored when it was shown (JSON).
    pub features: String,
    /// The user clicked this item in this message.
    pub clicked: bool,
}

/// Newest exposures with a feature row and a known outcome; `{limit}` is
/// formatted in (an integer), so the statement has no parameters and
/// reads the same on both backends.
const LABELLED_SQL: &str = "\
SELECT x.features, \
  CAST(CASE WHEN EXISTS (SELECT 1 FROM feedback_events f WHERE f.kind = 'click' \
    AND f.run_id = x.run_id AND f.user_id = x.user_id AND f.item_id = x.item_id \
    AND f.ts >= x.shown_at) THEN 1 ELSE 0 END AS BIGINT) AS clicked \
FROM exposures x \
WHERE x.features <> '{}' \
  AND (EXISTS (SELECT 1 FROM outbox o WHERE o.run_id = x.run_id \
         AND o.user_id = x.user_id AND o.status = 'sent') \
    OR EXISTS (SELECT 1 FROM feedback_events f WHERE f.run_id = x.run_id \
         AND f.user_id = x.user_id AND f.kind IN ('open', 'click'))) \
ORDER BY x.shown_at DESC, x.run_id DESC, x.user_id, x.item_id \
LIMIT {limit}";

fn read_labelled(r: &QueryResult) -> Result<LabelledExposure, sea_orm::DbErr> {
    Ok(LabelledExposure {
        features: r.try_get("", "features")?,
        clicked: r.try_get::<i64>("", "clicked")? != 0,
    })
}

impl Store {
    /// The newest `limit` exposures with a stored feature row and a known
    /// outcome, each labelled by whether its item was clicked.
    pub async fn labelled_exposures(
        &self,
        limit: u64,
    ) -> Result<Vec<LabelledExposure>, StoreError> {
        let sql = LABELLED_SQL.replace("{limit}", &limit.to_string());
        let stmt = Statement::from_string(self.db().get_database_backend(), sql);
        let rows = self
            .db()
            .query_all_raw(stmt)
            .await
            .map_err(ctx("read labelled exposures"))?;
        rows.iter()
            .map(read_labelled)
            .collect::<Result<_, _>>()
            .map_err(ctx("read labelled exposures"))
    }
}
