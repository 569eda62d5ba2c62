//! Reads for ranking: the catalogue, user ids, one batch of users' events
//! (an index lookup, for a few users) and every event page by page in
//! storage order (a sequential scan, for training and batch scoring). The
//! caller folds each page into compact per-user histories before asking for
//! the next, so memory never holds more than one page of strings.

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};

/// One catalogue item as ranking needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RankItemRow {
    /// The item's id.
    pub item_id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: Option<String>,
    /// Brand.
    pub brand: Option<String>,
    /// Price.
    pub price: Option<f64>,
    /// In stock.
    pub in_stock: bool,
    /// Creation time (milliseconds).
    pub created_at: Option<i64>,
    /// Extra attributes (JSON text), e.g. `genres`, `release_year`.
    pub attributes: String,
}

/// One event with an item, as ranking needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RankEventRow {
    /// The user.
    pub user_id: String,
    /// The item.
    pub item_id: String,
    /// The event name (`view`, `cart`, `purchase`, `rating`, ...).
    pub event: String,
    /// When (milliseconds).
    pub ts: i64,
    /// The value (a rating, an amount).
    pub value: Option<f64>,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl Store {
    /// Every item, by id.
    pub async fn rank_items(&self) -> Result<Vec<RankItemRow>, StoreError> {
        let names = [
            "item_id",
            "title",
            "category",
            "brand",
            "price",
            "in_stock",
            "created_at",
            "attributes",
        ];
        let stmt = Query::select()
            .columns(names.map(col))
            .from(col("items"))
            .order_by(col("item_id"), Order::Asc)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read items"))?;
        rows.iter()
            .map(|r| {
                Ok(RankItemRow {
                    item_id: r.try_get("", "item_id")?,
                    title: r.try_get("", "title")?,
                    category: r.try_get("", "category")?,
                    brand: r.try_get("", "brand")?,
                    price: r.try_get("", "price")?,
                    in_stock: r.try_get("", "in_stock")?,
                    created_at: r.try_get("", "created_at")?,
                    attributes: r.try_get("", "attributes")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read items"))
    }

    /// Every user id, in the database's order.
    pub async fn rank_user_ids(&self) -> Result<Vec<String>, StoreError> {
        let stmt = Query::select()
            .column(col("user_id"))
            .from(col("users"))
            .order_by(col("user_id"), Order::Asc)
            .to_owned();
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read user ids"))?;
        rows.iter()
            .map(|r| r.try_get("", "user_id"))
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read user ids"))
    }

    /// The item events of a batch of users (any order).
    pub async fn rank_events(&self, users: &[String]) -> Result<Vec<RankEventRow>, StoreError> {
        self.rank_events_since(users, i64::MIN).await
    }

    /// The item events of a batch of users at or after `since` (ms), any
    /// order: what came after a model's history snapshot (an index range
    /// per user on `(user_id, ts)`).
    pub async fn rank_events_since(
        &self,
        users: &[String],
        since: i64,
    ) -> Result<Vec<RankEventRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in users.chunks(5_000) {
            let mut stmt = Query::select();
            stmt.columns(["user_id", "item_id", "event", "ts", "value"].map(col))
                .from(col("events"))
                .and_where(Expr::col(col("user_id")).is_in(chunk.iter().map(String::as_str)))
                .and_where(Expr::col(col("item_id")).is_not_null());
            if since > i64::MIN {
                stmt.and_where(Expr::col(col("ts")).gte(since));
            }
            let rows = self
                .db()
                .query_all(&stmt)
                .await
                .map_err(ctx("read events"))?;
            out.reserve(rows.len());
            for r in &rows {
                out.push(read_event(r).map_err(ctx("read events"))?);
            }
        }
        Ok(out)
    }
}

/// Receives `(user_id, item_id, event, ts, value)` for each scanned event.
pub type EventSink<'a> = dyn FnMut(&str, &str, &str, i64, Option<f64>) + Send + 'a;

/// A page of item events in storage order (see [`Store::rank_event_page`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RankEventPage {
    /// The events.
    pub rows: Vec<RankEventRow>,
    /// Where the next page starts (`None` after the last page).
    pub next: Option<i64>,
}

impl Store {
    /// Up to `limit` item events after key `after` (start with `i64::MIN`),
    /// in storage order: SQLite's rowid, a sequential scan that reads a
    /// 20M-event table in seconds, or PostgreSQL's primary key.
    pub async fn rank_event_page(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<RankEventPage, StoreError> {
        let backend = self.db().get_database_backend();
        let sql = match self.backend() {
            super::Backend::Sqlite => {
                "SELECT rowid AS k, user_id, item_id, event, ts, value FROM events \
                 WHERE rowid > ? AND item_id IS NOT NULL ORDER BY rowid LIMIT ?"
            }
            super::Backend::Postgres => {
                "SELECT event_id AS k, user_id, item_id, event, ts, value FROM events \
                 WHERE event_id > $1 AND item_id IS NOT NULL ORDER BY event_id LIMIT $2"
            }
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let values: [sea_orm::Value; 2] = [after.into(), limit.into()];
        let stmt = sea_orm::Statement::from_sql_and_values(backend, sql, values);
        let rows = self
            .db()
            .query_all_raw(stmt)
            .await
            .map_err(ctx("read events"))?;
        let mut out = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in &rows {
            last = Some(r.try_get_by_index::<i64>(0).map_err(ctx("read events"))?);
            out.push(read_event_at(r, 1).map_err(ctx("read events"))?);
        }
        let next = if (rows.len() as i64) < limit {
            None
        } else {
            last
        };
        Ok(RankEventPage { rows: out, next })
    }

    /// Calls `each(user_id, item_id, event, ts, value)` for every event with
    /// an item, in storage order, and returns how many there were. SQLite
    /// streams one sequential scan with borrowed strings (no allocation per
    /// row); PostgreSQL reads pages of [`Store::rank_event_page`].
    /// With `since`, only events at or after that time (milliseconds).
    pub async fn rank_scan_events(
        &self,
        since: Option<i64>,
        each: &mut EventSink<'_>,
    ) -> Result<u64, StoreError> {
        match self.backend() {
            super::Backend::Sqlite => self.scan_sqlite(since.unwrap_or(i64::MIN), each).await,
            super::Backend::Postgres => self.scan_pages(since.unwrap_or(i64::MIN), each).await,
        }
    }

    async fn scan_sqlite(&self, since: i64, each: &mut EventSink<'_>) -> Result<u64, StoreError> {
        use futures_util::TryStreamExt;
        use sea_orm::sqlx::{self, Row};
        let failed = |e: sqlx::Error| StoreError::Query {
            what: "scan events",
            source: sea_orm::DbErr::Custom(e.to_string()),
        };
        let pool = self.db().get_sqlite_connection_pool();
        let sql = "SELECT user_id, item_id, event, ts, value FROM events \
                   WHERE item_id IS NOT NULL AND ts >= ?";
        let mut rows = sqlx::query(sql).bind(since).fetch(pool);
        let mut n = 0;
        while let Some(row) = rows.try_next().await.map_err(failed)? {
            let user: &str = row.try_get(0).map_err(failed)?;
            let item: &str = row.try_get(1).map_err(failed)?;
            let event: &str = row.try_get(2).map_err(failed)?;
            each(
                user,
                item,
                event,
                row.try_get(3).map_err(failed)?,
                row.try_get(4).map_err(failed)?,
            );
            n += 1;
        }
        Ok(n)
    }

    async fn scan_pages(&self, since: i64, each: &mut EventSink<'_>) -> Result<u64, StoreError> {
        let (mut after, mut n) = (i64::MIN, 0);
        loop {
            let page = self.rank_event_page(after, 100_000).await?;
            for e in page.rows.iter().filter(|e| e.ts >= since) {
                each(&e.user_id, &e.item_id, &e.event, e.ts, e.value);
            }
            n += page.rows.len() as u64;
            match page.next {
                Some(next) => after = next,
                None => return Ok(n),
            }
        }
    }

    /// One user's segment under the active segmentation, if any.
    pub async fn rank_user_segment(&self, user_id: &str) -> Result<Option<i32>, StoreError> {
        let Some(model) = self.active_segment_model().await? else {
            return Ok(None);
        };
        let stmt = Query::select()
            .column(col("segment_id"))
            .from(col("segment_assignments"))
            .and_where(Expr::col(col("model_id")).eq(model.model_id))
            .and_where(Expr::col(col("user_id")).eq(user_id))
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read segment"))?;
        row.map(|r| r.try_get("", "segment_id"))
            .transpose()
            .map_err(ctx("read segment"))
    }
}

fn read_event(r: &sea_orm::QueryResult) -> Result<RankEventRow, sea_orm::DbErr> {
    read_event_at(r, 0)
}

/// Reads (user_id, item_id, event, ts, value) from column `first` on.
fn read_event_at(r: &sea_orm::QueryResult, first: usize) -> Result<RankEventRow, sea_orm::DbErr> {
    Ok(RankEventRow {
        user_id: r.try_get_by_index(first)?,
        item_id: r.try_get_by_index(first + 1)?,
        event: r.try_get_by_index(first + 2)?,
        ts: r.try_get_by_index(first + 3)?,
        value: r.try_get_by_index(first + 4)?,
    })
}
