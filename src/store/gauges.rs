//! Cheap reads for gauges scraped by `/metrics`.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};

use super::{Store, StoreError, ctx};

impl Store {
    /// The number of pending outbox rows (one `COUNT`).
    pub async fn pending_outbox_count(&self) -> Result<u64, StoreError> {
        let select = Query::select()
            .expr_as(Expr::col(Alias::new("outbox_id")).count(), Alias::new("n"))
            .from(Alias::new("outbox"))
            .and_where(Expr::col(Alias::new("status")).eq("pending"))
            .to_owned();
        let row = self
            .db()
            .query_one(&select)
            .await
            .map_err(ctx("count pending outbox rows"))?;
        let n: i64 = match row {
            Some(row) => row
                .try_get("", "n")
                .map_err(ctx("count pending outbox rows"))?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
