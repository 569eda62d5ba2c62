//! Test helpers: fresh databases per test (a temporary SQLite file, and a
//! new PostgreSQL database when `HERALD_TEST_DATABASE_URL` is set), file
//! fixtures, and an observer that collects import issues.

use herald::ingest::import::{ImportObserver, RowIssue};
use herald::store::{Backend, Store};
use sea_orm::{ConnectionTrait, Database};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh, migrated database for one test.
pub struct TestDb {
    /// The store on it.
    pub store: Store,
    /// Its URL, for spawning the CLI against it.
    pub url: String,
    /// Keeps the SQLite file alive.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// `sqlite` or `postgres`, for assertion messages.
    pub fn name(&self) -> &'static str {
        match self.store.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Every backend this run can test: SQLite, plus PostgreSQL when
/// configured. Each call gives new, empty, migrated databases.
pub async fn test_dbs() -> Vec<TestDb> {
    let mut dbs = vec![sqlite().await];
    if let Some(admin) = postgres_url() {
        dbs.push(postgres(&admin).await);
    }
    dbs
}

/// The PostgreSQL server's admin URL, when this run tests PostgreSQL.
/// Without one the skip is said once on stderr, and under CI (`CI` set)
/// it is a failure: the PostgreSQL half of the suite must not vanish
/// silently where it is expected to run.
pub fn postgres_url() -> Option<String> {
    static SAID: std::sync::Once = std::sync::Once::new();
    match std::env::var("HERALD_TEST_DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but HERALD_TEST_DATABASE_URL is not: the PostgreSQL tests would be skipped"
            )
        }
        Err(_) => {
            SAID.call_once(|| {
                eprintln!("HERALD_TEST_DATABASE_URL is not set: PostgreSQL tests are skipped")
            });
            None
        }
    }
}

/// A new SQLite database in a temporary folder.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("herald.db").display()
    );
    let store = Store::connect(&url, 4).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    TestDb {
        store,
        url,
        _dir: Some(dir),
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A new PostgreSQL database on the server of `admin_url`.
pub async fn postgres(admin_url: &str) -> TestDb {
    let name = format!(
        "herald_t{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        rand_suffix()
    );
    let admin = Database::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let mut url = url::Url::parse(admin_url).expect("HERALD_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let store = Store::connect(&url, 4).await.expect("open postgres");
    store.migrate().await.expect("migrate postgres");
    TestDb {
        store,
        url,
        _dir: None,
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write fixture");
    path
}

/// Collects every issue an import reports.
#[derive(Default)]
pub struct Collect {
    /// The issues, as `FILE:LINE: field: reason` lines.
    pub lines: Vec<String>,
}

impl ImportObserver for Collect {
    fn issue(&mut self, issue: &RowIssue) {
        self.lines.push(issue.to_string());
    }

    fn progress(&mut self, _bytes: u64) {}
}

/// A valid 64-hex APNs token made from one repeated byte.
pub fn apns_token(byte: u8) -> String {
    format!("{byte:02x}").repeat(32)
}
