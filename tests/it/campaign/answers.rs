//! Answers about one user and the end of a run: `explain` in words,
//! `preview`, the dispatcher's fallback to the next channel, finishing a
//! drained one-off run, and a paused campaign refusing to plan.

use super::fixtures::{NOW, campaign, create, engine, import_users, plan, run, users};
use crate::helpers::test_dbs;
use herald::campaign::engine::CampaignError;
use herald::campaign::occurrence::Occurrence;
use herald::channels::{Address, RenderedMessage};
use herald::domain::Channel;

#[tokio::test]
async fn explain_says_in_words_who_was_held_out_capped_or_sent() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_users(&db, dir.path(), &users(40)).await;
        let engine = engine(&db);
        let cap = "frequency_cap = \"1/day\"";
        let first = create(&engine, &campaign(dir.path(), "one", "holdout = 0.3", cap)).await;
        let second = create(&engine, &campaign(dir.path(), "two", "", cap)).await;
        let fresh = engine.explain(first, "u000", NOW).await.unwrap();
        assert_eq!(fresh.run_id, None);
        assert!(
            fresh.lines.join(" ").contains("If it ran now"),
            "{:?}",
            fresh.lines
        );
        let (run_row, _) = run(&engine, first, 1, false, NOW).await;
        let rows = plan(&db.store, run_row.run_id).await;
        let held = rows
            .iter()
            .find(|r| r.decision == "holdout")
            .expect("a holdout");
        let sent = rows.iter().find(|r| r.decision == "send").expect("a send");
        let why = engine.explain(first, &held.user_id, NOW).await.unwrap();
        assert_eq!(why.run_id, Some(run_row.run_id));
        assert!(
            why.lines[0].contains("holdout control group"),
            "{:?}",
            why.lines
        );
        let why = engine.explain(first, &sent.user_id, NOW).await.unwrap();
        let text = why.lines.join(" ");
        assert!(text.contains("planned to send variant"), "{text}");
        assert!(text.contains("queued to send"), "{text}");
        run(&engine, second, 1, false, NOW + 60_000).await;
        let why = engine.explain(second, &sent.user_id, NOW).await.unwrap();
        assert_eq!(why.reason.as_deref(), Some("frequency_capped"));
        assert!(
            why.lines[0].contains("already reached the frequency cap of 1/day"),
            "{}: {:?}",
            db.name(),
            why.lines
        );
        assert!(matches!(
            engine.explain(first, "nobody", NOW).await,
            Err(CampaignError::UnknownUser(_))
        ));
    }
}

#[tokio::test]
async fn the_fallback_turns_a_dead_push_into_an_email_with_the_same_message_id() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_users(&db, dir.path(), &users(2)).await;
        let engine = engine(&db);
        let id = create(&engine, &campaign(dir.path(), "fallback", "", "")).await;
        let (run_row, _) = run(&engine, id, 1, false, NOW).await;
        let push = db
            .store
            .outbox_for_user(run_row.run_id, "u001")
            .await
            .unwrap()
            .remove(0);
        assert_eq!(push.channel, "push");
        let next = engine
            .fallback()
            .next_channel(&push, NOW + 1000)
            .await
            .unwrap()
            .expect("email is listed after push");
        assert_eq!(next.channel, "email", "{}", db.name());
        assert_eq!(
            (next.dedup_key, next.variant),
            (push.dedup_key, push.variant)
        );
        assert_eq!(next.next_attempt_at, NOW + 1000);
        let address: Address = serde_json::from_str(&next.address).unwrap();
        assert_eq!(address, Address::Email("u001@example.com".into()));
        let payload: RenderedMessage = serde_json::from_str(&next.payload).unwrap();
        assert!(matches!(payload, RenderedMessage::Email(_)), "{payload:?}");
    }
}

#[tokio::test]
async fn a_drained_one_off_run_finishes_its_campaign_and_a_paused_one_does_not_plan() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_users(&db, dir.path(), &[]).await;
        let engine = engine(&db);
        let id = create(&engine, &campaign(dir.path(), "once", "", "")).await;
        let (run_row, _) = engine
            .open(id, &Occurrence::at(NOW), false, NOW)
            .await
            .unwrap();
        let report = engine.plan(&run_row, "test", NOW).await.unwrap();
        assert_eq!(report.targeted, 0);
        assert!(engine.finish_if_drained(run_row.run_id, NOW).await.unwrap());
        let done = db.store.run(run_row.run_id).await.unwrap().unwrap();
        assert_eq!(
            (done.status.as_str(), done.finished_at),
            ("done", Some(NOW))
        );
        assert_eq!(engine.load(id).await.unwrap().row.status, "done");

        let paused = create(&engine, &campaign(dir.path(), "paused", "", "")).await;
        db.store
            .set_campaign_status(paused, "paused", NOW)
            .await
            .unwrap();
        let (run_row, _) = engine
            .open(paused, &Occurrence::manual(1, NOW, false), false, NOW)
            .await
            .unwrap();
        let err = engine.plan(&run_row, "test", NOW).await.unwrap_err();
        assert!(matches!(err, CampaignError::Status { .. }), "{err}");
    }
}

#[tokio::test]
async fn a_preview_renders_every_channel_the_user_can_be_reached_on() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_users(&db, dir.path(), &users(2)).await;
        let engine = engine(&db);
        let id = create(
            &engine,
            &campaign(dir.path(), "preview", "holdout = 0.5", ""),
        )
        .await;
        let messages = engine.preview(id, "u001", NOW).await.unwrap();
        let channels: Vec<Channel> = messages.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            channels,
            vec![Channel::Push, Channel::Email],
            "{}",
            db.name()
        );
        let RenderedMessage::Push(push) = &messages[0].1 else {
            panic!("a push first");
        };
        assert!(push.title.ends_with("Name1"), "{}", push.title);
        assert!(push.collapse_id.is_some());
        assert!(matches!(
            engine.preview(id, "nobody", NOW).await,
            Err(CampaignError::UnknownUser(_))
        ));
    }
}

/// The push token of `user`'s planned message in `run_id`.
async fn push_token(db: &crate::helpers::TestDb, run_id: i64, user: &str) -> String {
    let push = db
        .store
        .outbox_for_user(run_id, user)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        push.channel,
        "push",
        "{}: {user} is planned on push",
        db.name()
    );
    match serde_json::from_str(&push.address).unwrap() {
        Address::Device { token, .. } => token,
        other => panic!("{user}: a push to {other:?}"),
    }
}

#[tokio::test]
async fn a_dead_push_token_falls_back_to_email_only_for_a_user_who_consented_to_email() {
    use super::fixtures::{User, user};
    use crate::dispatch::fixtures::{drain, sandbox, settings, worker};
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let no_mail = User {
            mail: false,
            ..user(1)
        };
        import_users(&db, dir.path(), &[user(0), no_mail]).await;
        let engine = engine(&db);
        let id = create(&engine, &campaign(dir.path(), "fallback", "", "")).await;
        let (planned, _) = run(&engine, id, 1, false, NOW).await;
        let sandbox = sandbox().await;
        for u in ["u000", "u001"] {
            sandbox
                .faults()
                .kill(push_token(&db, planned.run_id, u).await);
        }
        let w = worker(&db, &sandbox, settings(), "w").with_fallback(engine.fallback());
        drain(&w, planned.run_id).await;
        let with_mail = db
            .store
            .outbox_for_user(planned.run_id, "u000")
            .await
            .unwrap();
        let statuses: Vec<(&str, &str)> = (with_mail.iter())
            .map(|r| (r.channel.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(
            statuses,
            [("push", "failed"), ("email", "sent")],
            "{}",
            db.name()
        );
        assert_eq!(
            with_mail[0].dedup_key, with_mail[1].dedup_key,
            "one message id"
        );
        let without = db
            .store
            .outbox_for_user(planned.run_id, "u001")
            .await
            .unwrap();
        let statuses: Vec<(&str, &str)> = (without.iter())
            .map(|r| (r.channel.as_str(), r.status.as_str()))
            .collect();
        assert_eq!(
            statuses,
            [("push", "failed")],
            "{}: no email without consent",
            db.name()
        );
        assert_eq!(sandbox.record().count("smtp"), 1, "{}", db.name());
        assert_eq!(
            sandbox.record().count("apns"),
            2,
            "{}: each dead token tried once",
            db.name()
        );
        sandbox.shutdown().await;
    }
}
