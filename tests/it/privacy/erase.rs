//! Erasure leaves nothing behind, on every backend: a user with a
//! profile, attributes, events, a device, messages, a click, a trained
//! ranking model's history and a precomputed list is exported by
//! `herald user export` (lists and model history included), erased
//! through `POST /api/v1/users/{id}/erase`, and then no text column of
//! any table holds the id, the email, the phone or an attribute value,
//! and the active model's stored history no longer names the user. An
//! old tracking link of the erased user redirects and records nothing.

use herald::domain::Channel;
use herald::feedback::{LinkKind, LinkToken};
use herald::ingest::import::Kind;
use herald::ingest::synth::{GenParams, generate};
use herald::rank::recommend::Recommender;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement};
use sha2::{Digest, Sha256};

use super::{ID, sent_campaign, sql};
use crate::api::{call, key};
use crate::campaign::fixtures::import;
use crate::dispatch::fixtures::sandbox;
use crate::helpers::{TestDb, test_dbs};
use crate::tracking::{App, http};

/// What identifies the erased user; none may be left anywhere.
const NEEDLES: [&str; 4] = [
    ID,
    "ada.lovelace@example.com",
    "+15550001815",
    "Augusta-1815",
];

/// Every (table, column) holding text, from the catalogue.
async fn text_columns(conn: &DatabaseConnection) -> Vec<(String, String)> {
    let backend = conn.get_database_backend();
    let query = match backend {
        DatabaseBackend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite_%' AND (upper(p.type) LIKE '%CHAR%' \
             OR upper(p.type) LIKE '%TEXT%' OR upper(p.type) LIKE '%CLOB%' OR p.type = '')"
        }
        _ => {
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns \
             WHERE table_schema = current_schema() \
             AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
        }
    };
    let rows = conn
        .query_all_raw(Statement::from_string(backend, query))
        .await
        .unwrap();
    let columns: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.try_get("", "t").unwrap(), r.try_get("", "c").unwrap()))
        .collect();
    assert!(columns.len() > 30, "{columns:?}");
    columns
}

/// `table.column` for every text column holding `needle`.
async fn found_in(
    conn: &DatabaseConnection,
    columns: &[(String, String)],
    needle: &str,
) -> Vec<String> {
    let backend = conn.get_database_backend();
    let mut found = Vec::new();
    for (table, column) in columns {
        let text = format!(
            "SELECT COUNT(*) AS n FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE '%{needle}%'"
        );
        let row = conn
            .query_one_raw(Statement::from_string(backend, text))
            .await
            .unwrap()
            .unwrap();
        if row.try_get::<i64>("", "n").unwrap() > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

/// A generated shop, the user's events on its items, and a model trained
/// on it all by `herald rank train`.
async fn trained_shop(db: &TestDb, shop: &std::path::Path) {
    for (kind, file) in [
        (Kind::Users, "users.csv"),
        (Kind::Items, "items.csv"),
        (Kind::Events, "events.csv"),
    ] {
        import(db, kind, &shop.join(file)).await;
    }
    for n in 0..3 {
        sql(
            db,
            &format!(
                "INSERT INTO events (event_id, user_id, item_id, event, ts, value, source) \
                 SELECT {}, '{ID}', item_id, 'purchase', 1700000000000, NULL, 'test' \
                 FROM items ORDER BY item_id LIMIT 1 OFFSET {n}",
                990_000 + n
            ),
        )
        .await;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--database", &db.url, "rank", "train"])
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        db.name(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `herald user export ID` as JSON.
fn cli_export(db: &TestDb, dir: &std::path::Path) -> serde_json::Value {
    let out_file = dir.join(format!("export-{}.json", db.name()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--database", &db.url, "user", "export", ID, "--out"])
        .arg(&out_file)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        db.name(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap()
}

#[tokio::test]
async fn after_an_erase_through_the_api_no_table_holds_the_users_id_contacts_or_attributes() {
    let sandbox = sandbox().await;
    let shop = tempfile::tempdir().unwrap();
    generate(&GenParams::new(30, 40, 600, 3), shop.path(), &|_, _| {}).expect("generate");
    for db in test_dbs().await {
        let name = db.name();
        let run_id = sent_campaign(&db, &sandbox).await;
        trained_shop(&db, shop.path()).await;
        let export = cli_export(&db, shop.path());
        assert_eq!(
            export["rank_lists"].as_array().unwrap().len(),
            1,
            "{name}: {export}"
        );
        let history = &export["model_history"][0]["history"];
        assert_eq!(history.as_array().unwrap().len(), 3, "{name}: {export}");
        let conn = Database::connect(&db.url).await.unwrap();
        let columns = text_columns(&conn).await;
        let before = found_in(&conn, &columns, ID).await;
        assert!(
            before.contains(&"users.user_id".to_owned()),
            "{name}: {before:?}"
        );

        let app = App::start(&db).await;
        let (_, api_key) = key(&db, "privacy").await;
        let path = format!("/api/v1/users/{ID}/erase");
        let (status, body) = call(&app, Method::POST, &path, Some(&api_key), None).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert_eq!(
            body["models"], 1,
            "{name}: the model's history was rewritten"
        );
        assert!(body["deleted"].as_u64().unwrap() > 0, "{name}: {body}");
        let alias = body["pseudonym"].as_str().unwrap().to_owned();
        let bare: String = Sha256::digest(ID.as_bytes())[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            !alias.contains(&bare),
            "{name}: the pseudonym is a bare hash of the id"
        );

        for needle in NEEDLES {
            let left = found_in(&conn, &columns, needle).await;
            assert!(left.is_empty(), "{name}: `{needle}` is still in {left:?}");
        }
        let kept = found_in(&conn, &columns, &alias).await;
        assert!(!kept.is_empty(), "{name}: kept rows carry the pseudonym");
        let model = db.store.active_rank_model().await.unwrap().unwrap();
        let recommender = Recommender::from_state(&model.params, &model.state).unwrap();
        let ids = &recommender.snapshot.user_ids;
        assert!(
            !ids.iter().any(|u| u == ID),
            "{name}: the model still names the user"
        );
        assert!(ids.contains(&alias), "{name}: the user's slot is renamed");
        assert_eq!(
            db.store.outbox_counts(run_id).await.unwrap().len(),
            1,
            "{name}"
        );

        let (status, body) = call(&app, Method::POST, &path, Some(&api_key), None).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert_eq!(
            (body["deleted"].as_u64(), body["models"].as_u64()),
            (Some(0), Some(0)),
            "{name}"
        );
        conn.close().await.ok();
        app.stop().await;
    }
}

/// A signed link of `kind` in the erased user's message.
fn link(kind: LinkKind) -> LinkToken {
    LinkToken {
        kind,
        run_id: 1,
        user_id: ID.into(),
        variant: "A".into(),
        channel: Channel::Email,
        item_id: None,
        destination: (kind == LinkKind::Click).then(|| "https://shop.example/p/1".into()),
    }
}

#[tokio::test]
async fn an_old_tracking_link_of_an_erased_user_answers_and_records_nothing() {
    let sandbox = sandbox().await;
    for db in test_dbs().await {
        let name = db.name();
        sent_campaign(&db, &sandbox).await;
        db.store.erase_user(ID).await.unwrap();
        let app = App::start(&db).await;
        let before = db.store.feedback_events(None).await.unwrap().len();
        let click = http()
            .get(app.url(&link(LinkKind::Click)))
            .send()
            .await
            .unwrap();
        assert_eq!(click.status(), StatusCode::FOUND, "{name}");
        let open = http()
            .get(app.url(&link(LinkKind::Open)))
            .send()
            .await
            .unwrap();
        assert_eq!(open.status(), StatusCode::OK, "{name}");
        let unsubscribe = http()
            .post(app.url(&link(LinkKind::Unsubscribe)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(unsubscribe.status(), StatusCode::OK, "{name}");
        let after = db.store.feedback_events(None).await.unwrap();
        assert_eq!(after.len(), before, "{name}: {after:?}");
        let conn = Database::connect(&db.url).await.unwrap();
        let columns = text_columns(&conn).await;
        assert!(found_in(&conn, &columns, ID).await.is_empty(), "{name}");
        conn.close().await.ok();
        app.stop().await;
    }
}
