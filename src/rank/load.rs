//! Ranking data from the store: the catalogue, the active segmentation and
//! users' histories. Every event is read once by a paged scan into 16-byte
//! records (dense user, item, time, signal), never a string per event, and
//! folded into twelve bytes per user-item pair; one user's history is read
//! by an index lookup.

use super::RankError;
use super::dataset::{
    Catalog, Dataset, Interaction, ItemInput, NONE, RawEvent, Signal, Users, fold, secs,
};
use crate::store::{RankEventRow, RankItemRow, Store};
use std::collections::HashMap;

/// Users whose events are read per query batch.
pub const BATCH_USERS: usize = 20_000;

/// The catalogue as stored now, in natural id order (numeric ids by
/// value: "2" before "10"), so dense indices, and with them every tie-break,
/// do not depend on the database's collation.
pub async fn load_catalog(store: &Store) -> Result<Catalog, RankError> {
    let mut rows = store.rank_items().await?;
    rows.sort_by(|a, b| natural(&a.item_id).cmp(&natural(&b.item_id)));
    Ok(Catalog::from_items(rows.into_iter().map(item_input)))
}

/// Sort key: numeric ids first, by value, then the rest by text.
fn natural(id: &str) -> (u8, u64, &str) {
    match id.parse::<u64>() {
        Ok(n) => (0, n, id),
        Err(_) => (1, 0, id),
    }
}

fn item_input(row: RankItemRow) -> ItemInput {
    let attributes: serde_json::Value = serde_json::from_str(&row.attributes).unwrap_or_default();
    let tags = attributes
        .get("genres")
        .and_then(|g| g.as_array())
        .map(|g| {
            g.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let year = attributes
        .get("release_year")
        .and_then(|y| {
            y.as_f64()
                .or_else(|| y.as_str().and_then(|s| s.parse().ok()))
        })
        .or_else(|| {
            row.created_at
                .map(|ms| 1970.0 + ms as f64 / 31_557_600_000.0)
        });
    ItemInput {
        id: row.item_id,
        title: row.title,
        category: row.category,
        tags,
        brand: row.brand,
        price: row.price,
        in_stock: row.in_stock,
        year,
    }
}

/// Users (in the store's order) with their segment under the active segmentation.
pub async fn load_users(store: &Store) -> Result<Users, RankError> {
    let mut ids = store.rank_user_ids().await?;
    ids.sort_by(|a, b| natural(a).cmp(&natural(b)));
    let assigned = match store.active_segment_model().await? {
        Some(model) => store.segment_assignments(model.model_id).await?,
        None => HashMap::new(),
    };
    let segment = ids
        .iter()
        .map(|id| {
            assigned
                .get(id)
                .and_then(|&s| u32::try_from(s).ok())
                .unwrap_or(NONE)
        })
        .collect();
    Ok(Users { ids, segment })
}

/// Reads histories batch by batch: `users[range]` → folded interactions.
pub struct HistoryReader<'a> {
    /// The store.
    store: &'a Store,
    /// Dense item index by id.
    items: HashMap<String, u32>,
}

impl<'a> HistoryReader<'a> {
    /// A reader resolving item ids against `catalog`.
    pub fn new(store: &'a Store, catalog: &Catalog) -> Self {
        let items = catalog
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        Self { store, items }
    }

    /// The folded histories of `ids`, in the same order.
    pub async fn histories(&self, ids: &[String]) -> Result<Vec<Vec<Interaction>>, RankError> {
        let events = self.store.rank_events(ids).await?;
        let position: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let mut raw: Vec<Vec<(u32, u32, Signal)>> = vec![Vec::new(); ids.len()];
        for e in &events {
            if let (Some(&u), Some(&item)) = (
                position.get(e.user_id.as_str()),
                self.items.get(e.item_id.as_str()),
            ) {
                raw[u].push(raw_event(e, item));
            }
        }
        Ok(raw.iter_mut().map(|r| fold(r)).collect())
    }
}

fn raw_event(e: &RankEventRow, item: u32) -> (u32, u32, Signal) {
    (item, secs(e.ts), Signal::from_event(&e.event, e.value))
}

/// Events read per page of the scan.
pub const PAGE_EVENTS: u64 = 200_000;

/// Loads every user's history; `progress(events read, events total)`
/// after each page.
pub async fn load_dataset(
    store: &Store,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Dataset, RankError> {
    let catalog = load_catalog(store).await?;
    let users = load_users(store).await?;
    load_histories(store, catalog, users, None, progress).await
}

/// Reads every event (or, with `since`, those at or after it, in
/// milliseconds) once, in storage order, into compact 16-byte records
/// (never a string per event), then folds them per user.
pub async fn load_histories(
    store: &Store,
    catalog: Catalog,
    users: Users,
    since: Option<i64>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Dataset, RankError> {
    let total = store.count("events").await?;
    let items: HashMap<&str, u32> = catalog.index();
    let by_user: HashMap<&str, u32> = users
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect();
    let mut raw: Vec<RawEvent> = Vec::with_capacity(total as usize);
    let mut read = 0u64;
    let mut each = |user: &str, item: &str, event: &str, ts: i64, value: Option<f64>| {
        read += 1;
        if read.is_multiple_of(PAGE_EVENTS) {
            progress(read, total.max(read));
        }
        if let (Some(&user), Some(&item)) = (by_user.get(user), items.get(item)) {
            let signal = Signal::from_event(event, value);
            raw.push(RawEvent {
                user,
                item,
                t: secs(ts),
                signal,
            });
        }
    };
    store.rank_scan_events(since, &mut each).await?;
    progress(read, total.max(read));
    drop((items, by_user));
    Ok(Dataset::from_events(catalog, users, raw))
}
