//! Writes serialized settings back out as TOML, for showing the effective
//! configuration. Settings have only tables, strings, numbers and booleans,
//! which is all this handles; `null` (an unset optional key) becomes `""`.

use std::fmt::Write;

use serde_json::{Map, Value};

/// `value` (a JSON object of sections) as a TOML document.
pub(super) fn toml(value: &Value) -> String {
    let mut out = String::new();
    if let Some(root) = value.as_object() {
        table(&mut out, "", root);
    }
    out.trim_start().to_owned()
}

/// Writes the plain keys of `map`, then each nested table under its header.
fn table(out: &mut String, prefix: &str, map: &Map<String, Value>) {
    for (key, value) in map.iter().filter(|(_, v)| !v.is_object()) {
        let _ = writeln!(out, "{key} = {}", scalar(value));
    }
    for (key, value) in map {
        if let Some(inner) = value.as_object() {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let _ = writeln!(out, "\n[{path}]");
            table(out, &path, inner);
        }
    }
}

/// A TOML literal for a non-table value. JSON string escapes are valid TOML.
fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "\"\"".to_owned(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(scalar).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}
