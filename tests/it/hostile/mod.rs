//! Hostile or careless input cannot crash, freeze or fool herald: audience
//! expressions over the size limits or calling unknown functions, runaway
//! templates, out-of-range events and oversized batches are refused at the
//! door, each with the field named; half-sent requests are dropped after
//! the header timeout while `/healthz` keeps answering. Property tests of
//! every parser of outside input are in [`props`].

mod audience;
mod ingest;
mod props;
mod server;
mod templates;

use crate::api::{call, campaign_json, key};
use crate::tracking::App;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// POSTs `campaign` to `/api/v1/campaigns` with a fresh key.
async fn post_campaign(app: &App, k: &str, campaign: Value) -> (StatusCode, Value) {
    call(
        app,
        Method::POST,
        "/api/v1/campaigns",
        Some(k),
        Some(campaign),
    )
    .await
}

/// The API's campaign fixture with `audience` set.
fn with_audience(audience: &str) -> Value {
    let mut campaign = campaign_json("hostile");
    campaign["audience"] = Value::String(audience.to_owned());
    campaign
}

/// `GET /healthz` answers 200.
async fn healthy(app: &App) -> bool {
    reqwest::get(format!("{}/healthz", app.base))
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
}

/// A key on `app`'s database.
async fn api_key(db: &crate::helpers::TestDb) -> String {
    key(db, "hostile").await.1
}
