//! User facts for audiences, read a page at a time (keyset pagination on
//! `user_id`) so an audience streams over any number of users: the profile
//! and attributes, consents, active device platforms, purchase history and
//! the user's segment under the active segment model.

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query};
use std::collections::HashMap;

/// Everything an audience may ask about one user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserFactRow {
    /// The user.
    pub user_id: String,
    /// Typed profile columns that are set (email, phone, timezone, locale,
    /// country, city, age, gender, signup_at).
    pub profile: serde_json::Map<String, serde_json::Value>,
    /// Extra attributes.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Consent per channel.
    pub consents: HashMap<String, bool>,
    /// Platforms of active devices (sorted, may repeat).
    pub platforms: Vec<String>,
    /// Events of any kind.
    pub events: i64,
    /// Purchases.
    pub purchases: i64,
    /// Purchase revenue.
    pub revenue: f64,
    /// Last event (milliseconds).
    pub last_event_at: Option<i64>,
    /// Last purchase (milliseconds).
    pub last_purchase_at: Option<i64>,
    /// Segment under the active model.
    pub segment: Option<i32>,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

const PROFILE: [&str; 9] = [
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

impl Store {
    /// Up to `limit` users with ids after `after`, in id order, with facts.
    pub async fn user_fact_page(
        &self,
        after: Option<&str>,
        limit: u64,
        segment_model: Option<i64>,
    ) -> Result<Vec<UserFactRow>, StoreError> {
        self.user_fact_page_with(after, limit, segment_model, true)
            .await
    }

    /// [`Store::user_fact_page`], reading the activity aggregates (a read
    /// of every event of the page's users, the costliest part) only when
    /// `activity` is set; otherwise they stay zero and `None`.
    pub async fn user_fact_page_with(
        &self,
        after: Option<&str>,
        limit: u64,
        segment_model: Option<i64>,
        activity: bool,
    ) -> Result<Vec<UserFactRow>, StoreError> {
        let mut rows = self.profile_page(after, limit).await?;
        self.fill_facts(&mut rows, segment_model, activity).await?;
        Ok(rows)
    }

    /// The facts of those of `ids` that exist (in the database's id order
    /// per thousand ids): for a few users (a preview, an explanation, a
    /// fallback, a trigger batch).
    pub async fn user_facts(
        &self,
        ids: &[String],
        segment_model: Option<i64>,
    ) -> Result<Vec<UserFactRow>, StoreError> {
        let mut rows = Vec::new();
        for chunk in ids.chunks(1000) {
            let mut page = self.fact_profiles(Some(chunk), None, None).await?;
            self.fill_facts(&mut page, segment_model, true).await?;
            rows.extend(page);
        }
        Ok(rows)
    }

    /// Adds consents, devices, activity (when asked) and segment to
    /// profile rows.
    async fn fill_facts(
        &self,
        rows: &mut [UserFactRow],
        segment_model: Option<i64>,
        activity: bool,
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
        if ids.is_empty() {
            return Ok(());
        }
        let index: HashMap<String, usize> = ids
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, u)| (u, i))
            .collect();
        self.page_consents(&ids, &index, rows).await?;
        self.page_devices(&ids, &index, rows).await?;
        if activity {
            self.page_activity(&ids, &index, rows).await?;
        }
        if let Some(model) = segment_model {
            self.page_segments(model, &ids, &index, rows).await?;
        }
        Ok(())
    }

    async fn profile_page(
        &self,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<UserFactRow>, StoreError> {
        self.fact_profiles(None, after, Some(limit)).await
    }

    /// Profile rows in id order: of `ids` when given, after `after`, at
    /// most `limit`.
    async fn fact_profiles(
        &self,
        ids: Option<&[String]>,
        after: Option<&str>,
        limit: Option<u64>,
    ) -> Result<Vec<UserFactRow>, StoreError> {
        let mut stmt = Query::select();
        stmt.column(col("user_id"))
            .columns(PROFILE.map(col))
            .column(col("attributes"))
            .from(col("users"))
            .order_by(col("user_id"), Order::Asc);
        if let Some(limit) = limit {
            stmt.limit(limit);
        }
        if let Some(ids) = ids {
            stmt.and_where(Expr::col(col("user_id")).is_in(ids.iter().map(String::as_str)));
        }
        if let Some(after) = after {
            stmt.and_where(Expr::col(col("user_id")).gt(after));
        }
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read users"))?;
        rows.iter()
            .map(profile_row)
            .collect::<Result<_, _>>()
            .map_err(ctx("read users"))
    }

    async fn page_consents(
        &self,
        ids: &[String],
        index: &HashMap<String, usize>,
        rows: &mut [UserFactRow],
    ) -> Result<(), StoreError> {
        let stmt = Query::select()
            .columns(["user_id", "channel", "granted"].map(col))
            .from(col("consents"))
            .and_where(Expr::col(col("user_id")).is_in(ids.iter().cloned()))
            .to_owned();
        for r in self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read consents"))?
        {
            let user: String = r.try_get("", "user_id").map_err(ctx("read consents"))?;
            let channel: String = r.try_get("", "channel").map_err(ctx("read consents"))?;
            let granted: bool = r.try_get("", "granted").map_err(ctx("read consents"))?;
            rows[index[&user]].consents.insert(channel, granted);
        }
        Ok(())
    }

    async fn page_devices(
        &self,
        ids: &[String],
        index: &HashMap<String, usize>,
        rows: &mut [UserFactRow],
    ) -> Result<(), StoreError> {
        let stmt = Query::select()
            .columns(["user_id", "platform"].map(col))
            .from(col("devices"))
            .and_where(Expr::col(col("user_id")).is_in(ids.iter().cloned()))
            .and_where(Expr::col(col("active")).eq(true))
            .order_by(col("platform"), Order::Asc)
            .to_owned();
        for r in self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read devices"))?
        {
            let user: String = r.try_get("", "user_id").map_err(ctx("read devices"))?;
            let platform: String = r.try_get("", "platform").map_err(ctx("read devices"))?;
            rows[index[&user]].platforms.push(platform);
        }
        Ok(())
    }

    async fn page_activity(
        &self,
        ids: &[String],
        index: &HashMap<String, usize>,
        rows: &mut [UserFactRow],
    ) -> Result<(), StoreError> {
        let purchase = || Expr::col(col("event")).eq("purchase");
        let stmt = Query::select()
            .column(col("user_id"))
            .expr_as(Func::count(Expr::col(col("event_id"))), col("n"))
            .expr_as(Func::max(Expr::col(col("ts"))), col("last_ts"))
            .expr_as(
                Func::sum(Expr::case(purchase(), 1).finally(0)),
                col("purchases"),
            )
            .expr_as(
                Func::sum(Expr::case(purchase(), Expr::col(col("value"))).finally(0.0)),
                col("revenue"),
            )
            .expr_as(
                Func::max(Expr::case(purchase(), Expr::col(col("ts"))).finally(Expr::cust("NULL"))),
                col("last_purchase"),
            )
            .from(col("events"))
            .and_where(Expr::col(col("user_id")).is_in(ids.iter().cloned()))
            .group_by_col(col("user_id"))
            .to_owned();
        for r in self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read activity"))?
        {
            let user: String = r.try_get("", "user_id").map_err(ctx("read activity"))?;
            read_activity(&r, &mut rows[index[&user]]).map_err(ctx("read activity"))?;
        }
        Ok(())
    }

    async fn page_segments(
        &self,
        model: i64,
        ids: &[String],
        index: &HashMap<String, usize>,
        rows: &mut [UserFactRow],
    ) -> Result<(), StoreError> {
        let stmt = Query::select()
            .columns(["user_id", "segment_id"].map(col))
            .from(col("segment_assignments"))
            .and_where(Expr::col(col("model_id")).eq(model))
            .and_where(Expr::col(col("user_id")).is_in(ids.iter().cloned()))
            .to_owned();
        for r in self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read segments"))?
        {
            let user: String = r.try_get("", "user_id").map_err(ctx("read segments"))?;
            rows[index[&user]].segment =
                Some(r.try_get("", "segment_id").map_err(ctx("read segments"))?);
        }
        Ok(())
    }
}

/// Copies one activity aggregate row into the user's facts.
fn read_activity(r: &sea_orm::QueryResult, row: &mut UserFactRow) -> Result<(), sea_orm::DbErr> {
    row.events = r.try_get("", "n")?;
    row.last_event_at = r.try_get("", "last_ts")?;
    row.purchases = r.try_get::<Option<i64>>("", "purchases")?.unwrap_or(0);
    row.revenue = r.try_get::<Option<f64>>("", "revenue")?.unwrap_or(0.0);
    row.last_purchase_at = r.try_get("", "last_purchase")?;
    Ok(())
}

fn profile_row(r: &sea_orm::QueryResult) -> Result<UserFactRow, sea_orm::DbErr> {
    let mut profile = serde_json::Map::new();
    for name in PROFILE {
        let value = match name {
            "age" => r
                .try_get::<Option<i32>>("", name)?
                .map(serde_json::Value::from),
            "signup_at" => r
                .try_get::<Option<i64>>("", name)?
                .map(serde_json::Value::from),
            _ => r
                .try_get::<Option<String>>("", name)?
                .map(serde_json::Value::from),
        };
        if let Some(value) = value {
            profile.insert(name.to_owned(), value);
        }
    }
    let attributes: String = r.try_get("", "attributes")?;
    let attributes = match serde_json::from_str(&attributes) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    Ok(UserFactRow {
        user_id: r.try_get("", "user_id")?,
        profile,
        attributes,
        ..UserFactRow::default()
    })
}
