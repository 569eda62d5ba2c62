//! Reads for send-time optimisation: `open` and `click` feedback counted
//! per quarter hour since the epoch (`ts / 900000`), for a page of users
//! and, with each user's timezone and segment, for everyone.
//!
//! The hour is not extracted in SQL: local hours need each user's IANA
//! timezone with its daylight-saving rules, which SQLite does not know.
//! Quarter-hour buckets are exact for every offset in use (all are whole
//! quarter hours), group the many events of one send burst into one row,
//! and are the same integer division on both backends; the campaign
//! module converts them to local hours.

use super::{Store, StoreError, ctx};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryResult};
use std::collections::HashMap;

/// The feedback kinds that show when a user reads their messages.
const KINDS: [&str; 2] = ["open", "click"];

/// The quarter-hour bucket of `ts`, as SQL (integer division on both
/// backends; the constant is inlined so SELECT and GROUP BY match).
const QUARTER_SQL: &str = "(f.ts / 900000)";

/// Opens and clicks of one timezone in one segment in one quarter hour.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentQuarterRow {
    /// The segment under the model asked for (none: no model, or the
    /// user has no assignment).
    pub segment: Option<i32>,
    /// The users' IANA timezone as stored (none: unset).
    pub timezone: Option<String>,
    /// Quarter hours since the epoch.
    pub quarter: i64,
    /// Events in it.
    pub count: i64,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn tcol(table: &str, name: &str) -> (Alias, Alias) {
    (Alias::new(table), Alias::new(name))
}

/// `open`/`click` rows of `feedback_events f` at or before `until`.
fn feedback(until: i64) -> SelectStatement {
    Query::select()
        .from_as(col("feedback_events"), col("f"))
        .and_where(Expr::col(tcol("f", "kind")).is_in(KINDS))
        .and_where(Expr::col(tcol("f", "ts")).lte(until))
        .expr_as(Expr::cust(QUARTER_SQL), col("quarter"))
        .expr_as(Expr::col(tcol("f", "feedback_id")).count(), col("n"))
        .add_group_by([Expr::cust(QUARTER_SQL)])
        .to_owned()
}

impl Store {
    /// `(quarter, count)` of each of `user_ids` with opens or clicks at or
    /// before `until` (ms), in quarter order.
    pub async fn feedback_quarters(
        &self,
        user_ids: &[String],
        until: i64,
    ) -> Result<HashMap<String, Vec<(i64, i64)>>, StoreError> {
        let mut out: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for chunk in user_ids.chunks(1000) {
            let stmt = feedback(until)
                .column(tcol("f", "user_id"))
                .and_where(Expr::col(tcol("f", "user_id")).is_in(chunk.iter().map(String::as_str)))
                .add_group_by([Expr::col(tcol("f", "user_id"))])
                .order_by(tcol("f", "user_id"), Order::Asc)
                .order_by_expr(Expr::cust(QUARTER_SQL), Order::Asc)
                .to_owned();
            let rows = self
                .db()
                .query_all(&stmt)
                .await
                .map_err(ctx("read feedback hours"))?;
            for r in &rows {
                let (user, quarter, n) =
                    read_user_quarter(r).map_err(ctx("read feedback hours"))?;
                out.entry(user).or_default().push((quarter, n));
            }
        }
        Ok(out)
    }

    /// Opens and clicks at or before `until` (ms) by segment under
    /// `segment_model` (all `None` without one), user timezone and
    /// quarter hour; events of users no longer stored count with no
    /// timezone.
    pub async fn segment_feedback_quarters(
        &self,
        segment_model: Option<i64>,
        until: i64,
    ) -> Result<Vec<SegmentQuarterRow>, StoreError> {
        let mut stmt = feedback(until);
        stmt.join_as(
            JoinType::LeftJoin,
            col("users"),
            col("u"),
            Expr::col(tcol("u", "user_id")).equals(tcol("f", "user_id")),
        )
        .column(tcol("u", "timezone"))
        .add_group_by([Expr::col(tcol("u", "timezone"))]);
        if let Some(model) = segment_model {
            stmt.join_as(
                JoinType::LeftJoin,
                col("segment_assignments"),
                col("s"),
                Expr::col(tcol("s", "user_id"))
                    .equals(tcol("f", "user_id"))
                    .and(Expr::col(tcol("s", "model_id")).eq(model)),
            )
            .column(tcol("s", "segment_id"))
            .add_group_by([Expr::col(tcol("s", "segment_id"))]);
        }
        let rows = self
            .db()
            .query_all(&stmt)
            .await
            .map_err(ctx("read segment feedback hours"))?;
        rows.iter()
            .map(|r| read_segment_quarter(r, segment_model.is_some()))
            .collect::<Result<_, _>>()
            .map_err(ctx("read segment feedback hours"))
    }
}

fn read_user_quarter(r: &QueryResult) -> Result<(String, i64, i64), sea_orm::DbErr> {
    Ok((
        r.try_get("", "user_id")?,
        r.try_get("", "quarter")?,
        r.try_get("", "n")?,
    ))
}

fn read_segment_quarter(
    r: &QueryResult,
    segmented: bool,
) -> Result<SegmentQuarterRow, sea_orm::DbErr> {
    Ok(SegmentQuarterRow {
        segment: if segmented {
            r.try_get("", "segment_id")?
        } else {
            None
        },
        timezone: r.try_get("", "timezone")?,
        quarter: r.try_get("", "quarter")?,
        count: r.try_get("", "n")?,
    })
}
