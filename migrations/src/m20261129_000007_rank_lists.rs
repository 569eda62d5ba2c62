//! Each user's recommendations, computed when a ranking model is trained,
//! so a campaign reads a page of lists instead of loading the model and
//! scoring every user. `rank_lists` holds one encoded list per (model,
//! user); `rank_models.lists` describes the lists of a model (items per
//! list, diversity, the stock they assumed, the history cut-off) and is
//! set only once every list is written, so a reader never sees half a set.
//! Erasing a user or a model erases their lists (foreign keys).

use crate::util::{cascade, drop_tables};
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
        manager.create_table(rank_lists()).await?;
        manager
            .alter_table(
                Table::alter()
                    .table("rank_models")
                    .add_column(text_null("lists"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("rank_models")
                    .drop_column("lists")
                    .take(),
            )
            .await?;
        drop_tables(manager, &["rank_lists"]).await
    }
}

/// One user's precomputed list under one ranking model.
fn rank_lists() -> TableCreateStatement {
    Table::create()
        .table("rank_lists")
        .if_not_exists()
        .col(big_integer("model_id"))
        .col(string("user_id"))
        .col(blob("list"))
        .primary_key(Index::create().col("model_id").col("user_id"))
        .foreign_key(&mut cascade(
            "rank_lists",
            "model_id",
            "rank_models",
            "model_id",
        ))
        .foreign_key(&mut cascade("rank_lists", "user_id", "users", "user_id"))
        .take()
}
