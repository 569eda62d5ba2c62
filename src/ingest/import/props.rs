//! Property test of the file reader and the row validators: any CSV or
//! JSON Lines text is read row by row into records or `field: reason`
//! issues (no panic, every record inside the checked ranges); 10,000
//! generated files per format.

use std::path::PathBuf;

use proptest::prelude::*;

use super::schema::{DEVICES, EVENTS, USERS};
use super::source::{Format, Item, Reader, Row};
use super::{RowError, rows};
use crate::domain::{EVENT_MAX_AGE_MS, EVENT_MAX_LEAD_MS};

const NOW: i64 = 1_800_000_000_000;

/// Cell texts that are near what real files hold.
const CELLS: &[&str] = &[
    "u1",
    "i1",
    "purchase",
    "view",
    "2026-11-28T10:00:00Z",
    "1990-01-01T00:00:00Z",
    "2099-01-01T00:00:00Z",
    "NaN",
    "inf",
    "-3",
    "9.5",
    "1e400",
    "",
    "\"",
    "\"a,b\"",
    "true",
    "ios",
    "Europe/Paris",
    "a@b.co",
    "+33612345678",
    "130",
    "-1",
    "é",
    "\u{0}",
];

const COLUMNS: &[&str] = &[
    "user_id",
    "item_id",
    "event",
    "ts",
    "value",
    "email",
    "age",
    "signup_at",
    "platform",
    "token",
    "created_at",
    "tier",
];

/// A CSV file: a header of known and unknown columns, rows of cells.
fn csv() -> impl Strategy<Value = String> {
    let header = prop::collection::vec(prop::sample::select(COLUMNS), 0..6);
    let row = prop::collection::vec(prop::sample::select(CELLS), 0..7);
    (header, prop::collection::vec(row, 0..5)).prop_map(|(header, rows)| {
        let mut text = header.join(",");
        for row in rows {
            text.push('\n');
            text.push_str(&row.join(","));
        }
        text
    })
}

/// A JSON Lines file: objects, and lines that are not.
fn jsonl() -> impl Strategy<Value = String> {
    let object = prop::collection::vec(
        (prop::sample::select(COLUMNS), prop::sample::select(CELLS)),
        0..6,
    )
    .prop_map(|fields| {
        let map: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
            .collect();
        serde_json::Value::Object(map).to_string()
    });
    let line = prop_oneof![object, "\\PC{0,30}"];
    prop::collection::vec(line, 0..5).prop_map(|lines| lines.join("\n"))
}

/// Checks what each validator makes of `row`.
fn check(row: &Row) -> Result<(), TestCaseError> {
    let issue = |e: RowError| !e.field.is_empty() && !e.reason.is_empty();
    match rows::event(row, NOW) {
        Ok(event) => {
            prop_assert!(event.ts >= NOW - EVENT_MAX_AGE_MS && event.ts <= NOW + EVENT_MAX_LEAD_MS);
            prop_assert!(event.value.is_none_or(|v| v.is_finite()));
        }
        Err(e) => prop_assert!(issue(e)),
    }
    if let Err(e) = rows::user(row, &USERS, NOW) {
        prop_assert!(issue(e));
    }
    if let Err(e) = rows::device(row, NOW) {
        prop_assert!(issue(e));
    }
    Ok(())
}

/// Writes `text` to this test's file and validates every row read back.
fn read_all(text: &str, format: Format, name: &str) -> Result<(), TestCaseError> {
    let path: PathBuf = std::env::temp_dir().join(format!("herald-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    for schema in [&EVENTS, &USERS, &DEVICES] {
        let Ok(mut reader) = Reader::open(&path, format, schema) else {
            continue;
        };
        while let Some(item) = reader.next_item() {
            if let Item::Row(_, row) = item {
                check(&row)?;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(10_000)
    })]

    #[test]
    fn any_csv_file_reads_into_records_or_issues(text in csv()) {
        read_all(&text, Format::Csv, "props.csv")?;
    }

    #[test]
    fn any_jsonl_file_reads_into_records_or_issues(text in jsonl()) {
        read_all(&text, Format::JsonLines, "props.jsonl")?;
    }
}
