//! Leases of a process of this host that no longer exists (killed with
//! SIGKILL) are taken at once: a run's planner lease by the rerun, and
//! outbox leases by the next worker to start, without waiting for them to
//! expire. A live process's leases, or another host's, are left alone.

use std::collections::HashMap;
use std::time::Duration;

use herald::dispatch::{owner_id, owner_is_gone};

use super::fixtures::{counts, drain, open_run, pushes, sandbox, settings, wall, worker};
use crate::helpers::test_dbs;

/// A lease owner id of this host naming a process that has exited.
fn gone_owner() -> String {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    child.wait().expect("reap true");
    let mine = format!("-{}-", std::process::id());
    let gone = owner_id(1).replace(&mine, &format!("-{pid}-"));
    assert!(owner_is_gone(&gone), "{gone} should be gone");
    gone
}

#[tokio::test]
async fn a_planner_lease_held_by_a_gone_process_of_this_host_is_taken_at_once() {
    for db in test_dbs().await {
        let run_id = open_run(&db).await;
        let (now, until) = (wall(), wall() + 60_000);
        let store = &db.store;
        let gone = gone_owner();
        assert!(
            store
                .claim_planner(run_id, &gone, now, until)
                .await
                .unwrap()
        );
        let rerun = owner_id(2);
        let taken = store.claim_planner(run_id, &rerun, now + 1, until + 1);
        assert!(taken.await.unwrap(), "{}: the rerun had to wait", db.name());
        let live = owner_id(3);
        let taken = store.claim_planner(run_id, &live, now + 2, until + 2);
        assert!(
            !taken.await.unwrap(),
            "{}: a live lease was taken",
            db.name()
        );
        let elsewhere = "planner.elsewhere.example-1-1";
        let other_run = open_run(&db).await;
        assert!(
            store
                .claim_planner(other_run, elsewhere, now, until)
                .await
                .unwrap()
        );
        let remote = store.claim_planner(other_run, &rerun, now + 1, until);
        assert!(
            !remote.await.unwrap(),
            "{}: another host's lease was taken",
            db.name()
        );
    }
}

#[tokio::test]
async fn a_worker_starting_frees_the_outbox_leases_of_a_gone_process_and_sends_at_once() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let run_id = pushes(&db, 3).await;
        let gone = gone_owner();
        let held = db
            .store
            .claim_outbox(&gone, wall(), 600_000, 10, Some(run_id));
        assert_eq!(held.await.unwrap().len(), 3, "{}", db.name());
        let live = worker(&db, &sandbox, settings(), &owner_id(4));
        let drained = tokio::time::timeout(Duration::from_secs(20), drain(&live, run_id)).await;
        let report = drained.unwrap_or_else(|_| panic!("{}: waited for the leases", db.name()));
        assert_eq!(report.totals.delivered, 3, "{}: {report:?}", db.name());
        let sent = HashMap::from([("sent".to_owned(), 3)]);
        assert_eq!(counts(&db, run_id).await, sent, "{}", db.name());
        sandbox.shutdown().await;
    }
}
