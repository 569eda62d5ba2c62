//! The SQLite write thread: the campaign hot path's writes (plan pages,
//! outbox claims, sent attempts) run here, each transaction whole on one
//! thread that owns one connection.
//!
//! Through the pool, a transaction is a conversation: every statement is a
//! message from an async task to the connection's thread and back, and on
//! two busy cores each of those hand-offs waits for a scheduler slot while
//! the transaction holds SQLite's one write lock. Measured on the 1M-user
//! push benchmark, write transactions held the lock about 75 % of the
//! campaign while the connection's thread used 0.3 of a core: the lock was
//! mostly held by a transaction waiting for its own next statement. Here a
//! job is one closure, sent once, that runs its statements back to back
//! with prepared statements kept in the connection's cache, and answers
//! once.
//!
//! Only writes whose speed matters come here; everything else, and every
//! PostgreSQL write, goes through the pool. The connection waits for the
//! lock under the same busy timeout as the pool's, so the two share the
//! database as any two writers would.

use super::StoreError;
use rusqlite::{Connection, OpenFlags};
use sea_orm::DbErr;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// A job: runs on the writer thread with its connection.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// How long a write waits for another writer's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Prepared statements kept: a handful of single-row statements.
const STATEMENTS: usize = 32;

/// The handle on the write thread; the thread ends when the last handle
/// is dropped.
#[derive(Debug)]
pub(crate) struct SqliteWriter {
    jobs: mpsc::Sender<Job>,
}

impl SqliteWriter {
    /// Opens a connection on the database file at `path` (which the pool
    /// has created and migrated) with `cache_kib` of page cache, and
    /// starts its thread.
    pub fn open(path: &Path, cache_kib: &str) -> Result<Self, StoreError> {
        let conn = connect(path, cache_kib).map_err(|e| StoreError::Connect {
            url: path.display().to_string(),
            source: DbErr::Custom(format!("opening the write connection: {e}")),
        })?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("herald-sqlite-writer".to_owned())
            .spawn(move || serve(conn, queue))
            .map_err(|e| StoreError::Connect {
                url: path.display().to_string(),
                source: DbErr::Custom(format!("starting the write thread: {e}")),
            })?;
        Ok(Self { jobs })
    }

    /// Runs `job` on the write thread and returns its result; `what`
    /// names the operation in errors.
    pub async fn run<T, F>(&self, what: &'static str, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (done, answer) = tokio::sync::oneshot::channel();
        let boxed: Job = Box::new(move |conn| {
            let _ = done.send(job(conn));
        });
        let gone = || StoreError::Query {
            what,
            source: DbErr::Custom("the SQLite write thread has stopped".to_owned()),
        };
        self.jobs.send(boxed).map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(|e| StoreError::Query {
                what,
                source: DbErr::Custom(e.to_string()),
            })
    }
}

/// The write connection, set up as the pool's connections are.
fn connect(path: &Path, cache_kib: &str) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 0; PRAGMA cache_size = {cache_kib};"
    ))?;
    Ok(conn)
}

/// The thread's loop: one job at a time until every handle is gone.
fn serve(mut conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(job) = queue.recv() {
        job(&mut conn);
    }
}

/// Runs `body` in an `IMMEDIATE` transaction (the write lock taken up
/// front), committed when it succeeds and rolled back when it fails.
pub(crate) fn immediate<T>(
    conn: &mut Connection,
    body: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let value = body(&txn)?;
    txn.commit()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_on_one_connection_and_failures_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        let writer = SqliteWriter::open(&path, "-1024").unwrap();
        writer
            .run("insert", |c| {
                immediate(c, |t| t.execute("INSERT INTO t VALUES (1)", []))
            })
            .await
            .unwrap();
        let failed = writer
            .run("insert twice", |c| {
                immediate(c, |t| {
                    t.execute("INSERT INTO t VALUES (2)", [])?;
                    t.execute("INSERT INTO t VALUES (1)", [])
                })
            })
            .await
            .unwrap_err();
        assert!(failed.to_string().contains("insert twice"), "{failed}");
        let rows: i64 = writer
            .run("count", |c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            })
            .await
            .unwrap();
        assert_eq!(rows, 1, "the failed job's first insert was rolled back");
    }
}
