//! The writer side of an import: takes parsed batches from the reader
//! thread, rejects rows that name unknown users or items, and writes the
//! rest inside the file's one transaction.

use super::{Batch, ImportError, ImportObserver, ImportReport, KEPT_ISSUES, Records, RowIssue};
use crate::domain::now_millis;
use crate::store::{ImportTxn, Store, StoreError, UserColumns};
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc::Receiver;

/// Running state of one file's import.
struct Progress<'a> {
    /// The file, for issues.
    file: &'a str,
    /// Counts and kept issues so far.
    report: ImportReport,
    /// Whether a bad row has been seen under `--strict` (then nothing more
    /// is written and the transaction is rolled back).
    poisoned: bool,
    /// Whether one bad row poisons the file.
    strict: bool,
    /// Who hears about issues and progress.
    observer: &'a mut dyn ImportObserver,
}

impl Progress<'_> {
    fn reject(&mut self, issue: RowIssue) {
        self.observer.issue(&issue);
        self.report.rejected += 1;
        self.poisoned |= self.strict;
        if self.report.issues.len() < KEPT_ISSUES {
            self.report.issues.push(issue);
        }
    }

    fn unknown(&mut self, line: u64, field: &str, what: &str, id: &str) {
        let reason = format!("unknown {what} `{id}` (import {what}s first)");
        self.reject(RowIssue {
            file: self.file.to_owned(),
            line,
            field: field.to_owned(),
            reason,
        });
    }
}

/// Drains the reader's batches into one transaction and commits it, or
/// rolls it back under `--strict` when any row was bad.
pub(super) async fn write_all(
    store: &Store,
    file: &str,
    strict: bool,
    mut rx: Receiver<Batch>,
    observer: &mut dyn ImportObserver,
) -> Result<ImportReport, ImportError> {
    let store_err = |source: StoreError| ImportError::Store {
        file: file.to_owned(),
        source,
    };
    let txn = store.begin_bulk_import().await.map_err(store_err)?;
    let mut progress = Progress {
        file,
        report: ImportReport::default(),
        poisoned: false,
        strict,
        observer,
    };
    while let Some(batch) = rx.recv().await {
        if let Err(e) = write_batch(&txn, batch, &mut progress).await {
            let _ = txn.rollback().await;
            return Err(store_err(e));
        }
    }
    finish(txn, progress).await.map_err(store_err)?
}

async fn finish(
    txn: ImportTxn,
    progress: Progress<'_>,
) -> Result<Result<ImportReport, ImportError>, StoreError> {
    if progress.poisoned {
        txn.rollback().await?;
        let report = progress.report;
        return Ok(Err(ImportError::Strict {
            file: progress.file.to_owned(),
            rejected: report.rejected,
            first: Box::new(report.issues[0].clone()),
        }));
    }
    txn.commit().await?;
    Ok(Ok(progress.report))
}

async fn write_batch(
    txn: &ImportTxn,
    batch: Batch,
    progress: &mut Progress<'_>,
) -> Result<(), StoreError> {
    progress.report.read += batch.read;
    for issue in batch.issues {
        progress.reject(issue);
    }
    let now = now_millis();
    match batch.records {
        Records::Users(rows) => write_users(txn, rows, progress, now).await?,
        Records::Items(rows) => write_items(txn, rows, progress, now).await?,
        Records::Events(rows) => write_events(txn, rows, progress).await?,
        Records::Devices(rows) => write_devices(txn, rows, progress, now).await?,
    }
    progress.observer.progress(batch.bytes);
    Ok(())
}

async fn write_users(
    txn: &ImportTxn,
    rows: Vec<(u64, crate::domain::UserRecord, UserColumns)>,
    progress: &mut Progress<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let mut groups: HashMap<UserColumns, Vec<crate::domain::UserRecord>> = HashMap::new();
    let count = rows.len() as u64;
    for (_, record, columns) in rows {
        groups.entry(columns).or_default().push(record);
    }
    if progress.poisoned {
        return Ok(());
    }
    for (columns, records) in groups {
        txn.upsert_users(&records, &columns, now).await?;
    }
    progress.report.imported += count;
    Ok(())
}

async fn write_items(
    txn: &ImportTxn,
    rows: Vec<(u64, crate::domain::ItemRecord, bool)>,
    progress: &mut Progress<'_>,
    now: i64,
) -> Result<(), StoreError> {
    if progress.poisoned {
        return Ok(());
    }
    let count = rows.len() as u64;
    let (with, without): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(_, _, attrs)| *attrs);
    for (attrs, group) in [(true, with), (false, without)] {
        let records: Vec<_> = group.into_iter().map(|(_, r, _)| r).collect();
        txn.upsert_items(&records, attrs, now).await?;
    }
    progress.report.imported += count;
    Ok(())
}

async fn write_events(
    txn: &ImportTxn,
    rows: Vec<(u64, crate::domain::EventRecord)>,
    progress: &mut Progress<'_>,
) -> Result<(), StoreError> {
    let users = known(txn, &rows, |r| Some(r.user_id.as_str()), true).await?;
    let items = known(
        txn,
        &rows,
        |r| r.item_id.as_ref().map(|i| i.as_str()),
        false,
    )
    .await?;
    let mut valid = Vec::with_capacity(rows.len());
    for (line, record) in rows {
        if !users.contains(record.user_id.as_str()) {
            progress.unknown(line, "user_id", "user", record.user_id.as_str());
        } else if let Some(item) = record
            .item_id
            .as_ref()
            .filter(|i| !items.contains(i.as_str()))
        {
            progress.unknown(line, "item_id", "item", item.as_str());
        } else {
            valid.push(record);
        }
    }
    if progress.poisoned {
        return Ok(());
    }
    let inserted = txn.insert_events(&valid).await?;
    progress.report.imported += inserted;
    progress.report.unchanged += valid.len() as u64 - inserted;
    Ok(())
}

async fn write_devices(
    txn: &ImportTxn,
    rows: Vec<(u64, crate::domain::DeviceRecord)>,
    progress: &mut Progress<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let users = known(txn, &rows, |r| Some(r.user_id.as_str()), true).await?;
    let mut valid = Vec::with_capacity(rows.len());
    for (line, record) in rows {
        if users.contains(record.user_id.as_str()) {
            valid.push(record);
        } else {
            progress.unknown(line, "user_id", "user", record.user_id.as_str());
        }
    }
    if progress.poisoned {
        return Ok(());
    }
    txn.upsert_devices(&valid, now).await?;
    progress.report.imported += valid.len() as u64;
    Ok(())
}

/// The ids among `rows` (picked by `id`) that exist as users (`users`) or
/// items.
async fn known<T>(
    txn: &ImportTxn,
    rows: &[(u64, T)],
    id: impl Fn(&T) -> Option<&str>,
    users: bool,
) -> Result<HashSet<String>, StoreError> {
    let wanted: HashSet<&str> = rows.iter().filter_map(|(_, r)| id(r)).collect();
    let wanted: Vec<&str> = wanted.into_iter().collect();
    if users {
        txn.known_users(&wanted).await
    } else {
        txn.known_items(&wanted).await
    }
}
