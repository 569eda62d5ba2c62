//! Reading the outbox (rows, counts, the next due instant), cancelling a
//! campaign's pending rows, and the per-user contact counts a frequency
//! cap is checked against.

use super::{IN_CHUNK, OUTBOX_COLUMNS, OutboxRow, col, read_outbox};
use crate::store::{Store, StoreError, ctx};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::HashMap;

fn select_outbox() -> SelectStatement {
    Query::select()
        .columns(OUTBOX_COLUMNS.map(col))
        .from(col("outbox"))
        .order_by(col("outbox_id"), Order::Asc)
        .to_owned()
}

/// Rows that count against a frequency cap since `since`.
fn counted_since(since: i64) -> Cond {
    Cond::any()
        .add(
            Expr::col(col("status"))
                .eq("sent")
                .and(Expr::col(col("sent_at")).gte(since)),
        )
        .add(
            Expr::col(col("status"))
                .eq("pending")
                .and(Expr::col(col("created_at")).gte(since)),
        )
}

impl Store {
    /// (status, count) of a run's outbox rows.
    pub async fn outbox_counts(&self, run_id: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let stmt = Query::select()
            .column(col("status"))
            .expr_as(Expr::col(col("outbox_id")).count(), col("n"))
            .from(col("outbox"))
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .group_by_col(col("status"))
            .order_by(col("status"), Order::Asc)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("count outbox rows"))?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "status")?, r.try_get("", "n")?)))
            .collect::<Result<_, DbErr>>()
            .map_err(ctx("count outbox rows"))
    }

    /// The earliest `next_attempt_at` of a run's pending rows, if any.
    pub async fn next_due(&self, run_id: Option<i64>) -> Result<Option<i64>, StoreError> {
        let mut stmt = Query::select();
        stmt.expr_as(Func::min(Expr::col(col("next_attempt_at"))), col("due"))
            .from(col("outbox"))
            .and_where(Expr::col(col("status")).eq("pending"));
        if let Some(run_id) = run_id {
            stmt.and_where(Expr::col(col("run_id")).eq(run_id));
        }
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read next due row"))?;
        match row {
            Some(r) => r.try_get("", "due").map_err(ctx("read next due row")),
            None => Ok(None),
        }
    }

    /// One outbox row.
    pub async fn outbox_row(&self, outbox_id: i64) -> Result<Option<OutboxRow>, StoreError> {
        let stmt = select_outbox()
            .and_where(Expr::col(col("outbox_id")).eq(outbox_id))
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read outbox row"))?;
        row.as_ref()
            .map(read_outbox)
            .transpose()
            .map_err(ctx("read outbox row"))
    }

    /// Up to `limit` rows of a run that were sent, with ids after
    /// `after`, in id order (what went out, for simulations and audits).
    pub async fn sent_page(
        &self,
        run_id: i64,
        after: i64,
        limit: u64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let stmt = select_outbox()
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .and_where(Expr::col(col("status")).eq("sent"))
            .and_where(Expr::col(col("outbox_id")).gt(after))
            .limit(limit)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read sent outbox rows"))?;
        rows.iter()
            .map(read_outbox)
            .collect::<Result<_, _>>()
            .map_err(ctx("read sent outbox rows"))
    }

    /// A run's outbox rows for one user.
    pub async fn outbox_for_user(
        &self,
        run_id: i64,
        user_id: &str,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let stmt = select_outbox()
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .and_where(Expr::col(col("user_id")).eq(user_id))
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read user's outbox rows"))?;
        rows.iter()
            .map(read_outbox)
            .collect::<Result<_, _>>()
            .map_err(ctx("read user's outbox rows"))
    }

    /// Marks a campaign's pending rows `cancelled`; returns how many.
    /// Leases are kept: a worker already sending a row still records what
    /// the provider answered.
    pub async fn cancel_pending(&self, campaign_id: i64, now: i64) -> Result<u64, StoreError> {
        let runs = Query::select()
            .column(col("run_id"))
            .from(col("campaign_runs"))
            .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
            .to_owned();
        let stmt = Query::update()
            .table(col("outbox"))
            .value(col("status"), "cancelled")
            .value(col("updated_at"), now)
            .and_where(Expr::col(col("status")).eq("pending"))
            .and_where(Expr::col(col("run_id")).in_subquery(runs))
            .to_owned();
        let result = self
            .db()
            .execute(&stmt)
            .await
            .map_err(ctx("cancel pending outbox rows"))?;
        Ok(result.rows_affected())
    }

    /// Messages per user counted against a frequency cap since `since`
    /// (ms): rows sent since then plus rows still pending that were
    /// planned since then, across campaigns.
    pub async fn contact_counts(
        &self,
        user_ids: &[String],
        since: i64,
    ) -> Result<HashMap<String, u32>, StoreError> {
        let mut counts = HashMap::new();
        for chunk in user_ids.chunks(IN_CHUNK) {
            let stmt = Query::select()
                .column(col("user_id"))
                .expr_as(Expr::col(col("outbox_id")).count(), col("n"))
                .from(col("outbox"))
                .cond_where(
                    Cond::all()
                        .add(Expr::col(col("user_id")).is_in(chunk.iter().map(String::as_str)))
                        .add(counted_since(since)),
                )
                .group_by_col(col("user_id"))
                .to_owned();
            let rows = self
                .db()
                .query_all(&stmt)
                .await
                .map_err(ctx("count contacts"))?;
            for r in rows {
                let user: String = r.try_get("", "user_id").map_err(ctx("count contacts"))?;
                let n: i64 = r.try_get("", "n").map_err(ctx("count contacts"))?;
                counts.insert(user, u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
        Ok(counts)
    }
}
