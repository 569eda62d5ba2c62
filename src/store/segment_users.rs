//! Keyset paging over the users of one segment of a model.

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};

impl Store {
    /// Up to `limit` user ids of segment `segment_id` under `model_id`,
    /// ascending, strictly after `after` when given.
    pub async fn segment_users(
        &self,
        model_id: i64,
        segment_id: i32,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        let col = |name: &str| Alias::new(name);
        let mut stmt = Query::select();
        stmt.column(col("user_id"))
            .from(col("segment_assignments"))
            .and_where(Expr::col(col("model_id")).eq(model_id))
            .and_where(Expr::col(col("segment_id")).eq(segment_id))
            .order_by(col("user_id"), Order::Asc)
            .limit(limit);
        if let Some(after) = after {
            stmt.and_where(Expr::col(col("user_id")).gt(after));
        }
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read segment users"))?;
        rows.iter()
            .map(|r| r.try_get("", "user_id"))
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read segment users"))
    }
}
