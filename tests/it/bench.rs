//! `herald bench` end to end on a tiny shop: prepared once, then two
//! reused push runs measure the same campaign (each run deletes what the
//! one before it left) and deliver the same messages to the sandbox.

use std::process::Command;

/// Runs the binary with `args`, failing the test with its stderr.
fn herald(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(args)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .expect("start herald");
    assert!(
        output.status.success(),
        "herald {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A `COUNT(*) AS n` query on the benchmark's SQLite file, through
/// sea-orm on a runtime of its own (the test itself is synchronous).
fn count(db: &std::path::Path, sql: &str) -> i64 {
    let url = format!("sqlite://{}?mode=ro", db.display());
    let sql = sql.to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let conn = Database::connect(&url).await.expect("connect");
        let stmt = Statement::from_string(conn.get_database_backend(), sql);
        let row = conn.query_one_raw(stmt).await.expect("query").expect("row");
        let n: i64 = row.try_get("", "n").expect("n");
        conn.close().await.ok();
        n
    })
}

#[test]
fn reused_bench_runs_measure_the_same_campaign_and_deliver_every_recipient() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shop");
    let out = out.to_str().unwrap();
    let small = ["--users", "300", "--items", "60", "--events-per-user", "5"];
    let prepare = [&small[..], &["--out", out, "--prepare"]].concat();
    herald(&[&["bench"], &prepare[..]].concat());
    let reuse = [
        &small[..],
        &["--out", out, "--reuse", "--channels", "push", "--json"],
    ]
    .concat();
    let runs: Vec<serde_json::Value> = (0..2)
        .map(|_| serde_json::from_str(&herald(&[&["bench"], &reuse[..]].concat())).unwrap())
        .collect();
    let push = |run: &serde_json::Value, key: &str| run["push"][key].as_i64().unwrap();
    let recipients = push(&runs[0], "recipients");
    assert!(recipients > 100, "{}", runs[0]);
    // The first run deactivates the few dead tokens of the generated shop.
    let pruned = recipients - push(&runs[1], "recipients");
    assert!((0..=recipients / 20).contains(&pruned), "{}", runs[1]);
    assert_eq!(push(&runs[1], "delivered"), push(&runs[0], "delivered"));
    assert!(push(&runs[1], "delivered") > 0, "{}", runs[1]);
    let db = dir.path().join("shop").join("bench.db");
    let one = |sql: &str| count(&db, sql);
    assert_eq!(
        one("SELECT COUNT(*) AS n FROM campaigns"),
        1,
        "earlier runs deleted"
    );
    assert_eq!(one("SELECT COUNT(DISTINCT run_id) AS n FROM outbox"), 1);
    assert_eq!(one("SELECT COUNT(DISTINCT run_id) AS n FROM exposures"), 1);
    assert_eq!(
        one("SELECT COUNT(*) AS n FROM outbox WHERE status = 'sent'"),
        push(&runs[1], "delivered")
    );
}
