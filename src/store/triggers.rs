//! Event triggers: find the events that fire a trigger (in arrival
//! order, see `crate::scheduler::triggers`), record each fire once per
//! (campaign, user, window) and hand due fires to a run.

use super::{Store, StoreError, ctx};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use std::collections::BTreeMap;

/// An event that may fire a trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerEvent {
    /// The event's id (a hash of its content).
    pub event_id: i64,
    /// The user.
    pub user_id: String,
    /// When it happened (ms).
    pub ts: i64,
    /// When it arrived (ms on the ingesting process's clock; 0 for rows
    /// stored before arrivals were recorded).
    pub received_at: i64,
}

/// A recorded fire waiting for (or attached to) a run.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerFire {
    /// The user.
    pub user_id: String,
    /// The dedup window.
    pub window_key: String,
    /// When the message is due (ms).
    pub fire_at: i64,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// `events.name`. Qualified on purpose: on a SQLite connection whose
/// schema view predates the migration that added `received_at`, a bare
/// `"received_at"` would be read as a string literal (SQLite's quoted
/// identifier fallback) instead of failing and re-reading the schema.
fn events(name: &str) -> (Alias, Alias) {
    (col("events"), col(name))
}

/// Users per `IN (...)` list.
const IN_CHUNK: usize = 1000;

fn read_event(r: &QueryResult) -> Result<TriggerEvent, DbErr> {
    Ok(TriggerEvent {
        event_id: r.try_get("", "event_id")?,
        user_id: r.try_get("", "user_id")?,
        ts: r.try_get("", "ts")?,
        received_at: r.try_get("", "received_at")?,
    })
}

fn read_fire(r: &QueryResult) -> Result<TriggerFire, DbErr> {
    Ok(TriggerFire {
        user_id: r.try_get("", "user_id")?,
        window_key: r.try_get("", "window_key")?,
        fire_at: r.try_get("", "fire_at")?,
    })
}

/// The fires' users grouped by window, so one statement attaches a whole
/// window's fires.
fn users_by_window(fires: &[TriggerFire]) -> BTreeMap<&str, Vec<&str>> {
    let mut windows: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for fire in fires {
        windows
            .entry(fire.window_key.as_str())
            .or_default()
            .push(fire.user_id.as_str());
    }
    windows
}

impl Store {
    /// Events named `event` stamped at or after `min_ts` that arrived at
    /// or after `received_from` (ms on the ingest clock; `None` reads
    /// every arrival, old rows included), in arrival order.
    pub async fn trigger_events(
        &self,
        event: &str,
        min_ts: i64,
        received_from: Option<i64>,
    ) -> Result<Vec<TriggerEvent>, StoreError> {
        let mut stmt = Query::select()
            .columns(["event_id", "user_id", "ts", "received_at"].map(events))
            .from(col("events"))
            .and_where(Expr::col(events("event")).eq(event))
            .and_where(Expr::col(events("ts")).gte(min_ts))
            .order_by(events("received_at"), Order::Asc)
            .order_by(events("event_id"), Order::Asc)
            .to_owned();
        if let Some(from) = received_from {
            stmt.and_where(Expr::col(events("received_at")).gte(from));
        }
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read trigger events"))?;
        rows.iter()
            .map(read_event)
            .collect::<Result<_, DbErr>>()
            .map_err(ctx("read trigger events"))
    }

    /// The latest arrival (ms on the ingest clock) of an event named
    /// `event`; 0 when none arrived since arrivals were recorded.
    pub async fn latest_arrival(&self, event: &str) -> Result<i64, StoreError> {
        let stmt = Query::select()
            .expr_as(Expr::col(events("received_at")).max(), col("latest"))
            .from(col("events"))
            .and_where(Expr::col(events("event")).eq(event))
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read latest event arrival"))?;
        let latest: Option<i64> = match row {
            Some(row) => row
                .try_get("", "latest")
                .map_err(ctx("read latest event arrival"))?,
            None => None,
        };
        Ok(latest.unwrap_or(0))
    }

    /// Records a fire; false when (campaign, user, window) already fired.
    pub async fn record_trigger_fire(
        &self,
        campaign_id: i64,
        fire: &TriggerFire,
        now: i64,
    ) -> Result<bool, StoreError> {
        let stmt = Query::insert()
            .into_table(col("trigger_fires"))
            .columns(
                [
                    "campaign_id",
                    "user_id",
                    "window_key",
                    "fire_at",
                    "created_at",
                ]
                .map(col),
            )
            .values_panic([
                campaign_id.into(),
                fire.user_id.clone().into(),
                fire.window_key.clone().into(),
                fire.fire_at.into(),
                now.into(),
            ])
            .on_conflict(
                OnConflict::columns(["campaign_id", "user_id", "window_key"].map(col))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let result = self
            .db()
            .execute(&stmt)
            .await
            .map_err(ctx("record trigger fire"))?;
        Ok(result.rows_affected() == 1)
    }

    /// Fires of a campaign due by `now` and not yet given to a run.
    pub async fn due_trigger_fires(
        &self,
        campaign_id: i64,
        now: i64,
        limit: u64,
    ) -> Result<Vec<TriggerFire>, StoreError> {
        let stmt = Query::select()
            .columns(["user_id", "window_key", "fire_at"].map(col))
            .from(col("trigger_fires"))
            .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
            .and_where(Expr::col(col("run_id")).is_null())
            .and_where(Expr::col(col("fire_at")).lte(now))
            .order_by(col("fire_at"), Order::Asc)
            .order_by(col("user_id"), Order::Asc)
            .order_by(col("window_key"), Order::Asc)
            .limit(limit)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read due trigger fires"))?;
        rows.iter()
            .map(read_fire)
            .collect::<Result<_, _>>()
            .map_err(ctx("read due trigger fires"))
    }

    /// Attaches fires to the run that sends them. Fires already attached
    /// to a run stay with it.
    pub async fn attach_trigger_fires(
        &self,
        campaign_id: i64,
        fires: &[TriggerFire],
        run_id: i64,
    ) -> Result<(), StoreError> {
        let txn = self
            .begin_write()
            .await
            .map_err(ctx("begin attach fires"))?;
        for (window, users) in users_by_window(fires) {
            for chunk in users.chunks(IN_CHUNK) {
                let stmt = Query::update()
                    .table(col("trigger_fires"))
                    .value(col("run_id"), run_id)
                    .and_where(Expr::col(col("campaign_id")).eq(campaign_id))
                    .and_where(Expr::col(col("window_key")).eq(window))
                    .and_where(Expr::col(col("run_id")).is_null())
                    .and_where(Expr::col(col("user_id")).is_in(chunk.iter().copied()))
                    .to_owned();
                txn.execute(&stmt)
                    .await
                    .map_err(ctx("attach trigger fires"))?;
            }
        }
        txn.commit().await.map_err(ctx("commit attach fires"))
    }

    /// The users of a run's attached fires, in user-id order.
    pub async fn run_trigger_users(&self, run_id: i64) -> Result<Vec<String>, StoreError> {
        let stmt = Query::select()
            .distinct()
            .column(col("user_id"))
            .from(col("trigger_fires"))
            .and_where(Expr::col(col("run_id")).eq(run_id))
            .order_by(col("user_id"), Order::Asc)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read run trigger users"))?;
        rows.iter()
            .map(|r| r.try_get("", "user_id"))
            .collect::<Result<_, _>>()
            .map_err(ctx("read run trigger users"))
    }
}
