//! Outbox rows written leased (the planner handing them to its own
//! sender): only due rows are leased, the write says which, nobody else
//! claims them until the lease ends, and a row already queued by an
//! earlier planner is neither leased again nor handed over. `run_sendable`
//! answers what a claim would check.

use super::{LEASE, NOW, campaign, enqueue, outbox, plan, run};
use crate::helpers::test_dbs;
use herald::store::OutboxLease;

#[tokio::test]
async fn due_rows_written_leased_are_held_for_their_owner_until_the_lease_ends() {
    for db in test_dbs().await {
        let store = &db.store;
        let r = run(&db, campaign(&db, "leased").await, "slot").await.run_id;
        enqueue(&db, r, &["u0"], NOW, NOW).await;
        let users = ["u0", "u1", "u2", "u3"];
        let plans: Vec<_> = users.iter().map(|u| plan(u)).collect();
        let later = NOW + 3_600_000;
        let rows = vec![
            outbox(r, "u0", "push", NOW, NOW),
            outbox(r, "u1", "push", NOW, NOW),
            outbox(r, "u2", "push", later, NOW),
            outbox(r, "u3", "push", NOW - 5, NOW),
        ];
        let lease = OutboxLease {
            owner: "planner-sender".to_owned(),
            until: NOW + LEASE,
            due_by: NOW,
        };
        let leased = store
            .write_plan_page(r, &plans, &rows, &[], Some(&lease))
            .await
            .unwrap();
        let positions: Vec<usize> = leased.iter().map(|(i, _)| *i).collect();
        let name = db.name();
        assert_eq!(
            positions,
            [1, 3],
            "{name}: u0 was queued before, u2 is not due"
        );
        let other = store
            .claim_outbox("other", NOW + 1, LEASE, 10, Some(r))
            .await;
        let claimed: Vec<String> = other.unwrap().into_iter().map(|o| o.user_id).collect();
        assert_eq!(claimed, ["u0"], "{name}: leased rows are not claimable");
        let after = store
            .claim_outbox("other", NOW + LEASE + 1, LEASE, 10, Some(r))
            .await
            .unwrap();
        let mut ids: Vec<i64> = after.iter().map(|o| o.outbox_id).collect();
        ids.sort_unstable();
        let mut expected: Vec<i64> = leased.iter().map(|(_, id)| *id).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected, "{name}: the ids returned are the rows' ids");
    }
}

#[tokio::test]
async fn a_run_may_send_unless_it_is_cancelled_or_its_campaign_paused_or_cancelled() {
    for db in test_dbs().await {
        let store = &db.store;
        let c = campaign(&db, "sendable").await;
        let (a, b) = (run(&db, c, "a").await.run_id, run(&db, c, "b").await.run_id);
        let name = db.name();
        assert!(store.run_sendable(a).await.unwrap(), "{name}");
        store
            .set_run_status(b, "cancelled", None, Some(NOW))
            .await
            .unwrap();
        assert!(
            !store.run_sendable(b).await.unwrap(),
            "{name}: cancelled run"
        );
        store.set_campaign_status(c, "paused", NOW).await.unwrap();
        assert!(
            !store.run_sendable(a).await.unwrap(),
            "{name}: paused campaign"
        );
        store
            .set_campaign_status(c, "scheduled", NOW)
            .await
            .unwrap();
        assert!(store.run_sendable(a).await.unwrap(), "{name}: resumed");
        assert!(
            !store.run_sendable(a + 100).await.unwrap(),
            "{name}: no such run"
        );
    }
}
