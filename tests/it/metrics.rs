//! `/metrics` over real HTTP on every backend: after a small campaign sent
//! to the sandbox by a dispatch worker the scrape shows the deliveries and
//! an empty outbox; a tracking click counts as a hit and as a request of
//! its matched route, and so does an API request. The registry is
//! process-wide and other tests send in parallel, so counters are
//! compared as "grew by at least". The scrape needs an API key: without
//! one it is refused.

use herald::domain::{Channel, Platform};
use herald::feedback::LinkKind;

use crate::api::key;
use crate::dispatch::fixtures::{Msg, drain, enqueue, open_run, sandbox, seed, settings, worker};
use crate::helpers::{apns_token, test_dbs};
use crate::tracking::{App, http, token};

/// The body of `GET /metrics`, scraped with `key`.
async fn scrape(app: &App, key: &str) -> String {
    let response = http()
        .get(format!("{}/metrics", app.base))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/plain"), "{kind}");
    response.text().await.unwrap()
}

/// The value of the sample `name` carrying every label of `labels`
/// (`k="v"`), 0 when absent.
pub fn sample(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(series, _)| {
            let bare = series.split('{').next() == Some(name);
            bare && labels.iter().all(|label| series.contains(label))
        })
        .map_or(0.0, |(_, value)| value.parse().unwrap())
}

#[tokio::test]
async fn metrics_show_the_deliveries_of_a_campaign_and_an_empty_outbox() {
    let sandbox = sandbox().await;
    for db in test_dbs().await {
        let tokens: Vec<String> = (1..=3).map(|n| apns_token(0x40 + n)).collect();
        let users = ["m1", "m2", "m3"];
        let devices: Vec<_> = users
            .iter()
            .zip(&tokens)
            .map(|(u, t)| (*u, Platform::Ios, t.clone()))
            .collect();
        let ids = seed(&db, &users, &devices).await;
        let run_id = open_run(&db).await;
        let msgs: Vec<_> = users
            .iter()
            .zip(&tokens)
            .map(|(u, t)| Msg::push(u, ids[t], Platform::Ios, t))
            .collect();
        enqueue(&db, run_id, &msgs).await;
        let app = App::start(&db).await;
        let (_, key) = key(&db, "prometheus").await;
        let delivered = [
            "herald_sends_total",
            r#"outcome="delivered""#,
            r#"provider="push""#,
        ];
        let before = sample(&scrape(&app, &key).await, delivered[0], &delivered[1..]);
        let report = drain(&worker(&db, &sandbox, settings(), "metrics-1"), run_id).await;
        assert_eq!(report.totals.delivered, 3, "{}", db.name());
        let text = scrape(&app, &key).await;
        let after = sample(&text, delivered[0], &delivered[1..]);
        assert!(after - before >= 3.0, "{}: {before} -> {after}", db.name());
        assert_eq!(sample(&text, "herald_outbox_depth", &[]), 0.0, "{text}");
        assert!(text.contains("herald_send_seconds_bucket"), "{text}");
        for name in ["herald_retries_total", "herald_dead_tokens_total"] {
            assert!(text.contains(&format!("\n{name} ")), "{name} in {text}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn a_tracking_click_counts_as_a_hit_and_as_a_request_of_its_route() {
    for db in test_dbs().await {
        let app = App::start(&db).await;
        let (_, key) = key(&db, "prometheus").await;
        let hits = ["herald_tracking_hits_total", r#"kind="click""#];
        let route = [
            "herald_http_requests_total",
            r#"route="/t/c/{token}""#,
            r#"status="302""#,
        ];
        let text = scrape(&app, &key).await;
        let (hits_before, route_before) = (
            sample(&text, hits[0], &hits[1..]),
            sample(&text, route[0], &route[1..]),
        );
        let url = app.url(&token(LinkKind::Click, Channel::Push));
        let response = http().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 302);
        let text = scrape(&app, &key).await;
        let hits_after = sample(&text, hits[0], &hits[1..]);
        assert!(hits_after - hits_before >= 1.0, "{}: {text}", db.name());
        let route_after = sample(&text, route[0], &route[1..]);
        assert!(route_after - route_before >= 1.0, "{}: {text}", db.name());
        assert!(
            !text.contains("route=\"/t/c/ey"),
            "raw URLs never become labels"
        );
        let unauthenticated = http()
            .get(format!("{}/api/v1/campaigns/7", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(unauthenticated.status(), 401);
        let text = scrape(&app, &key).await;
        let api = [r#"route="/api/v1/campaigns/{id}""#, r#"status="401""#];
        let counted = sample(&text, "herald_http_requests_total", &api);
        assert!(
            counted >= 1.0,
            "{}: API requests are counted: {text}",
            db.name()
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn the_scrape_is_refused_without_an_api_key_and_served_with_one() {
    let db = test_dbs().await.remove(0);
    let app = App::start(&db).await;
    let url = format!("{}/metrics", app.base);
    let anonymous = http().get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body = anonymous.text().await.unwrap();
    assert!(!body.contains("herald_"), "{body}");
    let forged = http()
        .get(&url)
        .bearer_auth("hk_abcdefgh_forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let (id, key) = key(&db, "prometheus").await;
    assert!(scrape(&app, &key).await.contains("herald_outbox_depth"));
    db.store.revoke_api_key(id, 1).await.unwrap();
    let revoked = http().get(&url).bearer_auth(&key).send().await.unwrap();
    assert_eq!(revoked.status(), 403);
    app.stop().await;
}
