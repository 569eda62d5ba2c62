//! What happened after sending, and who may call the API: exposures (which
//! items, at which rank and from which model, each user was shown in a run),
//! feedback events (delivered, open, click, unsubscribe, conversion), and
//! API keys (only a hash is stored).

use crate::util::{create_indexes, drop_tables, index, millis, millis_null, unique};
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
        manager.create_table(exposures()).await?;
        manager.create_table(feedback_events()).await?;
        manager.create_table(api_keys()).await?;
        create_indexes(
            manager,
            vec![
                index("exposures", &["user_id", "shown_at"]),
                index("feedback_events", &["run_id", "kind"]),
                index("feedback_events", &["user_id", "ts"]),
                unique("api_keys", &["prefix"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["api_keys", "feedback_events", "exposures"]).await
    }
}

/// One recommended item shown to one user in one run, with the features
/// snapshot (JSON) needed for a point-in-time-correct training set.
fn exposures() -> TableCreateStatement {
    Table::create()
        .table("exposures")
        .if_not_exists()
        .col(big_integer("run_id"))
        .col(string("user_id"))
        .col(string("item_id"))
        .col(integer("rank"))
        .col(double("score"))
        .col(string("variant"))
        .col(string("channel"))
        .col(text("reason"))
        .col(big_integer_null("rank_model_id"))
        .col(text("features").default("{}"))
        .col(millis("shown_at"))
        .primary_key(Index::create().col("run_id").col("user_id").col("item_id"))
        .take()
}

/// Outcomes reported by providers, tracking links and apps. Repeated clicks
/// are all recorded; rates count distinct users.
fn feedback_events() -> TableCreateStatement {
    Table::create()
        .table("feedback_events")
        .if_not_exists()
        .col(big_pk_auto("feedback_id"))
        .col(string("kind"))
        .col(big_integer_null("run_id"))
        .col(big_integer_null("outbox_id"))
        .col(string("user_id"))
        .col(string_null("channel"))
        .col(string_null("variant"))
        .col(string_null("item_id"))
        .col(double_null("value"))
        .col(string("source"))
        .col(millis("ts"))
        .take()
}

/// API keys: a public prefix to find the row and an Argon/SHA hash of the
/// whole key; the key itself is shown once and never stored.
fn api_keys() -> TableCreateStatement {
    Table::create()
        .table("api_keys")
        .if_not_exists()
        .col(big_pk_auto("key_id"))
        .col(string("name"))
        .col(string("prefix"))
        .col(string("hash"))
        .col(millis("created_at"))
        .col(millis_null("revoked_at"))
        .col(millis_null("last_used_at"))
        .take()
}
