//! The campaign engine end to end on every backend: creation with template
//! checks, planning (holdout, quiet hours, frequency caps across
//! campaigns, consent and channel fallback, audiences), dry-run
//! determinism and resumption; `answers` covers explain, preview, the
//! fallback and finishing runs, `ranked` campaigns with recommendations.

mod answers;
pub(crate) mod fixtures;
mod ranked;

use crate::helpers::test_dbs;
use fixtures::{
    NOW, User, campaign, create, engine, import_users, outbox_total, plan, row, run, user, users,
};
use herald::campaign::engine::CampaignError;
use herald::campaign::occurrence::Occurrence;
use herald::channels::{Address, RenderedMessage};
use herald::config::Settings;
use herald::domain::Channel;
use herald::feedback::{LinkKind, link_key};
use herald::store::PlanRow;

#[tokio::test]
async fn create_rejects_an_unknown_variable_naming_variant_and_field_and_load_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_users(&db, dir.path(), &users(3)).await;
        let engine = engine(&db);
        let bad = campaign(dir.path(), "bad", "", "")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&bad)
            .unwrap()
            .replace("Hello {{ user.first_name }}", "Hello {{ user.frist_name }}");
        std::fs::write(&bad, text).unwrap();
        let err = engine.create(bad.as_ref(), NOW).await.unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, CampaignError::Templates { .. }), "{message}");
        for part in ["variant B", "title", "frist_name", "line 1"] {
            assert!(message.contains(part), "{}: {message}", db.name());
        }

        let good = campaign(
            dir.path(),
            "good",
            "holdout = 0.1",
            "frequency_cap = \"2/day\"",
        );
        let id = create(&engine, &good).await;
        let loaded = engine.load(id).await.unwrap();
        assert_eq!(loaded.row.status, "scheduled");
        assert_eq!(loaded.spec.name, "good");
        assert_eq!(loaded.spec.channels, vec![Channel::Push, Channel::Email]);
        assert_eq!(loaded.spec.holdout, 0.1);
        let names: Vec<&str> = loaded
            .spec
            .variants
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(names, ["A", "B"], "{}", db.name());
        assert!(matches!(
            engine.load(id + 100).await,
            Err(CampaignError::UnknownCampaign(_))
        ));
    }
}

#[tokio::test]
async fn the_same_users_are_held_out_in_every_run_near_the_configured_share() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_users(&db, dir.path(), &users(200)).await;
        let engine = engine(&db);
        let id = create(
            &engine,
            &campaign(dir.path(), "holdout", "holdout = 0.2", ""),
        )
        .await;
        let (first, report) = run(&engine, id, 1, false, NOW).await;
        let (second, _) = run(&engine, id, 2, false, NOW + 60_000).await;
        let held = |rows: Vec<PlanRow>| -> Vec<String> {
            rows.into_iter()
                .filter(|r| r.decision == "holdout")
                .map(|r| r.user_id)
                .collect()
        };
        let a = held(plan(&db.store, first.run_id).await);
        let b = held(plan(&db.store, second.run_id).await);
        assert_eq!(a, b, "{}: the same users are held out", db.name());
        assert!(
            (20..=60).contains(&a.len()),
            "{}: {} held out",
            db.name(),
            a.len()
        );
        assert_eq!(report.skipped.get("holdout").copied(), Some(a.len() as u64));
        assert_eq!(report.targeted, 200);
        assert_eq!(report.send, 200 - a.len() as u64);
        assert_eq!(
            outbox_total(&db.store, first.run_id).await,
            report.send as i64
        );
    }
}

#[tokio::test]
async fn quiet_hours_defer_a_night_time_user_to_the_end_of_them_in_their_zone() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let tokyo = User {
            timezone: "Asia/Tokyo",
            ..user(1)
        };
        import_users(&db, dir.path(), &[user(0), tokyo]).await;
        let engine = engine(&db);
        let path = campaign(dir.path(), "quiet", "", "quiet_hours = \"20:00-08:00\"");
        let id = create(&engine, &path).await;
        let (run_row, report) = run(&engine, id, 1, false, NOW).await;
        let rows = plan(&db.store, run_row.run_id).await;
        let berlin = row(&rows, "u000");
        assert_eq!(
            (berlin.decision.as_str(), berlin.not_before),
            ("send", None)
        );
        let night = row(&rows, "u001");
        // 21:00 in Tokyo; quiet hours end at 08:00 JST = 23:00Z.
        let end = NOW + 11 * 3_600_000;
        assert_eq!(night.decision, "deferred", "{}", db.name());
        assert_eq!(night.reason.as_deref(), Some("quiet_hours"));
        assert_eq!(night.not_before, Some(end));
        let outbox = db
            .store
            .outbox_for_user(run_row.run_id, "u001")
            .await
            .unwrap();
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].next_attempt_at, end);
        let now_row = db
            .store
            .outbox_for_user(run_row.run_id, "u000")
            .await
            .unwrap();
        assert_eq!(now_row[0].next_attempt_at, NOW);
        assert_eq!((report.send, report.deferred), (1, 1));
    }
}

#[tokio::test]
async fn a_frequency_cap_counts_messages_planned_by_another_campaign() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_users(&db, dir.path(), &users(20)).await;
        let engine = engine(&db);
        let cap = "frequency_cap = \"1/day\"";
        let a = create(&engine, &campaign(dir.path(), "first", "", cap)).await;
        let b = create(&engine, &campaign(dir.path(), "second", "", cap)).await;
        let (_, first) = run(&engine, a, 1, false, NOW).await;
        assert_eq!(first.send, 20, "{}", db.name());
        let (second, report) = run(&engine, b, 1, false, NOW + 3_600_000).await;
        assert_eq!(report.send, 0, "{}", db.name());
        assert_eq!(report.skipped.get("frequency_capped").copied(), Some(20));
        for r in plan(&db.store, second.run_id).await {
            assert_eq!(
                (r.decision.as_str(), r.reason.as_deref()),
                ("suppressed", Some("frequency_capped"))
            );
        }
        assert_eq!(outbox_total(&db.store, second.run_id).await, 0);
        // A day later the cap allows one message again.
        let (_, later) = run(&engine, b, 2, false, NOW + 25 * 3_600_000).await;
        assert_eq!(later.send, 20, "{}", db.name());
    }
}

#[tokio::test]
async fn without_push_consent_email_is_used_and_without_an_address_nothing_is() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let no_push = User {
            push: false,
            ..user(1)
        };
        let nowhere = User {
            email: false,
            device: false,
            ..user(2)
        };
        import_users(&db, dir.path(), &[user(0), no_push, nowhere]).await;
        let engine = engine(&db);
        let id = create(&engine, &campaign(dir.path(), "reach", "", "")).await;
        let (run_row, _) = run(&engine, id, 1, false, NOW).await;
        let rows = plan(&db.store, run_row.run_id).await;
        assert_eq!(row(&rows, "u000").channel.as_deref(), Some("push"));
        assert_eq!(row(&rows, "u001").channel.as_deref(), Some("email"));
        let none = row(&rows, "u002");
        assert_eq!(none.decision, "suppressed", "{}", db.name());
        assert_eq!(none.reason.as_deref(), Some("no_reachable_channel"));
        let push = &db
            .store
            .outbox_for_user(run_row.run_id, "u000")
            .await
            .unwrap()[0];
        let address: Address = serde_json::from_str(&push.address).unwrap();
        assert!(matches!(address, Address::Device { .. }), "{address:?}");
        let email = &db
            .store
            .outbox_for_user(run_row.run_id, "u001")
            .await
            .unwrap()[0];
        let address: Address = serde_json::from_str(&email.address).unwrap();
        assert_eq!(address, Address::Email("u001@example.com".into()));
        let payload: RenderedMessage = serde_json::from_str(&email.payload).unwrap();
        let RenderedMessage::Email(message) = payload else {
            panic!("an email payload, got {payload:?}");
        };
        assert!(message.subject.ends_with("Name1"), "{}", message.subject);
        let unsubscribe = message.unsubscribe_url.as_deref().unwrap_or_default();
        let token = unsubscribe
            .strip_prefix("http://127.0.0.1:8080/u/")
            .unwrap_or_else(|| panic!("a signed unsubscribe link: {unsubscribe}"));
        let key = link_key(&Settings::default().security, &db.store, NOW)
            .await
            .unwrap();
        let token = key.verify(token, LinkKind::Unsubscribe).unwrap();
        assert_eq!(
            (token.run_id, token.user_id.as_str(), token.channel),
            (run_row.run_id, "u001", Channel::Email)
        );
    }
}

#[tokio::test]
async fn two_dry_runs_write_identical_plans_and_no_outbox_rows() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        let mut shop = users(30);
        for u in shop.iter_mut().skip(20) {
            u.country = "JP";
        }
        shop[3].push = false;
        import_users(&db, dir.path(), &shop).await;
        let engine = engine(&db);
        let top = "holdout = 0.2\naudience = 'country != \"JP\"'";
        let id = create(&engine, &campaign(dir.path(), "dry", top, "")).await;
        let (one, first) = run(&engine, id, 1, true, NOW).await;
        let (two, second) = run(&engine, id, 2, true, NOW).await;
        let (a, b) = (
            plan(&db.store, one.run_id).await,
            plan(&db.store, two.run_id).await,
        );
        assert_eq!(a.len(), 20, "{}: only the audience is planned", db.name());
        assert_eq!(a, b, "{}: the plans are identical", db.name());
        assert!(a.iter().any(|r| r.payload_hash.is_some()));
        assert_eq!((first.scanned, first.targeted), (30, 20));
        assert_eq!(second.send, first.send);
        for run_row in [&one, &two] {
            assert_eq!(outbox_total(&db.store, run_row.run_id).await, 0);
            let stored = db.store.run(run_row.run_id).await.unwrap().unwrap();
            assert_eq!(stored.status, "dry_run");
        }
    }
}

#[tokio::test]
async fn a_resumed_plan_writes_each_user_once() {
    let dir = tempfile::tempdir().unwrap();
    for db in test_dbs().await {
        import_users(&db, dir.path(), &users(25)).await;
        let engine = engine(&db);
        let id = create(&engine, &campaign(dir.path(), "resume", "", "")).await;
        let (run_row, _) = engine
            .open(id, &Occurrence::manual(1, NOW, false), false, NOW)
            .await
            .unwrap();
        // A planner that died after its first page left these rows.
        let written: Vec<PlanRow> = (0..5)
            .map(|i| PlanRow {
                user_id: format!("u{i:03}"),
                variant: Some("A".into()),
                channel: None,
                decision: "suppressed".into(),
                reason: Some("no_consent".into()),
                payload_hash: None,
                not_before: None,
            })
            .collect();
        db.store
            .write_plan_page(run_row.run_id, &written, &[], &[])
            .await
            .unwrap();
        let report = engine.plan(&run_row, "second", NOW).await.unwrap();
        let again = engine.plan(&run_row, "third", NOW).await.unwrap();
        assert_eq!(report, again, "{}", db.name());
        let rows = plan(&db.store, run_row.run_id).await;
        assert_eq!(rows.len(), 25, "{}: every user once", db.name());
        assert_eq!(&rows[..5], &written[..], "the earlier page is kept");
        assert_eq!((report.targeted, report.send), (25, 20));
        assert_eq!(report.skipped.get("no_consent").copied(), Some(5));
        assert_eq!(outbox_total(&db.store, run_row.run_id).await, 20);
        let stored = db.store.run(run_row.run_id).await.unwrap().unwrap();
        assert_eq!(stored.status, "sending");
    }
}
