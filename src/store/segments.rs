//! Segment models: save a trained k-means model with its segments and
//! every user's assignment in one transaction (the new model becomes the
//! active one), and read them back.

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query};
use std::collections::HashMap;

/// One segment of a model, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRow {
    /// The segment's number within its model (0 = largest).
    pub segment_id: i32,
    /// The plain-words description.
    pub description: String,
    /// Users assigned at training time.
    pub size: i64,
    /// The centroid (JSON: feature name -> raw value).
    pub centroid: String,
}

/// A stored segment model.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentModelRow {
    /// Its id, which is also its version.
    pub model_id: i64,
    /// Number of segments.
    pub k: i32,
    /// The fitted pipeline and centroids (JSON).
    pub params: String,
    /// Silhouette score of the chosen k, if computed.
    pub silhouette: Option<f64>,
    /// When it was trained (milliseconds).
    pub created_at: i64,
}

/// Everything a trained model writes.
pub struct NewSegmentModel<'a> {
    /// Number of segments.
    pub k: i32,
    /// The fitted pipeline and centroids (JSON).
    pub params: String,
    /// Silhouette score of the chosen k.
    pub silhouette: Option<f64>,
    /// The segments.
    pub segments: &'a [SegmentRow],
    /// (user, segment, distance to its centroid) for every user.
    pub assignments: &'a [(String, i32, f64)],
    /// Training time (milliseconds).
    pub now: i64,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl Store {
    /// Saves a model, its segments and assignments, and makes it active.
    pub async fn save_segment_model(&self, model: NewSegmentModel<'_>) -> Result<i64, StoreError> {
        let txn = self
            .begin_write()
            .await
            .map_err(ctx("begin segment model"))?;
        let deactivate = Query::update()
            .table(col("segment_models"))
            .value(col("active"), false)
            .to_owned();
        txn.execute(&deactivate)
            .await
            .map_err(ctx("deactivate segment models"))?;
        let insert = Query::insert()
            .into_table(col("segment_models"))
            .columns(["kind", "k", "params", "silhouette", "active", "created_at"].map(col))
            .values_panic([
                "kmeans".into(),
                model.k.into(),
                model.params.clone().into(),
                model.silhouette.into(),
                true.into(),
                model.now.into(),
            ])
            .returning_col(col("model_id"))
            .to_owned();
        let row = txn
            .query_one(&insert)
            .await
            .map_err(ctx("insert segment model"))?;
        let model_id: i64 = row
            .ok_or_else(|| StoreError::Query {
                what: "insert segment model",
                source: sea_orm::DbErr::RecordNotInserted,
            })?
            .try_get("", "model_id")
            .map_err(ctx("read model id"))?;
        insert_segments(&txn, model_id, model.segments).await?;
        insert_assignments(&txn, model_id, model.assignments).await?;
        txn.commit().await.map_err(ctx("commit segment model"))?;
        Ok(model_id)
    }

    /// The active segment model, if one was trained.
    pub async fn active_segment_model(&self) -> Result<Option<SegmentModelRow>, StoreError> {
        let stmt = Query::select()
            .columns(["model_id", "k", "params", "silhouette", "created_at"].map(col))
            .from(col("segment_models"))
            .and_where(Expr::col(col("active")).eq(true))
            .order_by(col("model_id"), Order::Desc)
            .limit(1)
            .to_owned();
        let Some(r) = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read segment model"))?
        else {
            return Ok(None);
        };
        let read = |r: &sea_orm::QueryResult| -> Result<SegmentModelRow, sea_orm::DbErr> {
            Ok(SegmentModelRow {
                model_id: r.try_get("", "model_id")?,
                k: r.try_get("", "k")?,
                params: r.try_get("", "params")?,
                silhouette: r.try_get("", "silhouette")?,
                created_at: r.try_get("", "created_at")?,
            })
        };
        read(&r).map(Some).map_err(ctx("read segment model"))
    }

    /// The segments of a model, in id order.
    pub async fn segments(&self, model_id: i64) -> Result<Vec<SegmentRow>, StoreError> {
        let stmt = Query::select()
            .columns(["segment_id", "description", "size", "centroid"].map(col))
            .from(col("segments"))
            .and_where(Expr::col(col("model_id")).eq(model_id))
            .order_by(col("segment_id"), Order::Asc)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read segments"))?;
        rows.iter()
            .map(|r| {
                Ok(SegmentRow {
                    segment_id: r.try_get("", "segment_id")?,
                    description: r.try_get("", "description")?,
                    size: r.try_get("", "size")?,
                    centroid: r.try_get("", "centroid")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read segments"))
    }

    /// Every user's segment under a model.
    pub async fn segment_assignments(
        &self,
        model_id: i64,
    ) -> Result<HashMap<String, i32>, StoreError> {
        let stmt = Query::select()
            .columns(["user_id", "segment_id"].map(col))
            .from(col("segment_assignments"))
            .and_where(Expr::col(col("model_id")).eq(model_id))
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read assignments"))?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "user_id")?, r.try_get("", "segment_id")?)))
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read assignments"))
    }

    /// Adds (or moves) assignments under an existing model.
    pub async fn assign_segments(
        &self,
        model_id: i64,
        rows: &[(String, i32, f64)],
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await.map_err(ctx("begin assignments"))?;
        insert_assignments(&txn, model_id, rows).await?;
        txn.commit().await.map_err(ctx("commit assignments"))
    }
}

async fn insert_segments(
    txn: &impl ConnectionTrait,
    model_id: i64,
    rows: &[SegmentRow],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut stmt = Query::insert();
    stmt.into_table(col("segments"))
        .columns(["model_id", "segment_id", "description", "size", "centroid"].map(col));
    for s in rows {
        stmt.values_panic([
            model_id.into(),
            s.segment_id.into(),
            s.description.clone().into(),
            s.size.into(),
            s.centroid.clone().into(),
        ]);
    }
    txn.execute(&stmt).await.map_err(ctx("insert segments"))?;
    Ok(())
}

async fn insert_assignments(
    txn: &impl ConnectionTrait,
    model_id: i64,
    rows: &[(String, i32, f64)],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(5000) {
        let mut stmt = Query::insert();
        stmt.into_table(col("segment_assignments"))
            .columns(["model_id", "user_id", "segment_id", "distance"].map(col));
        for (user, segment, distance) in chunk {
            stmt.values_panic([
                model_id.into(),
                user.clone().into(),
                (*segment).into(),
                (*distance).into(),
            ]);
        }
        stmt.on_conflict(
            OnConflict::columns(["model_id", "user_id"].map(col))
                .update_columns(["segment_id", "distance"].map(col))
                .to_owned(),
        );
        txn.execute(&stmt)
            .await
            .map_err(ctx("insert assignments"))?;
    }
    Ok(())
}
