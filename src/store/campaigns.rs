//! Campaigns and their runs: create a campaign with its variants, list and
//! read them, replace a draft's file, change their status; open a run for a schedule slot (unique
//! per campaign and occurrence, so a slot is never run twice), hold the
//! planner lease so only one process plans a run, and close the run.

mod runs;

use super::{Store, StoreError, ctx};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, QueryResult};

/// A stored campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRow {
    /// Its id.
    pub campaign_id: i64,
    /// Display name.
    pub name: String,
    /// The campaign file as given: `{"format": "toml"|"json", "text": ...}`.
    pub spec: String,
    /// `draft`, `scheduled`, `paused`, `cancelled` or `done`.
    pub status: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// A campaign to insert, with its variants.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    /// Display name.
    pub name: String,
    /// The campaign file as given (see [`CampaignRow::spec`]).
    pub spec: String,
    /// Initial status (`scheduled` or `draft`).
    pub status: String,
    /// (name, weight, content JSON) per variant.
    pub variants: Vec<(String, f64, String)>,
    /// Creation time (ms).
    pub now: i64,
}

/// One run of a campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    /// Its id.
    pub run_id: i64,
    /// The campaign.
    pub campaign_id: i64,
    /// The schedule slot it serves (RFC 3339 instant, trigger batch key,
    /// `manual-N`, `dry-run-N`); unique per campaign.
    pub occurrence: String,
    /// `planning`, `sending`, `done`, `cancelled` or `dry_run`.
    pub status: String,
    /// Seed for anything random in planning.
    pub seed: i64,
    /// Segment model the plan used.
    pub segment_model_id: Option<i64>,
    /// Ranking model the plan used.
    pub rank_model_id: Option<i64>,
    /// Planning summary (JSON).
    pub stats: String,
    /// The slot's instant (ms).
    pub scheduled_for: i64,
    /// When the run was opened (ms).
    pub created_at: i64,
    /// When it finished (ms).
    pub finished_at: Option<i64>,
}

/// A run to open.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The campaign.
    pub campaign_id: i64,
    /// The slot (see [`RunRow::occurrence`]).
    pub occurrence: String,
    /// Initial status (`planning` or `dry_run`).
    pub status: String,
    /// Planning seed.
    pub seed: i64,
    /// Segment model in force.
    pub segment_model_id: Option<i64>,
    /// Ranking model in force.
    pub rank_model_id: Option<i64>,
    /// The slot's instant (ms).
    pub scheduled_for: i64,
    /// Now (ms).
    pub now: i64,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

const CAMPAIGN_COLUMNS: [&str; 6] = [
    "campaign_id",
    "name",
    "spec",
    "status",
    "created_at",
    "updated_at",
];

fn read_campaign(r: &QueryResult) -> Result<CampaignRow, DbErr> {
    Ok(CampaignRow {
        campaign_id: r.try_get("", "campaign_id")?,
        name: r.try_get("", "name")?,
        spec: r.try_get("", "spec")?,
        status: r.try_get("", "status")?,
        created_at: r.try_get("", "created_at")?,
        updated_at: r.try_get("", "updated_at")?,
    })
}

fn select_campaigns() -> SelectStatement {
    Query::select()
        .columns(CAMPAIGN_COLUMNS.map(col))
        .from(col("campaigns"))
        .order_by(col("campaign_id"), Order::Asc)
        .to_owned()
}

/// Inserts (name, weight, content) variants of a campaign.
async fn insert_variants(
    txn: &DatabaseTransaction,
    campaign_id: i64,
    variants: &[(String, f64, String)],
) -> Result<(), StoreError> {
    if variants.is_empty() {
        return Ok(());
    }
    let mut stmt = Query::insert();
    stmt.into_table(col("variants"))
        .columns(["campaign_id", "name", "weight", "content"].map(col));
    for (name, weight, content) in variants {
        stmt.values_panic([
            campaign_id.into(),
            name.clone().into(),
            (*weight).into(),
            content.clone().into(),
        ]);
    }
    txn.execute(&stmt).await.map_err(ctx("insert variants"))?;
    Ok(())
}

impl Store {
    /// Inserts a campaign and its variants in one transaction; returns its id.
    pub async fn insert_campaign(&self, campaign: &NewCampaign) -> Result<i64, StoreError> {
        let txn = self.begin_write().await.map_err(ctx("begin campaign"))?;
        let insert = Query::insert()
            .into_table(col("campaigns"))
            .columns(["name", "spec", "status", "created_at", "updated_at"].map(col))
            .values_panic([
                campaign.name.clone().into(),
                campaign.spec.clone().into(),
                campaign.status.clone().into(),
                campaign.now.into(),
                campaign.now.into(),
            ])
            .returning_col(col("campaign_id"))
            .to_owned();
        let row = txn
            .query_one(&insert)
            .await
            .map_err(ctx("insert campaign"))?
            .ok_or(DbErr::RecordNotInserted)
            .map_err(ctx("insert campaign"))?;
        let campaign_id: i64 = row
            .try_get("", "campaign_id")
            .map_err(ctx("read campaign id"))?;
        insert_variants(&txn, campaign_id, &campaign.variants).await?;
        txn.commit().await.map_err(ctx("commit campaign"))?;
        Ok(campaign_id)
    }

    /// Deletes the campaigns named `name` with everything their runs left:
    /// exposures (which carry no foreign key), then the campaigns, whose
    /// deletion cascades to variants, runs, plan rows, outbox rows and
    /// delivery attempts. One transaction; returns the campaigns deleted.
    pub async fn delete_campaigns_named(&self, name: &str) -> Result<u64, StoreError> {
        let runs = Query::select()
            .column((col("campaign_runs"), col("run_id")))
            .from(col("campaign_runs"))
            .inner_join(
                col("campaigns"),
                Expr::col((col("campaigns"), col("campaign_id")))
                    .equals((col("campaign_runs"), col("campaign_id"))),
            )
            .and_where(Expr::col((col("campaigns"), col("name"))).eq(name))
            .to_owned();
        let exposures = Query::delete()
            .from_table(col("exposures"))
            .and_where(Expr::col(col("run_id")).in_subquery(runs))
            .to_owned();
        let campaigns = Query::delete()
            .from_table(col("campaigns"))
            .and_where(Expr::col(col("name")).eq(name))
            .to_owned();
        let txn = self.begin_write().await.map_err(ctx("begin delete"))?;
        txn.execute(&exposures)
            .await
            .map_err(ctx("delete exposures"))?;
        let deleted = txn
            .execute(&campaigns)
            .await
            .map_err(ctx("delete campaigns"))?;
        txn.commit().await.map_err(ctx("commit delete"))?;
        Ok(deleted.rows_affected())
    }

    /// Replaces a draft's name, file and variants with `campaign`'s in
    /// one transaction; false (nothing changed) when campaign `campaign_id`
    /// is not a draft.
    pub async fn replace_draft(
        &self,
        campaign_id: i64,
        campaign: &NewCampaign,
    ) -> Result<bool, StoreError> {
        let txn = self
            .begin_write()
            .await
            .map_err(ctx("begin draft update"))?;
        let update = Query::update()
            .table(col("campaigns"))
            .value(col("name"), campaign.name.clone())
            .value(col("spec"), campaign.spec.clone())
            .value(col("updated_at"), campaign.now)
            .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
            .and_where(Expr::col(col("status")).eq("draft"))
            .to_owned();
        let updated = txn.execute(&update).await.map_err(ctx("update draft"))?;
        if updated.rows_affected() == 0 {
            txn.rollback()
                .await
                .map_err(ctx("roll back draft update"))?;
            return Ok(false);
        }
        let delete = Query::delete()
            .from_table(col("variants"))
            .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
            .to_owned();
        txn.execute(&delete)
            .await
            .map_err(ctx("replace variants"))?;
        insert_variants(&txn, campaign_id, &campaign.variants).await?;
        txn.commit().await.map_err(ctx("commit draft update"))?;
        Ok(true)
    }

    /// Every campaign, by id.
    pub async fn campaigns(&self) -> Result<Vec<CampaignRow>, StoreError> {
        let rows = self
            .db()
            .query_all(&select_campaigns())
            .await
            .map_err(ctx("read campaigns"))?;
        rows.iter()
            .map(read_campaign)
            .collect::<Result<_, _>>()
            .map_err(ctx("read campaigns"))
    }

    /// One campaign.
    pub async fn campaign(&self, campaign_id: i64) -> Result<Option<CampaignRow>, StoreError> {
        let stmt = select_campaigns()
            .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read campaign"))?;
        row.as_ref()
            .map(read_campaign)
            .transpose()
            .map_err(ctx("read campaign"))
    }

    /// Sets a campaign's status; false when there is no such campaign.
    pub async fn set_campaign_status(
        &self,
        campaign_id: i64,
        status: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let stmt = Query::update()
            .table(col("campaigns"))
            .value(col("status"), status)
            .value(col("updated_at"), now)
            .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
            .to_owned();
        let result = self
            .db()
            .execute(&stmt)
            .await
            .map_err(ctx("set campaign status"))?;
        Ok(result.rows_affected() > 0)
    }

    /// Distinct user timezones (`UTC` for users without one), for
    /// user-timezone cron schedules.
    pub async fn user_timezones(&self) -> Result<Vec<String>, StoreError> {
        let stmt = Query::select()
            .distinct()
            .expr_as(
                Func::coalesce([Expr::col(col("timezone")), Expr::val("UTC")]),
                col("tz"),
            )
            .from(col("users"))
            .order_by(col("tz"), Order::Asc)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read user timezones"))?;
        rows.iter()
            .map(|r| r.try_get("", "tz"))
            .collect::<Result<_, _>>()
            .map_err(ctx("read user timezones"))
    }
}
