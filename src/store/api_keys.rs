//! API keys (the `api_keys` table): insert a key's name, visible prefix
//! and SHA-256 hash (never the key itself), list them, find one by its
//! prefix, revoke one, and note when one was last used.

use super::{Store, StoreError, ctx};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

/// A stored API key (its hash, not the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRow {
    /// Its id.
    pub key_id: i64,
    /// What it is for, as given at creation.
    pub name: String,
    /// The visible start of the key (`hk_XXXXXXXX`), unique.
    pub prefix: String,
    /// Lowercase hex SHA-256 of the whole key.
    pub hash: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// When it was revoked (ms), if it was.
    pub revoked_at: Option<i64>,
    /// When a request last used it (ms, coarse), if ever.
    pub last_used_at: Option<i64>,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

const COLUMNS: [&str; 7] = [
    "key_id",
    "name",
    "prefix",
    "hash",
    "created_at",
    "revoked_at",
    "last_used_at",
];

fn select_keys() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(col))
        .from(col("api_keys"))
        .order_by(col("key_id"), Order::Asc)
        .to_owned()
}

fn read_key(row: &QueryResult) -> Result<ApiKeyRow, DbErr> {
    Ok(ApiKeyRow {
        key_id: row.try_get("", "key_id")?,
        name: row.try_get("", "name")?,
        prefix: row.try_get("", "prefix")?,
        hash: row.try_get("", "hash")?,
        created_at: row.try_get("", "created_at")?,
        revoked_at: row.try_get("", "revoked_at")?,
        last_used_at: row.try_get("", "last_used_at")?,
    })
}

impl Store {
    /// Stores a new key's name, prefix and hash at `now`; returns its id.
    pub async fn insert_api_key(
        &self,
        name: &str,
        prefix: &str,
        hash: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let insert = Query::insert()
            .into_table(col("api_keys"))
            .columns(["name", "prefix", "hash", "created_at"].map(col))
            .values_panic([name.into(), prefix.into(), hash.into(), now.into()])
            .returning_col(col("key_id"))
            .to_owned();
        let row = self
            .db()
            .query_one(&insert)
            .await
            .map_err(ctx("insert api key"))?
            .ok_or(DbErr::RecordNotInserted)
            .map_err(ctx("insert api key"))?;
        row.try_get("", "key_id").map_err(ctx("read api key id"))
    }

    /// Every key, by id.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let rows = self
            .db()
            .query_all(&select_keys())
            .await
            .map_err(ctx("read api keys"))?;
        rows.iter()
            .map(read_key)
            .collect::<Result<_, _>>()
            .map_err(ctx("read api keys"))
    }

    /// The key with this visible prefix.
    pub async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let stmt = select_keys()
            .and_where(Expr::col(col("prefix")).eq(prefix))
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read api key"))?;
        row.as_ref()
            .map(read_key)
            .transpose()
            .map_err(ctx("read api key"))
    }

    /// Revokes a key at `now` (a revoked key keeps its first revocation
    /// time); false when there is no such key.
    pub async fn revoke_api_key(&self, key_id: i64, now: i64) -> Result<bool, StoreError> {
        let stmt = Query::update()
            .table(col("api_keys"))
            .value(col("revoked_at"), Expr::col(col("revoked_at")).if_null(now))
            .and_where(Expr::col(col("key_id")).eq(key_id))
            .to_owned();
        let result = self
            .db()
            .execute(&stmt)
            .await
            .map_err(ctx("revoke api key"))?;
        Ok(result.rows_affected() > 0)
    }

    /// Notes that a key was used at `now`.
    pub async fn touch_api_key(&self, key_id: i64, now: i64) -> Result<(), StoreError> {
        let stmt = Query::update()
            .table(col("api_keys"))
            .value(col("last_used_at"), now)
            .and_where(Expr::col(col("key_id")).eq(key_id))
            .to_owned();
        self.db()
            .execute(&stmt)
            .await
            .map_err(ctx("note api key use"))?;
        Ok(())
    }
}
