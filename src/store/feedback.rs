//! Feedback events (what people did with a message: `open`, `click`,
//! `unsubscribe`, and provider receipts `delivered` / `failed`) and the
//! consent change an unsubscribe makes. Every event is one row; repeated
//! clicks are all kept (rates count distinct users when they are read).
//! An event is tied to its outbox row, when there is one, by the row's
//! unique (run, user, channel) at insert time, in the same statement.

use super::{Store, StoreError, ctx};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, InsertStatement, OnConflict, Order, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

/// One event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFeedback {
    /// `open`, `click`, `unsubscribe`, `delivered`, `failed`, ...
    pub kind: String,
    /// The campaign run the message belonged to.
    pub run_id: Option<i64>,
    /// The recipient.
    pub user_id: String,
    /// The channel of the message (`push`, `email`, `sms`, `webhook`).
    pub channel: Option<String>,
    /// The variant the recipient was assigned.
    pub variant: Option<String>,
    /// The item clicked, for item links.
    pub item_id: Option<String>,
    /// A number that goes with the event (a provider error code for
    /// `failed`, revenue for conversions).
    pub value: Option<f64>,
    /// Where it came from (`link`, `unsubscribe`, `sms_receipt`, ...).
    pub source: String,
    /// When it happened (ms since the epoch).
    pub ts: i64,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRow {
    /// Its id, in insertion order.
    pub feedback_id: i64,
    /// See [`NewFeedback::kind`].
    pub kind: String,
    /// The run.
    pub run_id: Option<i64>,
    /// The outbox row of the message, when one matched.
    pub outbox_id: Option<i64>,
    /// The recipient.
    pub user_id: String,
    /// The channel.
    pub channel: Option<String>,
    /// The variant.
    pub variant: Option<String>,
    /// The item.
    pub item_id: Option<String>,
    /// See [`NewFeedback::value`].
    pub value: Option<f64>,
    /// See [`NewFeedback::source`].
    pub source: String,
    /// When (ms).
    pub ts: i64,
}

/// A user's consent to one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentRow {
    /// Whether messages may be sent.
    pub granted: bool,
    /// Who set it last (`import`, `unsubscribe`, ...).
    pub source: String,
    /// When (ms).
    pub updated_at: i64,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

const FEEDBACK_COLUMNS: [&str; 11] = [
    "feedback_id",
    "kind",
    "run_id",
    "outbox_id",
    "user_id",
    "channel",
    "variant",
    "item_id",
    "value",
    "source",
    "ts",
];

fn read_feedback(r: &QueryResult) -> Result<FeedbackRow, DbErr> {
    Ok(FeedbackRow {
        feedback_id: r.try_get("", "feedback_id")?,
        kind: r.try_get("", "kind")?,
        run_id: r.try_get("", "run_id")?,
        outbox_id: r.try_get("", "outbox_id")?,
        user_id: r.try_get("", "user_id")?,
        channel: r.try_get("", "channel")?,
        variant: r.try_get("", "variant")?,
        item_id: r.try_get("", "item_id")?,
        value: r.try_get("", "value")?,
        source: r.try_get("", "source")?,
        ts: r.try_get("", "ts")?,
    })
}

/// The outbox row of the event's (run, user, channel), as a scalar
/// subquery; NULL when the event names no run or channel.
fn outbox_of(event: &NewFeedback) -> Expr {
    let (Some(run_id), Some(channel)) = (event.run_id, &event.channel) else {
        return Expr::value(Option::<i64>::None);
    };
    let select = Query::select()
        .column(col("outbox_id"))
        .from(col("outbox"))
        .and_where(Expr::col(col("run_id")).eq(run_id))
        .and_where(Expr::col(col("user_id")).eq(event.user_id.as_str()))
        .and_where(Expr::col(col("channel")).eq(channel.as_str()))
        .limit(1)
        .to_owned();
    Expr::SubQuery(None, Box::new(select.into()))
}

/// One multi-row insert of `events` (at least one).
fn insert_events(events: &[NewFeedback]) -> InsertStatement {
    let mut stmt = Query::insert();
    stmt.into_table(col("feedback_events"))
        .columns(FEEDBACK_COLUMNS[1..].iter().map(|c| col(c)));
    for event in events {
        stmt.values_panic([
            event.kind.as_str().into(),
            event.run_id.into(),
            outbox_of(event),
            event.user_id.as_str().into(),
            event.channel.clone().into(),
            event.variant.clone().into(),
            event.item_id.clone().into(),
            event.value.into(),
            event.source.as_str().into(),
            event.ts.into(),
        ]);
    }
    stmt
}

fn insert_event(event: &NewFeedback) -> InsertStatement {
    insert_events(std::slice::from_ref(event))
}

/// Events per insert statement: 13 bind parameters each, far below
/// SQLite's 32766 and PostgreSQL's 65535.
const INSERT_CHUNK: usize = 1000;

/// Turns the user's consent to `channel` off (source `unsubscribe`);
/// false when it already was off or the user does not exist.
async fn revoke_consent(
    conn: &impl ConnectionTrait,
    user_id: &str,
    channel: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let update = Query::update()
        .table(col("consents"))
        .value(col("granted"), false)
        .value(col("source"), "unsubscribe")
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .and_where(Expr::col(col("channel")).eq(channel))
        .and_where(Expr::col(col("granted")).eq(true))
        .to_owned();
    let updated = conn.execute(&update).await.map_err(ctx("revoke consent"))?;
    if updated.rows_affected() > 0 {
        return Ok(true);
    }
    let insert = Query::insert()
        .into_table(col("consents"))
        .columns(["user_id", "channel", "granted", "source", "updated_at"].map(col))
        .select_from(new_consent(user_id, channel, now))
        .map_err(|e| StoreError::Query {
            what: "build consent insert",
            source: DbErr::Custom(e.to_string()),
        })?
        .on_conflict(
            OnConflict::columns(["user_id", "channel"].map(col))
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let inserted = conn.execute(&insert).await.map_err(ctx("revoke consent"))?;
    Ok(inserted.rows_affected() > 0)
}

/// A refused consent row for an existing user (none for an unknown one).
fn new_consent(user_id: &str, channel: &str, now: i64) -> SelectStatement {
    Query::select()
        .column(col("user_id"))
        .expr(Expr::val(channel))
        .expr(Expr::val(false))
        .expr(Expr::val("unsubscribe"))
        .expr(Expr::val(now))
        .from(col("users"))
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .to_owned()
}

impl Store {
    /// Records one event.
    pub async fn record_feedback(&self, event: &NewFeedback) -> Result<(), StoreError> {
        self.db()
            .execute(&insert_event(event))
            .await
            .map_err(ctx("record feedback"))?;
        Ok(())
    }

    /// Records many events in one transaction (all or none): the group
    /// commit behind [`crate::feedback::Recorder`].
    pub async fn record_feedback_batch(&self, events: &[NewFeedback]) -> Result<(), StoreError> {
        match events {
            [] => Ok(()),
            [one] => self.record_feedback(one).await,
            _ if events.len() <= INSERT_CHUNK => {
                self.db()
                    .execute(&insert_events(events))
                    .await
                    .map_err(ctx("record feedback"))?;
                Ok(())
            }
            _ => {
                let txn = self.begin_write().await.map_err(ctx("begin feedback"))?;
                for chunk in events.chunks(INSERT_CHUNK) {
                    txn.execute(&insert_events(chunk))
                        .await
                        .map_err(ctx("record feedback"))?;
                }
                txn.commit().await.map_err(ctx("commit feedback"))
            }
        }
    }

    /// Unsubscribes `event.user_id` from `event.channel`: turns the consent
    /// off and records the event, in one transaction. Idempotent: when the
    /// consent already was off (a second click, a second one-click POST)
    /// nothing changes, nothing is recorded, and the answer is false.
    pub async fn unsubscribe(&self, event: &NewFeedback) -> Result<bool, StoreError> {
        let channel = event.channel.as_deref().unwrap_or_default();
        let txn = self.begin_write().await.map_err(ctx("begin unsubscribe"))?;
        let changed = revoke_consent(&txn, &event.user_id, channel, event.ts).await?;
        if changed {
            txn.execute(&insert_event(event))
                .await
                .map_err(ctx("record unsubscribe"))?;
        }
        txn.commit().await.map_err(ctx("commit unsubscribe"))?;
        Ok(changed)
    }

    /// Recorded events, oldest first; of one run when `run_id` is given.
    pub async fn feedback_events(
        &self,
        run_id: Option<i64>,
    ) -> Result<Vec<FeedbackRow>, StoreError> {
        let mut select = Query::select();
        select
            .columns(FEEDBACK_COLUMNS.map(col))
            .from(col("feedback_events"))
            .order_by(col("feedback_id"), Order::Asc);
        if let Some(run_id) = run_id {
            select.and_where(Expr::col(col("run_id")).eq(run_id));
        }
        let rows = self
            .db()
            .query_all(&select)
            .await
            .map_err(ctx("read feedback"))?;
        rows.iter()
            .map(read_feedback)
            .collect::<Result<_, _>>()
            .map_err(ctx("read feedback"))
    }

    /// Number of recorded events of `kind`.
    pub async fn feedback_count(&self, kind: &str) -> Result<u64, StoreError> {
        let select = Query::select()
            .expr_as(Expr::col(col("feedback_id")).count(), col("n"))
            .from(col("feedback_events"))
            .and_where(Expr::col(col("kind")).eq(kind))
            .to_owned();
        let row = self
            .db()
            .query_one(&select)
            .await
            .map_err(ctx("count feedback"))?;
        let n: i64 = match row {
            Some(row) => row.try_get("", "n").map_err(ctx("count feedback"))?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The user's consent to `channel`, if one is recorded.
    pub async fn consent(
        &self,
        user_id: &str,
        channel: &str,
    ) -> Result<Option<ConsentRow>, StoreError> {
        let select = Query::select()
            .columns(["granted", "source", "updated_at"].map(col))
            .from(col("consents"))
            .and_where(Expr::col(col("user_id")).eq(user_id))
            .and_where(Expr::col(col("channel")).eq(channel))
            .to_owned();
        let Some(row) = self
            .db()
            .query_one(&select)
            .await
            .map_err(ctx("read consent"))?
        else {
            return Ok(None);
        };
        let read = |r: &QueryResult| -> Result<ConsentRow, DbErr> {
            Ok(ConsentRow {
                granted: r.try_get("", "granted")?,
                source: r.try_get("", "source")?,
                updated_at: r.try_get("", "updated_at")?,
            })
        };
        read(&row).map(Some).map_err(ctx("read consent"))
    }
}
