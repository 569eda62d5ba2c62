//! Secrets herald generates for itself (the `secrets` table), and the
//! health check. A secret is created once: the first caller's candidate
//! is inserted and every later caller, in this process or another, reads
//! that same value back, so a key survives restarts and is shared by every
//! process on the database.

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};

impl Store {
    /// The secret called `name`, inserting `candidate` (generated at `now`,
    /// ms) when there is none yet. Concurrent callers all get the value that
    /// was inserted first.
    pub async fn secret_or_insert(
        &self,
        name: &str,
        candidate: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        let insert = Query::insert()
            .into_table(Alias::new("secrets"))
            .columns(["name", "value", "created_at"].map(Alias::new))
            .values_panic([name.into(), candidate.into(), now.into()])
            .on_conflict(
                OnConflict::column(Alias::new("name"))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        self.db()
            .execute(&insert)
            .await
            .map_err(ctx("store a generated secret"))?;
        let select = Query::select()
            .column(Alias::new("value"))
            .from(Alias::new("secrets"))
            .and_where(Expr::col(Alias::new("name")).eq(name))
            .to_owned();
        let row = self
            .db()
            .query_one(&select)
            .await
            .map_err(ctx("read a generated secret"))?
            .ok_or(sea_orm::DbErr::RecordNotFound(format!("secret {name}")))
            .map_err(ctx("read a generated secret"))?;
        row.try_get("", "value")
            .map_err(ctx("read a generated secret"))
    }

    /// Whether the database answers (`/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db().ping().await.map_err(ctx("ping the database"))
    }
}
