//! People and things: users with their per-channel consent and devices,
//! the item catalogue, and the behavioural events that tie them together.

use crate::util::{cascade, create_indexes, drop_tables, index, millis, millis_null, unique};
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
        manager.create_table(users()).await?;
        manager.create_table(consents()).await?;
        manager.create_table(devices()).await?;
        manager.create_table(items()).await?;
        manager.create_table(events()).await?;
        create_indexes(
            manager,
            vec![
                index("users", &["email"]),
                unique("devices", &["platform", "token"]),
                index("devices", &["user_id"]),
                index("items", &["category"]),
                index("events", &["user_id", "ts"]),
                index("events", &["item_id"]),
                index("events", &["event", "ts"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &["events", "items", "devices", "consents", "users"],
        )
        .await
    }
}

/// Users: the typed columns of the import format plus `attributes`, a JSON
/// object holding every extra column (first_name, loyalty tier, ...).
fn users() -> TableCreateStatement {
    Table::create()
        .table("users")
        .if_not_exists()
        .col(string("user_id").primary_key())
        .col(string_null("email"))
        .col(string_null("phone"))
        .col(string_null("timezone"))
        .col(string_null("locale"))
        .col(string_null("country"))
        .col(string_null("city"))
        .col(integer_null("age"))
        .col(string_null("gender"))
        .col(millis_null("signup_at"))
        .col(text("attributes").default("{}"))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .take()
}

/// Consent per user and channel (`push`, `email`, `sms`, `webhook`), with
/// where it came from (`import`, `api`, `unsubscribe`) and when.
fn consents() -> TableCreateStatement {
    Table::create()
        .table("consents")
        .if_not_exists()
        .col(string("user_id"))
        .col(string("channel"))
        .col(boolean("granted"))
        .col(string("source"))
        .col(millis("updated_at"))
        .primary_key(Index::create().col("user_id").col("channel"))
        .foreign_key(&mut cascade("consents", "user_id", "users", "user_id"))
        .take()
}

/// Push devices. A token is unique per platform; a token the provider
/// reported gone is kept, inactive, with when and why, so it is never
/// retried and a re-import of the same token does not revive it silently.
fn devices() -> TableCreateStatement {
    Table::create()
        .table("devices")
        .if_not_exists()
        .col(big_pk_auto("device_id"))
        .col(string("user_id"))
        .col(string("platform"))
        .col(text("token"))
        .col(string("app_id"))
        .col(boolean("active").default(true))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .col(millis_null("deactivated_at"))
        .col(string_null("deactivation_reason"))
        .foreign_key(&mut cascade("devices", "user_id", "users", "user_id"))
        .take()
}

/// The catalogue; `attributes` holds extra columns as JSON.
fn items() -> TableCreateStatement {
    Table::create()
        .table("items")
        .if_not_exists()
        .col(string("item_id").primary_key())
        .col(text("title"))
        .col(string_null("category"))
        .col(string_null("brand"))
        .col(double_null("price"))
        .col(string_null("currency"))
        .col(text_null("url"))
        .col(text_null("image_url"))
        .col(boolean("in_stock").default(true))
        .col(millis_null("created_at"))
        .col(text("attributes").default("{}"))
        .col(millis("updated_at"))
        .take()
}

/// Behavioural events. `event_id` is a hash of the event's content, so
/// importing the same file twice inserts nothing new.
fn events() -> TableCreateStatement {
    Table::create()
        .table("events")
        .if_not_exists()
        .col(big_integer("event_id").primary_key())
        .col(string("user_id"))
        .col(string_null("item_id"))
        .col(string("event"))
        .col(millis("ts"))
        .col(double_null("value"))
        .col(string("source"))
        .foreign_key(&mut cascade("events", "user_id", "users", "user_id"))
        .foreign_key(&mut cascade("events", "item_id", "items", "item_id"))
        .take()
}
