//! When each event arrived (`events.received_at`, ms on the ingesting
//! process's clock), so the trigger scanner reads events in arrival order
//! instead of by their own timestamp: an event stamped 10:00:00 that
//! arrives after the 10:00:01 tick is still read. Rows from before this
//! migration hold 0 (never read by arrival; a starting scheduler reads
//! recent events by timestamp). `(event, received_at)` is the scanner's
//! index.

use crate::util::index;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::big_integer;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The index the scanner reads new events from.
const INDEX: &str = "idx_events_event_received_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (see the crate docs).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("events")
                    .add_column(big_integer("received_at").default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("events", &["event", "received_at"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table("events").to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("events")
                    .drop_column("received_at")
                    .to_owned(),
            )
            .await
    }
}
