//! Bulk writes for import: one transaction per file, multi-row statements
//! per batch, upserts keyed by the customer's ids so a re-import changes
//! nothing, and reference checks (does this user / item exist?) that see the
//! rows written earlier in the same transaction.

use super::devices::{Registration, reactivate_registered};
use super::{StoreError, ctx};
use crate::domain::{DeviceRecord, EventRecord, ItemRecord, UserRecord};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query, SimpleExpr, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// Which optional typed columns a users file carries: an upsert only
/// overwrites the columns the file has, so a file of `user_id,email` does
/// not wipe timezones imported earlier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UserColumns {
    /// Typed columns present in the file (besides `user_id`).
    pub typed: Vec<&'static str>,
    /// Whether the file has extra columns (stored as `attributes`).
    pub attributes: bool,
}

/// An open import transaction.
pub struct ImportTxn {
    /// The transaction every batch of the file runs in.
    txn: DatabaseTransaction,
    /// Whether its connection's page cache was enlarged (SQLite bulk load).
    bulk: bool,
}

fn val<T: Into<Value>>(value: T) -> SimpleExpr {
    Expr::val(value)
}

fn json(map: &serde_json::Map<String, serde_json::Value>) -> String {
    serde_json::Value::Object(map.clone()).to_string()
}

/// Keeps the last row for each key, in first-seen order, so one statement
/// never touches the same row twice (PostgreSQL refuses that).
fn last_per_key<T, K: Eq + std::hash::Hash>(rows: &[T], key: impl Fn(&T) -> K) -> Vec<&T> {
    let mut index: HashMap<K, usize> = HashMap::with_capacity(rows.len());
    let mut kept: Vec<&T> = Vec::with_capacity(rows.len());
    for row in rows {
        match index.get(&key(row)) {
            Some(&i) => kept[i] = row,
            None => {
                index.insert(key(row), kept.len());
                kept.push(row);
            }
        }
    }
    kept
}

/// A stable 63-bit id for an event, from its content.
pub fn event_id(event: &EventRecord) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(event.user_id.as_str().as_bytes());
    hasher.update([0]);
    hasher.update(event.item_id.as_ref().map_or("", |i| i.as_str()).as_bytes());
    hasher.update([0]);
    hasher.update(event.event.as_str().as_bytes());
    hasher.update(event.ts.to_le_bytes());
    hasher.update(event.value.map_or(u64::MAX, f64::to_bits).to_le_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 1) as i64
}

impl super::Store {
    /// Starts the transaction one batch of rows runs in (the API's).
    pub async fn begin_import(&self) -> Result<ImportTxn, StoreError> {
        let txn = self.begin_write().await.map_err(ctx("begin import"))?;
        Ok(ImportTxn { txn, bulk: false })
    }

    /// Starts the transaction a whole import file runs in. On SQLite its
    /// connection gets a larger page cache until the end of the
    /// transaction: a bulk load touches the events indexes all over the
    /// file (1M events: 31 s with the pool's 16 MiB, 21 s with 64 MiB).
    pub async fn begin_bulk_import(&self) -> Result<ImportTxn, StoreError> {
        let txn = self.begin_write().await.map_err(ctx("begin import"))?;
        let bulk = self.backend() == super::Backend::Sqlite;
        if bulk {
            cache_size(&txn, super::connect::BULK_CACHE_KIB).await?;
        }
        Ok(ImportTxn { txn, bulk })
    }
}

/// Sets the SQLite page cache of the transaction's connection (KiB when
/// negative).
async fn cache_size(txn: &DatabaseTransaction, kib: &str) -> Result<(), StoreError> {
    txn.execute_unprepared(&format!("PRAGMA cache_size = {kib}"))
        .await
        .map(|_| ())
        .map_err(ctx("size the page cache"))
}

impl ImportTxn {
    /// Makes the file's rows visible to everyone.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.restore_cache().await?;
        self.txn.commit().await.map_err(ctx("commit import"))
    }

    /// Discards every row of the file.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.restore_cache().await?;
        self.txn.rollback().await.map_err(ctx("roll back import"))
    }

    /// Gives a bulk import's connection back the pool's page cache size.
    async fn restore_cache(&self) -> Result<(), StoreError> {
        if self.bulk {
            cache_size(&self.txn, super::connect::CACHE_KIB).await?;
        }
        Ok(())
    }

    /// Which of `ids` exist in `table` (`users` or `items`).
    async fn known(
        &self,
        table: &'static str,
        ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let column = if table == "users" {
            "user_id"
        } else {
            "item_id"
        };
        let mut found = HashSet::new();
        for chunk in ids.chunks(500) {
            let stmt = Query::select()
                .column(Alias::new(column))
                .from(Alias::new(table))
                .and_where(Expr::col(Alias::new(column)).is_in(chunk.iter().copied()))
                .to_owned();
            for row in self
                .txn
                .query_all(&stmt)
                .await
                .map_err(ctx("look up ids"))?
            {
                found.insert(row.try_get::<String>("", column).map_err(ctx("read id"))?);
            }
        }
        Ok(found)
    }

    /// Which of these user ids exist.
    pub async fn known_users(&self, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        self.known("users", ids).await
    }

    /// Which of these item ids exist.
    pub async fn known_items(&self, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        self.known("items", ids).await
    }

    /// Inserts or updates users (and their consents), keyed by `user_id`.
    pub async fn upsert_users(
        &self,
        rows: &[UserRecord],
        columns: &UserColumns,
        now: i64,
    ) -> Result<(), StoreError> {
        let rows = last_per_key(rows, |r| r.user_id.clone());
        if rows.is_empty() {
            return Ok(());
        }
        let mut names: Vec<&'static str> = vec!["user_id"];
        names.extend(columns.typed.iter().copied());
        if columns.attributes {
            names.push("attributes");
        }
        let updated: Vec<&'static str> = names[1..].iter().copied().chain(["updated_at"]).collect();
        names.extend(["created_at", "updated_at"]);
        let mut stmt = Query::insert();
        stmt.into_table(Alias::new("users"))
            .columns(names.iter().map(|n| Alias::new(*n)));
        for row in &rows {
            let values = names.iter().map(|n| user_value(row, n, now));
            stmt.values(values).map_err(|e| StoreError::Query {
                what: "build users insert",
                source: sea_orm::DbErr::Custom(e.to_string()),
            })?;
        }
        stmt.on_conflict(
            OnConflict::column(Alias::new("user_id"))
                .update_columns(updated.iter().map(|n| Alias::new(*n)))
                .to_owned(),
        );
        self.txn.execute(&stmt).await.map_err(ctx("upsert users"))?;
        self.upsert_consents(&rows, now).await
    }

    async fn upsert_consents(&self, rows: &[&UserRecord], now: i64) -> Result<(), StoreError> {
        let mut stmt = Query::insert();
        stmt.into_table(Alias::new("consents"))
            .columns(["user_id", "channel", "granted", "source", "updated_at"].map(Alias::new));
        let mut any = false;
        for row in rows {
            for consent in &row.consents {
                any = true;
                stmt.values_panic([
                    val(row.user_id.as_str()),
                    val(consent.channel.as_str()),
                    val(consent.granted),
                    val("import"),
                    val(now),
                ]);
            }
        }
        if !any {
            return Ok(());
        }
        stmt.on_conflict(
            OnConflict::columns(["user_id", "channel"].map(Alias::new))
                .update_columns(["granted", "source", "updated_at"].map(Alias::new))
                .to_owned(),
        );
        self.txn
            .execute(&stmt)
            .await
            .map_err(ctx("upsert consents"))?;
        Ok(())
    }

    /// Inserts or updates items, keyed by `item_id`.
    pub async fn upsert_items(
        &self,
        rows: &[ItemRecord],
        attributes: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let rows = last_per_key(rows, |r| r.item_id.clone());
        if rows.is_empty() {
            return Ok(());
        }
        let mut names = vec![
            "item_id",
            "title",
            "category",
            "brand",
            "price",
            "currency",
            "url",
            "image_url",
            "in_stock",
            "created_at",
        ];
        if attributes {
            names.push("attributes");
        }
        let updated: Vec<&str> = names[1..].iter().copied().chain(["updated_at"]).collect();
        names.push("updated_at");
        let mut stmt = Query::insert();
        stmt.into_table(Alias::new("items"))
            .columns(names.iter().map(|n| Alias::new(*n)));
        for row in &rows {
            stmt.values_panic(names.iter().map(|n| item_value(row, n, now)));
        }
        stmt.on_conflict(
            OnConflict::column(Alias::new("item_id"))
                .update_columns(updated.iter().map(|n| Alias::new(*n)))
                .to_owned(),
        );
        self.txn.execute(&stmt).await.map_err(ctx("upsert items"))?;
        Ok(())
    }

    /// Inserts events that are not there yet; returns how many were new.
    /// Each is stamped with its arrival (`received_at`, this process's
    /// clock), the order the trigger scanner reads them in.
    pub async fn insert_events(&self, rows: &[EventRecord]) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let received_at = crate::domain::now_millis();
        let mut stmt = Query::insert();
        stmt.into_table(Alias::new("events")).columns(
            [
                "event_id",
                "user_id",
                "item_id",
                "event",
                "ts",
                "value",
                "source",
                "received_at",
            ]
            .map(Alias::new),
        );
        for row in rows {
            stmt.values_panic([
                val(event_id(row)),
                val(row.user_id.as_str()),
                val(row.item_id.as_ref().map(|i| i.as_str().to_owned())),
                val(row.event.as_str()),
                val(row.ts),
                val(row.value),
                val("import"),
                val(received_at),
            ]);
        }
        stmt.on_conflict(
            OnConflict::column(Alias::new("event_id"))
                .do_nothing()
                .to_owned(),
        );
        let result = self
            .txn
            .execute(&stmt)
            .await
            .map_err(ctx("insert events"))?;
        Ok(result.rows_affected())
    }

    /// Inserts devices or moves a known token to its new owner. A token the
    /// provider reported gone stays inactive when imported again, unless
    /// the row says it was registered after it was deactivated
    /// (`created_at` newer than the deactivation): then it is active again.
    pub async fn upsert_devices(&self, rows: &[DeviceRecord], now: i64) -> Result<(), StoreError> {
        let rows = last_per_key(rows, |r| (r.platform, r.token.clone()));
        if rows.is_empty() {
            return Ok(());
        }
        let mut stmt = Query::insert();
        stmt.into_table(Alias::new("devices")).columns(
            [
                "user_id",
                "platform",
                "token",
                "app_id",
                "active",
                "created_at",
                "updated_at",
            ]
            .map(Alias::new),
        );
        for row in &rows {
            stmt.values_panic([
                val(row.user_id.as_str()),
                val(row.platform.as_str()),
                val(row.token.as_str()),
                val(row.app_id.as_str()),
                val(true),
                val(row.created_at.unwrap_or(now)),
                val(now),
            ]);
        }
        stmt.on_conflict(
            OnConflict::columns(["platform", "token"].map(Alias::new))
                .update_columns(["user_id", "app_id", "updated_at"].map(Alias::new))
                .to_owned(),
        );
        self.txn
            .execute(&stmt)
            .await
            .map_err(ctx("upsert devices"))?;
        let registered: Vec<Registration<'_>> = rows
            .iter()
            .filter_map(|r| Some((r.platform.as_str(), r.token.as_str(), r.created_at?)))
            .collect();
        reactivate_registered(&self.txn, &registered, now).await?;
        Ok(())
    }
}

fn user_value(row: &UserRecord, column: &str, now: i64) -> SimpleExpr {
    let text = |v: Option<&str>| val(v.map(str::to_owned));
    match column {
        "user_id" => val(row.user_id.as_str()),
        "email" => text(row.email.as_ref().map(|e| e.as_str())),
        "phone" => text(row.phone.as_ref().map(|p| p.as_str())),
        "timezone" => text(row.timezone.as_ref().map(|t| t.name())),
        "locale" => text(row.locale.as_deref()),
        "country" => text(row.country.as_deref()),
        "city" => text(row.city.as_deref()),
        "age" => val(row.age),
        "gender" => text(row.gender.as_deref()),
        "signup_at" => val(row.signup_at),
        "attributes" => val(json(&row.attributes)),
        _ => val(now),
    }
}

fn item_value(row: &ItemRecord, column: &str, now: i64) -> SimpleExpr {
    match column {
        "item_id" => val(row.item_id.as_str()),
        "title" => val(row.title.as_str()),
        "category" => val(row.category.clone()),
        "brand" => val(row.brand.clone()),
        "price" => val(row.price),
        "currency" => val(row.currency.clone()),
        "url" => val(row.url.clone()),
        "image_url" => val(row.image_url.clone()),
        "in_stock" => val(row.in_stock),
        "created_at" => val(row.created_at),
        "attributes" => val(json(&row.attributes)),
        _ => val(now),
    }
}
