//! The plan and the outbox. A page of the plan (one decision per user) is
//! written together with its outbox rows and exposures in one transaction,
//! so a planner killed mid-run resumes after the last page it wrote. The
//! outbox is claimed under leases: `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//! one `UPDATE ... RETURNING` under SQLite's single writer. A claim counts
//! the attempt (`attempts + 1`) before anything is sent, so the count
//! bounds the sends whatever becomes of the results. Every result is
//! logged in `delivery_attempts`; the row's new state is applied by the
//! worker that still holds the lease, or, for a delivery, by whoever
//! reports it while the row is still pending.

mod claim;
mod lease;
mod plan;
mod read;
mod recheck;
mod sent;
mod sqlite;

pub use recheck::Stale;

use super::{StoreError, ctx};
use sea_orm::sea_query::{Alias, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

/// One planned decision (a `run_recipients` row).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    /// The user.
    pub user_id: String,
    /// The assigned variant (also for holdout users).
    pub variant: Option<String>,
    /// The chosen channel (`push`, `email`, `sms`, `webhook`).
    pub channel: Option<String>,
    /// `send`, `deferred`, `holdout` or `suppressed`.
    pub decision: String,
    /// Reason code for all but `send`.
    pub reason: Option<String>,
    /// Hex SHA-256 of the rendered payload.
    pub payload_hash: Option<String>,
    /// Not sent before this instant (ms), for deferrals.
    pub not_before: Option<i64>,
}

/// An outbox row to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbox {
    /// The run.
    pub run_id: i64,
    /// The user.
    pub user_id: String,
    /// The campaign channel (`push`, `email`, `sms`, `webhook`).
    pub channel: String,
    /// The device, for push.
    pub device_id: Option<i64>,
    /// Where it goes: the JSON of `channels::Address` (device with platform
    /// and token, email address, phone number or the webhook).
    pub address: String,
    /// The variant.
    pub variant: String,
    /// The rendered message (JSON of `RenderedMessage`).
    pub payload: String,
    /// Stable per (run, user): the apns-id / collapse key.
    pub dedup_key: String,
    /// Not before this instant (ms).
    pub next_attempt_at: i64,
    /// Now (ms).
    pub now: i64,
}

/// One item shown to one user in one run (an `exposures` row).
#[derive(Debug, Clone, PartialEq)]
pub struct NewExposure {
    /// The user.
    pub user_id: String,
    /// The item.
    pub item_id: String,
    /// Position, 1 first.
    pub rank: i32,
    /// Model score.
    pub score: f64,
    /// The variant.
    pub variant: String,
    /// The channel.
    pub channel: String,
    /// Why it was recommended.
    pub reason: String,
    /// The ranking model.
    pub rank_model_id: Option<i64>,
    /// The ranker's feature row for this (user, item): a JSON array in
    /// feature order (`{}` when none), for a point-in-time training set.
    pub features: String,
    /// When planned (ms).
    pub shown_at: i64,
}

/// A claimed (or read) outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Its id.
    pub outbox_id: i64,
    /// The run.
    pub run_id: i64,
    /// The user.
    pub user_id: String,
    /// The campaign channel.
    pub channel: String,
    /// The device, for push.
    pub device_id: Option<i64>,
    /// Where it goes (JSON of `channels::Address`).
    pub address: String,
    /// The variant.
    pub variant: String,
    /// The rendered message (JSON).
    pub payload: String,
    /// Stable per (run, user).
    pub dedup_key: String,
    /// `pending`, `sent`, `failed` or `cancelled`.
    pub status: String,
    /// Attempts counted so far: every claim counts one (a claimed row
    /// carries the count including its own attempt).
    pub attempts: i32,
    /// Earliest next attempt (ms).
    pub next_attempt_at: i64,
}

/// What an attempt did to its outbox row.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxUpdate {
    /// Accepted by the provider: `sent`.
    Sent,
    /// Try again at `next_attempt_at` (ms); the row stays `pending`.
    Retry {
        /// When.
        next_attempt_at: i64,
    },
    /// Given up (permanent error, attempts exhausted, no fallback): `failed`.
    Failed,
    /// The token died: the device is deactivated and the row moves to
    /// another device of the user (still `pending`, due now).
    Redirect {
        /// The next device.
        device_id: i64,
        /// Its address (JSON of `channels::Address`).
        address: String,
        /// The payload for it.
        payload: String,
    },
    /// The token died and the user falls back to another channel: this
    /// row is `failed` and `next` is enqueued in the same transaction.
    Fallback {
        /// The row for the next channel.
        next: Box<NewOutbox>,
    },
    /// The provider's circuit is open (it refuses herald's credentials or
    /// settings): the row stays `pending`, due at `next_attempt_at` (ms),
    /// and the attempt is not counted: `attempts` is left as it was and
    /// no `delivery_attempts` row is written (`last_error` says why).
    Hold {
        /// When it is due again.
        next_attempt_at: i64,
    },
    /// Not sent: something changed after planning (the reason code in
    /// the record's detail): `skipped`. Not an attempt.
    Skipped,
}

/// One finished attempt, recorded with the row's new state.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The row.
    pub outbox_id: i64,
    /// The worker that claimed it (and held its lease when it claimed it).
    pub owner: String,
    /// The attempt's number: the row's attempt count as its claim left it
    /// (claiming counts the attempt, before anything is sent).
    pub attempt: i32,
    /// `delivered`, `retry`, `permanent` or `token_gone`.
    pub outcome: String,
    /// The provider's reason or error.
    pub detail: Option<String>,
    /// The provider's message id.
    pub provider_message_id: Option<String>,
    /// Retry-After the provider asked for (ms).
    pub retry_after_ms: Option<i64>,
    /// When the attempt started (ms).
    pub started_at: i64,
    /// When it finished (ms).
    pub finished_at: i64,
    /// A device to deactivate (token gone), with the reason.
    pub deactivate_device: Option<(i64, String)>,
    /// The row's new state.
    pub update: OutboxUpdate,
}

/// Rows per multi-row insert: at most 13 columns a row keeps a statement
/// far below SQLite's 32766 and PostgreSQL's 65535 bind parameters.
const INSERT_CHUNK: usize = 1000;

/// Users per `IN (...)` list.
const IN_CHUNK: usize = 1000;

/// The columns an [`OutboxRow`] is read from.
const OUTBOX_COLUMNS: [&str; 12] = [
    "outbox_id",
    "run_id",
    "user_id",
    "channel",
    "device_id",
    "address",
    "variant",
    "payload",
    "dedup_key",
    "status",
    "attempts",
    "next_attempt_at",
];

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn read_outbox(r: &QueryResult) -> Result<OutboxRow, DbErr> {
    Ok(OutboxRow {
        outbox_id: r.try_get("", "outbox_id")?,
        run_id: r.try_get("", "run_id")?,
        user_id: r.try_get("", "user_id")?,
        channel: r.try_get("", "channel")?,
        device_id: r.try_get("", "device_id")?,
        address: r.try_get("", "address")?,
        variant: r.try_get("", "variant")?,
        payload: r.try_get("", "payload")?,
        dedup_key: r.try_get("", "dedup_key")?,
        status: r.try_get("", "status")?,
        attempts: r.try_get("", "attempts")?,
        next_attempt_at: r.try_get("", "next_attempt_at")?,
    })
}

/// The debug line of a written plan page: microseconds waiting for the
/// write lock, writing each table and committing.
fn log_page_written(
    run_id: i64,
    [begin_us, plan_us, outbox_us, exposures_us, commit_us]: [u64; 5],
) {
    tracing::debug!(
        run_id,
        begin_us,
        plan_us,
        outbox_us,
        exposures_us,
        commit_us,
        "plan page written"
    );
}

/// Enqueues outbox rows as `pending`; a row already there for the same
/// (run, user, channel) is kept as it is.
async fn insert_outbox(conn: &impl ConnectionTrait, rows: &[NewOutbox]) -> Result<(), StoreError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut stmt = Query::insert();
        stmt.into_table(col("outbox")).columns(
            [
                "run_id",
                "user_id",
                "channel",
                "device_id",
                "address",
                "variant",
                "payload",
                "dedup_key",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
                "updated_at",
            ]
            .map(col),
        );
        for row in chunk {
            stmt.values_panic([
                row.run_id.into(),
                row.user_id.clone().into(),
                row.channel.clone().into(),
                row.device_id.into(),
                row.address.clone().into(),
                row.variant.clone().into(),
                row.payload.clone().into(),
                row.dedup_key.clone().into(),
                "pending".into(),
                0i32.into(),
                row.next_attempt_at.into(),
                row.now.into(),
                row.now.into(),
            ]);
        }
        stmt.on_conflict(
            OnConflict::columns(["run_id", "user_id", "channel"].map(col))
                .do_nothing()
                .to_owned(),
        );
        conn.execute(&stmt)
            .await
            .map_err(ctx("insert outbox rows"))?;
    }
    Ok(())
}
