//! Runs of a campaign: open the run for a schedule slot (unique per
//! campaign and occurrence, so a slot is never run twice), read runs back,
//! hold the planner lease, and close the run.

use super::{NewRun, RunRow, col};
use crate::store::{Store, StoreError, ctx};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

const RUN_COLUMNS: [&str; 11] = [
    "run_id",
    "campaign_id",
    "occurrence",
    "status",
    "seed",
    "segment_model_id",
    "rank_model_id",
    "stats",
    "scheduled_for",
    "created_at",
    "finished_at",
];

fn read_run(r: &QueryResult) -> Result<RunRow, DbErr> {
    Ok(RunRow {
        run_id: r.try_get("", "run_id")?,
        campaign_id: r.try_get("", "campaign_id")?,
        occurrence: r.try_get("", "occurrence")?,
        status: r.try_get("", "status")?,
        seed: r.try_get("", "seed")?,
        segment_model_id: r.try_get("", "segment_model_id")?,
        rank_model_id: r.try_get("", "rank_model_id")?,
        stats: r.try_get("", "stats")?,
        scheduled_for: r.try_get("", "scheduled_for")?,
        created_at: r.try_get("", "created_at")?,
        finished_at: r.try_get("", "finished_at")?,
    })
}

fn select_runs() -> SelectStatement {
    Query::select()
        .columns(RUN_COLUMNS.map(col))
        .from(col("campaign_runs"))
        .order_by(col("run_id"), Order::Desc)
        .to_owned()
}

impl Store {
    /// Opens the run for (campaign, occurrence), or returns the existing
    /// one; the flag says whether this call created it.
    pub async fn open_run(&self, run: &NewRun) -> Result<(RunRow, bool), StoreError> {
        let insert = Query::insert()
            .into_table(col("campaign_runs"))
            .columns(
                [
                    "campaign_id",
                    "occurrence",
                    "status",
                    "seed",
                    "segment_model_id",
                    "rank_model_id",
                    "scheduled_for",
                    "created_at",
                ]
                .map(col),
            )
            .values_panic([
                run.campaign_id.into(),
                run.occurrence.clone().into(),
                run.status.clone().into(),
                run.seed.into(),
                run.segment_model_id.into(),
                run.rank_model_id.into(),
                run.scheduled_for.into(),
                run.now.into(),
            ])
            .on_conflict(
                OnConflict::columns(["campaign_id", "occurrence"].map(col))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let created = self
            .db()
            .execute(&insert)
            .await
            .map_err(ctx("open run"))?
            .rows_affected()
            == 1;
        let select = select_runs()
            .and_where(Expr::col(col("campaign_id")).eq(run.campaign_id))
            .and_where(Expr::col(col("occurrence")).eq(run.occurrence.as_str()))
            .to_owned();
        let row = self.first_run(&select, "read opened run").await?;
        let row = row
            .ok_or(DbErr::RecordNotFound(format!(
                "run of campaign {} for {}",
                run.campaign_id, run.occurrence
            )))
            .map_err(ctx("read opened run"))?;
        Ok((row, created))
    }

    /// One run.
    pub async fn run(&self, run_id: i64) -> Result<Option<RunRow>, StoreError> {
        let stmt = select_runs()
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .to_owned();
        self.first_run(&stmt, "read run").await
    }

    /// A campaign's runs, newest first.
    pub async fn runs(&self, campaign_id: i64) -> Result<Vec<RunRow>, StoreError> {
        let stmt = select_runs()
            .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
            .to_owned();
        let rows = self.db().query_all(&stmt).await.map_err(ctx("read runs"))?;
        rows.iter()
            .map(read_run)
            .collect::<Result<_, _>>()
            .map_err(ctx("read runs"))
    }

    /// The campaign's newest run still `planning` or `sending`.
    pub async fn unfinished_run(&self, campaign_id: i64) -> Result<Option<RunRow>, StoreError> {
        let stmt = select_runs()
            .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
            .and_where(Expr::col(col("status")).is_in(["planning", "sending"]))
            .limit(1)
            .to_owned();
        self.first_run(&stmt, "read unfinished run").await
    }

    /// Takes (or renews) the planner lease of a run until `until`: true
    /// when `owner` holds it now (it was free, expired, already ours, or
    /// held by a process of this host that no longer exists, e.g. a
    /// planner killed mid-run: its rerun need not wait for the lease).
    pub async fn claim_planner(
        &self,
        run_id: i64,
        owner: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let lease_free = Expr::col(col("planner_lease_owner"))
            .is_null()
            .or(Expr::col(col("planner_lease_owner")).eq(owner))
            .or(Expr::col(col("planner_lease_until")).lt(now));
        if self.take_planner(run_id, owner, until, lease_free).await? {
            return Ok(true);
        }
        match self.planner_owner(run_id).await? {
            Some(holder) if crate::dispatch::owner_is_gone(&holder) => {
                tracing::info!(run_id, %holder, %owner, "planner lease of a gone process taken over");
                let held_by_it = Expr::col(col("planner_lease_owner")).eq(holder.as_str());
                self.take_planner(run_id, owner, until, held_by_it).await
            }
            _ => Ok(false),
        }
    }

    /// Sets the planner lease to `owner` until `until` where `condition`
    /// holds; whether it did.
    async fn take_planner(
        &self,
        run_id: i64,
        owner: &str,
        until: i64,
        condition: sea_orm::sea_query::SimpleExpr,
    ) -> Result<bool, StoreError> {
        let stmt = Query::update()
            .table(col("campaign_runs"))
            .value(col("planner_lease_owner"), owner)
            .value(col("planner_lease_until"), until)
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .and_where(condition)
            .to_owned();
        let result = self
            .db()
            .execute(&stmt)
            .await
            .map_err(ctx("claim planner lease"))?;
        Ok(result.rows_affected() == 1)
    }

    /// Who holds a run's planner lease, if anyone.
    async fn planner_owner(&self, run_id: i64) -> Result<Option<String>, StoreError> {
        let stmt = Query::select()
            .column(col("planner_lease_owner"))
            .from(col("campaign_runs"))
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .to_owned();
        let row = (self.db().query_one(&stmt).await).map_err(ctx("read planner lease"))?;
        let owner = row.map(|r| r.try_get::<Option<String>>("", "planner_lease_owner"));
        Ok(owner
            .transpose()
            .map_err(ctx("read planner lease"))?
            .flatten())
    }

    /// Sets a run's status, its stats (when given) and its finish time.
    pub async fn set_run_status(
        &self,
        run_id: i64,
        status: &str,
        stats: Option<&str>,
        finished_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut stmt = Query::update();
        stmt.table(col("campaign_runs"))
            .value(col("status"), status)
            .value(col("finished_at"), finished_at)
            .and_where(Expr::col(col("run_id")).eq(run_id));
        if let Some(stats) = stats {
            stmt.value(col("stats"), stats);
        }
        self.db()
            .execute(&stmt)
            .await
            .map_err(ctx("set run status"))?;
        Ok(())
    }

    /// Runs `stmt` and reads its first row as a run.
    async fn first_run(
        &self,
        stmt: &SelectStatement,
        what: &'static str,
    ) -> Result<Option<RunRow>, StoreError> {
        let row = self.db().query_one(stmt).await.map_err(ctx(what))?;
        row.as_ref().map(read_run).transpose().map_err(ctx(what))
    }
}
