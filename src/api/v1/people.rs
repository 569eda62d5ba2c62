//! `/api/v1/users` and `/api/v1/devices`: create or update users and push
//! devices, one or a batch written all-or-nothing. Each object is validated
//! exactly like an imported row (`herald import users|devices`); a bad one
//! is named by its field, e.g. `users[2].email`, and nothing is written.
//! A user upsert only overwrites the fields it carries. A batch holds at
//! most [`MAX_BATCH`] objects (413 beyond, naming the array).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::body_json;
pub use super::events::MAX_BATCH;
use crate::api::AppState;
use crate::api::error::{ErrorBody, JsonError};
use crate::domain::{DeviceRecord, UserRecord, now_millis};
use crate::ingest::import::{RowError, device_from_json, user_from_json};
use crate::store::UserColumns;

/// Records per upsert statement (kept well under SQLite's parameter limit).
const CHUNK: usize = 500;

/// One user as sent: `user_id` plus any of the users-file columns; other
/// fields are kept as attributes.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserIn {
    /// The customer's id for the user.
    pub user_id: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number (E.164).
    pub phone: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub timezone: Option<String>,
    /// Push consent.
    pub consent_push: Option<bool>,
    /// Email consent.
    pub consent_email: Option<bool>,
    /// SMS consent.
    pub consent_sms: Option<bool>,
}

/// One push device as sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceIn {
    /// Its owner (must exist).
    pub user_id: String,
    /// `ios`, `android` or `web`.
    pub platform: String,
    /// The push token.
    pub token: String,
    /// The app it belongs to.
    pub app_id: Option<String>,
}

/// What a write did.
#[derive(Debug, Serialize, ToSchema)]
pub struct Upserted {
    /// Records received and written (created or updated).
    pub written: u64,
}

/// The elements of a batch body: an array, or `{ "<key>": [...] }`, at
/// most [`MAX_BATCH`] of them.
fn elements(value: Value, key: &str) -> Result<Vec<Value>, JsonError> {
    let items = array(value, key)?;
    if items.len() > MAX_BATCH {
        let message = format!(
            "the batch has {} {key}, over the limit of {MAX_BATCH}; send smaller batches",
            items.len()
        );
        return Err(JsonError {
            field: Some(key.to_owned()),
            ..JsonError::too_large(message)
        });
    }
    Ok(items)
}

/// The array of a batch body.
fn array(value: Value, key: &str) -> Result<Vec<Value>, JsonError> {
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut object) => match object.remove(key) {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(JsonError::invalid(
                key,
                format!("expected an array of {key}"),
            )),
        },
        _ => Err(JsonError::invalid(
            key,
            format!("expected an array of {key}"),
        )),
    }
}

/// One element as an object, named `path` in errors.
fn object(value: Value, path: &str) -> Result<Map<String, Value>, JsonError> {
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(JsonError::invalid(path, "expected an object")),
    }
}

/// A row error as a JSON 400 naming `path.field`.
fn named(path: &str) -> impl Fn(RowError) -> JsonError + '_ {
    move |e| JsonError::invalid(format!("{path}.{}", e.field), e.reason)
}

/// Validates every user, naming the first bad one.
fn users(
    values: Vec<Value>,
    path: impl Fn(usize) -> String,
) -> Result<Vec<(UserRecord, UserColumns)>, JsonError> {
    let now = now_millis();
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let path = path(i);
            user_from_json(object(v, &path)?, now).map_err(named(&path))
        })
        .collect()
}

/// Validates every device, naming the first bad one.
fn devices(
    values: Vec<Value>,
    path: impl Fn(usize) -> String,
) -> Result<Vec<DeviceRecord>, JsonError> {
    let now = now_millis();
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let path = path(i);
            device_from_json(object(v, &path)?, now).map_err(named(&path))
        })
        .collect()
}

/// Upserts users in one transaction, grouped by the columns they carry.
async fn write_users(
    state: &AppState,
    rows: Vec<(UserRecord, UserColumns)>,
) -> Result<Upserted, JsonError> {
    let written = rows.len() as u64;
    let mut groups: HashMap<UserColumns, Vec<UserRecord>> = HashMap::new();
    for (record, columns) in rows {
        groups.entry(columns).or_default().push(record);
    }
    let now = now_millis();
    let txn = state.store.begin_import().await?;
    for (columns, records) in &groups {
        for chunk in records.chunks(CHUNK) {
            if let Err(e) = txn.upsert_users(chunk, columns, now).await {
                txn.rollback().await?;
                return Err(e.into());
            }
        }
    }
    txn.commit().await?;
    Ok(Upserted { written })
}

/// Upserts devices in one transaction after checking every owner exists.
async fn write_devices(
    state: &AppState,
    rows: Vec<DeviceRecord>,
    path: impl Fn(usize) -> String,
) -> Result<Upserted, JsonError> {
    let txn = state.store.begin_import().await?;
    let result = async {
        let ids: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
        let known = txn.known_users(&ids).await?;
        if let Some((i, r)) = rows
            .iter()
            .enumerate()
            .find(|(_, r)| !known.contains(r.user_id.as_str()))
        {
            let message = format!("no user `{}`: create the user first", r.user_id.as_str());
            return Err(JsonError::invalid(format!("{}.user_id", path(i)), message));
        }
        let now = now_millis();
        for chunk in rows.chunks(CHUNK) {
            txn.upsert_devices(chunk, now).await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            txn.commit().await?;
            Ok(Upserted {
                written: rows.len() as u64,
            })
        }
        Err(e) => {
            txn.rollback().await?;
            Err(e)
        }
    }
}

/// Creates or updates one user.
#[utoipa::path(operation_id = "post_user", post, path = "/api/v1/users", tag = "users",
    security(("bearer" = [])), request_body = UserIn,
    responses((status = 200, body = Upserted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn user_one(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Upserted>, JsonError> {
    let rows = users(vec![body_json(body)?], |_| "user".to_owned())?;
    Ok(Json(write_users(&state, rows).await?))
}

/// Creates or updates a batch of users (an array, or `{ "users": [...] }`),
/// all or nothing; an error names the first bad element, e.g. `users[2].email`.
#[utoipa::path(operation_id = "post_user_batch", post, path = "/api/v1/users/batch", tag = "users",
    security(("bearer" = [])), request_body = Vec<UserIn>,
    responses((status = 200, body = Upserted), (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn user_batch(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Upserted>, JsonError> {
    let rows = users(elements(body_json(body)?, "users")?, |i| {
        format!("users[{i}]")
    })?;
    Ok(Json(write_users(&state, rows).await?))
}

/// Registers or updates one push device.
#[utoipa::path(operation_id = "post_device", post, path = "/api/v1/devices", tag = "users",
    security(("bearer" = [])), request_body = DeviceIn,
    responses((status = 200, body = Upserted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn device_one(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Upserted>, JsonError> {
    let rows = devices(vec![body_json(body)?], |_| "device".to_owned())?;
    Ok(Json(
        write_devices(&state, rows, |_| "device".to_owned()).await?,
    ))
}

/// Registers or updates a batch of devices (an array, or
/// `{ "devices": [...] }`), all or nothing.
#[utoipa::path(operation_id = "post_device_batch", post, path = "/api/v1/devices/batch", tag = "users",
    security(("bearer" = [])), request_body = Vec<DeviceIn>,
    responses((status = 200, body = Upserted), (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn device_batch(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Upserted>, JsonError> {
    let path = |i: usize| format!("devices[{i}]");
    let rows = devices(elements(body_json(body)?, "devices")?, path)?;
    Ok(Json(write_devices(&state, rows, path).await?))
}
