//! The store: the only module that talks SQL. It opens the database
//! (SQLite in WAL mode as the embedded default, or PostgreSQL), applies the
//! migrations, and offers typed queries to the stages above it. Nothing here
//! knows campaign logic; it persists, reads and claims.

mod api_keys;
mod attribution;
mod campaigns;
mod connect;
mod devices;
mod facts;
mod features;
mod feedback;
mod gauges;
mod import;
mod interactions;
mod items;
mod outbox;
mod privacy;
mod query;
mod rank_lists;
mod rank_models;
mod report;
mod retrain;
mod secrets;
mod segment_items;
mod segment_users;
mod segments;
mod send_time;
mod sessions;
mod sqlite_writer;
mod triggers;

pub use api_keys::ApiKeyRow;
pub use attribution::{ExposureKey, TouchCandidate, TouchKind, TrainingRow};
pub use campaigns::{CampaignRow, NewCampaign, NewRun, RunRow};
pub use connect::{Backend, mask_password};
pub use devices::DeviceRow;
pub use facts::UserFactRow;
pub use features::{ActivityRow, CategoryRow, CountRow, ProfileRow};
pub use feedback::{ConsentRow, FeedbackRow, NewFeedback};
pub use import::{ImportTxn, UserColumns, event_id};
pub use interactions::{EventSink, RankEventPage, RankEventRow, RankItemRow};
pub use items::ItemRow;
pub use outbox::{AttemptRecord, NewExposure, NewOutbox, OutboxRow, OutboxUpdate, PlanRow, Stale};
pub use privacy::{ERASE_SECRET_NAME, Erasure, UserExport, pseudonym};
pub use query::{StoredUser, TABLES};
pub use rank_models::{NewRankModel, RankModelMeta, RankModelRow};
pub use report::{OutboxFact, RecipientFact};
pub use retrain::LabelledExposure;
pub use segment_items::SegmentItemRow;
pub use segments::{NewSegmentModel, SegmentModelRow, SegmentRow};
pub use send_time::SegmentQuarterRow;
pub use sessions::{NewSession, SessionRow};
pub use triggers::{TriggerEvent, TriggerFire};

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};
use sqlite_writer::SqliteWriter;
use std::sync::Arc;

/// Errors from the store, with the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened; the URL is shown without password.
    #[error("cannot open database {url}: {source}")]
    Connect {
        /// The URL with any password masked.
        url: String,
        /// The driver's error.
        source: DbErr,
    },
    /// The URL names no supported backend.
    #[error("unsupported database URL {0} (use sqlite://FILE?mode=rwc or postgres://USER@HOST/DB)")]
    Unsupported(String),
    /// Applying or reverting migrations failed.
    #[error("migration failed: {0}")]
    Migration(DbErr),
    /// A query failed; `what` says which.
    #[error("{what}: {source}")]
    Query {
        /// The operation, e.g. "upsert users".
        what: &'static str,
        /// The driver's error.
        source: DbErr,
    },
}

/// Attaches the name of an operation to a driver error.
pub(crate) fn ctx(what: &'static str) -> impl FnOnce(DbErr) -> StoreError {
    move |source| StoreError::Query { what, source }
}

/// A handle on the database, cheap to clone (it wraps a pool).
#[derive(Clone, Debug)]
pub struct Store {
    /// The connection pool.
    db: DatabaseConnection,
    /// The write thread of a SQLite file, for the campaign hot path.
    sqlite: Option<Arc<SqliteWriter>>,
    /// Which SQL dialect the pool speaks.
    backend: Backend,
}

impl Store {
    /// The underlying sea-orm connection, for modules of the store.
    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The SQLite write thread, when the database is a SQLite file.
    pub(crate) fn sqlite_writer(&self) -> Option<&SqliteWriter> {
        self.sqlite.as_deref()
    }

    /// Starts a transaction that writes. On SQLite it begins `IMMEDIATE`,
    /// taking the write lock up front: a deferred transaction that reads
    /// first and writes later fails with "busy" when another writer commits
    /// in between, instead of waiting its turn under the busy timeout.
    /// PostgreSQL ignores the mode.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        self.db.begin_with_options(options).await
    }

    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        use herald_migrations::MigratorTrait;
        herald_migrations::Migrator::up(&self.db, None)
            .await
            .map_err(StoreError::Migration)
    }

    /// Reverts every migration (used by tests and `migrate --down`).
    pub async fn migrate_down(&self) -> Result<(), StoreError> {
        use herald_migrations::MigratorTrait;
        herald_migrations::Migrator::down(&self.db, None)
            .await
            .map_err(StoreError::Migration)
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(self) {
        let _ = self.db.close().await;
    }
}
