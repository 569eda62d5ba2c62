//! Opening the database. SQLite gets WAL journaling, `synchronous=NORMAL`
//! (durable at each checkpoint, safe with WAL), a busy timeout so writers
//! wait rather than fail, foreign keys on, and a 16 MiB page cache per
//! connection plus memory-mapped reads (bulk imports touch indexes all
//! over the file).
//! PostgreSQL gets a pool.

use super::sqlite_writer::SqliteWriter;
use super::{Store, StoreError};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The SQL backend behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite, the default.
    Sqlite,
    /// PostgreSQL, for scale-out.
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::Unsupported(mask_password(url)))
        }
    }
}

/// Masks the password of a URL, for messages.
pub fn mask_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// SQLite's page cache per connection, in KiB (negative: a size, not a
/// page count). Reads past it come from the operating system's file
/// cache, so a bigger cache mostly buys memory: with eight pooled
/// connections the caches fill over a 1M-user campaign, and 64 MiB each
/// made them most of its peak. 4 MiB keeps the indexes' upper levels.
pub(super) const CACHE_KIB: &str = "-4096";
/// The page cache of the write thread's connection (it alone commits, so
/// its cache stays valid from one transaction to the next).
const WRITER_CACHE_KIB: &str = "-8192";
/// No memory-mapped I/O: every database page a process touched through
/// the map stayed in its resident set (1 GiB mapped let a 100k-user
/// campaign reach 620 MiB resident, against 245 MiB with reads), and
/// campaigns ran as fast without it.
const MMAP_BYTES: &str = "0";
/// The page cache of a bulk import's connection while it imports.
pub(super) const BULK_CACHE_KIB: &str = "-65536";
/// Prepared statements kept per SQLite connection. Multi-row inserts
/// compile to large programs, one per row count (and a page's outbox and
/// exposure counts vary), so a long cache mostly holds programs that never
/// run again: on the 1M-user campaign 24 statements per connection peaked
/// at 356 MiB and 4 at 225-248 MiB (send rates within the noise of the
/// loaded machine they were measured on).
const STATEMENT_CACHE: usize = 4;

impl Store {
    /// Opens a pool on `url` with at most `max_connections` connections.
    /// A SQLite file also gets the write thread of the campaign hot path
    /// ([`SqliteWriter`]); an in-memory database, which a second
    /// connection would not share, and a read-only one do without.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let backend = Backend::from_url(url)?;
        let db = open(url, backend, max_connections).await?;
        let sqlite = if backend == Backend::Sqlite && !in_memory(url) && !read_only(url) {
            let path = sqlite_path(url)?;
            Some(Arc::new(SqliteWriter::open(&path, WRITER_CACHE_KIB)?))
        } else {
            None
        };
        Ok(Store {
            db,
            sqlite,
            backend,
        })
    }
}

/// The database file a SQLite URL names.
fn sqlite_path(url: &str) -> Result<std::path::PathBuf, StoreError> {
    let options = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Connect {
        url: mask_password(url),
        source: sea_orm::DbErr::Custom(e.to_string()),
    })?;
    Ok(options.get_filename().to_path_buf())
}

/// Whether a SQLite URL names an in-memory database.
fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Whether a SQLite URL opens the database read-only.
fn read_only(url: &str) -> bool {
    url.contains("mode=ro")
}

/// The pool.
async fn open(
    url: &str,
    backend: Backend,
    max_connections: u32,
) -> Result<sea_orm::DatabaseConnection, StoreError> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    if backend == Backend::Sqlite {
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
                .statement_cache_capacity(STATEMENT_CACHE)
                .pragma("cache_size", CACHE_KIB)
                .pragma("temp_store", "memory")
                .pragma("mmap_size", MMAP_BYTES)
        });
    }
    Database::connect(options)
        .await
        .map_err(|source| StoreError::Connect {
            url: mask_password(url),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_in_messages() {
        let masked = mask_password("postgres://herald:s3cret@db/herald");
        assert!(!masked.contains("s3cret"));
        assert!(masked.contains("***"));
    }

    #[tokio::test]
    async fn sqlite_files_get_a_write_thread_but_memory_and_read_only_urls_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let store = Store::connect(&url, 1).await.unwrap();
        assert!(store.sqlite_writer().is_some());
        store.close().await;
        let read_only = format!("sqlite://{}?mode=ro", file.display());
        let store = Store::connect(&read_only, 1).await.unwrap();
        assert!(store.sqlite_writer().is_none());
        let memory = Store::connect("sqlite::memory:", 1).await.unwrap();
        assert!(memory.sqlite_writer().is_none());
    }

    #[test]
    fn unknown_schemes_are_rejected() {
        assert!(Backend::from_url("mysql://x").is_err());
        assert_eq!(
            Backend::from_url("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
    }

    #[tokio::test]
    async fn pooled_sqlite_connections_read_pages_without_a_memory_map() {
        use sea_orm::ConnectionTrait;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url, 2).await.unwrap();
        let pragma = |name: &'static str| {
            let db = store.db().clone();
            async move {
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        db.get_database_backend(),
                        format!("PRAGMA {name}"),
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                row.try_get_by_index::<i64>(0).unwrap()
            }
        };
        assert_eq!(pragma("mmap_size").await, 0);
        assert_eq!(pragma("cache_size").await.to_string(), CACHE_KIB);
    }
}
