//! A provider that refuses herald's credentials or settings stops the
//! channel, not each message: its circuit opens, its messages stay
//! pending with their attempts intact, the token endpoint is not
//! hammered, nothing is deactivated by a wrong topic, and once the fault
//! is cleared a probe closes the circuit and everything is delivered.
//! Steps are driven at chosen instants, so probes come without waiting.

use std::collections::HashMap;
use std::sync::Arc;

use herald::channels::Address;
use herald::channels::sandbox::{Failure, Faults, Sandbox};
use herald::dispatch::circuit::FIRST_PROBE_MS;
use herald::dispatch::{CircuitState, Circuits, Provider, Step, Tally, Worker};
use herald::domain::Platform;
use sea_orm::{ConnectionTrait, Database, Statement};

use super::fixtures::{
    Msg, attempts, channels, counts, enqueue, fcm_token, open_run, sandbox, seed, settings, wall,
};
use crate::helpers::{TestDb, apns_token, test_dbs};

/// A worker on the sandbox adapters and its circuits.
fn worker(db: &TestDb, sandbox: &Sandbox) -> (Worker, Arc<Circuits>) {
    let channels = channels(sandbox);
    let circuits = channels.circuits().clone();
    let worker = Worker::new(db.store.clone(), channels, settings(), "w-circuit");
    (worker, circuits)
}

/// Seeds `n` users with one device each on `platform` and enqueues a
/// push to each; returns the run and the device ids by token.
async fn pushes(db: &TestDb, n: u32, platform: Platform) -> (i64, HashMap<String, i64>) {
    let users: Vec<String> = (0..n).map(|i| format!("c{i:04}")).collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    let token = |i: u32| match platform {
        Platform::Ios => apns_token(u8::try_from(i % 256).unwrap_or(0)),
        _ => fcm_token(i),
    };
    let devices: Vec<_> = (0..n)
        .map(|i| (users[i as usize], platform, token(i)))
        .collect();
    let ids = seed(db, &users, &devices).await;
    let run_id = open_run(db).await;
    let msgs: Vec<_> = devices
        .iter()
        .map(|(u, p, t)| Msg::push(u, ids[t], *p, t))
        .collect();
    enqueue(db, run_id, &msgs).await;
    (run_id, ids)
}

/// Steps at `now` until the worker goes idle; the tallies added up.
async fn steps(worker: &Worker, run_id: i64, now: i64) -> Tally {
    let mut total = Tally::default();
    while let Step::Worked(tally) = worker.step(now, Some(run_id)).await.expect("step") {
        total.add(&tally);
    }
    total
}

/// The sum of the outbox rows' `attempts` column.
async fn burned(db: &TestDb, run_id: i64) -> i64 {
    let conn = Database::connect(&db.url).await.expect("connect");
    let sql = format!("SELECT COALESCE(SUM(attempts), 0) AS n FROM outbox WHERE run_id = {run_id}");
    let stmt = Statement::from_string(conn.get_database_backend(), sql);
    let row = conn.query_one_raw(stmt).await.expect("sum").expect("row");
    let n: i64 = row.try_get("", "n").expect("n");
    conn.close().await.ok();
    n
}

/// Active devices among `ids`.
async fn active(db: &TestDb, ids: &HashMap<String, i64>) -> usize {
    let mut n = 0;
    for token in ids.keys() {
        let found = db.store.active_device_by_token(token).await.expect("read");
        n += usize::from(found.is_some());
    }
    n
}

/// Drives steps two probe intervals apart, from `now` on, until no row of
/// the run is pending (at most eight rounds).
async fn until_done(worker: &Worker, db: &TestDb, run_id: i64, mut now: i64) {
    for _ in 0..8 {
        now += 2 * FIRST_PROBE_MS;
        steps(worker, run_id, now).await;
        if !counts(db, run_id).await.contains_key("pending") {
            break;
        }
    }
}

#[tokio::test]
async fn an_fcm_token_endpoint_refusing_the_account_holds_300_messages_after_a_handful_of_token_requests()
 {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().refuse_credentials(true);
        let (run_id, _) = pushes(&db, 300, Platform::Android).await;
        let (worker, circuits) = worker(&db, &sandbox);
        let tally = steps(&worker, run_id, wall()).await;
        assert_eq!(
            (tally.held, tally.failed, tally.retried),
            (300, 0, 0),
            "{}",
            db.name()
        );
        assert_eq!(circuits.state(Provider::Fcm), CircuitState::Open);
        let trip = circuits.tripped().expect("tripped").to_string();
        assert!(
            trip.contains("invalid_grant") && trip.contains("fix [fcm] service_account_file"),
            "{trip}"
        );
        let token_requests = sandbox.record().count("fcm-oauth");
        assert!(
            token_requests <= 3,
            "{}: {token_requests} token requests",
            db.name()
        );
        assert_eq!(sandbox.record().count("fcm"), 0, "{}", db.name());
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("pending".to_owned(), 300)])
        );
        assert_eq!(burned(&db, run_id).await, 0, "{}", db.name());
        assert!(attempts(&db).await.is_empty(), "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn an_apns_key_refused_with_403_opens_the_circuit_and_a_probe_after_the_fix_delivers_all() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().refuse_credentials(true);
        let (run_id, _) = pushes(&db, 40, Platform::Ios).await;
        let (worker, circuits) = worker(&db, &sandbox);
        let start = wall();
        let tally = steps(&worker, run_id, start).await;
        assert_eq!((tally.held, tally.failed), (40, 0), "{}", db.name());
        assert_eq!(circuits.state(Provider::Apns), CircuitState::Open);
        assert!(
            circuits
                .tripped()
                .expect("tripped")
                .to_string()
                .starts_with("apns: InvalidProviderToken: fix [apns] key_file"),
            "{:?}",
            circuits.tripped()
        );
        assert_eq!(burned(&db, run_id).await, 0, "{}", db.name());
        let refused = sandbox.record().count("apns");
        // Still refused: one probe per interval, the rest held (the
        // interval runs from the answers, a little after `start`).
        let probe_at = start + FIRST_PROBE_MS + 1_000;
        steps(&worker, run_id, probe_at).await;
        assert_eq!(sandbox.record().count("apns"), refused + 1, "{}", db.name());
        assert_eq!(circuits.state(Provider::Apns), CircuitState::Open);
        sandbox.faults().refuse_credentials(false);
        until_done(&worker, &db, run_id, probe_at).await;
        assert_eq!(circuits.state(Provider::Apns), CircuitState::Closed);
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("sent".to_owned(), 40)])
        );
        assert_eq!(burned(&db, run_id).await, 40, "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_wrong_topic_for_every_device_deactivates_none_and_opens_the_circuit() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().configure(Faults {
            error_rate: 1.0,
            error: Failure::Custom {
                status: 400,
                reason: "DeviceTokenNotForTopic".to_owned(),
            },
            ..Faults::default()
        });
        let (run_id, ids) = pushes(&db, 30, Platform::Ios).await;
        let (worker, circuits) = worker(&db, &sandbox);
        let start = wall();
        let tally = steps(&worker, run_id, start).await;
        assert_eq!(tally.failed, 0, "{}: {tally:?}", db.name());
        let trip = circuits.tripped().expect("tripped");
        assert!(trip.tokens_refused, "{trip}");
        assert!(
            trip.to_string().contains("fix [apns] topic"),
            "{}",
            trip.to_string()
        );
        let now = start + 3 * FIRST_PROBE_MS;
        steps(&worker, run_id, now).await;
        assert_eq!(active(&db, &ids).await, 30, "{}", db.name());
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("pending".to_owned(), 30)])
        );
        sandbox.faults().configure(Faults::default());
        until_done(&worker, &db, run_id, now).await;
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("sent".to_owned(), 30)])
        );
        assert_eq!(active(&db, &ids).await, 30, "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn one_refused_token_among_successes_is_still_a_dead_token() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let (run_id, ids) = pushes(&db, 12, Platform::Ios).await;
        // The sandbox refuses a token that is not 64 hex digits with
        // 400 BadDeviceToken: point one row at such a token.
        let dead = apns_token(0).get(..62).unwrap_or_default().to_owned();
        let conn = Database::connect(&db.url).await.expect("connect");
        let address = serde_json::to_string(&Address::Device {
            platform: Platform::Ios,
            token: dead,
        })
        .expect("address json");
        let sql = format!(
            "UPDATE outbox SET address = '{address}' WHERE outbox_id = \
             (SELECT MIN(outbox_id) FROM outbox WHERE run_id = {run_id})"
        );
        let stmt = Statement::from_string(conn.get_database_backend(), sql);
        conn.execute_raw(stmt).await.expect("point at a dead token");
        conn.close().await.ok();
        let (worker, circuits) = worker(&db, &sandbox);
        until_done(&worker, &db, run_id, wall()).await;
        assert_eq!(circuits.state(Provider::Apns), CircuitState::Closed);
        assert_eq!(active(&db, &ids).await, 11, "{}", db.name());
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("sent".to_owned(), 11), ("failed".to_owned(), 1)])
        );
        sandbox.shutdown().await;
    }
}

/// Seeds `n` users with an email address or phone number and enqueues a
/// message to each.
async fn messages(db: &TestDb, n: u32, email: bool) -> i64 {
    let users: Vec<String> = (0..n).map(|i| format!("m{i:03}")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    seed(db, &names, &[]).await;
    let run_id = open_run(db).await;
    let msgs: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, u)| match email {
            true => Msg::email(u, &format!("{u}@example.com")),
            false => Msg::sms(u, &format!("+1555000{:04}", i)),
        })
        .collect();
    enqueue(db, run_id, &msgs).await;
    run_id
}

#[tokio::test]
async fn an_smtp_authentication_failure_and_an_sms_401_open_their_circuits() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        sandbox.faults().refuse_credentials(true);
        let mail = messages(&db, 6, true).await;
        let sms = messages(&db, 6, false).await;
        let (worker, circuits) = worker(&db, &sandbox);
        let start = wall();
        for run_id in [mail, sms] {
            let tally = steps(&worker, run_id, start).await;
            assert_eq!((tally.held, tally.failed), (6, 0), "{}", db.name());
        }
        assert_eq!(circuits.state(Provider::Email), CircuitState::Open);
        assert_eq!(circuits.state(Provider::Sms), CircuitState::Open);
        assert!(attempts(&db).await.is_empty(), "{}", db.name());
        sandbox.faults().refuse_credentials(false);
        for run_id in [mail, sms] {
            until_done(&worker, &db, run_id, start).await;
            assert_eq!(
                counts(&db, run_id).await,
                HashMap::from([("sent".to_owned(), 6)])
            );
        }
        assert_eq!(circuits.state(Provider::Email), CircuitState::Closed);
        assert_eq!(circuits.state(Provider::Sms), CircuitState::Closed);
        sandbox.shutdown().await;
    }
}
