//! Outbox leases besides the claim: renewing the rows a worker still has
//! in flight (so a long batch does not lose them), listing who holds
//! leases (to free those of processes that are gone), and releasing a
//! worker's leases (graceful shutdown, or its process died).

use super::{IN_CHUNK, col};
use crate::store::{Store, StoreError, ctx};
use sea_orm::sea_query::{Expr, ExprTrait, Query, Value};
use sea_orm::{ConnectionTrait, DbErr};

impl Store {
    /// Extends `owner`'s lease on the pending rows `outbox_ids` to `until`
    /// (ms); rows it no longer holds are left alone. Returns the rows
    /// renewed.
    pub async fn renew_leases(
        &self,
        owner: &str,
        outbox_ids: &[i64],
        until: i64,
    ) -> Result<u64, StoreError> {
        let mut renewed = 0;
        for chunk in outbox_ids.chunks(IN_CHUNK) {
            let stmt = Query::update()
                .table(col("outbox"))
                .value(col("lease_until"), until)
                .and_where(Expr::col(col("outbox_id")).is_in(chunk.iter().copied()))
                .and_where(Expr::col(col("lease_owner")).eq(owner))
                .and_where(Expr::col(col("status")).eq("pending"))
                .to_owned();
            let result = (self.db().execute(&stmt).await).map_err(ctx("renew outbox leases"))?;
            renewed += result.rows_affected();
        }
        Ok(renewed)
    }

    /// The distinct owners of the leases on pending rows, expired or not.
    pub async fn outbox_lease_owners(&self) -> Result<Vec<String>, StoreError> {
        let stmt = Query::select()
            .distinct()
            .column(col("lease_owner"))
            .from(col("outbox"))
            .and_where(Expr::col(col("status")).eq("pending"))
            .and_where(Expr::col(col("lease_owner")).is_not_null())
            .to_owned();
        let rows = (self.db().query_all(&stmt).await).map_err(ctx("read outbox lease owners"))?;
        rows.iter()
            .map(|r| r.try_get("", "lease_owner"))
            .collect::<Result<_, DbErr>>()
            .map_err(ctx("read outbox lease owners"))
    }

    /// Releases every lease `owner` holds on pending rows (graceful
    /// shutdown, or its process is gone); returns how many.
    pub async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let stmt = Query::update()
            .table(col("outbox"))
            .value(col("lease_owner"), Value::String(None))
            .value(col("lease_until"), Value::BigInt(None))
            .and_where(Expr::col(col("lease_owner")).eq(owner))
            .and_where(Expr::col(col("status")).eq("pending"))
            .to_owned();
        let result = self
            .db()
            .execute(&stmt)
            .await
            .map_err(ctx("release leases"))?;
        Ok(result.rows_affected())
    }
}
