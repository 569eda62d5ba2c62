//! Campaigns and their runs: the campaign with its variants, each run with
//! the model versions and seed it used, the plan (one decision per user and
//! run, with the reason when nobody is sent to), the outbox (one row per run,
//! user and channel, claimed by workers under a lease), every delivery
//! attempt, and the de-duplication record of event triggers.

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
        manager.create_table(campaigns()).await?;
        manager.create_table(variants()).await?;
        manager.create_table(campaign_runs()).await?;
        manager.create_table(run_recipients()).await?;
        manager.create_table(outbox()).await?;
        manager.create_table(delivery_attempts()).await?;
        manager.create_table(trigger_fires()).await?;
        create_indexes(
            manager,
            vec![
                index("campaigns", &["status"]),
                unique("campaign_runs", &["campaign_id", "occurrence"]),
                index("campaign_runs", &["status"]),
                index("run_recipients", &["run_id", "decision"]),
                unique("outbox", &["run_id", "user_id", "channel"]),
                index("outbox", &["status", "next_attempt_at"]),
                index("outbox", &["user_id", "sent_at"]),
                index("delivery_attempts", &["outbox_id"]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "trigger_fires",
                "delivery_attempts",
                "outbox",
                "run_recipients",
                "campaign_runs",
                "variants",
                "campaigns",
            ],
        )
        .await
    }
}

/// A campaign: its validated spec (the campaign file as JSON) and status
/// (`draft`, `scheduled`, `paused`, `cancelled`, `done`).
fn campaigns() -> TableCreateStatement {
    Table::create()
        .table("campaigns")
        .if_not_exists()
        .col(big_pk_auto("campaign_id"))
        .col(string("name"))
        .col(text("spec"))
        .col(string("status"))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .take()
}

/// A campaign's variants with their weights and content (JSON).
fn variants() -> TableCreateStatement {
    Table::create()
        .table("variants")
        .if_not_exists()
        .col(big_integer("campaign_id"))
        .col(string("name"))
        .col(double("weight"))
        .col(text("content"))
        .primary_key(Index::create().col("campaign_id").col("name"))
        .foreign_key(&mut cascade(
            "variants",
            "campaign_id",
            "campaigns",
            "campaign_id",
        ))
        .take()
}

/// One run of a campaign. `occurrence` names the schedule slot it serves
/// (an RFC 3339 instant, or a trigger key) and is unique per campaign, so a
/// slot is never run twice. The planner holds `planner_lease_*` while it
/// plans, so only one process plans a run.
fn campaign_runs() -> TableCreateStatement {
    Table::create()
        .table("campaign_runs")
        .if_not_exists()
        .col(big_pk_auto("run_id"))
        .col(big_integer("campaign_id"))
        .col(string("occurrence"))
        .col(string("status"))
        .col(big_integer("seed"))
        .col(big_integer_null("segment_model_id"))
        .col(big_integer_null("rank_model_id"))
        .col(string_null("planner_lease_owner"))
        .col(millis_null("planner_lease_until"))
        .col(text("stats").default("{}"))
        .col(millis("scheduled_for"))
        .col(millis("created_at"))
        .col(millis_null("finished_at"))
        .foreign_key(&mut cascade(
            "campaign_runs",
            "campaign_id",
            "campaigns",
            "campaign_id",
        ))
        .take()
}

/// The plan: one decision per (run, user). `decision` is `send`,
/// `holdout`, `deferred` or `suppressed`, with `reason` for all but `send`
/// and the hash of the rendered payload, so a replay can be compared byte
/// for byte.
fn run_recipients() -> TableCreateStatement {
    Table::create()
        .table("run_recipients")
        .if_not_exists()
        .col(big_integer("run_id"))
        .col(string("user_id"))
        .col(string_null("variant"))
        .col(string_null("channel"))
        .col(string("decision"))
        .col(string_null("reason"))
        .col(string_null("payload_hash"))
        .col(millis_null("not_before"))
        .primary_key(Index::create().col("run_id").col("user_id"))
        .foreign_key(&mut cascade(
            "run_recipients",
            "run_id",
            "campaign_runs",
            "run_id",
        ))
        .take()
}

/// The outbox: the one hand-off between planning and sending. A worker
/// claims a row by setting `lease_owner`/`lease_until`; `dedup_key` is
/// stable per (run, user) and becomes the apns-id / collapse key.
fn outbox() -> TableCreateStatement {
    Table::create()
        .table("outbox")
        .if_not_exists()
        .col(big_pk_auto("outbox_id"))
        .col(big_integer("run_id"))
        .col(string("user_id"))
        .col(string("channel"))
        .col(big_integer_null("device_id"))
        .col(text("address"))
        .col(string("variant"))
        .col(text("payload"))
        .col(string("dedup_key"))
        .col(string("status"))
        .col(integer("attempts").default(0))
        .col(millis("next_attempt_at"))
        .col(string_null("lease_owner"))
        .col(millis_null("lease_until"))
        .col(string_null("provider_message_id"))
        .col(text_null("last_error"))
        .col(millis_null("sent_at"))
        .col(millis("created_at"))
        .col(millis("updated_at"))
        .foreign_key(&mut cascade("outbox", "run_id", "campaign_runs", "run_id"))
        .take()
}

/// Every attempt to send an outbox row, with its classified outcome
/// (`delivered`, `retry`, `permanent`, `token_gone`) and detail.
fn delivery_attempts() -> TableCreateStatement {
    Table::create()
        .table("delivery_attempts")
        .if_not_exists()
        .col(big_pk_auto("attempt_id"))
        .col(big_integer("outbox_id"))
        .col(integer("attempt"))
        .col(string("worker"))
        .col(string("outcome"))
        .col(text_null("detail"))
        .col(string_null("provider_message_id"))
        .col(big_integer_null("retry_after_ms"))
        .col(millis("started_at"))
        .col(millis("finished_at"))
        .foreign_key(&mut cascade(
            "delivery_attempts",
            "outbox_id",
            "outbox",
            "outbox_id",
        ))
        .take()
}

/// Event-trigger de-duplication: a trigger fires at most once per
/// (campaign, user, window).
fn trigger_fires() -> TableCreateStatement {
    Table::create()
        .table("trigger_fires")
        .if_not_exists()
        .col(big_integer("campaign_id"))
        .col(string("user_id"))
        .col(string("window_key"))
        .col(millis("fire_at"))
        .col(big_integer_null("run_id"))
        .col(millis("created_at"))
        .primary_key(
            Index::create()
                .col("campaign_id")
                .col("user_id")
                .col("window_key"),
        )
        .foreign_key(&mut cascade(
            "trigger_fires",
            "campaign_id",
            "campaigns",
            "campaign_id",
        ))
        .take()
}
