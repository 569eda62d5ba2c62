//! Unsubscribing through the signed `/u/` link of a planned email: the
//! page, the RFC 8058 one-click POST (consent off at once, recorded once,
//! repeatable), and the next run, which no longer sends on that channel.

use super::{App, http};
use crate::campaign::fixtures::{
    NOW, User, campaign, create, engine, import_users, plan, row, run, user,
};
use crate::helpers::test_dbs;
use herald::channels::RenderedMessage;
use herald::domain::Channel;
use herald::feedback::{LinkKind, LinkToken};

const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

/// POSTs the one-click body to `url`.
async fn one_click(url: &str) -> reqwest::Response {
    http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(ONE_CLICK)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn one_click_unsubscribe_turns_consent_off_once_and_the_next_run_skips_that_channel() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let only_email = User {
            push: false,
            ..user(1)
        };
        import_users(&db, dir.path(), &[user(0), only_email]).await;
        let engine = engine(&db);
        let id = create(&engine, &campaign(dir.path(), "news", "", "")).await;
        let (first, _) = run(&engine, id, 1, false, NOW).await;
        let outbox = db
            .store
            .outbox_for_user(first.run_id, "u001")
            .await
            .unwrap();
        let RenderedMessage::Email(email) = serde_json::from_str(&outbox[0].payload).unwrap()
        else {
            panic!("{}: u001 gets an email", db.name());
        };
        let app = App::start(&db).await;
        let url = app.local(email.unsubscribe_url.as_deref().unwrap());

        let page = http().get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200, "{}", db.name());
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("<form method=\"post\""), "{html}");
        assert!(html.contains("stop receiving email messages"), "{html}");
        assert!(html.contains("Unsubscribe from Herald?"), "{html}");
        assert!(
            db.store.feedback_events(None).await.unwrap().is_empty(),
            "a GET changes nothing"
        );

        let done = one_click(&url).await;
        assert_eq!(done.status(), 200, "{}", db.name());
        assert!(done.text().await.unwrap().contains("You are unsubscribed"));
        let consent = db.store.consent("u001", "email").await.unwrap().unwrap();
        assert_eq!(
            (consent.granted, consent.source.as_str()),
            (false, "unsubscribe")
        );
        let events = db.store.feedback_events(None).await.unwrap();
        assert_eq!(events.len(), 1, "{}", db.name());
        let event = &events[0];
        assert_eq!(
            (event.kind.as_str(), event.run_id, event.user_id.as_str()),
            ("unsubscribe", Some(first.run_id), "u001")
        );
        assert_eq!(event.channel.as_deref(), Some("email"));
        assert_eq!(
            event.outbox_id,
            Some(outbox[0].outbox_id),
            "tied to the message"
        );

        let again = one_click(&url).await;
        assert_eq!(again.status(), 200, "{}: idempotent", db.name());
        assert_eq!(db.store.feedback_events(None).await.unwrap().len(), 1);
        let unchanged = db.store.consent("u001", "email").await.unwrap().unwrap();
        assert_eq!(
            unchanged,
            consent,
            "{}: the second POST changes nothing",
            db.name()
        );
        let revisit = http().get(&url).send().await.unwrap().text().await.unwrap();
        assert!(revisit.contains("You are unsubscribed"), "{revisit}");
        let empty = http().post(&url).send().await.unwrap();
        assert_eq!(empty.status(), 400, "a POST without the one-click body");

        let push = app.url(&LinkToken {
            kind: LinkKind::Unsubscribe,
            run_id: first.run_id,
            user_id: "u000".into(),
            variant: "A".into(),
            channel: Channel::Push,
            item_id: None,
            destination: None,
        });
        assert_eq!(one_click(&push).await.status(), 200);

        let (second, _) = run(&engine, id, 2, false, NOW + 86_400_000).await;
        let rows = plan(&db.store, second.run_id).await;
        let gone = row(&rows, "u001");
        assert_eq!(
            (gone.decision.as_str(), gone.reason.as_deref()),
            ("suppressed", Some("no_consent")),
            "{}",
            db.name()
        );
        let moved = row(&rows, "u000");
        assert_eq!(
            (moved.decision.as_str(), moved.channel.as_deref()),
            ("send", Some("email")),
            "{}: push is off, email is still on",
            db.name()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_user_who_unsubscribes_while_their_message_is_deferred_is_not_sent_it() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let tokyo_mail_only = User {
            timezone: "Asia/Tokyo",
            push: false,
            ..user(1)
        };
        import_users(&db, dir.path(), &[tokyo_mail_only]).await;
        let engine = engine(&db);
        let quiet = "quiet_hours = \"20:00-08:00\"";
        let id = create(&engine, &campaign(dir.path(), "late", "", quiet)).await;
        let (planned, _) = run(&engine, id, 1, false, NOW).await;
        let outbox = db
            .store
            .outbox_for_user(planned.run_id, "u001")
            .await
            .unwrap();
        let deferred_until = outbox[0].next_attempt_at;
        assert!(deferred_until > NOW, "{}: u001 is deferred", db.name());
        let RenderedMessage::Email(email) = serde_json::from_str(&outbox[0].payload).unwrap()
        else {
            panic!("{}: u001 gets an email", db.name());
        };
        let app = App::start(&db).await;
        let url = app.local(email.unsubscribe_url.as_deref().unwrap());
        assert_eq!(one_click(&url).await.status(), 200, "{}", db.name());
        app.stop().await;

        let sandbox = crate::dispatch::fixtures::sandbox().await;
        let settings = crate::dispatch::fixtures::settings();
        let worker = crate::dispatch::fixtures::worker(&db, &sandbox, settings, "w");
        let step = worker
            .step(deferred_until + 1, Some(planned.run_id))
            .await
            .unwrap();
        let herald::dispatch::Step::Worked(tally) = step else {
            panic!("{}: the deferred row was due: {step:?}", db.name());
        };
        assert_eq!((tally.skipped, tally.delivered), (1, 0), "{}", db.name());
        assert_eq!(
            sandbox.faults().arrivals(),
            0,
            "{}: nothing sent",
            db.name()
        );
        let row = &db
            .store
            .outbox_for_user(planned.run_id, "u001")
            .await
            .unwrap()[0];
        assert_eq!(row.status, "skipped", "{}", db.name());
        let reason = db.store.outbox_reason(row.outbox_id).await.unwrap();
        assert_eq!(reason.as_deref(), Some("unsubscribed_after_planning"));
        let explained = engine.explain(id, "u001", NOW).await.unwrap();
        let said = explained.lines.join(" ");
        assert!(
            said.contains("unsubscribed after the run was planned"),
            "{said}"
        );
        sandbox.shutdown().await;
    }
}
