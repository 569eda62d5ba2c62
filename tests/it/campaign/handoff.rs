//! The planner handing its rows to this process's sender: every row the
//! plan queues is sent once, straight from memory (none is claimed), and
//! nothing stays leased afterwards.

use super::fixtures::{campaign, create, engine, import_users, users};
use crate::dispatch::fixtures::{attempts, counts, nz, sandbox, settings, wall, worker};
use crate::helpers::test_dbs;
use herald::campaign::engine::PlanWith;
use herald::campaign::occurrence::Occurrence;
use herald::config::DispatchSettings;
use std::collections::HashMap;

#[tokio::test]
async fn a_planner_handing_off_sends_each_queued_row_once_and_claims_none() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        import_users(&db, dir.path(), &users(40)).await;
        let engine = engine(&db);
        let id = create(&engine, &campaign(dir.path(), "handed", "", "")).await;
        let now = wall();
        let (run, _) = engine
            .open(id, &Occurrence::manual(1, now, false), false, now)
            .await
            .unwrap();
        let small = DispatchSettings {
            batch_size: nz(7),
            ..settings()
        };
        let sender = worker(&db, &sandbox, small, "handed-sender");
        let (handoff, intake) = sender.hand_off(2);
        let with = PlanWith {
            handoff: Some(handoff),
            stop: None,
        };
        let planning = engine.plan_with(&run, "planner", now, with);
        let (plan, sent) = tokio::join!(planning, sender.send_handed(intake, run.run_id));
        let (plan, sent) = (plan.unwrap(), sent.unwrap());
        let name = db.name();
        assert_eq!(plan.send, 40, "{name}: {plan:?}");
        assert_eq!(
            sent.handed, 40,
            "{name}: every queued row was handed over: {sent:?}"
        );
        assert_eq!(
            sent.totals.claimed, 40,
            "{name}: and none claimed as well: {sent:?}"
        );
        assert_eq!(sent.totals.delivered, 40, "{name}: {sent:?}");
        assert!(sent.batches >= 6, "{name}: batches of 7: {sent:?}");
        let mut ids: Vec<String> = (sandbox.record().of("apns").iter())
            .filter_map(|r| r.header("apns-id").map(str::to_owned))
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            40,
            "{name}: an apns-id was sent twice or not at all"
        );
        assert_eq!(attempts(&db).await.len(), 40, "{name}");
        let all_sent = HashMap::from([("sent".to_owned(), 40)]);
        assert_eq!(counts(&db, run.run_id).await, all_sent, "{name}");
        assert_eq!(
            db.store.release_leases("handed-sender").await.unwrap(),
            0,
            "{name}"
        );
        sandbox.shutdown().await;
    }
}
