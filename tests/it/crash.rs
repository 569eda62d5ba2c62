//! Crash safety with SIGKILL, black-box, on SQLite and PostgreSQL: an
//! import killed while it writes leaves nothing behind, and a planner
//! killed mid-run is resumed at once by the next `campaign run` on this
//! host (its lease owner is a dead process), every user planned once.
//! Sending killed mid-run is in [`scale`](super::scale).

use crate::helpers::{TestDb, test_dbs, write};
use herald::store::Backend;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary on `db`, quiet.
fn herald(db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .arg("--database")
        .arg(&db.url)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs the binary to the end and returns its stdout, asserting success.
fn ok(command: &mut Command) -> String {
    let output = command.stdout(Stdio::piped()).output().expect("run herald");
    assert!(
        output.status.success(),
        "herald failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
}

/// Polls `done` every 20 ms for up to a minute.
async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gave up waiting until {what}");
}

/// The SQLite file behind a test database's URL.
fn sqlite_file(db: &TestDb) -> PathBuf {
    let path = db.url.trim_start_matches("sqlite://");
    PathBuf::from(path.split('?').next().unwrap_or(path))
}

/// Whether another connection is inside a write transaction on `db`: a
/// growing SQLite write-ahead log, or a PostgreSQL backend of this
/// database in a transaction that has inserted into `table`.
async fn mid_transaction(db: &TestDb, table: &str) -> bool {
    match db.store.backend() {
        Backend::Sqlite => {
            let wal = PathBuf::from(format!("{}-wal", sqlite_file(db).display()));
            std::fs::metadata(wal).is_ok_and(|m| m.len() > 2 << 20)
        }
        Backend::Postgres => {
            let conn = Database::connect(&db.url).await.expect("connect");
            let sql = format!(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                 AND pid <> pg_backend_pid() AND xact_start < now() - interval '300 milliseconds' \
                 AND query ILIKE '%{table}%'"
            );
            let stmt = Statement::from_string(conn.get_database_backend(), sql);
            let row = conn.query_one_raw(stmt).await.expect("pg_stat_activity");
            let n: i64 = row.map_or(0, |r| r.try_get("", "n").unwrap_or(0));
            conn.close().await.ok();
            n > 0
        }
    }
}

/// The number of rows in `table`.
async fn rows(conn: &DatabaseConnection, table: &str) -> usize {
    let sql = format!("SELECT count(*) AS n FROM {table}");
    let stmt = Statement::from_string(conn.get_database_backend(), sql);
    let row = conn.query_one_raw(stmt).await.expect("count rows");
    let n: i64 = row.map_or(0, |r| r.try_get("", "n").expect("a count"));
    n as usize
}

/// A users file of `n` users with an iOS device each, and the devices.
fn shop_files(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let mut users = String::from("user_id,email,timezone,consent_push,first_name\n");
    let mut devices = String::from("user_id,platform,token,app_id,created_at\n");
    for i in 0..n {
        users.push_str(&format!("u{i:06},u{i}@example.com,UTC,true,Name{i}\n"));
        let token = format!("{:064x}", 0x5eed_0000_u64 + i as u64);
        devices.push_str(&format!(
            "u{i:06},ios,{token},com.example.herald,2026-01-01T00:00:00Z\n"
        ));
    }
    (
        write(dir, "users.csv", &users),
        write(dir, "devices.csv", &devices),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_while_it_writes_leaves_nothing_behind() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        let (users, _) = shop_files(dir.path(), 200_000);
        let child = herald(&db)
            .args(["import", "users"])
            .arg(&users)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("the import is writing", || mid_transaction(&db, "users")).await;
        kill(child);
        let conn = Database::connect(&db.url).await.expect("connect");
        for table in ["users", "consents"] {
            let n = rows(&conn, table).await;
            assert_eq!(n, 0, "{}: {n} {table} rows survived the kill", db.name());
        }
        ok(herald(&db).args(["import", "users"]).arg(&users));
        let n = rows(&conn, "users").await;
        assert_eq!(n, 200_000, "{}: the re-import is whole", db.name());
    }
}
/// A push campaign without recommendations, created by the binary.
fn push_campaign(db: &TestDb, dir: &Path) -> String {
    let file = write(
        dir,
        "push.toml",
        "name = \"crash\"\nchannels = [\"push\"]\nschedule = { at = \"2026-01-01T00:00:00Z\" }\n\
         [[variants]]\nname = \"A\"\nweight = 1.0\ntitle = \"Hi {{ user.first_name }}\"\nbody = \"New\"\n",
    );
    let id = ok(herald(db).args(["campaign", "create", "--now"]).arg(file));
    id.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planner_killed_mid_run_is_resumed_at_once_and_plans_every_user_once() {
    for db in test_dbs().await {
        let dir = tempfile::tempdir().unwrap();
        let users = 30_000;
        let (user_file, device_file) = shop_files(dir.path(), users);
        ok(herald(&db).args(["import", "users"]).arg(&user_file));
        ok(herald(&db).args(["import", "devices"]).arg(&device_file));
        let id = push_campaign(&db, dir.path());
        let planner = herald(&db)
            .args(["campaign", "run", &id, "--plan-only"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let conn = Database::connect(&db.url).await.expect("connect");
        let conn = &conn;
        wait_until("some pages are planned", || async move {
            rows(conn, "run_recipients").await >= 2_000
        })
        .await;
        kill(planner);
        let planned = rows(conn, "run_recipients").await;
        assert!(planned < users, "{}: the kill came too late", db.name());
        let resumed = Instant::now();
        ok(herald(&db).args(["campaign", "run", &id, "--plan-only"]));
        assert!(
            resumed.elapsed() < Duration::from_secs(30),
            "{}: the rerun waited for the dead planner's lease ({:?})",
            db.name(),
            resumed.elapsed()
        );
        let runs = db.store.runs(id.parse().unwrap()).await.unwrap();
        assert_eq!(runs.len(), 1, "{}: one run, resumed", db.name());
        let recipients = rows(conn, "run_recipients").await;
        let outbox = rows(conn, "outbox").await;
        assert_eq!(recipients, users, "{}: every user planned once", db.name());
        assert_eq!(outbox, users, "{}: one message per user", db.name());
    }
}
