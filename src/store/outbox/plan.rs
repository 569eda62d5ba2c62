//! The plan: write a page of decisions with its outbox rows and exposures
//! in one transaction, and read the plan back a page at a time (keyset
//! pagination on `user_id`, in the database's order, so a resumed planner
//! continues exactly where the last written page ended).

use super::{INSERT_CHUNK, NewExposure, NewOutbox, PlanRow, col, insert_outbox};
use crate::domain::Laps;
use crate::store::{Store, StoreError, ctx};
use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

const PLAN_COLUMNS: [&str; 7] = [
    "user_id",
    "variant",
    "channel",
    "decision",
    "reason",
    "payload_hash",
    "not_before",
];

fn read_plan(r: &QueryResult) -> Result<PlanRow, DbErr> {
    Ok(PlanRow {
        user_id: r.try_get("", "user_id")?,
        variant: r.try_get("", "variant")?,
        channel: r.try_get("", "channel")?,
        decision: r.try_get("", "decision")?,
        reason: r.try_get("", "reason")?,
        payload_hash: r.try_get("", "payload_hash")?,
        not_before: r.try_get("", "not_before")?,
    })
}

fn select_plan(run_id: i64) -> SelectStatement {
    Query::select()
        .columns(PLAN_COLUMNS.map(col))
        .from(col("run_recipients"))
        .and_where(Expr::col(col("run_id")).eq(run_id))
        .order_by(col("user_id"), Order::Asc)
        .to_owned()
}

async fn insert_plan(
    conn: &impl ConnectionTrait,
    run_id: i64,
    rows: &[PlanRow],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut stmt = Query::insert();
        stmt.into_table(col("run_recipients"))
            .columns(std::iter::once("run_id").chain(PLAN_COLUMNS).map(col));
        for row in chunk {
            stmt.values_panic([
                run_id.into(),
                row.user_id.clone().into(),
                row.variant.clone().into(),
                row.channel.clone().into(),
                row.decision.clone().into(),
                row.reason.clone().into(),
                row.payload_hash.clone().into(),
                row.not_before.into(),
            ]);
        }
        stmt.on_conflict(
            OnConflict::columns(["run_id", "user_id"].map(col))
                .do_nothing()
                .to_owned(),
        );
        conn.execute(&stmt).await.map_err(ctx("insert plan rows"))?;
    }
    Ok(())
}

async fn insert_exposures(
    conn: &impl ConnectionTrait,
    run_id: i64,
    rows: &[NewExposure],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut stmt = Query::insert();
        stmt.into_table(col("exposures")).columns(
            [
                "run_id",
                "user_id",
                "item_id",
                "rank",
                "score",
                "variant",
                "channel",
                "reason",
                "rank_model_id",
                "features",
                "shown_at",
            ]
            .map(col),
        );
        for row in chunk {
            stmt.values_panic([
                run_id.into(),
                row.user_id.clone().into(),
                row.item_id.clone().into(),
                row.rank.into(),
                row.score.into(),
                row.variant.clone().into(),
                row.channel.clone().into(),
                row.reason.clone().into(),
                row.rank_model_id.into(),
                row.features.clone().into(),
                row.shown_at.into(),
            ]);
        }
        stmt.on_conflict(
            OnConflict::columns(["run_id", "user_id", "item_id"].map(col))
                .do_nothing()
                .to_owned(),
        );
        conn.execute(&stmt).await.map_err(ctx("insert exposures"))?;
    }
    Ok(())
}

impl Store {
    /// Writes one page of the plan with its outbox rows and exposures in
    /// one transaction (on a SQLite file, one job of the write thread);
    /// rows already present (a resumed run) are kept.
    /// The time of each step (waiting for the write lock, each table, the
    /// commit) goes to the debug log (`HERALD_LOG=herald=debug`).
    pub async fn write_plan_page(
        &self,
        run_id: i64,
        plan: &[PlanRow],
        outbox: &[NewOutbox],
        exposures: &[NewExposure],
    ) -> Result<(), StoreError> {
        if let Some(writer) = self.sqlite_writer() {
            let rows = super::sqlite::PageRows {
                run_id,
                plan: plan.to_vec(),
                outbox: outbox.to_vec(),
                exposures: exposures.to_vec(),
            };
            return super::sqlite::write_page(writer, rows).await;
        }
        let mut laps = Laps::start();
        let txn = self.begin_write().await.map_err(ctx("begin plan page"))?;
        let begin_us = laps.lap();
        insert_plan(&txn, run_id, plan).await?;
        let plan_us = laps.lap();
        insert_outbox(&txn, outbox).await?;
        let outbox_us = laps.lap();
        insert_exposures(&txn, run_id, exposures).await?;
        let exposures_us = laps.lap();
        txn.commit().await.map_err(ctx("commit plan page"))?;
        let laps = [begin_us, plan_us, outbox_us, exposures_us, laps.lap()];
        super::log_page_written(run_id, laps);
        Ok(())
    }

    /// The largest user id planned in a run (where a resumed plan goes on).
    pub async fn last_planned_user(&self, run_id: i64) -> Result<Option<String>, StoreError> {
        let stmt = Query::select()
            .expr_as(Func::max(Expr::col(col("user_id"))), col("last"))
            .from(col("run_recipients"))
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read last planned user"))?;
        match row {
            Some(r) => r.try_get("", "last").map_err(ctx("read last planned user")),
            None => Ok(None),
        }
    }

    /// Up to `limit` plan rows after `after`, in user-id order.
    pub async fn plan_page(
        &self,
        run_id: i64,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<PlanRow>, StoreError> {
        let mut stmt = select_plan(run_id);
        stmt.limit(limit);
        if let Some(after) = after {
            stmt.and_where(Expr::col(col("user_id")).gt(after));
        }
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read plan page"))?;
        rows.iter()
            .map(read_plan)
            .collect::<Result<_, _>>()
            .map_err(ctx("read plan page"))
    }

    /// One user's plan row in a run.
    pub async fn plan_row(
        &self,
        run_id: i64,
        user_id: &str,
    ) -> Result<Option<PlanRow>, StoreError> {
        let stmt = select_plan(run_id)
            .and_where(Expr::col(col("user_id")).eq(user_id))
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read plan row"))?;
        row.as_ref()
            .map(read_plan)
            .transpose()
            .map_err(ctx("read plan row"))
    }

    /// (decision, reason, count) for a run.
    pub async fn plan_counts(
        &self,
        run_id: i64,
    ) -> Result<Vec<(String, Option<String>, i64)>, StoreError> {
        let stmt = Query::select()
            .columns(["decision", "reason"].map(col))
            .expr_as(Expr::col(col("user_id")).count(), col("n"))
            .from(col("run_recipients"))
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .group_by_columns(["decision", "reason"].map(col))
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("count plan rows"))?;
        let mut counts = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("", "decision")?,
                    r.try_get("", "reason")?,
                    r.try_get("", "n")?,
                ))
            })
            .collect::<Result<Vec<_>, DbErr>>()
            .map_err(ctx("count plan rows"))?;
        // Sorted here: the backends disagree on where NULL reasons go.
        counts.sort();
        Ok(counts)
    }
}
