//! Ranking models, versioned: each `herald rank train` inserts a row with
//! the model's kind, parameters (JSON), fitted state (a binary blob) and
//! offline metrics (JSON), and makes it the active one in the same
//! transaction. The integer id is the version campaign runs record.

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, Value};

/// A ranking model to save.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRankModel {
    /// What kind of model (e.g. `hybrid`).
    pub kind: String,
    /// Hyper-parameters (JSON).
    pub params: String,
    /// The fitted state.
    pub state: Vec<u8>,
    /// Offline metrics (JSON).
    pub metrics: String,
    /// Training time (milliseconds).
    pub now: i64,
}

/// A stored ranking model.
#[derive(Debug, Clone, PartialEq)]
pub struct RankModelRow {
    /// Its id, which is also its version.
    pub model_id: i64,
    /// What kind of model.
    pub kind: String,
    /// Hyper-parameters (JSON).
    pub params: String,
    /// The fitted state.
    pub state: Vec<u8>,
    /// Offline metrics (JSON).
    pub metrics: String,
    /// When it was trained (milliseconds).
    pub created_at: i64,
}

/// What planning needs to know of the active model before (or instead
/// of) loading its state.
#[derive(Debug, Clone, PartialEq)]
pub struct RankModelMeta {
    /// Its id.
    pub model_id: i64,
    /// Hyper-parameters (JSON).
    pub params: String,
    /// The description of its precomputed lists (JSON), once all are in.
    pub lists: Option<String>,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl Store {
    /// Saves a ranking model and makes it the active one; returns its id.
    pub async fn save_rank_model(&self, model: &NewRankModel) -> Result<i64, StoreError> {
        let txn = self.begin_write().await.map_err(ctx("begin rank model"))?;
        // Only the active row: an update rewrites a row whole, state blob
        // included.
        let deactivate = Query::update()
            .table(col("rank_models"))
            .value(col("active"), false)
            .and_where(Expr::col(col("active")).eq(true))
            .to_owned();
        txn.execute(&deactivate)
            .await
            .map_err(ctx("deactivate rank models"))?;
        let insert = Query::insert()
            .into_table(col("rank_models"))
            .columns(["kind", "params", "state", "metrics", "active", "created_at"].map(col))
            .values_panic([
                model.kind.clone().into(),
                model.params.clone().into(),
                Value::Bytes(Some(model.state.clone())).into(),
                model.metrics.clone().into(),
                true.into(),
                model.now.into(),
            ])
            .returning_col(col("model_id"))
            .to_owned();
        let row = txn
            .query_one(&insert)
            .await
            .map_err(ctx("insert rank model"))?;
        let missing = || StoreError::Query {
            what: "insert rank model",
            source: sea_orm::DbErr::RecordNotInserted,
        };
        let model_id: i64 = row
            .ok_or_else(missing)?
            .try_get("", "model_id")
            .map_err(ctx("read model id"))?;
        txn.commit().await.map_err(ctx("commit rank model"))?;
        Ok(model_id)
    }

    /// The active ranking model, if one was trained.
    pub async fn active_rank_model(&self) -> Result<Option<RankModelRow>, StoreError> {
        self.rank_model_where(Expr::col(col("active")).eq(true))
            .await
    }

    /// The ranking model with this id, active or not.
    pub async fn rank_model(&self, model_id: i64) -> Result<Option<RankModelRow>, StoreError> {
        self.rank_model_where(Expr::col(col("model_id")).eq(model_id))
            .await
    }

    /// The ids of every stored model, oldest first.
    pub async fn rank_model_ids(&self) -> Result<Vec<i64>, StoreError> {
        let stmt = Query::select()
            .column(col("model_id"))
            .from(col("rank_models"))
            .order_by(col("model_id"), Order::Asc)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("list rank models"))?;
        rows.iter()
            .map(|r| r.try_get("", "model_id"))
            .collect::<Result<_, _>>()
            .map_err(ctx("list rank models"))
    }

    /// Replaces a model's state blob (erasing a user from its stored
    /// history); the rest of the row is unchanged.
    pub async fn replace_rank_model_state(
        &self,
        model_id: i64,
        state: Vec<u8>,
    ) -> Result<(), StoreError> {
        let stmt = Query::update()
            .table(col("rank_models"))
            .value(col("state"), Value::Bytes(Some(state)))
            .and_where(Expr::col(col("model_id")).eq(model_id))
            .to_owned();
        let txn = self
            .begin_write()
            .await
            .map_err(ctx("begin model rewrite"))?;
        txn.execute(&stmt)
            .await
            .map_err(ctx("rewrite rank model state"))?;
        txn.commit().await.map_err(ctx("commit model rewrite"))
    }

    /// The active model's id, parameters and list description, without
    /// its (large) state.
    pub async fn active_rank_model_meta(&self) -> Result<Option<RankModelMeta>, StoreError> {
        let m = Alias::new("m");
        let s = Alias::new("s");
        let stmt = Query::select()
            .column((m.clone(), col("model_id")))
            .column((m.clone(), col("params")))
            .column((s.clone(), col("meta")))
            .from_as(col("rank_models"), m.clone())
            .join_as(
                JoinType::LeftJoin,
                col("rank_list_sets"),
                s.clone(),
                Expr::col((s.clone(), col("model_id"))).equals((m.clone(), col("model_id"))),
            )
            .and_where(Expr::col((m.clone(), col("active"))).eq(true))
            .order_by((m, col("model_id")), Order::Desc)
            .limit(1)
            .to_owned();
        self.one_model_row(&stmt, |r| {
            Ok(RankModelMeta {
                model_id: r.try_get("", "model_id")?,
                params: r.try_get("", "params")?,
                lists: r.try_get("", "meta")?,
            })
        })
        .await
    }

    /// The newest model matching `condition`.
    async fn rank_model_where(
        &self,
        condition: sea_orm::sea_query::SimpleExpr,
    ) -> Result<Option<RankModelRow>, StoreError> {
        let stmt = Query::select()
            .columns(
                [
                    "model_id",
                    "kind",
                    "params",
                    "state",
                    "metrics",
                    "created_at",
                ]
                .map(col),
            )
            .from(col("rank_models"))
            .and_where(condition)
            .order_by(col("model_id"), Order::Desc)
            .limit(1)
            .to_owned();
        self.one_model_row(&stmt, |r| {
            Ok(RankModelRow {
                model_id: r.try_get("", "model_id")?,
                kind: r.try_get("", "kind")?,
                params: r.try_get("", "params")?,
                state: r.try_get("", "state")?,
                metrics: r.try_get("", "metrics")?,
                created_at: r.try_get("", "created_at")?,
            })
        })
        .await
    }

    /// The row `stmt` selects, if any, read by `read`.
    async fn one_model_row<T>(
        &self,
        stmt: &sea_orm::sea_query::SelectStatement,
        read: impl Fn(&sea_orm::QueryResult) -> Result<T, sea_orm::DbErr>,
    ) -> Result<Option<T>, StoreError> {
        let row = self
            .db()
            .query_one(stmt)
            .await
            .map_err(ctx("read rank model"))?;
        row.as_ref()
            .map(read)
            .transpose()
            .map_err(ctx("read rank model"))
    }
}
