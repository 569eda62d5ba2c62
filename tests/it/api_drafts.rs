//! Drafts through the API on every backend: a campaign created with
//! `?draft=true` is edited with `PUT` (validated like a new one, the bad
//! field named, nothing changed on error), previews its edited content,
//! refuses to be sent, and once scheduled can no longer be edited.

use crate::api::{call, campaign_json, key};
use crate::campaign::fixtures::{import_users, users};
use crate::helpers::test_dbs;
use crate::tracking::App;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_draft_is_edited_previewed_and_scheduled_but_never_sent_as_a_draft() {
    for db in test_dbs().await {
        let name = db.name();
        let dir = tempfile::tempdir().unwrap();
        import_users(&db, dir.path(), &users(3)).await;
        let app = App::start(&db).await;
        let (_, k) = key(&db, "ci").await;
        let (status, body) = call(
            &app,
            Method::POST,
            "/api/v1/campaigns?draft=true",
            Some(&k),
            Some(campaign_json("draft-news")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body} on {name}");
        let id = body["campaign_id"].as_i64().unwrap();
        let one = format!("/api/v1/campaigns/{id}");

        let mut edited = campaign_json("draft-news-2");
        edited["variants"][0]["title"] = json!("Edited for {{ user.first_name }}");
        let (status, got) = call(&app, Method::PUT, &one, Some(&k), Some(edited)).await;
        assert_eq!(status, StatusCode::OK, "{got} on {name}");
        assert_eq!(
            (got["name"].as_str(), got["status"].as_str()),
            (Some("draft-news-2"), Some("draft"))
        );
        assert!(
            got["text"].as_str().unwrap().contains("Edited for"),
            "{got}"
        );

        let preview = format!("{one}/preview?user=u001");
        let (status, shown) = call(&app, Method::GET, &preview, Some(&k), None).await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        assert!(shown.to_string().contains("Edited for"), "{shown}");

        let mut bad = campaign_json("draft-news-3");
        bad["variants"][0]["title"] = json!("{{ user.first_name");
        let (status, refused) = call(&app, Method::PUT, &one, Some(&k), Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused} on {name}");
        let (_, unchanged) = call(&app, Method::GET, &one, Some(&k), None).await;
        assert_eq!(unchanged["name"], "draft-news-2", "{unchanged}");

        let run = format!("{one}/run");
        let (status, refused) = call(&app, Method::POST, &run, Some(&k), None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused} on {name}");
        assert!(
            refused["error"]["message"]
                .as_str()
                .unwrap()
                .contains("draft"),
            "{refused}"
        );
        assert!(db.store.runs(id).await.unwrap().is_empty());

        let schedule = format!("{one}/schedule");
        let (status, changed) = call(&app, Method::POST, &schedule, Some(&k), None).await;
        assert_eq!(
            (
                status,
                changed["status"].as_str(),
                changed["previous_status"].as_str()
            ),
            (StatusCode::OK, Some("scheduled"), Some("draft")),
            "{changed}"
        );
        let again = campaign_json("too-late");
        let (status, refused) = call(&app, Method::PUT, &one, Some(&k), Some(again)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused} on {name}");
        let (status, _) = call(
            &app,
            Method::PUT,
            "/api/v1/campaigns/999",
            Some(&k),
            Some(campaign_json("x")),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}
