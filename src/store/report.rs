//! Reads for the feedback report: one run's plan a page at a time, each
//! recipient with their segment under the run's segmentation and every
//! outbox row of theirs (status, send time, the last attempt's outcome for
//! failed rows), and the distinct feedback kinds each user of a run showed.
//! Pages are keyset-paginated on `user_id` within one run, so memory holds
//! one page whatever the size of the run.

use super::{Backend, Store, StoreError, ctx};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, Value};

/// One recipient of a run as the report needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientFact {
    /// The user.
    pub user_id: String,
    /// The variant assigned (also for holdout users).
    pub variant: Option<String>,
    /// The channel the plan chose.
    pub channel: Option<String>,
    /// `send`, `deferred`, `holdout` or `suppressed`.
    pub decision: String,
    /// The reason code for all but `send`.
    pub reason: Option<String>,
    /// The user's segment under the run's segment model.
    pub segment: Option<i32>,
    /// The user's outbox rows in this run, oldest first (a channel
    /// fallback makes a second one).
    pub outbox: Vec<OutboxFact>,
}

/// One outbox row of a recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxFact {
    /// The channel it went to.
    pub channel: String,
    /// `pending`, `sent`, `failed` or `cancelled`.
    pub status: String,
    /// When the provider accepted it (ms).
    pub sent_at: Option<i64>,
    /// For failed rows, the last attempt's outcome (`permanent`,
    /// `token_gone`, `retry` when attempts ran out).
    pub outcome: Option<String>,
}

/// Builds a raw statement from SQL written with `?` placeholders,
/// numbering them `$1, $2, ...` for PostgreSQL. The SQL must not contain
/// a literal `?`.
pub(super) fn raw(backend: Backend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        Backend::Sqlite => sql.to_owned(),
        Backend::Postgres => number_placeholders(sql),
    };
    let db_backend = match backend {
        Backend::Sqlite => sea_orm::DbBackend::Sqlite,
        Backend::Postgres => sea_orm::DbBackend::Postgres,
    };
    Statement::from_sql_and_values(db_backend, sql, values)
}

/// `?` → `$1`, `$2`, ... in order.
fn number_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A page of one run's plan joined with segments and outbox rows; a
/// recipient with two outbox rows gives two result rows, next to each other.
const RECIPIENTS_SQL: &str = "\
SELECT r.user_id, r.variant, r.channel, r.decision, r.reason, sa.segment_id, \
       o.channel AS o_channel, o.status AS o_status, o.sent_at AS o_sent_at, \
       CASE WHEN o.status = 'failed' THEN \
         (SELECT d.outcome FROM delivery_attempts d WHERE d.outbox_id = o.outbox_id \
          ORDER BY d.attempt DESC, d.attempt_id DESC LIMIT 1) END AS o_outcome \
FROM (SELECT user_id, variant, channel, decision, reason FROM run_recipients \
      WHERE run_id = ? AND user_id > ? ORDER BY user_id LIMIT ?) r \
LEFT JOIN segment_assignments sa ON sa.model_id = ? AND sa.user_id = r.user_id \
LEFT JOIN outbox o ON o.run_id = ? AND o.user_id = r.user_id \
ORDER BY r.user_id, o.outbox_id";

/// Distinct feedback kinds per user of one run.
const FEEDBACK_SQL: &str = "\
SELECT DISTINCT user_id, kind FROM feedback_events WHERE run_id = ?";

fn read_outbox_fact(r: &QueryResult) -> Result<Option<OutboxFact>, DbErr> {
    let Some(channel) = r.try_get::<Option<String>>("", "o_channel")? else {
        return Ok(None);
    };
    Ok(Some(OutboxFact {
        channel,
        status: r.try_get("", "o_status")?,
        sent_at: r.try_get("", "o_sent_at")?,
        outcome: r.try_get("", "o_outcome")?,
    }))
}

fn read_recipient(r: &QueryResult) -> Result<RecipientFact, DbErr> {
    Ok(RecipientFact {
        user_id: r.try_get("", "user_id")?,
        variant: r.try_get("", "variant")?,
        channel: r.try_get("", "channel")?,
        decision: r.try_get("", "decision")?,
        reason: r.try_get("", "reason")?,
        segment: r.try_get("", "segment_id")?,
        outbox: Vec::new(),
    })
}

/// Folds joined rows (recipients next to each other) into recipients.
fn fold_recipients(rows: &[QueryResult]) -> Result<Vec<RecipientFact>, DbErr> {
    let mut out: Vec<RecipientFact> = Vec::new();
    for r in rows {
        let user: String = r.try_get("", "user_id")?;
        if out.last().is_none_or(|last| last.user_id != user) {
            out.push(read_recipient(r)?);
        }
        if let (Some(fact), Some(last)) = (read_outbox_fact(r)?, out.last_mut()) {
            last.outbox.push(fact);
        }
    }
    Ok(out)
}

impl Store {
    /// Up to `limit` recipients of `run_id` after user `after` (start with
    /// `""`), in user order, with their segment under `segment_model_id`
    /// and their outbox rows.
    pub async fn report_recipients(
        &self,
        run_id: i64,
        segment_model_id: Option<i64>,
        after: &str,
        limit: u64,
    ) -> Result<Vec<RecipientFact>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let values = vec![
            run_id.into(),
            after.into(),
            limit.into(),
            segment_model_id.into(),
            run_id.into(),
        ];
        let stmt = raw(self.backend(), RECIPIENTS_SQL, values);
        let rows = self
            .db()
            .query_all_raw(stmt)
            .await
            .map_err(ctx("read report recipients"))?;
        fold_recipients(&rows).map_err(ctx("read report recipients"))
    }

    /// (user, kind) for every distinct feedback kind a user of `run_id`
    /// showed (`open`, `click`, `unsubscribe`, `delivered`, `failed`), in
    /// no particular order.
    pub async fn report_feedback(&self, run_id: i64) -> Result<Vec<(String, String)>, StoreError> {
        let stmt = raw(self.backend(), FEEDBACK_SQL, vec![run_id.into()]);
        let rows = self
            .db()
            .query_all_raw(stmt)
            .await
            .map_err(ctx("read report feedback"))?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "user_id")?, r.try_get("", "kind")?)))
            .collect::<Result<_, DbErr>>()
            .map_err(ctx("read report feedback"))
    }
}

#[cfg(test)]
mod tests {
    use super::number_placeholders;

    #[test]
    fn placeholders_are_numbered_in_order_for_postgres() {
        assert_eq!(
            number_placeholders("a = ? AND b > ? LIMIT ?"),
            "a = $1 AND b > $2 LIMIT $3"
        );
    }
}
