//! Learned models, versioned: segmentations (k-means) with their segments
//! and per-user assignments, and ranking models stored as blobs. A model's
//! integer id is its version; campaign runs record the versions they used.

use crate::util::{cascade, create_indexes, drop_tables, index, millis};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (see the crate docs).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(segment_models()).await?;
        manager.create_table(segments()).await?;
        manager.create_table(segment_assignments()).await?;
        manager.create_table(rank_models()).await?;
        create_indexes(
            manager,
            vec![
                index("segment_assignments", &["model_id", "segment_id"]),
                index("segment_assignments", &["user_id"]),
                index("rank_models", &["kind", "created_at"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "rank_models",
                "segment_assignments",
                "segments",
                "segment_models",
            ],
        )
        .await
    }
}

/// One trained segmentation: the feature scaler and centroids (JSON in
/// `params`), so a new user is assigned without retraining.
fn segment_models() -> TableCreateStatement {
    Table::create()
        .table("segment_models")
        .if_not_exists()
        .col(big_pk_auto("model_id"))
        .col(string("kind"))
        .col(integer("k"))
        .col(text("params"))
        .col(double_null("silhouette"))
        .col(boolean("active").default(false))
        .col(millis("created_at"))
        .take()
}

/// The segments of one model, each with its plain-words description.
fn segments() -> TableCreateStatement {
    Table::create()
        .table("segments")
        .if_not_exists()
        .col(big_integer("model_id"))
        .col(integer("segment_id"))
        .col(text("description"))
        .col(big_integer("size"))
        .col(text("centroid"))
        .primary_key(Index::create().col("model_id").col("segment_id"))
        .foreign_key(&mut cascade(
            "segments",
            "model_id",
            "segment_models",
            "model_id",
        ))
        .take()
}

/// Which segment each user falls in under one model.
fn segment_assignments() -> TableCreateStatement {
    Table::create()
        .table("segment_assignments")
        .if_not_exists()
        .col(big_integer("model_id"))
        .col(string("user_id"))
        .col(integer("segment_id"))
        .col(double("distance"))
        .primary_key(Index::create().col("model_id").col("user_id"))
        .foreign_key(&mut cascade(
            "segment_assignments",
            "model_id",
            "segment_models",
            "model_id",
        ))
        .foreign_key(&mut cascade(
            "segment_assignments",
            "user_id",
            "users",
            "user_id",
        ))
        .take()
}

/// A trained ranking model: its kind, hyper-parameters (JSON), the fitted
/// state as a blob and its offline metrics (JSON).
fn rank_models() -> TableCreateStatement {
    Table::create()
        .table("rank_models")
        .if_not_exists()
        .col(big_pk_auto("model_id"))
        .col(string("kind"))
        .col(text("params"))
        .col(blob("state"))
        .col(text("metrics").default("{}"))
        .col(boolean("active").default(false))
        .col(millis("created_at"))
        .take()
}
