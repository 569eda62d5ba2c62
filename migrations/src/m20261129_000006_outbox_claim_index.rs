//! The outbox claim orders due rows by `(next_attempt_at, outbox_id)`.
//! A freshly planned run queues every row at the same instant, so an index
//! on `(status, next_attempt_at)` alone leaves PostgreSQL sorting the whole
//! run by id on every claim (an external sort of 50k rows per batch of
//! 256). Indexing the full order lets each claim read its batch straight
//! off the index.

use crate::util::index;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The index this migration replaces.
const OLD: &str = "idx_outbox_status_next_attempt_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (see the crate docs).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index("outbox", &["status", "next_attempt_at", "outbox_id"]))
            .await?;
        manager
            .drop_index(Index::drop().name(OLD).table("outbox").to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index("outbox", &["status", "next_attempt_at"]))
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_outbox_status_next_attempt_at_outbox_id")
                    .table("outbox")
                    .to_owned(),
            )
            .await
    }
}
