//! Per-user privacy requests: export everything herald holds about one
//! user as one JSON document, and erase the user's personal data while
//! keeping anonymous aggregates.
//!
//! Erasure deletes the user row and everything that only describes the
//! person (consents, devices, events, segment assignments), and in the
//! rows reports count (plan, outbox, exposures, feedback, trigger fires)
//! replaces the user id with a pseudonym ([`pseudonym`]) and blanks what
//! identifies the person (addresses, payloads, error details, feature
//! snapshots). One transaction; erasing twice changes nothing.

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult, JsonValue};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Store, StoreError, ctx};

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// Everything herald holds about one user; each list holds the rows of
/// one table as JSON objects keyed by column.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserExport {
    /// The user id.
    pub user_id: String,
    /// The `users` row: profile fields and attributes.
    pub profile: Option<JsonValue>,
    /// Consent per channel.
    pub consents: Vec<JsonValue>,
    /// Push devices, active or not.
    pub devices: Vec<JsonValue>,
    /// Behavioural events.
    pub events: Vec<JsonValue>,
    /// Segment per segment model.
    pub segment_assignments: Vec<JsonValue>,
    /// Campaign plan decisions.
    pub plan: Vec<JsonValue>,
    /// Outbox rows, payloads included.
    pub outbox: Vec<JsonValue>,
    /// Attempts to send those outbox rows.
    pub delivery_attempts: Vec<JsonValue>,
    /// Items recommended to the user.
    pub exposures: Vec<JsonValue>,
    /// Opens, clicks, receipts, conversions.
    pub feedback: Vec<JsonValue>,
    /// Event-trigger firings.
    pub trigger_fires: Vec<JsonValue>,
}

impl UserExport {
    /// True when herald holds nothing about the user.
    pub fn is_empty(&self) -> bool {
        self.profile.is_none()
            && [
                &self.consents,
                &self.devices,
                &self.events,
                &self.segment_assignments,
                &self.plan,
                &self.outbox,
                &self.delivery_attempts,
                &self.exposures,
                &self.feedback,
                &self.trigger_fires,
            ]
            .iter()
            .all(|rows| rows.is_empty())
    }
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// The pseudonym that replaced the user id in aggregate rows.
    pub pseudonym: String,
    /// Rows deleted (user, consents, devices, events, assignments).
    pub deleted: u64,
    /// Rows whose user id was replaced by the pseudonym.
    pub pseudonymized: u64,
}

impl Erasure {
    /// True when nothing was left to erase (e.g. a second erase).
    pub fn is_noop(&self) -> bool {
        self.deleted == 0 && self.pseudonymized == 0
    }
}

/// The pseudonym of `user_id`: `erased-` and the first 16 hex digits of
/// its SHA-256, stable so that erasing twice gives the same rows.
pub fn pseudonym(user_id: &str) -> String {
    let digest = Sha256::digest(user_id.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("erased-{hex}")
}

/// Tables keyed by `user_id` with their export field, in export order.
const USER_TABLES: [(&str, &str); 10] = [
    ("consents", "channel"),
    ("devices", "device_id"),
    ("events", "ts"),
    ("segment_assignments", "model_id"),
    ("run_recipients", "run_id"),
    ("outbox", "outbox_id"),
    ("exposures", "shown_at"),
    ("feedback_events", "feedback_id"),
    ("trigger_fires", "fire_at"),
    ("users", "user_id"),
];

/// `SELECT * FROM table WHERE user_id = ? ORDER BY order`.
fn rows_of(table: &str, order: &str, user_id: &str) -> SelectStatement {
    Query::select()
        .column(Asterisk)
        .from(col(table))
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .order_by(col(order), Order::Asc)
        .to_owned()
}

/// The user's outbox ids, as a subquery.
fn outbox_ids(user_id: &str) -> SelectStatement {
    Query::select()
        .column(col("outbox_id"))
        .from(col("outbox"))
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .to_owned()
}

impl Store {
    /// Everything held about `user_id`; empty (see
    /// [`UserExport::is_empty`]) for an unknown user.
    pub async fn export_user(&self, user_id: &str) -> Result<UserExport, StoreError> {
        let mut export = UserExport {
            user_id: user_id.to_owned(),
            ..UserExport::default()
        };
        for (table, order) in USER_TABLES {
            let rows = self.json_rows(&rows_of(table, order, user_id)).await?;
            match table {
                "consents" => export.consents = rows,
                "devices" => export.devices = rows,
                "events" => export.events = rows,
                "segment_assignments" => export.segment_assignments = rows,
                "run_recipients" => export.plan = rows,
                "outbox" => export.outbox = rows,
                "exposures" => export.exposures = rows,
                "feedback_events" => export.feedback = rows,
                "trigger_fires" => export.trigger_fires = rows,
                _ => export.profile = rows.into_iter().next(),
            }
        }
        let attempts = Query::select()
            .column(Asterisk)
            .from(col("delivery_attempts"))
            .and_where(Expr::col(col("outbox_id")).in_subquery(outbox_ids(user_id)))
            .order_by(col("attempt_id"), Order::Asc)
            .to_owned();
        export.delivery_attempts = self.json_rows(&attempts).await?;
        Ok(export)
    }

    /// Rows of a select as JSON objects.
    async fn json_rows(&self, select: &SelectStatement) -> Result<Vec<JsonValue>, StoreError> {
        let rows = self
            .db()
            .query_all(select)
            .await
            .map_err(ctx("export user"))?;
        rows.iter()
            .map(|row| JsonValue::from_query_result(row, ""))
            .collect::<Result<_, _>>()
            .map_err(ctx("export user"))
    }

    /// Erases `user_id` (see the module doc) in one transaction.
    /// Idempotent: a second call finds nothing and changes nothing.
    pub async fn erase_user(&self, user_id: &str) -> Result<Erasure, StoreError> {
        let alias = pseudonym(user_id);
        let txn = self.begin_write().await.map_err(ctx("begin erase"))?;
        let mut pseudonymized = 0;
        for statement in blank_statements(user_id) {
            txn.execute(&statement).await.map_err(ctx("erase user"))?;
        }
        for table in [
            "run_recipients",
            "outbox",
            "exposures",
            "feedback_events",
            "trigger_fires",
        ] {
            let update = Query::update()
                .table(col(table))
                .value(col("user_id"), alias.as_str())
                .and_where(Expr::col(col("user_id")).eq(user_id))
                .to_owned();
            let done = txn.execute(&update).await.map_err(ctx("erase user"))?;
            pseudonymized += done.rows_affected();
        }
        let mut deleted = 0;
        for table in [
            "consents",
            "devices",
            "events",
            "segment_assignments",
            "users",
        ] {
            let delete = Query::delete()
                .from_table(col(table))
                .and_where(Expr::col(col("user_id")).eq(user_id))
                .to_owned();
            let done = txn.execute(&delete).await.map_err(ctx("erase user"))?;
            deleted += done.rows_affected();
        }
        txn.commit().await.map_err(ctx("commit erase"))?;
        Ok(Erasure {
            pseudonym: alias,
            deleted,
            pseudonymized,
        })
    }
}

/// The updates blanking personal data in rows that are kept: attempt
/// details, outbox addresses, payloads and errors (pending rows are
/// failed, never sent), exposure feature snapshots.
fn blank_statements(user_id: &str) -> Vec<sea_orm::sea_query::UpdateStatement> {
    let by_user = || Expr::col(col("user_id")).eq(user_id);
    vec![
        Query::update()
            .table(col("delivery_attempts"))
            .value(col("detail"), Option::<String>::None)
            .and_where(Expr::col(col("outbox_id")).in_subquery(outbox_ids(user_id)))
            .to_owned(),
        Query::update()
            .table(col("outbox"))
            .value(col("status"), "failed")
            .and_where(by_user())
            .and_where(Expr::col(col("status")).eq("pending"))
            .to_owned(),
        Query::update()
            .table(col("outbox"))
            .value(col("address"), "")
            .value(col("payload"), "{}")
            .value(col("device_id"), Option::<i64>::None)
            .value(col("last_error"), Option::<String>::None)
            .value(col("lease_owner"), Option::<String>::None)
            .value(col("lease_until"), Option::<i64>::None)
            .and_where(by_user())
            .to_owned(),
        Query::update()
            .table(col("exposures"))
            .value(col("features"), "{}")
            .and_where(by_user())
            .to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use super::pseudonym;

    #[test]
    fn a_pseudonym_is_stable_distinct_and_free_of_the_id() {
        let p = pseudonym("u42");
        assert_eq!(p, pseudonym("u42"));
        assert_ne!(p, pseudonym("u43"));
        assert!(p.starts_with("erased-") && p.len() == "erased-".len() + 16);
        assert!(!p.contains("u42"));
    }
}
