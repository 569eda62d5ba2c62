//! The campaign hot path's writes on a SQLite file, each one job on the
//! write thread ([`crate::store::sqlite_writer`]): a plan page with its
//! outbox rows and exposures, a claim, and a batch of sent attempts. They
//! write exactly what the pool's versions write (the same columns, the
//! same conflict rules, the same lease checks); each row is one execution
//! of a prepared single-row statement, which SQLite runs about as fast as
//! a row of a multi-row insert, without compiling a statement per page.

use super::{AttemptRecord, NewExposure, NewOutbox, OutboxRow, PlanRow};
use crate::domain::Laps;
use crate::store::sqlite_writer::{SqliteWriter, immediate};
use crate::store::{Backend, StoreError};
use rusqlite::{Row, Transaction, params};

const INSERT_PLAN: &str = "INSERT INTO run_recipients \
    (run_id, user_id, variant, channel, decision, reason, payload_hash, not_before) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (run_id, user_id) DO NOTHING";

const INSERT_OUTBOX: &str = "INSERT INTO outbox \
    (run_id, user_id, channel, device_id, address, variant, payload, dedup_key, status, \
     attempts, next_attempt_at, created_at, updated_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?10, ?10) \
    ON CONFLICT (run_id, user_id, channel) DO NOTHING";

const INSERT_EXPOSURE: &str = "INSERT INTO exposures \
    (run_id, user_id, item_id, rank, score, variant, channel, reason, rank_model_id, \
     features, shown_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
    ON CONFLICT (run_id, user_id, item_id) DO NOTHING";

const MARK_SENT: &str = "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, \
    updated_at = ?3, status = 'sent', sent_at = ?3, provider_message_id = ?4 \
    WHERE outbox_id = ?1 AND (lease_owner = ?2 OR status = 'pending')";

const INSERT_ATTEMPT: &str = "INSERT INTO delivery_attempts \
    (outbox_id, attempt, worker, outcome, detail, provider_message_id, retry_after_ms, \
     started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// One plan page's rows, owned by the job that writes them.
pub(super) struct PageRows {
    pub run_id: i64,
    pub plan: Vec<PlanRow>,
    pub outbox: Vec<NewOutbox>,
    pub exposures: Vec<NewExposure>,
}

/// Writes a plan page in one transaction; the time spent waiting for the
/// thread and the lock, each table and the commit goes to the debug log.
pub(super) async fn write_page(writer: &SqliteWriter, rows: PageRows) -> Result<(), StoreError> {
    let mut queued = Laps::start();
    writer
        .run("write plan page", move |conn| {
            let waited_us = queued.lap();
            let mut laps = Laps::start();
            let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let begin_us = laps.lap() + waited_us;
            insert_plan(&txn, rows.run_id, &rows.plan)?;
            let plan_us = laps.lap();
            insert_outbox(&txn, &rows.outbox)?;
            let outbox_us = laps.lap();
            insert_exposures(&txn, rows.run_id, &rows.exposures)?;
            let exposures_us = laps.lap();
            txn.commit()?;
            let laps = [begin_us, plan_us, outbox_us, exposures_us, laps.lap()];
            super::log_page_written(rows.run_id, laps);
            Ok(())
        })
        .await
}

fn insert_plan(txn: &Transaction<'_>, run_id: i64, rows: &[PlanRow]) -> rusqlite::Result<()> {
    let mut stmt = txn.prepare_cached(INSERT_PLAN)?;
    for r in rows {
        stmt.execute(params![
            run_id,
            r.user_id,
            r.variant,
            r.channel,
            r.decision,
            r.reason,
            r.payload_hash,
            r.not_before
        ])?;
    }
    Ok(())
}

/// Enqueues outbox rows.
fn insert_outbox(txn: &Transaction<'_>, rows: &[NewOutbox]) -> rusqlite::Result<()> {
    let mut stmt = txn.prepare_cached(INSERT_OUTBOX)?;
    for r in rows {
        stmt.execute(params![
            r.run_id,
            r.user_id,
            r.channel,
            r.device_id,
            r.address,
            r.variant,
            r.payload,
            r.dedup_key,
            r.next_attempt_at,
            r.now
        ])?;
    }
    Ok(())
}

fn insert_exposures(
    txn: &Transaction<'_>,
    run_id: i64,
    rows: &[NewExposure],
) -> rusqlite::Result<()> {
    let mut stmt = txn.prepare_cached(INSERT_EXPOSURE)?;
    for r in rows {
        stmt.execute(params![
            run_id,
            r.user_id,
            r.item_id,
            r.rank,
            r.score,
            r.variant,
            r.channel,
            r.reason,
            r.rank_model_id,
            r.features,
            r.shown_at
        ])?;
    }
    Ok(())
}

/// What a claim asks for.
pub(super) struct Claim {
    pub owner: String,
    pub now: i64,
    pub lease_until: i64,
    pub limit: i64,
    pub run_id: Option<i64>,
}

/// Claims due rows with the pool's claim statement (numbered parameters).
pub(super) async fn claim(
    writer: &SqliteWriter,
    claim: Claim,
) -> Result<Vec<OutboxRow>, StoreError> {
    let sql = super::claim::claim_sql(Backend::Sqlite, claim.run_id.is_some()).replace('$', "?");
    writer
        .run("claim outbox rows", move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut values =
                params![claim.owner, claim.lease_until, claim.now, claim.limit].to_vec();
            if let Some(run) = &claim.run_id {
                values.push(run);
            }
            stmt.query_map(values.as_slice(), read_row)?.collect()
        })
        .await
}

/// A claimed outbox row, by column name as the pool's reader reads it.
fn read_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        outbox_id: r.get("outbox_id")?,
        run_id: r.get("run_id")?,
        user_id: r.get("user_id")?,
        channel: r.get("channel")?,
        device_id: r.get("device_id")?,
        address: r.get("address")?,
        variant: r.get("variant")?,
        payload: r.get("payload")?,
        dedup_key: r.get("dedup_key")?,
        status: r.get("status")?,
        attempts: r.get("attempts")?,
        next_attempt_at: r.get("next_attempt_at")?,
    })
}

/// Marks plain sent attempts sent (each while its worker holds the lease
/// or its row is still pending) and logs every one of them, in one
/// transaction; whether each marked its row.
pub(super) async fn finish_sent(
    writer: &SqliteWriter,
    attempts: Vec<AttemptRecord>,
) -> Result<Vec<bool>, StoreError> {
    writer
        .run("record sent attempts", move |conn| {
            immediate(conn, |txn| {
                let mut mark = txn.prepare_cached(MARK_SENT)?;
                let mut log = txn.prepare_cached(INSERT_ATTEMPT)?;
                let mut applied = Vec::with_capacity(attempts.len());
                for a in &attempts {
                    let marked = mark.execute(params![
                        a.outbox_id,
                        a.owner,
                        a.finished_at,
                        a.provider_message_id
                    ])?;
                    log.execute(params![
                        a.outbox_id,
                        a.attempt,
                        a.owner,
                        a.outcome,
                        a.detail,
                        a.provider_message_id,
                        a.retry_after_ms,
                        a.started_at,
                        a.finished_at
                    ])?;
                    applied.push(marked == 1);
                }
                Ok(applied)
            })
        })
        .await
}
