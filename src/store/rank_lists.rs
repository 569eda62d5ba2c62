//! Precomputed recommendation lists: one encoded list per (ranking model,
//! user), written in batches after the model is trained, then marked
//! complete (a `rank_list_sets` row with a JSON description) in the same
//! transaction that drops older models' lists. Readers look
//! up a page of users at a time and use a model's lists only once the
//! mark is there. The list encoding belongs to `rank::lists`.

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, Value};
use std::collections::HashMap;

/// Rows per insert statement (three parameters each).
const ROWS_PER_INSERT: usize = 500;
/// Users per lookup statement.
const USERS_PER_LOOKUP: usize = 5_000;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl Store {
    /// Stores the lists of `(user_id, encoded list)` under `model_id`, in
    /// one transaction (a rerun of the same batch replaces it).
    pub async fn save_rank_lists(
        &self,
        model_id: i64,
        lists: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        if lists.is_empty() {
            return Ok(());
        }
        let txn = self.begin_write().await.map_err(ctx("begin rank lists"))?;
        for chunk in lists.chunks(ROWS_PER_INSERT) {
            let mut stmt = Query::insert();
            stmt.into_table(col("rank_lists"))
                .columns(["model_id", "user_id", "list"].map(col));
            for (user_id, list) in chunk {
                stmt.values_panic([
                    model_id.into(),
                    user_id.as_str().into(),
                    Value::Bytes(Some(list.clone())).into(),
                ]);
            }
            stmt.on_conflict(
                sea_orm::sea_query::OnConflict::columns(["model_id", "user_id"].map(col))
                    .update_column(col("list"))
                    .to_owned(),
            );
            txn.execute(&stmt).await.map_err(ctx("insert rank lists"))?;
        }
        txn.commit().await.map_err(ctx("commit rank lists"))
    }

    /// Marks the lists of `model_id` complete with their description
    /// (JSON) and drops the lists of older models.
    pub async fn finish_rank_lists(&self, model_id: i64, meta: &str) -> Result<(), StoreError> {
        let txn = self.begin_write().await.map_err(ctx("begin rank lists"))?;
        let mark = Query::insert()
            .into_table(col("rank_list_sets"))
            .columns(["model_id", "meta"].map(col))
            .values_panic([model_id.into(), meta.into()])
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(col("model_id"))
                    .update_column(col("meta"))
                    .to_owned(),
            )
            .to_owned();
        txn.execute(&mark).await.map_err(ctx("mark rank lists"))?;
        for table in ["rank_lists", "rank_list_sets"] {
            let older = Query::delete()
                .from_table(col(table))
                .and_where(Expr::col(col("model_id")).lt(model_id))
                .to_owned();
            txn.execute(&older)
                .await
                .map_err(ctx("drop older rank lists"))?;
        }
        txn.commit().await.map_err(ctx("commit rank lists"))
    }

    /// The encoded lists of those of `users` that have one under `model_id`.
    pub async fn rank_lists(
        &self,
        model_id: i64,
        users: &[&str],
    ) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let mut out = HashMap::with_capacity(users.len());
        for chunk in users.chunks(USERS_PER_LOOKUP) {
            let stmt = Query::select()
                .columns(["user_id", "list"].map(col))
                .from(col("rank_lists"))
                .and_where(Expr::col(col("model_id")).eq(model_id))
                .and_where(Expr::col(col("user_id")).is_in(chunk.iter().copied()))
                .to_owned();
            let rows = self
                .db()
                .query_all(&stmt)
                .await
                .map_err(ctx("read rank lists"))?;
            for r in &rows {
                let user_id: String = r.try_get("", "user_id").map_err(ctx("read rank lists"))?;
                let list: Vec<u8> = r.try_get("", "list").map_err(ctx("read rank lists"))?;
                out.insert(user_id, list);
            }
        }
        Ok(out)
    }

    /// Every list held for `user_id`, as `(model_id, encoded list)` by
    /// model (a privacy export; erasing deletes them with the user).
    pub async fn user_rank_lists(&self, user_id: &str) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let stmt = Query::select()
            .columns(["model_id", "list"].map(col))
            .from(col("rank_lists"))
            .and_where(Expr::col(col("user_id")).eq(user_id))
            .order_by(col("model_id"), sea_orm::sea_query::Order::Asc)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read a user's rank lists"))?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "model_id")?, r.try_get("", "list")?)))
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read a user's rank lists"))
    }
}
