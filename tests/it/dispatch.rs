//! Outbox workers end to end, on every backend, against the real sandbox
//! providers over loopback: a mixed batch is delivered once per row, and
//! rows that cannot be sent fail with a reason. `retries` covers transient
//! and permanent failures and rate limits, `dead_tokens` device pruning,
//! redirects and fallbacks, `leases` concurrent workers, lost leases and
//! shutdown, `bounds` the `max_attempts` bound and lease renewal,
//! `durable` results recorded as they arrive and after a lost lease,
//! `gone` leases of killed processes, `circuit` providers refusing
//! herald's credentials or settings, `reregister` dead tokens registered
//! again; `fixtures` and `wrap` hold what they share.

mod bounds;
mod circuit;
mod dead_tokens;
mod durable;
mod reregister;
pub(crate) mod fixtures;
mod gone;
mod leases;
mod retries;
mod wrap;

use std::collections::HashMap;

use herald::channels::{Address, RenderedMessage, WebhookMessage};
use herald::dispatch::Step;
use herald::domain::Platform;

use crate::helpers::{apns_token, test_dbs};
use fixtures::{
    Msg, attempts, counts, drain, enqueue, fcm_token, key, open_run, outbox_row, sandbox, seed,
    settings, wall, worker,
};

/// The mixed batch of the first test: iOS, Android, web, email, SMS.
fn mixed(ids: &HashMap<String, i64>) -> Vec<Msg> {
    let ios = apns_token(0x11);
    let android = fcm_token(2);
    let web = fcm_token(3);
    vec![
        Msg::push("u1", ids[&ios], Platform::Ios, &ios),
        Msg::push("u2", ids[&android], Platform::Android, &android),
        Msg::push("u3", ids[&web], Platform::Web, &web),
        Msg::email("u4", "ana@example.com"),
        Msg::sms("u5", "+4915112345678"),
    ]
}

#[tokio::test]
async fn a_mixed_batch_is_delivered_once_per_row_through_every_provider() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        let devices = [
            ("u1", Platform::Ios, apns_token(0x11)),
            ("u2", Platform::Android, fcm_token(2)),
            ("u3", Platform::Web, fcm_token(3)),
        ];
        let ids = seed(&db, &["u1", "u2", "u3", "u4", "u5"], &devices).await;
        let run_id = open_run(&db).await;
        enqueue(&db, run_id, &mixed(&ids)).await;
        let worker = worker(&db, &sandbox, settings(), "w-1");
        let Step::Worked(tally) = worker.step(wall(), Some(run_id)).await.unwrap() else {
            panic!("{}: nothing was claimed", db.name());
        };
        assert_eq!(
            (tally.claimed, tally.delivered),
            (5, 5),
            "{}: {tally:?}",
            db.name()
        );
        assert_eq!(
            counts(&db, run_id).await,
            HashMap::from([("sent".to_owned(), 5)])
        );
        let attempts = attempts(&db).await;
        assert_eq!(attempts.len(), 5, "{}", db.name());
        assert!(attempts.iter().all(|a| a.outcome == "delivered"));
        let record = sandbox.record();
        let apns = record.of("apns");
        assert_eq!(apns.len(), 1, "{}", db.name());
        assert_eq!(apns[0].header("apns-id"), Some(key(1).as_str()));
        assert_eq!(apns[0].address.as_deref(), Some(apns_token(0x11).as_str()));
        let mut fcm: Vec<_> = record.of("fcm").into_iter().map(|r| r.address).collect();
        fcm.sort();
        assert_eq!(
            fcm,
            [Some(fcm_token(2)), Some(fcm_token(3))],
            "{}",
            db.name()
        );
        let smtp = record.of("smtp");
        assert_eq!(smtp.len(), 1, "{}", db.name());
        assert_eq!(smtp[0].address.as_deref(), Some("ana@example.com"));
        assert!(
            smtp[0].body_text().contains(&key(4)),
            "{}: Message-ID",
            db.name()
        );
        let sms = record.of("sms");
        assert_eq!(sms.len(), 1, "{}", db.name());
        assert_eq!(sms[0].address.as_deref(), Some("+4915112345678"));
        let idle = worker.step(wall(), Some(run_id)).await.unwrap();
        assert_eq!(idle, Step::Idle { next_due: None }, "{}", db.name());
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn rows_that_cannot_be_read_or_routed_fail_with_the_reason_and_send_nothing() {
    for db in test_dbs().await {
        let sandbox = sandbox().await;
        seed(&db, &["u1", "u2", "u3"], &[]).await;
        let run_id = open_run(&db).await;
        let webhook = Msg {
            user: "u3".to_owned(),
            device_id: None,
            address: Address::Webhook,
            content: RenderedMessage::Webhook(WebhookMessage::default()),
        };
        let mut broken = outbox_row(run_id, 1, &Msg::email("u1", "ana@example.com"));
        broken.payload = "{not json".to_owned();
        let mut bad_address = outbox_row(run_id, 2, &Msg::sms("u2", "+4915112345678"));
        bad_address.address = "+4915112345678".to_owned();
        let rows = [broken, bad_address, outbox_row(run_id, 3, &webhook)];
        db.store
            .write_plan_page(run_id, &[], &rows, &[])
            .await
            .unwrap();
        let report = drain(&worker(&db, &sandbox, settings(), "w-1"), run_id).await;
        assert_eq!(report.totals.failed, 3, "{}: {report:?}", db.name());
        let details: Vec<String> = attempts(&db)
            .await
            .into_iter()
            .map(|a| a.detail.unwrap_or_default())
            .collect();
        assert!(
            details.iter().any(|d| d.contains("outbox payload")),
            "{details:?}"
        );
        assert!(
            details.iter().any(|d| d.contains("outbox address")),
            "{details:?}"
        );
        assert!(
            details.iter().any(|d| d.contains("[webhook]")),
            "{details:?}"
        );
        assert!(
            sandbox.record().all().is_empty(),
            "{}: something was sent",
            db.name()
        );
        sandbox.shutdown().await;
    }
}
