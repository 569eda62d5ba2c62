//! Devices for sending: each user's active push tokens (newest first), one
//! device by its token, deactivation when a provider says a token is
//! dead, and reactivation when the app registers the token again after
//! that (a registration newer than the deactivation: the token works, or
//! it was wrongly marked dead, e.g. by a settings error).

use super::{Store, StoreError, ctx};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, Value};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};
use std::collections::{HashMap, HashSet};

/// An active device.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRow {
    /// Its id.
    pub device_id: i64,
    /// The owner.
    pub user_id: String,
    /// `ios`, `android` or `web`.
    pub platform: String,
    /// The provider token.
    pub token: String,
    /// Registration time (ms).
    pub created_at: i64,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// Users per `IN (...)` list.
const IN_CHUNK: usize = 1000;

fn read_device(r: &QueryResult) -> Result<DeviceRow, DbErr> {
    Ok(DeviceRow {
        device_id: r.try_get("", "device_id")?,
        user_id: r.try_get("", "user_id")?,
        platform: r.try_get("", "platform")?,
        token: r.try_get("", "token")?,
        created_at: r.try_get("", "created_at")?,
    })
}

/// Deactivates a device on `conn` (the pool, or the transaction that
/// records the attempt which found the token dead); false when it was
/// already inactive.
pub(super) async fn deactivate(
    conn: &impl ConnectionTrait,
    device_id: i64,
    reason: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(col("devices"))
        .value(col("active"), false)
        .value(col("deactivated_at"), now)
        .value(col("deactivation_reason"), reason)
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("device_id")).eq(device_id))
        .and_where(Expr::col(col("active")).eq(true))
        .to_owned();
    let result = conn
        .execute(&stmt)
        .await
        .map_err(ctx("deactivate device"))?;
    Ok(result.rows_affected() > 0)
}

/// A registration of a token at a known instant: `(platform, token,
/// registered_at ms)`.
pub(super) type Registration<'a> = (&'a str, &'a str, i64);

/// Registrations per statement (3 parameters each).
const REACTIVATE_CHUNK: usize = 500;

/// Reactivates inactive devices registered again after they were
/// deactivated (`registered_at > deactivated_at`), taking the new
/// registration time; an older or equal registration leaves a dead
/// token dead. Same SQL on SQLite (3.33+) and PostgreSQL.
pub(super) async fn reactivate_registered(
    conn: &impl ConnectionTrait,
    registrations: &[Registration<'_>],
    now: i64,
) -> Result<u64, StoreError> {
    let mut revived = 0;
    for chunk in registrations.chunks(REACTIVATE_CHUNK) {
        let mut values: Vec<Value> = vec![now.into(), true.into(), false.into()];
        let mut rows = Vec::with_capacity(chunk.len());
        for (i, (platform, token, at)) in chunk.iter().enumerate() {
            let p = 4 + i * 3;
            rows.push(format!("(${p}, ${}, ${})", p + 1, p + 2));
            values.extend([(*platform).into(), (*token).into(), (*at).into()]);
        }
        let sql = format!(
            "WITH v(platform, token, registered_at) AS (VALUES {}) \
             UPDATE devices SET active = $2, deactivated_at = NULL, deactivation_reason = NULL, \
               created_at = v.registered_at, updated_at = $1 \
             FROM v WHERE devices.platform = v.platform AND devices.token = v.token \
               AND devices.active = $3 AND devices.deactivated_at < v.registered_at",
            rows.join(", ")
        );
        let stmt = Statement::from_sql_and_values(conn.get_database_backend(), sql, values);
        let result = (conn.execute_raw(stmt).await).map_err(ctx("reactivate devices"))?;
        revived += result.rows_affected();
    }
    Ok(revived)
}

impl Store {
    /// The platforms (`ios`, `android`, `web`) that have an active device.
    pub async fn active_device_platforms(&self) -> Result<Vec<String>, StoreError> {
        let stmt = Query::select()
            .distinct()
            .column(col("platform"))
            .from(col("devices"))
            .and_where(Expr::col(col("active")).eq(true))
            .to_owned();
        let rows = (self.db().query_all(&stmt).await).map_err(ctx("read device platforms"))?;
        rows.iter()
            .map(|r| r.try_get("", "platform"))
            .collect::<Result<_, _>>()
            .map_err(ctx("read device platforms"))
    }

    /// Active devices of the given users, newest first per user.
    pub async fn active_devices(
        &self,
        user_ids: &[String],
    ) -> Result<HashMap<String, Vec<DeviceRow>>, StoreError> {
        let mut seen = HashSet::new();
        let unique: Vec<&str> = user_ids
            .iter()
            .map(String::as_str)
            .filter(|u| seen.insert(*u))
            .collect();
        let mut devices: HashMap<String, Vec<DeviceRow>> = HashMap::new();
        for chunk in unique.chunks(IN_CHUNK) {
            let stmt = Query::select()
                .columns(["device_id", "user_id", "platform", "token", "created_at"].map(col))
                .from(col("devices"))
                .and_where(Expr::col(col("active")).eq(true))
                .and_where(Expr::col(col("user_id")).is_in(chunk.iter().copied()))
                .order_by(col("created_at"), Order::Desc)
                .order_by(col("device_id"), Order::Desc)
                .to_owned();
            let rows = self
                .db()
                .query_all(&stmt)
                .await
                .map_err(ctx("read active devices"))?;
            for r in &rows {
                let device = read_device(r).map_err(ctx("read active devices"))?;
                devices
                    .entry(device.user_id.clone())
                    .or_default()
                    .push(device);
            }
        }
        Ok(devices)
    }

    /// The active device with this provider token, if any.
    pub async fn active_device_by_token(
        &self,
        token: &str,
    ) -> Result<Option<DeviceRow>, StoreError> {
        let stmt = Query::select()
            .columns(["device_id", "user_id", "platform", "token", "created_at"].map(col))
            .from(col("devices"))
            .and_where(Expr::col(col("active")).eq(true))
            .and_where(Expr::col(col("token")).eq(token))
            .order_by(col("device_id"), Order::Desc)
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read device"))?;
        row.as_ref()
            .map(read_device)
            .transpose()
            .map_err(ctx("read device"))
    }

    /// Deactivates a device with a reason; false when it was already inactive.
    pub async fn deactivate_device(
        &self,
        device_id: i64,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        deactivate(self.db(), device_id, reason, now).await
    }
}
