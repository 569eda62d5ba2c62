//! `/api/v1/events`: one event, or a batch written all-or-nothing. Each
//! event is `{ "user_id", "item_id"?, "event", "ts" (RFC 3339), "value"? }`
//! validated like an imported events row (`ts` within the last 10 years
//! and at most a day ahead, `value` finite and not negative for a
//! purchase); a bad one is named by its field, e.g. `events[3].ts`, and
//! nothing of the batch is written. A batch holds at most [`MAX_BATCH`]
//! events (413 beyond). Events naming
//! unknown users or items are refused the same way. An event already
//! stored (same content) is not stored twice.

use std::collections::HashSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::body_json;
use crate::api::AppState;
use crate::api::error::{ErrorBody, JsonError};
use crate::domain::{
    EventKind, EventRecord, Invalid, ItemId, UserId, check_event_time, check_event_value,
    now_millis, parse_rfc3339_millis,
};
use crate::store::ImportTxn;

/// Most events one batch may hold; a larger one is refused with 413.
pub const MAX_BATCH: usize = 5_000;

/// Rows per insert statement (7 parameters each, under SQLite's limit).
const INSERT_CHUNK: usize = 1000;

/// Fields an event may have.
const FIELDS: [&str; 5] = ["user_id", "item_id", "event", "ts", "value"];

/// One event as sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventIn {
    /// Who did it.
    pub user_id: String,
    /// To which item (required for item events such as `purchase`).
    pub item_id: Option<String>,
    /// What they did, e.g. `view`, `add_to_cart`, `purchase`.
    pub event: String,
    /// When, RFC 3339 (e.g. `2026-11-28T10:00:00Z`).
    pub ts: String,
    /// Revenue or another amount.
    pub value: Option<f64>,
}

/// What a write did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Written {
    /// Events received.
    pub received: u64,
    /// Events newly stored (the rest were already there).
    pub inserted: u64,
}

/// A required string field.
fn string<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<&'a str>, JsonError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(JsonError::invalid(
            format!("{path}.{name}"),
            "expected a string",
        )),
    }
}

/// Parses field `name` with `parse`, naming `path.name` on failure.
fn parsed<T>(
    text: &str,
    path: &str,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, Invalid>,
) -> Result<T, JsonError> {
    parse(text).map_err(|e| JsonError::invalid(format!("{path}.{name}"), e.0))
}

/// One event, validated against `now` (ms); `path` names it in errors
/// (`event`, `events[3]`).
fn event(value: &Value, path: &str, now: i64) -> Result<EventRecord, JsonError> {
    let object = value
        .as_object()
        .ok_or_else(|| JsonError::invalid(path, "expected an object"))?;
    if let Some(extra) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        let field = format!("{path}.{extra}");
        return Err(JsonError::invalid(
            field,
            format!("unknown field; an event has {}", FIELDS.join(", ")),
        ));
    }
    let required = |name: &str| {
        string(object, path, name)?
            .ok_or_else(|| JsonError::invalid(format!("{path}.{name}"), "missing required field"))
    };
    let item_id = match string(object, path, "item_id")? {
        Some(text) => Some(parsed(text, path, "item_id", ItemId::parse)?),
        None => None,
    };
    let kind = parsed(required("event")?, path, "event", EventKind::parse)?;
    let amount = match object.get("value") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or_else(|| Invalid::new("expected a number"))
                .and_then(|f| check_event_value(&kind, f))
                .map_err(|e| JsonError::invalid(format!("{path}.value"), e.0))?,
        ),
    };
    let ts = parsed(required("ts")?, path, "ts", |t| {
        parse_rfc3339_millis(t).and_then(|ts| check_event_time(ts, now))
    })?;
    let record = EventRecord {
        user_id: parsed(required("user_id")?, path, "user_id", UserId::parse)?,
        item_id,
        event: kind,
        ts,
        value: amount,
    };
    if record.event.needs_item() && record.item_id.is_none() {
        let reason = format!("a {} event needs an item_id", record.event.as_str());
        return Err(JsonError::invalid(format!("{path}.item_id"), reason));
    }
    Ok(record)
}

/// Refuses the first event naming an unknown user or item.
async fn check_references(
    txn: &ImportTxn,
    records: &[EventRecord],
    path: impl Fn(usize) -> String,
) -> Result<(), JsonError> {
    let users: HashSet<&str> = records.iter().map(|r| r.user_id.as_str()).collect();
    let items: HashSet<&str> = records
        .iter()
        .filter_map(|r| r.item_id.as_ref().map(|i| i.as_str()))
        .collect();
    let known_users = txn
        .known_users(&users.into_iter().collect::<Vec<_>>())
        .await?;
    let known_items = txn
        .known_items(&items.into_iter().collect::<Vec<_>>())
        .await?;
    for (i, record) in records.iter().enumerate() {
        if !known_users.contains(record.user_id.as_str()) {
            let message = format!(
                "no user `{}`: create the user first",
                record.user_id.as_str()
            );
            return Err(JsonError::invalid(format!("{}.user_id", path(i)), message));
        }
        if let Some(item) = &record.item_id
            && !known_items.contains(item.as_str())
        {
            let message = format!("no item `{}`: import the item first", item.as_str());
            return Err(JsonError::invalid(format!("{}.item_id", path(i)), message));
        }
    }
    Ok(())
}

/// Writes validated events in one transaction, all or nothing.
async fn write(
    state: &AppState,
    records: &[EventRecord],
    path: impl Fn(usize) -> String,
) -> Result<Written, JsonError> {
    let txn = state.store.begin_import().await?;
    let result = async {
        check_references(&txn, records, path).await?;
        let mut inserted = 0;
        for chunk in records.chunks(INSERT_CHUNK) {
            inserted += txn.insert_events(chunk).await?;
        }
        Ok::<u64, JsonError>(inserted)
    }
    .await;
    match result {
        Ok(inserted) => {
            txn.commit().await?;
            Ok(Written {
                received: records.len() as u64,
                inserted,
            })
        }
        Err(e) => {
            txn.rollback().await?;
            Err(e)
        }
    }
}

/// Stores one event.
#[utoipa::path(operation_id = "post_event", post, path = "/api/v1/events", tag = "events",
    security(("bearer" = [])), request_body = EventIn,
    responses((status = 200, body = Written), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn one(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Written>, JsonError> {
    let value = body_json(body)?;
    let record = event(&value, "event", now_millis())?;
    Ok(Json(
        write(&state, &[record], |_| "event".to_owned()).await?,
    ))
}

/// Stores a batch of events (an array, or `{ "events": [...] }`, at most
/// [`MAX_BATCH`]), all or nothing; an error names the first bad element,
/// e.g. `events[3].ts`.
#[utoipa::path(operation_id = "post_event_batch", post, path = "/api/v1/events/batch", tag = "events",
    security(("bearer" = [])), request_body = Vec<EventIn>,
    responses((status = 200, body = Written), (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn batch(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Written>, JsonError> {
    let mut value = body_json(body)?;
    let items = match &mut value {
        Value::Array(items) => std::mem::take(items),
        Value::Object(object) => match object.remove("events") {
            Some(Value::Array(items)) => items,
            _ => return Err(JsonError::invalid("events", "expected an array of events")),
        },
        _ => return Err(JsonError::invalid("events", "expected an array of events")),
    };
    if items.len() > MAX_BATCH {
        let message = format!(
            "the batch has {} events, over the limit of {MAX_BATCH}; send smaller batches",
            items.len()
        );
        return Err(JsonError {
            field: Some("events".into()),
            ..JsonError::too_large(message)
        });
    }
    let now = now_millis();
    let records = items
        .iter()
        .enumerate()
        .map(|(i, v)| event(v, &format!("events[{i}]"), now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(
        write(&state, &records, |i| format!("events[{i}]")).await?,
    ))
}

#[cfg(test)]
mod props;
