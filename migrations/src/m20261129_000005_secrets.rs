//! Secrets herald generates for itself, one row per name. Today there is
//! one: `link_secret`, the HMAC key of tracking and unsubscribe links when
//! `security.link_secret_file` is not configured. It is created once (the
//! first process to need it inserts it; any other keeps the winner's) so
//! links sent before a restart keep verifying after it.

use crate::util::{drop_tables, millis};
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
        manager.create_table(secrets()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["secrets"]).await
    }
}

/// A named secret: its value (hex text) and when it was generated.
fn secrets() -> TableCreateStatement {
    Table::create()
        .table("secrets")
        .if_not_exists()
        .col(string("name").primary_key())
        .col(text("value"))
        .col(millis("created_at"))
        .take()
}
