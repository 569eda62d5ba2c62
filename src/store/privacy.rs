//! Per-user privacy requests: export everything herald holds about one
//! user as one JSON document, and erase the user's personal data while
//! keeping anonymous aggregates.
//!
//! Erasure deletes the user row and everything that only describes the
//! person (consents, devices, events, segment assignments, precomputed
//! recommendation lists), and in the rows reports count (plan, outbox,
//! exposures, feedback, trigger fires) replaces the user id with a
//! pseudonym ([`pseudonym`]) and blanks what identifies the person
//! (addresses, payloads, error details, feature snapshots). One
//! transaction; erasing twice changes nothing. The ranking models' stored
//! histories are rewritten by `crate::rank::privacy`, which also adds the
//! user's lists and model history to the export.
//!
//! The pseudonym is an HMAC-SHA256 of the id under a random key generated
//! once and kept in the `secrets` table (`erase_secret`): stable, so the
//! kept rows of one person stay countable together, but not a bare hash a
//! dictionary of likely ids reverses.

use hmac::{Hmac, KeyInit, Mac};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult, JsonValue};
use serde::Serialize;
use sha2::Sha256;

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
    /// Precomputed recommendation lists, per ranking model (filled by
    /// `crate::rank::privacy::export_user`).
    pub rank_lists: Vec<JsonValue>,
    /// The user's history as stored in each ranking model (filled by
    /// `crate::rank::privacy::export_user`).
    pub model_history: Vec<JsonValue>,
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
                &self.rank_lists,
                &self.model_history,
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
    /// Ranking models whose stored history held the user, rewritten
    /// without it (set by `crate::rank::privacy::erase_user`).
    pub models: u64,
}

impl Erasure {
    /// True when nothing was left to erase (e.g. a second erase).
    pub fn is_noop(&self) -> bool {
        self.deleted == 0 && self.pseudonymized == 0 && self.models == 0
    }
}

/// Name of the pseudonym key in the `secrets` table.
pub const ERASE_SECRET_NAME: &str = "erase_secret";

/// How every pseudonym starts: rows of an erased user carry it in place
/// of their id.
pub const PSEUDONYM_PREFIX: &str = "erased-";

/// The pseudonym of `user_id` under `key`: `erased-` and the first 16
/// hex digits of HMAC-SHA256(key, id), stable so that erasing twice gives
/// the same rows.
pub fn pseudonym(key: &[u8], user_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(user_id.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{PSEUDONYM_PREFIX}{hex}")
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
    /// The pseudonym of `user_id` (see [`pseudonym`]) under this
    /// database's key, generating the key on first use.
    pub async fn pseudonym_of(&self, user_id: &str) -> Result<String, StoreError> {
        let candidate: String = rand::random::<[u8; 32]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let now = crate::domain::now_millis();
        let key = self
            .secret_or_insert(ERASE_SECRET_NAME, &candidate, now)
            .await?;
        Ok(pseudonym(key.as_bytes(), user_id))
    }

    /// Which of `ids` are stored users (an erased user is not): tracking
    /// links of anyone else record nothing.
    pub async fn existing_users(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut found = std::collections::HashSet::new();
        for chunk in ids.chunks(1000) {
            let select = Query::select()
                .column(col("user_id"))
                .from(col("users"))
                .and_where(Expr::col(col("user_id")).is_in(chunk.iter().copied()))
                .to_owned();
            let rows = self
                .db()
                .query_all(&select)
                .await
                .map_err(ctx("find users"))?;
            for row in rows {
                found.insert(row.try_get("", "user_id").map_err(ctx("find users"))?);
            }
        }
        Ok(found)
    }

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
        let alias = self.pseudonym_of(user_id).await?;
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
            "rank_lists",
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
            models: 0,
        })
    }
}

/// The updates blanking personal data in rows that are kept: attempt
/// details, outbox addresses, payloads, dedup keys (a bare hash of run
/// and user id) and errors (pending rows are failed, never sent),
/// exposure feature snapshots.
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
            .value(col("dedup_key"), "")
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

    use sha2::{Digest, Sha256};

    #[test]
    fn a_pseudonym_is_stable_distinct_free_of_the_id_and_not_a_bare_hash() {
        let p = pseudonym(b"key-one", "u42");
        assert_eq!(p, pseudonym(b"key-one", "u42"));
        assert_ne!(p, pseudonym(b"key-one", "u43"));
        assert_ne!(p, pseudonym(b"key-two", "u42"), "the key decides");
        assert!(p.starts_with("erased-") && p.len() == "erased-".len() + 16);
        assert!(!p.contains("u42"));
        let bare: String = Sha256::digest(b"u42")[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            !p.contains(&bare),
            "a dictionary of ids reverses a bare hash"
        );
    }
}
