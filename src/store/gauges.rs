//! Cheap reads for gauges scraped by `/metrics`.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};

use super::{Store, StoreError, ctx};

impl Store {
    /// The number of pending outbox rows (one `COUNT`).
    pub async fn pending_outbox_count(&self) -> Result<u64, StoreError> {
        self.count_outbox(
            Expr::col(Alias::new("status")).eq("pending"),
            "count pending outbox rows",
        )
        .await
    }

    /// The number of outbox rows a worker holds a lease on (zero after
    /// every worker shut down gracefully).
    pub async fn leased_outbox_count(&self) -> Result<u64, StoreError> {
        self.count_outbox(
            Expr::col(Alias::new("lease_owner")).is_not_null(),
            "count leased outbox rows",
        )
        .await
    }

    /// `COUNT` of the outbox rows matching `filter`.
    async fn count_outbox(&self, filter: Expr, what: &'static str) -> Result<u64, StoreError> {
        let select = Query::select()
            .expr_as(Expr::col(Alias::new("outbox_id")).count(), Alias::new("n"))
            .from(Alias::new("outbox"))
            .and_where(filter)
            .to_owned();
        let row = self.db().query_one(&select).await.map_err(ctx(what))?;
        let n: i64 = match row {
            Some(row) => row.try_get("", "n").map_err(ctx(what))?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
