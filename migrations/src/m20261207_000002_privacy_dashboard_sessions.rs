//! Dashboard sessions: signing in with an API key creates an opaque
//! random session id; the cookie carries that id, never the key. Only
//! the id's SHA-256 is stored, with the CSRF token every form post must
//! echo, the key that signed in (revoking or deleting it ends its
//! sessions) and when the session expires.

use crate::util::{cascade, drop_tables, index, millis};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (see the crate docs).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(sessions()).await?;
        manager
            .create_index(index("dashboard_sessions", &["expires_at"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["dashboard_sessions"]).await
    }
}

/// One signed-in browser.
fn sessions() -> TableCreateStatement {
    Table::create()
        .table("dashboard_sessions")
        .if_not_exists()
        .col(string("session_hash").primary_key())
        .col(big_integer("key_id"))
        .col(string("csrf_token"))
        .col(millis("created_at"))
        .col(millis("expires_at"))
        .foreign_key(&mut cascade(
            "dashboard_sessions",
            "key_id",
            "api_keys",
            "key_id",
        ))
        .take()
}
