//! `herald import`: stream a CSV or JSON Lines file into the store.
//!
//! A reader thread parses and validates rows into batches; the async side
//! checks references (events and devices must name known users and items)
//! and writes each batch with one multi-row upsert. The whole file is one
//! transaction, so an import is all or nothing even if the process dies.
//! A bad row is reported as `FILE:LINE: field: reason` and skipped; with
//! `strict`, one bad row rolls the file back and nothing is written.

mod rows;
mod schema;
mod source;
mod write;

#[cfg(test)]
mod props;

pub use rows::RowError;
pub use source::Format;

use crate::domain::{DeviceRecord, EventRecord, ItemRecord, UserRecord};
use crate::store::{Store, StoreError, UserColumns};
use schema::Schema;
use source::{Item, OpenError, Reader, Row};
use std::fmt;
use std::path::Path;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// users.csv: people, contact details, consents, attributes.
    Users,
    /// items.csv: the catalogue.
    Items,
    /// events.csv: views, carts, purchases and custom events.
    Events,
    /// devices.csv: push tokens.
    Devices,
}

impl Kind {
    /// The expected columns.
    fn schema(self) -> &'static Schema {
        match self {
            Kind::Users => &schema::USERS,
            Kind::Items => &schema::ITEMS,
            Kind::Events => &schema::EVENTS,
            Kind::Devices => &schema::DEVICES,
        }
    }

    /// The name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Items => "items",
            Kind::Events => "events",
            Kind::Devices => "devices",
        }
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Reject the whole file on the first bad row.
    pub strict: bool,
    /// Rows per multi-row statement.
    pub batch_rows: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            strict: false,
            batch_rows: 2000,
        }
    }
}

/// One rejected row: `FILE:LINE: field: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    /// The file, as given.
    pub file: String,
    /// The 1-based line the row starts on (the header is line 1 in CSV).
    pub line: u64,
    /// The column at fault.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.field, self.reason
        )
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Data rows read.
    pub read: u64,
    /// Rows written (inserted or updated; for events, newly inserted).
    pub imported: u64,
    /// Events that were already in the store (a re-import).
    pub unchanged: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// The first rejected rows (at most [`KEPT_ISSUES`]).
    pub issues: Vec<RowIssue>,
}

/// How many issues a report keeps; every issue still reaches the observer.
pub const KEPT_ISSUES: usize = 1000;

/// Why a file was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The extension names no format.
    #[error("{0}: unknown file type (use .csv or .jsonl)")]
    UnknownFormat(String),
    /// The file could not be read.
    #[error("{file}: {source}")]
    Open {
        /// The file.
        file: String,
        /// Why.
        source: OpenError,
    },
    /// `--strict` and at least one bad row: nothing was written.
    #[error("{file}: {rejected} bad row(s), first {first}; --strict: nothing was imported")]
    Strict {
        /// The file.
        file: String,
        /// How many rows were bad.
        rejected: u64,
        /// The first bad row.
        first: Box<RowIssue>,
    },
    /// The database failed; the transaction was rolled back.
    #[error("{file}: {source}; nothing was imported")]
    Store {
        /// The file.
        file: String,
        /// Why.
        source: StoreError,
    },
}

/// Watches an import as it runs: every rejected row, and progress.
pub trait ImportObserver: Send {
    /// A row was rejected.
    fn issue(&mut self, issue: &RowIssue);
    /// `bytes` of the file have been processed.
    fn progress(&mut self, bytes: u64);
}

/// Parsed rows of one batch, by kind, each with its line.
pub(crate) enum Records {
    Users(Vec<(u64, UserRecord, UserColumns)>),
    Items(Vec<(u64, ItemRecord, bool)>),
    Events(Vec<(u64, EventRecord)>),
    Devices(Vec<(u64, DeviceRecord)>),
}

/// One batch handed from the reader thread to the writer.
pub(crate) struct Batch {
    /// The valid rows.
    pub records: Records,
    /// Rows the reader rejected.
    pub issues: Vec<RowIssue>,
    /// Rows read in this batch.
    pub read: u64,
    /// Bytes of the file consumed so far.
    pub bytes: u64,
}

/// Imports one file of `kind` into `store`.
pub async fn import_file(
    store: &Store,
    kind: Kind,
    path: &Path,
    options: &ImportOptions,
    observer: &mut dyn ImportObserver,
) -> Result<ImportReport, ImportError> {
    let file = path.display().to_string();
    let format = Format::from_path(path).ok_or_else(|| ImportError::UnknownFormat(file.clone()))?;
    let reader = Reader::open(path, format, kind.schema()).map_err(|source| ImportError::Open {
        file: file.clone(),
        source,
    })?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let parse = ParseJob {
        kind,
        file: file.clone(),
        batch_rows: options.batch_rows.max(1),
        now: crate::domain::now_millis(),
    };
    let thread = std::thread::spawn(move || parse.run(reader, tx));
    let result = write::write_all(store, &file, options.strict, rx, observer).await;
    let _ = thread.join();
    result
}

/// The reader thread's work: parse rows into batches.
struct ParseJob {
    kind: Kind,
    file: String,
    batch_rows: usize,
    /// The import's "now" (ms), against which row times are checked.
    now: i64,
}

impl ParseJob {
    fn run(self, mut reader: Reader, tx: tokio::sync::mpsc::Sender<Batch>) {
        loop {
            let batch = self.next_batch(&mut reader);
            let done = batch.read == 0;
            if tx.blocking_send(batch).is_err() || done {
                return;
            }
        }
    }

    fn next_batch(&self, reader: &mut Reader) -> Batch {
        let mut records = self.empty_records();
        let mut issues = Vec::new();
        let mut read = 0;
        while read < self.batch_rows as u64 {
            let Some(item) = reader.next_item() else {
                break;
            };
            read += 1;
            match item {
                Item::Row(line, row) => {
                    if let Err(e) = self.push(&mut records, line, &row) {
                        issues.push(self.issue(line, e));
                    }
                }
                Item::Broken(line, reason) => {
                    issues.push(self.issue(line, RowError::new("row", reason)))
                }
            }
        }
        Batch {
            records,
            issues,
            read,
            bytes: reader.bytes,
        }
    }

    fn empty_records(&self) -> Records {
        match self.kind {
            Kind::Users => Records::Users(Vec::new()),
            Kind::Items => Records::Items(Vec::new()),
            Kind::Events => Records::Events(Vec::new()),
            Kind::Devices => Records::Devices(Vec::new()),
        }
    }

    fn push(&self, records: &mut Records, line: u64, row: &Row) -> Result<(), RowError> {
        let schema = self.kind.schema();
        match records {
            Records::Users(v) => v.push((
                line,
                rows::user(row, schema, self.now)?,
                user_columns(row, schema),
            )),
            Records::Items(v) => v.push((
                line,
                rows::item(row, schema)?,
                has_extra_columns(row, schema),
            )),
            Records::Events(v) => v.push((line, rows::event(row, self.now)?)),
            Records::Devices(v) => v.push((line, rows::device(row, self.now)?)),
        }
        Ok(())
    }

    fn issue(&self, line: u64, error: RowError) -> RowIssue {
        RowIssue {
            file: self.file.clone(),
            line,
            field: error.field,
            reason: error.reason,
        }
    }
}

/// The users-table columns a row carries, so the upsert leaves the others.
fn user_columns(row: &Row, schema: &Schema) -> UserColumns {
    const TYPED: [&str; 9] = [
        "email",
        "phone",
        "timezone",
        "locale",
        "country",
        "city",
        "age",
        "gender",
        "signup_at",
    ];
    UserColumns {
        typed: TYPED.into_iter().filter(|c| row.has(c)).collect(),
        attributes: has_extra_columns(row, schema),
    }
}

/// Whether the row's file (CSV) or object (JSON) has columns beyond the
/// typed ones; then its attributes are replaced, even by an empty set.
fn has_extra_columns(row: &Row, schema: &Schema) -> bool {
    row.column_names().any(|name| !schema.knows(name))
}

/// A user given as a JSON object (the API), validated exactly like an
/// imported users row at `now` (ms), with the columns it carries for the
/// upsert.
pub fn user_from_json(
    object: serde_json::Map<String, serde_json::Value>,
    now: i64,
) -> Result<(UserRecord, UserColumns), RowError> {
    let row = Row::Json(object);
    let record = rows::user(&row, &schema::USERS, now)?;
    Ok((record, user_columns(&row, &schema::USERS)))
}

/// A device given as a JSON object (the API), validated exactly like an
/// imported devices row at `now` (ms).
pub fn device_from_json(
    object: serde_json::Map<String, serde_json::Value>,
    now: i64,
) -> Result<DeviceRecord, RowError> {
    rows::device(&Row::Json(object), now)
}
