//! Property test of the event body parser: any JSON a client sends is an
//! event or a 400 naming a field under the element's path; 10,000 cases.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::event;

/// A JSON value a client might put in a field.
fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        prop::sample::select(
            &[
                "2026-11-28T10:00:00Z",
                "1900-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "2026-13-01T00:00:00Z",
                "purchase",
                "view",
                "u1",
                "i1",
            ][..]
        )
        .prop_map(Value::from),
        Just(json!([1, {"a": null}])),
    ]
}

/// An object with keys an event has, and some it does not.
fn body() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(&["user_id", "item_id", "event", "ts", "value", "extra"][..]);
    prop_oneof![
        prop::collection::vec((key, field_value()), 0..7).prop_map(|fields| {
            Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        }),
        field_value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(10_000)
    })]

    #[test]
    fn any_event_body_is_an_event_or_a_400_naming_a_field_under_its_path(value in body()) {
        let now = 1_800_000_000_000;
        match event(&value, "events[4]", now) {
            Ok(record) => {
                prop_assert!(record.ts >= now - crate::domain::EVENT_MAX_AGE_MS);
                prop_assert!(record.ts <= now + crate::domain::EVENT_MAX_LEAD_MS);
                prop_assert!(record.value.is_none_or(f64::is_finite));
            }
            Err(e) => {
                prop_assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
                let field = e.field.unwrap_or_default();
                prop_assert!(field.starts_with("events[4]"), "{}", field);
            }
        }
    }
}
