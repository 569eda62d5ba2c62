//! The filters a marketer needs beyond minijinja's built-ins (`title`,
//! `upper`, `lower`, `replace`, `round`, ...): `money`, `datetime`, `date`,
//! `truncate`, and a `default` that also covers empty values.
//!
//! Filters that depend on the recipient read `user.locale` and
//! `user.timezone` from the render context, so `{{ x | date }}` shows the
//! user's own calendar day.

use chrono::{DateTime, TimeZone, Utc};
use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, State};

use super::money::format_money;

/// Format of `date` without an argument: `28 Nov 2026`.
const DEFAULT_DATE: &str = "%-d %b %Y";
/// Format of `datetime` without an argument: `28 Nov 2026, 09:00`.
const DEFAULT_DATETIME: &str = "%-d %b %Y, %H:%M";

/// Registers herald's filters on `env` (replacing the built-in `default`).
pub fn register(env: &mut Environment<'_>) {
    env.add_filter("money", money);
    env.add_filter("datetime", datetime);
    env.add_filter("date", date);
    env.add_filter("truncate", truncate);
    env.add_filter("default", default);
    env.add_filter("d", default);
}

/// A string attribute of the context's `user`, when set.
fn user_attr(state: &State, name: &str) -> Option<String> {
    let user = state.lookup("user")?;
    let value = user.get_attr(name).ok()?;
    value.as_str().map(str::to_owned)
}

/// `{{ price | money("EUR"[, "de-DE"]) }}`: the locale defaults to the
/// user's, then `en-US`.
fn money(
    state: &State,
    amount: Value,
    currency: String,
    locale: Option<String>,
) -> Result<String, Error> {
    let amount = f64::try_from(amount.clone()).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("money expects a number, got {}", amount.kind()),
        )
    })?;
    let locale = locale
        .or_else(|| user_attr(state, "locale"))
        .unwrap_or_else(|| "en-US".to_owned());
    Ok(format_money(amount, &currency, &locale))
}

/// `{{ ts | datetime("%H:%M") }}`: an RFC 3339 string or Unix seconds,
/// shown in the user's timezone (strftime syntax).
fn datetime(state: &State, value: Value, format: Option<String>) -> Result<String, Error> {
    let format = format.as_deref().unwrap_or(DEFAULT_DATETIME);
    in_user_zone(state, &value, format)
}

/// `{{ ts | date }}` / `{{ ts | date("%A") }}`: like `datetime`, with a
/// date-only default format.
fn date(state: &State, value: Value, format: Option<String>) -> Result<String, Error> {
    let format = format.as_deref().unwrap_or(DEFAULT_DATE);
    in_user_zone(state, &value, format)
}

/// Formats an instant in the user's timezone (UTC when unset or unknown).
fn in_user_zone(state: &State, value: &Value, format: &str) -> Result<String, Error> {
    let instant = parse_instant(value)?;
    let zone = user_attr(state, "timezone")
        .and_then(|tz| tz.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    let local = zone.from_utc_datetime(&instant.naive_utc());
    let mut out = String::new();
    std::fmt::write(&mut out, format_args!("{}", local.format(format))).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("invalid date format {format:?}"),
        )
    })?;
    Ok(out)
}

/// An instant from an RFC 3339 string or a number of Unix seconds.
fn parse_instant(value: &Value) -> Result<DateTime<Utc>, Error> {
    let parsed = match value.as_str() {
        Some(text) => DateTime::parse_from_rfc3339(text.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        None => i64::try_from(value.clone())
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0)),
    };
    parsed.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("{value} is not an RFC 3339 timestamp or Unix seconds"),
        )
    })
}

/// `{{ text | truncate(40[, "…"]) }}`: at most `length` characters,
/// ending on a word boundary when one is near, with `end` appended.
fn truncate(text: String, length: Option<usize>, end: Option<String>) -> String {
    let length = length.unwrap_or(255);
    if text.chars().count() <= length {
        return text;
    }
    let end = end.unwrap_or_else(|| "...".to_owned());
    let keep = length.saturating_sub(end.chars().count());
    let cut: String = text.chars().take(keep).collect();
    let trimmed = match cut.rfind(char::is_whitespace) {
        Some(at) if at * 2 >= cut.len() => cut[..at].trim_end(),
        _ => cut.as_str(),
    };
    format!("{trimmed}{end}")
}

/// `{{ user.city | default("there") }}`: the fallback when the value is
/// undefined, `none` or an empty string (an unset column is `none`).
fn default(value: Value, fallback: Option<Value>) -> Value {
    let missing = value.is_undefined()
        || value.is_none()
        || value.as_str().is_some_and(|s| s.trim().is_empty());
    match (missing, fallback) {
        (true, Some(fallback)) => fallback,
        (true, None) => Value::from(""),
        (false, _) => value,
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    fn cut(text: &str, n: usize) -> String {
        truncate(text.to_owned(), Some(n), None)
    }

    #[test]
    fn truncate_prefers_a_word_boundary() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("The quick brown fox jumps", 15), "The quick...");
        assert_eq!(cut("Supercalifragilistic", 10), "Superca...");
    }
}
