//! Aggregate reads for the segment feature pipeline: one grouped query per
//! fact family, so the heavy lifting (20M events) happens in the database
//! and only one row per user (or per user and category) comes back.

use super::{Store, StoreError, ctx};
use sea_orm::{ConnectionTrait, Statement};

/// Activity totals of one user.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityRow {
    /// The user.
    pub user_id: String,
    /// Events of any kind.
    pub events: i64,
    /// Purchases.
    pub purchases: i64,
    /// Sum of purchase values.
    pub revenue: f64,
    /// Last event, milliseconds since the epoch.
    pub last_ts: i64,
}

/// Events of one user on items of one category, with their mean price.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRow {
    /// The user.
    pub user_id: String,
    /// The item category.
    pub category: String,
    /// Events on items of that category.
    pub events: i64,
    /// Mean price of those items (None when no item had a price).
    pub mean_price: Option<f64>,
}

/// Profile columns of one user.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    /// The user.
    pub user_id: String,
    /// Age in years.
    pub age: Option<i32>,
    /// Gender as recorded.
    pub gender: Option<String>,
    /// Country code.
    pub country: Option<String>,
}

/// A (user, label, count) fact: devices per platform, sends or opens per
/// channel.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRow {
    /// The user.
    pub user_id: String,
    /// The platform or channel.
    pub label: String,
    /// How many.
    pub count: i64,
}

impl Store {
    async fn rows(
        &self,
        what: &'static str,
        sql: &str,
    ) -> Result<Vec<sea_orm::QueryResult>, StoreError> {
        let stmt = Statement::from_string(self.db().get_database_backend(), sql.to_owned());
        self.db().query_all_raw(stmt).await.map_err(ctx(what))
    }

    /// Per-user activity totals over every event.
    pub async fn activity_rows(&self) -> Result<Vec<ActivityRow>, StoreError> {
        let sql = "SELECT user_id, COUNT(*) AS n, MAX(ts) AS last_ts, \
             SUM(CASE WHEN event = 'purchase' THEN 1 ELSE 0 END) AS purchases, \
             SUM(CASE WHEN event = 'purchase' THEN COALESCE(value, 0.0) ELSE 0.0 END) AS revenue \
             FROM events GROUP BY user_id";
        let rows = self.rows("read activity", sql).await?;
        rows.iter()
            .map(|r| {
                Ok(ActivityRow {
                    user_id: r.try_get("", "user_id")?,
                    events: r.try_get("", "n")?,
                    purchases: r.try_get::<Option<i64>>("", "purchases")?.unwrap_or(0),
                    revenue: r.try_get::<Option<f64>>("", "revenue")?.unwrap_or(0.0),
                    last_ts: r.try_get("", "last_ts")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read activity"))
    }

    /// Per-user, per-category event counts and mean item price.
    pub async fn category_rows(&self) -> Result<Vec<CategoryRow>, StoreError> {
        let sql = "SELECT e.user_id, i.category, COUNT(*) AS n, AVG(i.price) AS mean_price \
             FROM events e JOIN items i ON i.item_id = e.item_id \
             WHERE i.category IS NOT NULL GROUP BY e.user_id, i.category";
        let rows = self.rows("read category mix", sql).await?;
        rows.iter()
            .map(|r| {
                Ok(CategoryRow {
                    user_id: r.try_get("", "user_id")?,
                    category: r.try_get("", "category")?,
                    events: r.try_get("", "n")?,
                    mean_price: r.try_get("", "mean_price")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read category mix"))
    }

    /// Per-user, per-brand event counts.
    pub async fn brand_rows(&self) -> Result<Vec<CountRow>, StoreError> {
        let sql = "SELECT e.user_id, i.brand AS label, COUNT(*) AS n \
             FROM events e JOIN items i ON i.item_id = e.item_id \
             WHERE i.brand IS NOT NULL GROUP BY e.user_id, i.brand";
        self.count_rows("read brand mix", sql).await
    }

    /// Every user's profile columns, in id order.
    pub async fn profile_rows(&self) -> Result<Vec<ProfileRow>, StoreError> {
        let sql = "SELECT user_id, age, gender, country FROM users ORDER BY user_id";
        let rows = self.rows("read profiles", sql).await?;
        rows.iter()
            .map(|r| {
                Ok(ProfileRow {
                    user_id: r.try_get("", "user_id")?,
                    age: r.try_get("", "age")?,
                    gender: r.try_get("", "gender")?,
                    country: r.try_get("", "country")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx("read profiles"))
    }

    /// Active devices per user and platform.
    pub async fn device_rows(&self) -> Result<Vec<CountRow>, StoreError> {
        let sql = "SELECT user_id, platform AS label, COUNT(*) AS n FROM devices \
             WHERE active = TRUE GROUP BY user_id, platform";
        self.count_rows("read devices", sql).await
    }

    /// Messages sent per user and channel.
    pub async fn send_rows(&self) -> Result<Vec<CountRow>, StoreError> {
        let sql = "SELECT user_id, channel AS label, COUNT(*) AS n FROM outbox \
             WHERE sent_at IS NOT NULL GROUP BY user_id, channel";
        self.count_rows("read sends", sql).await
    }

    /// Distinct messages opened or clicked per user and channel.
    pub async fn engagement_rows(&self) -> Result<Vec<CountRow>, StoreError> {
        let sql = "SELECT user_id, channel AS label, COUNT(DISTINCT outbox_id) AS n \
             FROM feedback_events WHERE kind IN ('open', 'click') AND channel IS NOT NULL \
             GROUP BY user_id, channel";
        self.count_rows("read engagement", sql).await
    }

    async fn count_rows(&self, what: &'static str, sql: &str) -> Result<Vec<CountRow>, StoreError> {
        let rows = self.rows(what, sql).await?;
        rows.iter()
            .map(|r| {
                Ok(CountRow {
                    user_id: r.try_get("", "user_id")?,
                    label: r.try_get("", "label")?,
                    count: r.try_get("", "n")?,
                })
            })
            .collect::<Result<_, sea_orm::DbErr>>()
            .map_err(ctx(what))
    }
}
