//! Small read queries used by the CLI and tests: row counts per table.

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};

/// The tables whose sizes `count` may report.
pub const TABLES: [&str; 5] = ["users", "consents", "devices", "items", "events"];

impl Store {
    /// Number of rows in one of [`TABLES`].
    pub async fn count(&self, table: &str) -> Result<u64, StoreError> {
        let Some(table) = TABLES.iter().find(|t| **t == table) else {
            return Err(StoreError::Query {
                what: "count rows",
                source: sea_orm::DbErr::Custom(format!("unknown table {table}")),
            });
        };
        let stmt = Query::select()
            .expr_as(
                Expr::col(sea_orm::sea_query::Asterisk).count(),
                Alias::new("n"),
            )
            .from(Alias::new(*table))
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("count rows"))?;
        let n: i64 = match row {
            Some(row) => row.try_get("", "n").map_err(ctx("read count"))?,
            None => 0,
        };
        Ok(n as u64)
    }
}

/// A user as stored, for reads outside the hot paths.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    /// The customer's id.
    pub user_id: String,
    /// Email address, if known.
    pub email: Option<String>,
    /// E.164 phone, if known.
    pub phone: Option<String>,
    /// IANA timezone, if known.
    pub timezone: Option<String>,
    /// Extra attributes.
    pub attributes: serde_json::Value,
}

impl Store {
    /// One user by id.
    pub async fn user(&self, user_id: &str) -> Result<Option<StoredUser>, StoreError> {
        let stmt = Query::select()
            .columns(["user_id", "email", "phone", "timezone", "attributes"].map(Alias::new))
            .from(Alias::new("users"))
            .and_where(Expr::col(Alias::new("user_id")).eq(user_id))
            .to_owned();
        let Some(row) = self.db().query_one(&stmt).await.map_err(ctx("read user"))? else {
            return Ok(None);
        };
        let attributes: String = row.try_get("", "attributes").map_err(ctx("read user"))?;
        Ok(Some(StoredUser {
            user_id: row.try_get("", "user_id").map_err(ctx("read user"))?,
            email: row.try_get("", "email").map_err(ctx("read user"))?,
            phone: row.try_get("", "phone").map_err(ctx("read user"))?,
            timezone: row.try_get("", "timezone").map_err(ctx("read user"))?,
            attributes: serde_json::from_str(&attributes).unwrap_or_default(),
        }))
    }
}
