//! The common case of finishing attempts, in bulk: rows the provider
//! accepted. One `WITH v(...) AS (VALUES ...) UPDATE outbox ... FROM v`
//! marks a chunk sent (each row while its worker holds the lease or, the
//! lease lost, while the row is still pending) and one multi-row insert
//! logs every attempt of the chunk, so a group costs two round trips per
//! chunk instead of two per message (PostgreSQL over a network pays for
//! every round trip). Same SQL on SQLite (3.33+) and PostgreSQL.

use super::{AttemptRecord, col};
use crate::store::{StoreError, ctx};
use sea_orm::sea_query::{Query, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction, Statement};
use std::collections::HashSet;

/// Rows per statement: 4 parameters each in the update, 9 in the insert.
const CHUNK: usize = 500;

/// Marks `attempts` (all `Sent`) sent and logs them; returns, per
/// attempt, whether it marked its row.
pub(super) async fn finish_sent(
    txn: &DatabaseTransaction,
    attempts: &[&AttemptRecord],
) -> Result<Vec<bool>, StoreError> {
    let mut applied = Vec::with_capacity(attempts.len());
    for chunk in attempts.chunks(CHUNK) {
        let marked = mark_sent(txn, chunk).await?;
        insert_attempts(txn, chunk).await?;
        applied.extend(chunk.iter().map(|a| marked.contains(&a.outbox_id)));
    }
    Ok(applied)
}

/// The update; returns the ids of the rows it marked.
async fn mark_sent(
    txn: &DatabaseTransaction,
    chunk: &[&AttemptRecord],
) -> Result<HashSet<i64>, StoreError> {
    let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
    let mut rows = Vec::with_capacity(chunk.len());
    for (i, a) in chunk.iter().enumerate() {
        let p = i * 4;
        rows.push(format!("(${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4));
        values.extend([
            a.outbox_id.into(),
            a.owner.clone().into(),
            a.finished_at.into(),
            a.provider_message_id.clone().into(),
        ]);
    }
    let sql = format!(
        "WITH v(id, owner, finished_at, provider_id) AS (VALUES {}) \
         UPDATE outbox SET lease_owner = NULL, lease_until = NULL, \
           updated_at = v.finished_at, status = 'sent', sent_at = v.finished_at, \
           provider_message_id = v.provider_id \
         FROM v WHERE outbox.outbox_id = v.id \
           AND (outbox.lease_owner = v.owner OR outbox.status = 'pending') \
         RETURNING outbox.outbox_id",
        rows.join(", ")
    );
    let stmt = Statement::from_sql_and_values(txn.get_database_backend(), sql, values);
    let returned = txn
        .query_all_raw(stmt)
        .await
        .map_err(ctx("mark outbox rows sent"))?;
    returned
        .iter()
        .map(|r| r.try_get("", "outbox_id"))
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(ctx("read sent outbox rows"))
}

/// One multi-row insert of delivery attempts.
async fn insert_attempts(
    txn: &DatabaseTransaction,
    logged: &[&AttemptRecord],
) -> Result<(), StoreError> {
    if logged.is_empty() {
        return Ok(());
    }
    let mut stmt = Query::insert();
    stmt.into_table(col("delivery_attempts")).columns(
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
    );
    for a in logged {
        stmt.values_panic([
            a.outbox_id.into(),
            a.attempt.into(),
            a.owner.clone().into(),
            a.outcome.clone().into(),
            a.detail.clone().into(),
            a.provider_message_id.clone().into(),
            a.retry_after_ms.into(),
            a.started_at.into(),
            a.finished_at.into(),
        ]);
    }
    txn.execute(&stmt)
        .await
        .map_err(ctx("record delivery attempts"))?;
    Ok(())
}
