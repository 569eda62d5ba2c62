//! Results are durable as they arrive: a step's fast sends are in the
//! database while a slow one is still in flight, so a step killed
//! mid-batch repeats only what was in flight; and a delivery reported
//! after the lease was lost is still recorded, so nobody sends it again.

use std::collections::HashMap;
use std::sync::Arc;

use herald::dispatch::{ChannelSet, Step, Worker};

use super::fixtures::{apns, attempts, counts, pushes, sandbox, settings, wait_until, wall};
use super::wrap::Gate;
use crate::helpers::{apns_token, test_dbs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_killed_mid_batch_has_recorded_its_finished_sends_and_repeats_only_the_one_in_flight()
 {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let run_id = pushes(&db, 5).await;
        let slow = apns_token(0x40);
        let (gate, mut control) = Gate::new(apns(&sandbox), &[slow.as_str()]);
        let set = ChannelSet::empty().with_apns(gate);
        let killed = Arc::new(Worker::new(db.store.clone(), set, settings(), "w-killed"));
        let t0 = wall();
        let step = tokio::spawn({
            let killed = Arc::clone(&killed);
            async move { killed.step(t0, Some(run_id)).await }
        });
        control.entered.recv().await.expect("the slow send is held");
        wait_until("the four fast sends are recorded", || async {
            counts(&db, run_id).await.get("sent") == Some(&4)
        })
        .await;
        step.abort();
        let _ = step.await;
        let state = HashMap::from([("sent".to_owned(), 4), ("pending".to_owned(), 1)]);
        assert_eq!(counts(&db, run_id).await, state, "{}", db.name());
        assert_eq!(attempts(&db).await.len(), 4, "{}", db.name());
        let next = Worker::new(
            db.store.clone(),
            ChannelSet::empty().with_apns(apns(&sandbox)),
            settings(),
            "w-next",
        );
        let lease_over = t0 + 60_000;
        let Step::Worked(rest) = next.step(lease_over, Some(run_id)).await.unwrap() else {
            panic!("{}: the held row was not claimed again", db.name());
        };
        assert_eq!((rest.claimed, rest.delivered), (1, 1), "{}", db.name());
        assert_eq!(sandbox.record().count("apns"), 5, "{}", db.name());
        let sent = HashMap::from([("sent".to_owned(), 5)]);
        assert_eq!(counts(&db, run_id).await, sent, "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_reported_after_the_lease_was_lost_is_recorded_and_not_sent_again() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let run_id = pushes(&db, 1).await;
        let token = apns_token(0x40);
        let (gate, mut control) = Gate::new(apns(&sandbox), &[token.as_str()]);
        let slow = Worker::new(
            db.store.clone(),
            ChannelSet::empty().with_apns(gate),
            settings(),
            "w-slow",
        );
        let t0 = wall();
        let stepping = slow.step(t0, Some(run_id));
        let takeover = async {
            control.entered.recv().await.expect("the send is held");
            let taken = db
                .store
                .claim_outbox("w-vanished", t0 + 60_000, 1_000, 10, None);
            assert_eq!(taken.await.unwrap().len(), 1, "{}: lease taken", db.name());
            control.open.send(true).unwrap();
        };
        let (stepped, ()) = tokio::join!(stepping, takeover);
        let Step::Worked(tally) = stepped.unwrap() else {
            panic!("{}: nothing was claimed", db.name());
        };
        assert_eq!(tally.delivered, 1, "{}: {tally:?}", db.name());
        let sent = HashMap::from([("sent".to_owned(), 1)]);
        assert_eq!(counts(&db, run_id).await, sent, "{}", db.name());
        let logged = attempts(&db).await;
        assert_eq!(logged.len(), 1, "{}", db.name());
        assert_eq!(logged[0].outcome, "delivered", "{}", db.name());
        let another = Worker::new(
            db.store.clone(),
            ChannelSet::empty().with_apns(apns(&sandbox)),
            settings(),
            "w-another",
        );
        let later = another.step(t0 + 120_000, Some(run_id)).await.unwrap();
        assert_eq!(later, Step::Idle { next_due: None }, "{}", db.name());
        assert_eq!(
            sandbox.record().count("apns"),
            1,
            "{}: sent again",
            db.name()
        );
        sandbox.shutdown().await;
    }
}
