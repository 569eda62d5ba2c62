//! Reading import files row by row, CSV or JSON Lines by extension, into a
//! [`Row`] that answers "what is in column X" the same way for both. Rows
//! are streamed: memory does not grow with the file.

use super::schema::Schema;
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

/// The two supported encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// Picks the format from the file extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            _ => None,
        }
    }
}

/// A CSV header: column names and where the extra (untyped) ones are.
#[derive(Debug)]
pub struct Header {
    /// Column names in file order, trimmed.
    names: Vec<String>,
}

impl Header {
    fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// One data row, with the line it started on.
pub enum Row {
    /// A CSV record and the header it is read through.
    Csv(Arc<Header>, csv::StringRecord),
    /// A JSON object.
    Json(serde_json::Map<String, serde_json::Value>),
}

impl Row {
    /// The value of a column, `None` when absent or empty. JSON numbers and
    /// booleans are given as their text.
    pub fn get(&self, name: &str) -> Result<Option<Cow<'_, str>>, String> {
        let value = match self {
            Row::Csv(header, record) => header
                .position(name)
                .and_then(|i| record.get(i))
                .map(Cow::Borrowed),
            Row::Json(map) => match map.get(name) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(Cow::Borrowed(s.as_str())),
                Some(serde_json::Value::Number(n)) => Some(Cow::Owned(n.to_string())),
                Some(serde_json::Value::Bool(b)) => Some(Cow::Owned(b.to_string())),
                Some(_) => return Err("expected a string, number or boolean".into()),
            },
        };
        Ok(value.filter(|v| !v.trim().is_empty()))
    }

    /// Whether the row carries column `name` at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        match self {
            Row::Csv(header, _) => header.position(name).is_some(),
            Row::Json(map) => map.contains_key(name),
        }
    }

    /// The names of every column the row carries.
    pub fn column_names(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            Row::Csv(header, _) => Box::new(header.names.iter().map(String::as_str)),
            Row::Json(map) => Box::new(map.keys().map(String::as_str)),
        }
    }

    /// Columns this kind of file does not know, with their values: kept as
    /// attributes (users, items) or rejected (events, devices).
    pub fn extras(&self, schema: &Schema) -> Vec<(String, serde_json::Value)> {
        match self {
            Row::Csv(header, record) => header
                .names
                .iter()
                .zip(record.iter())
                .filter(|(name, value)| !schema.knows(name) && !value.is_empty())
                .map(|(name, value)| (name.clone(), serde_json::Value::String(value.into())))
                .collect(),
            Row::Json(map) => map
                .iter()
                .filter(|(name, value)| !schema.knows(name) && !value.is_null())
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        }
    }
}

/// What reading a row can yield: a row, or a line that is not a row.
pub enum Item {
    /// A row starting on `line` (1-based, counting the header).
    Row(u64, Row),
    /// A line that could not be read, with the reason.
    Broken(u64, String),
}

/// Streams the rows of one file.
pub struct Reader {
    /// The encoding-specific state.
    inner: Inner,
    /// Bytes consumed so far, for progress.
    pub bytes: u64,
}

enum Inner {
    Csv(Arc<Header>, csv::Reader<BufReader<File>>),
    Json(BufReader<File>, u64),
}

/// Opening a file failed, or its header does not fit the schema.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be opened or its header read.
    #[error("cannot read: {0}")]
    Io(String),
    /// The header is wrong; the message lists what to fix.
    #[error("{0}")]
    Header(String),
}

impl Reader {
    /// Opens `path` and, for CSV, checks its header against `schema`
    /// before any row is read.
    pub fn open(path: &Path, format: Format, schema: &Schema) -> Result<Self, OpenError> {
        let file = File::open(path).map_err(|e| OpenError::Io(e.to_string()))?;
        let file = BufReader::with_capacity(1 << 20, file);
        let inner = match format {
            Format::Csv => {
                let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(file);
                let names: Vec<String> = csv
                    .headers()
                    .map_err(|e| OpenError::Io(e.to_string()))?
                    .iter()
                    .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
                    .collect();
                schema.check_header(&names).map_err(OpenError::Header)?;
                Inner::Csv(Arc::new(Header { names }), csv)
            }
            Format::JsonLines => Inner::Json(file, 0),
        };
        Ok(Reader { inner, bytes: 0 })
    }

    /// The next row, or `None` at the end of the file.
    pub fn next_item(&mut self) -> Option<Item> {
        match &mut self.inner {
            Inner::Csv(header, reader) => {
                let mut record = csv::StringRecord::new();
                let result = reader.read_record(&mut record);
                self.bytes = reader.position().byte();
                match result {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line());
                        if record.len() != header.names.len() {
                            let reason = format!(
                                "row has {} fields but the header has {}",
                                record.len(),
                                header.names.len()
                            );
                            return Some(Item::Broken(line, reason));
                        }
                        Some(Item::Row(line, Row::Csv(header.clone(), record)))
                    }
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        Some(Item::Broken(line, format!("unreadable CSV: {e}")))
                    }
                }
            }
            Inner::Json(reader, line) => next_json(reader, line, &mut self.bytes),
        }
    }
}

fn next_json(reader: &mut BufReader<File>, line: &mut u64, bytes: &mut u64) -> Option<Item> {
    let mut text = String::new();
    loop {
        text.clear();
        let read = match reader.read_line(&mut text) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) => {
                *line += 1;
                return Some(Item::Broken(*line, format!("unreadable line: {e}")));
            }
        };
        *bytes += read as u64;
        *line += 1;
        if text.trim().is_empty() {
            continue;
        }
        return Some(match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) => Item::Row(*line, Row::Json(map)),
            Ok(_) => Item::Broken(*line, "expected a JSON object".into()),
            Err(e) => Item::Broken(*line, format!("invalid JSON: {e}")),
        });
    }
}
