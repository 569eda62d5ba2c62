//! Crash safety and scale-out, black-box: the real `herald` binary sends a
//! push campaign to the sandbox APNs over loopback. One test (on SQLite
//! and on PostgreSQL, the `SKIP LOCKED` path) kills the
//! sending process with SIGKILL mid-run and restarts it: every planned
//! message arrives, and the only repeats are messages that were in flight
//! at the kill, each with the same apns-id. The other runs three `herald
//! worker` processes on one PostgreSQL database: no message is sent twice.

use crate::helpers::{TestDb, postgres, test_dbs, write};
use herald::channels::sandbox::{Received, Sandbox, SandboxConfig};
use herald::ingest::import::{ImportOptions, Kind, import_file};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Rows one worker claims at a time.
const BATCH: usize = 40;

/// APNs sends in flight at once. Results are recorded as they arrive, so
/// a kill repeats at most these and the results of the group commit under
/// way (a few milliseconds' worth at `rate = 300`): twice this at most.
const IN_FLIGHT: usize = 8;

/// Users with one iOS device each, imported into `db`.
async fn users_with_devices(db: &TestDb, dir: &Path, n: usize) {
    let mut users = String::from("user_id,email,timezone,consent_push\n");
    let mut devices = String::from("user_id,platform,token,app_id,created_at\n");
    for i in 0..n {
        users.push_str(&format!("u{i:05},u{i}@example.com,UTC,true\n"));
        let token = format!("{:064x}", 0xabcd_0000_u64 + i as u64);
        devices.push_str(&format!(
            "u{i:05},ios,{token},com.example.herald,2026-01-01T00:00:00Z\n"
        ));
    }
    for (kind, name, text) in [
        (Kind::Users, "users.csv", users),
        (Kind::Devices, "devices.csv", devices),
    ] {
        let path = write(dir, name, &text);
        let mut issues = crate::helpers::Collect::default();
        import_file(
            &db.store,
            kind,
            &path,
            &ImportOptions::default(),
            &mut issues,
        )
        .await
        .expect("import fixture");
        assert!(issues.lines.is_empty(), "{:?}", issues.lines);
    }
}

/// A push campaign file with no recommendations.
fn campaign(dir: &Path) -> PathBuf {
    write(
        dir,
        "push.toml",
        "name = \"crash\"\nchannels = [\"push\"]\nschedule = { at = \"2026-01-01T00:00:00Z\" }\n\
         [[variants]]\nname = \"A\"\nweight = 1.0\ntitle = \"Hi {{ user.user_id }}\"\nbody = \"New picks\"\n",
    )
}

/// The binary with the sandbox settings and the database.
fn herald(config: &Path, db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .arg("--config")
        .arg(config)
        .arg("--database")
        .arg(&db.url)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn");
    command
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "herald failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Starts the sandbox, writes settings for it, imports `n` users and
/// creates the campaign; returns the sandbox, settings file and campaign id.
async fn setup(db: &TestDb, dir: &Path, n: usize, dispatch: &str) -> (Sandbox, PathBuf, String) {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let config = sandbox
        .write_settings(&dir.join("sandbox"), dispatch)
        .unwrap();
    users_with_devices(db, dir, n).await;
    let created = ok(herald(&config, db)
        .args(["campaign", "create", "--now"])
        .arg(campaign(dir))
        .output()
        .unwrap());
    (sandbox, config, created.trim().to_owned())
}

/// The APNs requests the sandbox accepted, grouped by apns-id.
fn by_apns_id(received: &[Received]) -> HashMap<String, Vec<&Received>> {
    let mut groups: HashMap<String, Vec<&Received>> = HashMap::new();
    for r in received.iter().filter(|r| r.status == 200) {
        let id = r.header("apns-id").expect("apns-id header").to_owned();
        groups.entry(id).or_default().push(r);
    }
    groups
}

/// Waits (polling, bounded) until `done` holds.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting until {what}");
}

fn kill(mut child: Child) {
    child.kill().expect("SIGKILL the sender");
    child.wait().expect("reap the sender");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_mid_run_loses_nothing_and_repeats_only_in_flight_messages() {
    for db in test_dbs().await {
        sender_killed_mid_run(db).await;
    }
}

/// Sends a campaign on `db`, SIGKILLs the sender a third of the way in,
/// reruns it, and checks what the provider received.
async fn sender_killed_mid_run(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let users = 1500;
    let dispatch = format!(
        "[dispatch]\nbatch_size = {BATCH}\n\n[dispatch.apns]\nconcurrency = {IN_FLIGHT}\nrate = 300\n"
    );
    let (sandbox, config, id) = setup(&db, dir.path(), users, &dispatch).await;
    let sender = herald(&config, &db)
        .args(["campaign", "run", &id])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("a third of the messages arrived", || {
        sandbox.record().count("apns") >= users / 3
    })
    .await;
    kill(sender);
    let before_restart = sandbox.record().count("apns");
    assert!(
        before_restart < users,
        "the kill came too late to test anything"
    );
    ok(herald(&config, &db)
        .args(["campaign", "run", &id])
        .output()
        .unwrap());
    let received = sandbox.record().of("apns");
    let groups = by_apns_id(&received);
    assert_eq!(
        groups.len(),
        users,
        "every planned message arrived once at least"
    );
    let repeats = received.len() - groups.len();
    assert!(
        repeats <= 2 * IN_FLIGHT,
        "{repeats} repeats exceed twice the {IN_FLIGHT} sends in flight"
    );
    for (id, copies) in &groups {
        let tokens: std::collections::HashSet<_> = copies.iter().map(|r| &r.address).collect();
        assert_eq!(tokens.len(), 1, "apns-id {id} went to two devices");
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgresql_send_every_message_exactly_once() {
    let Some(admin) = crate::helpers::postgres_url() else {
        return; // said by postgres_url; a failure under CI
    };
    let db = postgres(&admin).await;
    let dir = tempfile::tempdir().unwrap();
    let users = 1200;
    let dispatch =
        format!("[dispatch]\nbatch_size = {BATCH}\n\n[dispatch.apns]\nconcurrency = 4\n");
    let (sandbox, config, id) = setup(&db, dir.path(), users, &dispatch).await;
    ok(herald(&config, &db)
        .args(["campaign", "run", &id, "--plan-only"])
        .output()
        .unwrap());
    // A little provider latency, so the drain lasts long enough for all
    // three to take part (one alone would need three times as long).
    sandbox
        .faults()
        .set_latency(std::time::Duration::from_millis(20));
    let workers: Vec<Child> = (0..3)
        .map(|_| {
            herald(&config, &db)
                .args(["worker", "--drain"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for worker in workers {
        let output = worker.wait_with_output().unwrap();
        assert!(output.status.success(), "a worker failed");
        let said = String::from_utf8_lossy(&output.stdout);
        let delivered: u64 = (said.split(": ").nth(1))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no delivered count in {said:?}"));
        assert!(delivered > 0, "a worker sent nothing: {said}");
    }
    let received = sandbox.record().of("apns");
    let groups = by_apns_id(&received);
    assert_eq!(groups.len(), users);
    assert_eq!(received.len(), users, "a message was sent twice");
    sandbox.shutdown().await;
}
