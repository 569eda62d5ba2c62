//! herald's database schema, as sea-orm migrations: one file per change,
//! each with `up` and `down`, run on SQLite and PostgreSQL alike.
//!
//! Conventions shared by every table:
//! - Timestamps are `BIGINT` milliseconds since the Unix epoch (UTC), in
//!   columns named `*_at` or `ts`. One integer type sorts, indexes and
//!   compares the same on both backends and keeps the event table compact.
//! - Structured extras (user attributes, campaign specs, model parameters)
//!   are JSON stored as `TEXT`; opaque model blobs are binary.
//! - Ids coming from the customer (users, items) are strings; ids herald
//!   creates (devices, campaigns, runs, outbox rows) are integers.
//!
//! Every migration runs in one transaction, on SQLite too (sea-orm's
//! default there is none). Without it each DDL statement commits alone,
//! on whichever pooled connection is free, and a connection that read the
//! schema between a table and its unique index keeps that stale view:
//! SQLite then rejects an upsert naming the index ("ON CONFLICT clause
//! does not match any PRIMARY KEY or UNIQUE constraint") without
//! rereading the schema. In a transaction, other connections see a
//! migration whole or not at all.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_people;
mod m20261128_000002_models;
mod m20261128_000003_campaigns;
mod m20261128_000004_feedback;
mod m20261129_000005_secrets;
mod m20261129_000006_outbox_claim_index;
mod m20261129_000007_rank_lists;
mod m20261207_000001_privacy_event_arrival;
mod m20261207_000002_privacy_dashboard_sessions;
mod util;

/// The ordered list of migrations applied by `herald migrate`.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_people::Migration),
            Box::new(m20261128_000002_models::Migration),
            Box::new(m20261128_000003_campaigns::Migration),
            Box::new(m20261128_000004_feedback::Migration),
            Box::new(m20261129_000005_secrets::Migration),
            Box::new(m20261129_000006_outbox_claim_index::Migration),
            Box::new(m20261129_000007_rank_lists::Migration),
            Box::new(m20261207_000001_privacy_event_arrival::Migration),
            Box::new(m20261207_000002_privacy_dashboard_sessions::Migration),
        ]
    }
}
