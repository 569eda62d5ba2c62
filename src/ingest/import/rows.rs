//! Turning a [`Row`] into a validated record, one function per kind. The
//! first bad field of a row is reported as `field: reason`. Times are
//! checked against the import's `now`: an event's `ts` within the last 10
//! years and at most a day ahead, a signup or device time at most a day
//! ahead; an event's `value` finite, not negative for a purchase.

use super::schema::{DEVICES, EVENTS, Schema};
use super::source::Row;
use crate::domain::{
    Channel, ConsentRecord, DeviceRecord, DeviceToken, EVENT_MAX_LEAD_MS, Email, EventKind,
    EventRecord, Invalid, ItemId, ItemRecord, Phone, Platform, Timezone, UserId, UserRecord,
    check_event_time, check_event_value, parse_bool, parse_rfc3339_millis,
};
use std::borrow::Cow;

/// The first problem found in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The column at fault (or `row` for the row as a whole).
    pub field: String,
    /// What is wrong and, where it helps, what is expected.
    pub reason: String,
}

impl RowError {
    /// A problem with one column (a column with an empty name is reported
    /// as the row's, so the message still names where to look).
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        if field.is_empty() {
            return Self {
                field: "row".to_owned(),
                reason: format!("a column with an empty name: {}", reason.into()),
            };
        }
        Self {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

type Result<T> = std::result::Result<T, RowError>;

/// An optional column's raw text.
fn opt<'a>(row: &'a Row, field: &str) -> Result<Option<Cow<'a, str>>> {
    row.get(field)
        .map_err(|reason| RowError::new(field, reason))
}

/// A required column's raw text.
fn req<'a>(row: &'a Row, field: &str) -> Result<Cow<'a, str>> {
    opt(row, field)?.ok_or_else(|| RowError::new(field, "missing required column"))
}

/// An optional column parsed by `parse`.
fn opt_with<T>(
    row: &Row,
    field: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, Invalid>,
) -> Result<Option<T>> {
    match opt(row, field)? {
        Some(text) => parse(&text)
            .map(Some)
            .map_err(|e| RowError::new(field, e.0)),
        None => Ok(None),
    }
}

/// A required column parsed by `parse`.
fn req_with<T>(
    row: &Row,
    field: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, Invalid>,
) -> Result<T> {
    let text = req(row, field)?;
    parse(&text).map_err(|e| RowError::new(field, e.0))
}

fn text(row: &Row, field: &str) -> Result<Option<String>> {
    Ok(opt(row, field)?.map(|t| t.trim().to_owned()))
}

fn number(value: &str) -> std::result::Result<f64, Invalid> {
    match value.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(Invalid::new(format!("`{value}` is not a number"))),
    }
}

fn age(value: &str) -> std::result::Result<i32, Invalid> {
    match value.trim().parse::<i32>() {
        Ok(n) if (0..=130).contains(&n) => Ok(n),
        _ => Err(Invalid::new(format!(
            "`{value}` is not an age (a whole number from 0 to 130)"
        ))),
    }
}

/// Rejects columns an events or devices file does not know.
fn no_extras(row: &Row, schema: &Schema) -> Result<()> {
    match row.extras(schema).first() {
        Some((name, _)) => Err(RowError::new(name, "unknown column")),
        None => Ok(()),
    }
}

/// A time that may be in the past but not more than a day ahead of `now`.
fn not_ahead(now: i64) -> impl Fn(&str) -> std::result::Result<i64, Invalid> {
    move |text| {
        let ts = parse_rfc3339_millis(text)?;
        if ts > now.saturating_add(EVENT_MAX_LEAD_MS) {
            return Err(Invalid::new(format!(
                "`{text}` is more than a day in the future; check the clock and the time zone"
            )));
        }
        Ok(ts)
    }
}

/// A users row, checked against `now` (ms).
pub fn user(row: &Row, schema: &Schema, now: i64) -> Result<UserRecord> {
    let mut consents = Vec::new();
    for (field, channel) in [
        ("consent_push", Channel::Push),
        ("consent_email", Channel::Email),
        ("consent_sms", Channel::Sms),
    ] {
        if let Some(granted) = opt_with(row, field, parse_bool)? {
            consents.push(ConsentRecord { channel, granted });
        }
    }
    Ok(UserRecord {
        user_id: req_with(row, "user_id", UserId::parse)?,
        email: opt_with(row, "email", Email::parse)?,
        phone: opt_with(row, "phone", Phone::parse)?,
        timezone: opt_with(row, "timezone", Timezone::parse)?,
        locale: text(row, "locale")?,
        country: text(row, "country")?,
        city: text(row, "city")?,
        age: opt_with(row, "age", age)?,
        gender: text(row, "gender")?,
        signup_at: opt_with(row, "signup_at", not_ahead(now))?,
        consents,
        attributes: row.extras(schema).into_iter().collect(),
    })
}

/// An items row.
pub fn item(row: &Row, schema: &Schema) -> Result<ItemRecord> {
    let price = opt_with(row, "price", number)?;
    if price.is_some_and(|p| p < 0.0) {
        return Err(RowError::new("price", "is negative"));
    }
    Ok(ItemRecord {
        item_id: req_with(row, "item_id", ItemId::parse)?,
        title: req(row, "title")?.trim().to_owned(),
        category: text(row, "category")?,
        brand: text(row, "brand")?,
        price,
        currency: opt_with(row, "currency", currency)?,
        url: text(row, "url")?,
        image_url: text(row, "image_url")?,
        in_stock: opt_with(row, "in_stock", parse_bool)?.unwrap_or(true),
        created_at: opt_with(row, "created_at", parse_rfc3339_millis)?,
        attributes: row.extras(schema).into_iter().collect(),
    })
}

fn currency(value: &str) -> std::result::Result<String, Invalid> {
    let code = value.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code.to_owned())
    } else {
        Err(Invalid::new(format!(
            "`{value}` is not an ISO 4217 currency code (e.g. USD, EUR)"
        )))
    }
}

/// An events row, checked against `now` (ms); references are checked
/// later, against the store.
pub fn event(row: &Row, now: i64) -> Result<EventRecord> {
    no_extras(row, &EVENTS)?;
    let event = req_with(row, "event", EventKind::parse)?;
    let value = opt_with(row, "value", |v| {
        number(v).and_then(|n| check_event_value(&event, n))
    })?;
    let record = EventRecord {
        user_id: req_with(row, "user_id", UserId::parse)?,
        item_id: opt_with(row, "item_id", ItemId::parse)?,
        ts: req_with(row, "ts", |t| {
            parse_rfc3339_millis(t).and_then(|ts| check_event_time(ts, now))
        })?,
        event,
        value,
    };
    if record.event.needs_item() && record.item_id.is_none() {
        let reason = format!("a {} event needs an item_id", record.event.as_str());
        return Err(RowError::new("item_id", reason));
    }
    Ok(record)
}

/// A devices row, checked against `now` (ms); the owner is checked later,
/// against the store.
pub fn device(row: &Row, now: i64) -> Result<DeviceRecord> {
    no_extras(row, &DEVICES)?;
    let platform = req_with(row, "platform", Platform::parse)?;
    Ok(DeviceRecord {
        user_id: req_with(row, "user_id", UserId::parse)?,
        platform,
        token: req_with(row, "token", |t| DeviceToken::parse(platform, t))?,
        app_id: text(row, "app_id")?.unwrap_or_default(),
        created_at: opt_with(row, "created_at", not_ahead(now))?,
    })
}
