//! Each user's recommendations, computed when a ranking model is trained,
//! so a campaign reads a page of lists instead of loading the model and
//! scoring every user. `rank_lists` holds one encoded list per (model,
//! user); a row of `rank_list_sets` describes a model's lists (items per
//! list, diversity, the stock they assumed, the history cut-off) and is
//! written only once every list is in, so a reader never sees half a set.
//! Erasing a user or a model erases their lists (foreign keys). Model rows
//! are never rewritten for this: an update rewrites a SQLite row whole,
//! state blob included.

use crate::util::{cascade, drop_tables, index};
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
        manager.create_table(rank_list_sets()).await?;
        manager.create_index(active_models()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_rank_models_active_model_id_params")
                    .table("rank_models")
                    .to_owned(),
            )
            .await?;
        drop_tables(manager, &["rank_list_sets", "rank_lists"]).await
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

/// A model's complete set of lists: what they assumed (JSON).
fn rank_list_sets() -> TableCreateStatement {
    Table::create()
        .table("rank_list_sets")
        .if_not_exists()
        .col(big_integer("model_id").primary_key())
        .col(text("meta"))
        .foreign_key(&mut cascade(
            "rank_list_sets",
            "model_id",
            "rank_models",
            "model_id",
        ))
        .take()
}

/// Finding the active model from an index: SQLite keeps a row's columns
/// in order, and `active` comes after the state blob, so filtering on it
/// in the table walks every model's blob (hundreds of MiB at a million
/// users).
fn active_models() -> IndexCreateStatement {
    index("rank_models", &["active", "model_id", "params"])
}
