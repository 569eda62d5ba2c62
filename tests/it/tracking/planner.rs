//! The links inside planned messages: a ranked push and email campaign on
//! a small generated shop. Every item link in the email is a signed click
//! to that item's URL, the email carries the open pixel and a signed
//! unsubscribe link, the push deep link is the first item's signed click,
//! and following a planned link records a click tied to its outbox row.

use super::{App, http};
use crate::campaign::fixtures::{NOW, engine, import, run};
use crate::helpers::{TestDb, test_dbs, write};
use herald::channels::RenderedMessage;
use herald::config::Settings;
use herald::domain::Channel;
use herald::feedback::{LinkKey, LinkKind, LinkToken, link_key};
use herald::ingest::import::Kind;
use herald::ingest::synth::{GenParams, generate};
use herald::rank::hybrid::HybridParams;
use herald::rank::load::load_dataset;
use herald::rank::recommend::Recommender;
use herald::store::{NewRankModel, OutboxRow};
use std::path::Path;

const CAMPAIGN: &str = r#"name = "Picks"
channels = ["push", "email"]
schedule = { at = "2026-03-10T12:00:00Z" }
recommendations = { n = 2, diversity = 0.3 }

[[variants]]
name = "A"
weight = 1.0
title = "{{ items[0].title }} is back"
body = "Have a look"
email_subject = "Picked for you"
"#;

async fn import_shop(db: &TestDb, dir: &Path) {
    for (kind, file) in [
        (Kind::Users, "users.csv"),
        (Kind::Items, "items.csv"),
        (Kind::Events, "events.csv"),
        (Kind::Devices, "devices.csv"),
    ] {
        import(db, kind, &dir.join(file)).await;
    }
}

async fn train(db: &TestDb) {
    let data = load_dataset(&db.store, &mut |_, _| {}).await.unwrap();
    let params = HybridParams {
        seed: 1,
        ..HybridParams::default()
    };
    let recommender = Recommender::fit(&data, &params).unwrap();
    let model = NewRankModel {
        kind: "hybrid".into(),
        params: serde_json::to_string(&params).unwrap(),
        state: recommender.to_state(),
        metrics: "{}".into(),
        now: NOW,
    };
    db.store.save_rank_model(&model).await.unwrap();
}

/// The token texts after each `route` in `text`.
fn tokens<'a>(text: &'a str, route: &str) -> Vec<&'a str> {
    text.split(route)
        .skip(1)
        .map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// The first outbox row of the run on `channel`, with its payload.
async fn first_on(
    db: &TestDb,
    run_id: i64,
    users: &[String],
    channel: &str,
) -> (OutboxRow, RenderedMessage) {
    for user in users {
        let rows = db.store.outbox_for_user(run_id, user).await.unwrap();
        if let Some(row) = rows.into_iter().find(|r| r.channel == channel) {
            let payload = serde_json::from_str(&row.payload).unwrap();
            return (row, payload);
        }
    }
    panic!("{}: nobody got {channel}", db.name());
}

/// Checks a click token of the message in `row` and returns it.
fn click(key: &LinkKey, text: &str, row: &OutboxRow, channel: Channel) -> LinkToken {
    let token = key.verify(text, LinkKind::Click).unwrap();
    assert_eq!(
        (token.run_id, token.user_id.as_str(), token.channel),
        (row.run_id, row.user_id.as_str(), channel)
    );
    assert_eq!(token.variant, row.variant);
    assert!(
        token.item_id.is_some() && token.destination.is_some(),
        "{token:?}"
    );
    token
}

#[tokio::test]
async fn planned_messages_carry_signed_clicks_the_open_pixel_a_signed_deep_link_and_a_push_open_url()
 {
    let shop = tempfile::tempdir().unwrap();
    generate(&GenParams::new(40, 20, 800, 7), shop.path(), &|_, _| {}).expect("generate");
    for db in test_dbs().await {
        import_shop(&db, shop.path()).await;
        train(&db).await;
        let engine = engine(&db);
        let id = engine
            .create(&write(shop.path(), "picks.toml", CAMPAIGN), NOW)
            .await
            .unwrap();
        let (live, _) = run(&engine, id, 1, false, NOW).await;
        let users: Vec<String> = crate::campaign::fixtures::plan(&db.store, live.run_id)
            .await
            .into_iter()
            .map(|r| r.user_id)
            .collect();
        let key = link_key(&Settings::default().security, &db.store, NOW)
            .await
            .unwrap();

        let (email_row, email) = first_on(&db, live.run_id, &users, "email").await;
        let RenderedMessage::Email(email) = email else {
            panic!("an email")
        };
        let clicks = tokens(&email.html, "/t/c/");
        assert!(clicks.len() >= 2, "{}: {}", db.name(), email.html);
        let mut items = Vec::new();
        for text in &clicks {
            let token = click(&key, text, &email_row, Channel::Email);
            items.push(token.item_id.clone().unwrap());
            let item = db
                .store
                .items_by_id(&[token.item_id.clone().unwrap()])
                .await
                .unwrap();
            let stored = item.values().next().and_then(|i| i.url.clone());
            assert_eq!(
                token.destination, stored,
                "the click leads to the item's page"
            );
        }
        let pixel = tokens(&email.html, "/t/o/");
        assert_eq!(pixel.len(), 1, "{}", email.html);
        let open = key.verify(pixel[0], LinkKind::Open).unwrap();
        assert_eq!(
            (open.user_id.as_str(), open.channel),
            (email_row.user_id.as_str(), Channel::Email)
        );
        let unsubscribe = email.unsubscribe_url.as_deref().unwrap();
        assert_eq!(tokens(unsubscribe, "/u/").len(), 1, "{unsubscribe}");
        assert!(
            !tokens(&email.text, "/t/c/").is_empty(),
            "the text part has clicks too"
        );

        let (push_row, push) = first_on(&db, live.run_id, &users, "push").await;
        let RenderedMessage::Push(push) = push else {
            panic!("a push")
        };
        let deep = push.deep_link.as_deref().unwrap_or_default();
        let deep_tokens = tokens(deep, "/t/c/");
        assert_eq!(deep_tokens.len(), 1, "{}: {deep}", db.name());
        let first = click(&key, deep_tokens[0], &push_row, Channel::Push);
        let first_item = push
            .data
            .get("item_ids")
            .and_then(|ids| ids.split(',').next());
        assert_eq!(
            first.item_id.as_deref(),
            first_item,
            "the deep link is the first item"
        );

        let app = App::start(&db).await;
        let response = http().get(app.local(deep)).send().await.unwrap();
        assert_eq!(response.status(), 302, "{}", db.name());
        assert_eq!(
            response.headers()["location"].to_str().unwrap(),
            first.destination.as_deref().unwrap()
        );
        let recorded = db.store.feedback_events(Some(live.run_id)).await.unwrap();
        assert_eq!(recorded.len(), 1, "{}", db.name());
        assert_eq!(recorded[0].outbox_id, Some(push_row.outbox_id));
        assert_eq!(recorded[0].item_id, first.item_id);

        let open_url = push
            .data
            .get("open_url")
            .expect("push data carries open_url");
        let open_tokens = tokens(open_url, "/t/o/");
        assert_eq!(open_tokens.len(), 1, "{open_url}");
        let opened = key.verify(open_tokens[0], LinkKind::Open).unwrap();
        assert_eq!(opened.user_id, push_row.user_id);
        let response = http().get(app.local(open_url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "the app's open report is answered");
        let recorded = db.store.feedback_events(Some(live.run_id)).await.unwrap();
        assert!(
            recorded
                .iter()
                .any(|r| r.kind == "open" && r.channel.as_deref() == Some("push")),
            "the push open is recorded"
        );
        app.stop().await;
    }
}
