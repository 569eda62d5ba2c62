//! Claiming and finishing outbox rows. A claim is one `UPDATE ... WHERE
//! outbox_id IN (SELECT ... LIMIT n) RETURNING ...` statement: on
//! PostgreSQL the inner select takes `FOR UPDATE OF o SKIP LOCKED`, so
//! concurrent claimers pass over each other's rows; on SQLite the one
//! statement runs under the single writer lock, across processes too.
//! The claim counts the attempt, so `attempts` bounds the sends even when
//! no result is ever recorded (a crash, a lost lease).
//!
//! Finishing an attempt always logs it in `delivery_attempts`. The row's
//! new state is applied only while the worker holds the lease, so a
//! worker whose lease expired and was taken over cannot overwrite the new
//! owner's decision, with one exception: a delivery marks a row that is
//! still pending `sent` whoever holds it, so nobody sends it again.

use super::{
    AttemptRecord, OUTBOX_COLUMNS, OutboxRow, OutboxUpdate, col, insert_outbox, read_outbox,
};
use crate::store::devices::deactivate;
use crate::store::sqlite_writer::SqliteWriter;
use crate::store::{Backend, Store, StoreError, ctx};
use sea_orm::sea_query::{Expr, ExprTrait, Query, UpdateStatement, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};

/// The claim statement. Parameters: `$1` owner, `$2` lease end, `$3` now,
/// `$4` limit, `$5` run (only when `by_run`).
pub(super) fn claim_sql(backend: Backend, by_run: bool) -> String {
    let run_filter = if by_run { "AND o.run_id = $5" } else { "" };
    let lock = match backend {
        Backend::Postgres => "FOR UPDATE OF o SKIP LOCKED",
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE outbox SET attempts = attempts + 1, lease_owner = $1, lease_until = $2, \
           updated_at = $3 \
         WHERE outbox_id IN (\
           SELECT o.outbox_id FROM outbox o \
           JOIN campaign_runs r ON r.run_id = o.run_id \
           JOIN campaigns c ON c.campaign_id = r.campaign_id \
           WHERE o.status = 'pending' AND o.next_attempt_at <= $3 \
             AND (o.lease_until IS NULL OR o.lease_until < $3) \
             AND r.status <> 'cancelled' AND c.status NOT IN ('paused', 'cancelled') \
             {run_filter} \
           ORDER BY o.next_attempt_at, o.outbox_id \
           LIMIT $4 {lock}) \
         RETURNING {}",
        OUTBOX_COLUMNS.join(", ")
    )
}

/// Whether an attempt is a plain send (accepted, no device to
/// deactivate): the common case, recorded in bulk.
fn is_plain_send(a: &AttemptRecord) -> bool {
    a.update == OutboxUpdate::Sent && a.deactivate_device.is_none()
}

/// Applies an attempt's update to the row's columns.
fn apply_update(stmt: &mut UpdateStatement, attempt: &AttemptRecord) {
    let detail = attempt.detail.clone();
    match &attempt.update {
        OutboxUpdate::Sent => {
            stmt.value(col("status"), "sent")
                .value(col("sent_at"), attempt.finished_at)
                .value(
                    col("provider_message_id"),
                    attempt.provider_message_id.clone(),
                );
        }
        OutboxUpdate::Retry { next_attempt_at } | OutboxUpdate::Hold { next_attempt_at } => {
            stmt.value(col("next_attempt_at"), *next_attempt_at)
                .value(col("last_error"), detail);
        }
        OutboxUpdate::Failed | OutboxUpdate::Fallback { .. } => {
            stmt.value(col("status"), "failed")
                .value(col("last_error"), detail);
        }
        OutboxUpdate::Skipped => {
            stmt.value(col("status"), "skipped")
                .value(col("last_error"), detail);
        }
        OutboxUpdate::Redirect {
            device_id,
            address,
            payload,
        } => {
            stmt.value(col("device_id"), *device_id)
                .value(col("address"), address.as_str())
                .value(col("payload"), payload.as_str())
                .value(col("next_attempt_at"), attempt.finished_at)
                .value(col("last_error"), detail);
        }
    }
}

/// Whether the record is of a real attempt: a row held for an open
/// circuit or skipped for a change after planning was not sent.
fn is_attempt(attempt: &AttemptRecord) -> bool {
    !matches!(
        attempt.update,
        OutboxUpdate::Hold { .. } | OutboxUpdate::Skipped
    )
}

/// The lease condition of an attempt's update: the worker holds the
/// lease, or, for a delivery, the row is still pending (the attempt
/// outlived its lease, but the message went out: nobody may send it again).
fn may_update(attempt: &AttemptRecord) -> sea_orm::sea_query::SimpleExpr {
    let held = Expr::col(col("lease_owner")).eq(attempt.owner.as_str());
    match attempt.update {
        OutboxUpdate::Sent => held.or(Expr::col(col("status")).eq("pending")),
        _ => held,
    }
}

/// Applies the attempt's update to its row when [`may_update`] allows;
/// whether it did. The row's attempt count becomes the record's number:
/// unchanged for a normal attempt (the claim counted it), the count of
/// attempts actually made for a claim failed as exhausted.
async fn update_row(
    txn: &DatabaseTransaction,
    attempt: &AttemptRecord,
) -> Result<bool, StoreError> {
    // A hold or a skip gives back the attempt the claim counted.
    let held = i32::from(!is_attempt(attempt));
    let mut stmt = Query::update();
    stmt.table(col("outbox"))
        .value(col("attempts"), attempt.attempt.saturating_sub(held))
        .value(col("lease_owner"), Value::String(None))
        .value(col("lease_until"), Value::BigInt(None))
        .value(col("updated_at"), attempt.finished_at)
        .and_where(Expr::col(col("outbox_id")).eq(attempt.outbox_id))
        .and_where(may_update(attempt));
    apply_update(&mut stmt, attempt);
    let result = txn.execute(&stmt).await.map_err(ctx("update outbox row"))?;
    Ok(result.rows_affected() == 1)
}

/// Logs one attempt in `delivery_attempts`.
async fn insert_attempt(
    txn: &DatabaseTransaction,
    attempt: &AttemptRecord,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(col("delivery_attempts"))
        .columns(
            [
                "outbox_id",
                "attempt",
                "worker",
                "outcome",
                "detail",
                "provider_message_id",
                "retry_after_ms",
                "started_at",
                "finished_at",
            ]
            .map(col),
        )
        .values_panic([
            attempt.outbox_id.into(),
            attempt.attempt.into(),
            attempt.owner.clone().into(),
            attempt.outcome.clone().into(),
            attempt.detail.clone().into(),
            attempt.provider_message_id.clone().into(),
            attempt.retry_after_ms.into(),
            attempt.started_at.into(),
            attempt.finished_at.into(),
        ])
        .to_owned();
    txn.execute(&stmt)
        .await
        .map_err(ctx("record delivery attempt"))?;
    Ok(())
}

/// One attempt inside a batch transaction: always logged; its update
/// (with a fallback row or a deactivated device) applied when allowed.
/// Whether the update applied.
async fn record_one(
    txn: &DatabaseTransaction,
    attempt: &AttemptRecord,
) -> Result<bool, StoreError> {
    // A hold or a skip is not an attempt: nothing is logged for it.
    let held = !is_attempt(attempt);
    if !held {
        insert_attempt(txn, attempt).await?;
    }
    if !update_row(txn, attempt).await? {
        return Ok(false);
    }
    if held {
        return Ok(true);
    }
    if let OutboxUpdate::Fallback { next } = &attempt.update {
        insert_outbox(txn, std::slice::from_ref(&**next)).await?;
    }
    if let Some((device_id, reason)) = &attempt.deactivate_device {
        deactivate(txn, *device_id, reason, attempt.finished_at).await?;
    }
    Ok(true)
}

impl Store {
    /// Claims up to `limit` due rows (`pending`, `next_attempt_at <= now`,
    /// lease free or expired) of campaigns that are not paused or
    /// cancelled, optionally of one run, leasing them to `owner` until
    /// `now + lease_ms`. Two concurrent callers never get the same row.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
        limit: u64,
        run_id: Option<i64>,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        if let Some(writer) = self.sqlite_writer() {
            let claim = super::sqlite::Claim {
                owner: owner.to_owned(),
                now,
                lease_until: now.saturating_add(lease_ms),
                limit: i64::try_from(limit).unwrap_or(i64::MAX),
                run_id,
            };
            let mut claimed = super::sqlite::claim(writer, claim).await?;
            claimed.sort_by_key(|r| (r.next_attempt_at, r.outbox_id));
            return Ok(claimed);
        }
        let mut values: Vec<Value> = vec![
            owner.into(),
            now.saturating_add(lease_ms).into(),
            now.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ];
        values.extend(run_id.map(Value::from));
        let sql = claim_sql(self.backend(), run_id.is_some());
        let db = self.db();
        let stmt = Statement::from_sql_and_values(db.get_database_backend(), sql, values);
        let rows = db
            .query_all_raw(stmt)
            .await
            .map_err(ctx("claim outbox rows"))?;
        let mut claimed = rows
            .iter()
            .map(read_outbox)
            .collect::<Result<Vec<_>, _>>()
            .map_err(ctx("read claimed outbox rows"))?;
        claimed.sort_by_key(|r| (r.next_attempt_at, r.outbox_id));
        Ok(claimed)
    }

    /// Records an attempt and applies its update in one transaction when
    /// its worker still holds the row's lease (or, for a delivery, the row
    /// is still pending); whether the update applied. The attempt is
    /// logged either way.
    pub async fn finish_attempt(&self, attempt: &AttemptRecord) -> Result<bool, StoreError> {
        let done = self.finish_attempts(std::slice::from_ref(attempt)).await?;
        Ok(done.first().copied().unwrap_or(false))
    }

    /// Records a group of attempts in one transaction (one commit per
    /// group, not per message; on a SQLite file, the plain sends in one job
    /// of the write thread and the rest in a transaction of their own).
    /// Every attempt is logged; each update applies as
    /// [`Store::finish_attempt`] says. Returns, per attempt, whether its
    /// update applied.
    pub async fn finish_attempts(
        &self,
        attempts: &[AttemptRecord],
    ) -> Result<Vec<bool>, StoreError> {
        let sent: Vec<&AttemptRecord> = attempts.iter().filter(|a| is_plain_send(a)).collect();
        if let Some(writer) = self.sqlite_writer() {
            return self.finish_on_writer(writer, attempts, &sent).await;
        }
        let txn = self.begin_write().await.map_err(ctx("begin attempts"))?;
        let mut sent_applied = super::sent::finish_sent(&txn, &sent).await?.into_iter();
        let mut applied = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            applied.push(if is_plain_send(attempt) {
                sent_applied.next().unwrap_or(false)
            } else {
                record_one(&txn, attempt).await?
            });
        }
        txn.commit().await.map_err(ctx("commit attempts"))?;
        Ok(applied)
    }

    /// [`Store::finish_attempts`] on a SQLite file: the plain sends on the
    /// write thread, the rest (rare: retries, failures, dead tokens) in a
    /// pool transaction; whether each applied, in the batch's order.
    async fn finish_on_writer(
        &self,
        writer: &SqliteWriter,
        attempts: &[AttemptRecord],
        sent: &[&AttemptRecord],
    ) -> Result<Vec<bool>, StoreError> {
        let owned = sent.iter().map(|a| (*a).clone()).collect();
        let mut sent_applied = super::sqlite::finish_sent(writer, owned).await?.into_iter();
        let others: Vec<&AttemptRecord> = attempts.iter().filter(|a| !is_plain_send(a)).collect();
        let mut others_applied = self.record_each(&others).await?.into_iter();
        let applied = attempts.iter().map(|a| {
            let next = match is_plain_send(a) {
                true => sent_applied.next(),
                false => others_applied.next(),
            };
            next.unwrap_or(false)
        });
        Ok(applied.collect())
    }

    /// Records attempts one by one in one transaction (none: no
    /// transaction); whether each applied.
    async fn record_each(&self, attempts: &[&AttemptRecord]) -> Result<Vec<bool>, StoreError> {
        if attempts.is_empty() {
            return Ok(Vec::new());
        }
        let txn = self.begin_write().await.map_err(ctx("begin attempts"))?;
        let mut applied = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            applied.push(record_one(&txn, attempt).await?);
        }
        txn.commit().await.map_err(ctx("commit attempts"))?;
        Ok(applied)
    }
}
