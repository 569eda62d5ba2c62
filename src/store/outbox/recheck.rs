//! What changed after planning, read at send time. A message planned now
//! may be sent much later (quiet hours, send-time optimisation, retries, a
//! long run); by then the user may have unsubscribed, withdrawn consent or
//! been erased, and a push device may have been deactivated. A worker asks
//! here, once per claimed batch (one query per [`CHUNK`] rows), which of
//! its rows must no longer be sent, and skips them with the reason.

use super::{OutboxRow, col};
use crate::store::privacy::PSEUDONYM_PREFIX;
use crate::store::{Store, StoreError, ctx};
use sea_orm::sea_query::{Expr, ExprTrait, Query, Value};
use sea_orm::{ConnectionTrait, QueryResult, Statement};
use std::collections::HashMap;

/// Rows per query.
const CHUNK: usize = 500;

/// Why a claimed row is not sent after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// The user was erased (their rows carry a pseudonym now).
    Erased,
    /// The user unsubscribed from the row's channel.
    Unsubscribed,
    /// The user's consent for the channel was withdrawn (or is gone).
    ConsentWithdrawn,
    /// The push device was deactivated.
    DeviceDeactivated,
}

impl Stale {
    /// The reason code recorded on the row and shown by `campaign explain`.
    pub fn code(self) -> &'static str {
        match self {
            Stale::Erased => "erased_after_planning",
            Stale::Unsubscribed => "unsubscribed_after_planning",
            Stale::ConsentWithdrawn => "consent_withdrawn_after_planning",
            Stale::DeviceDeactivated => "device_deactivated_after_planning",
        }
    }
}

/// What the store says of one row's user, consent and device now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Now {
    /// The row's channel.
    channel: String,
    /// Whether the row's user id is an erasure pseudonym.
    erased: bool,
    /// The consent for the channel, when one is stored.
    granted: Option<bool>,
    /// Where that consent came from (`unsubscribe`, `import`, `api`).
    source: Option<String>,
    /// Whether the row's device is active, when the row names one that
    /// exists.
    active: Option<bool>,
}

/// Whether a row in state `now` must not be sent, and why. Only a stored
/// change counts: a consent turned off, a device marked inactive, an id
/// replaced by its pseudonym. Webhooks need no consent (the policy sends
/// them to everyone the audience matches).
fn stale(now: &Now) -> Option<Stale> {
    if now.erased {
        return Some(Stale::Erased);
    }
    if now.channel != "webhook" && now.granted == Some(false) {
        return Some(match now.source.as_deref() {
            Some("unsubscribe") => Stale::Unsubscribed,
            _ => Stale::ConsentWithdrawn,
        });
    }
    if now.channel == "push" && now.active == Some(false) {
        return Some(Stale::DeviceDeactivated);
    }
    None
}

/// The query for `n` row ids (`$1` .. `$n`).
fn sql(n: usize) -> String {
    let ids: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
    format!(
        "SELECT o.outbox_id AS id, o.channel AS channel, o.user_id AS user_id, \
           c.granted AS granted, c.source AS source, d.active AS active \
         FROM outbox o \
         LEFT JOIN consents c ON c.user_id = o.user_id AND c.channel = o.channel \
         LEFT JOIN devices d ON d.device_id = o.device_id \
         WHERE o.outbox_id IN ({})",
        ids.join(", ")
    )
}

/// One result row as (outbox id, state).
fn read(row: &QueryResult) -> Result<(i64, Now), sea_orm::DbErr> {
    let user: String = row.try_get("", "user_id")?;
    let now = Now {
        channel: row.try_get("", "channel")?,
        erased: user.starts_with(PSEUDONYM_PREFIX),
        granted: row.try_get("", "granted")?,
        source: row.try_get("", "source")?,
        active: row.try_get("", "active")?,
    };
    Ok((row.try_get("", "id")?, now))
}

impl Store {
    /// Of the claimed `rows`, those that must not be sent any more, with
    /// why: the user was erased, unsubscribed or withdrew consent for the
    /// row's channel, or its push device was deactivated since planning.
    pub async fn stale_claims(
        &self,
        rows: &[OutboxRow],
    ) -> Result<HashMap<i64, Stale>, StoreError> {
        let mut found = HashMap::new();
        for chunk in rows.chunks(CHUNK) {
            let values: Vec<Value> = chunk.iter().map(|r| r.outbox_id.into()).collect();
            let db = self.db();
            let stmt =
                Statement::from_sql_and_values(db.get_database_backend(), sql(chunk.len()), values);
            let result = db.query_all_raw(stmt).await;
            let states = result.map_err(ctx("re-check claimed rows"))?;
            for row in &states {
                let (id, now) = read(row).map_err(ctx("read re-checked rows"))?;
                if let Some(why) = stale(&now) {
                    found.insert(id, why);
                }
            }
        }
        Ok(found)
    }

    /// The reason stored on a row that was not sent (`last_error`).
    pub async fn outbox_reason(&self, outbox_id: i64) -> Result<Option<String>, StoreError> {
        let select = Query::select()
            .column(col("last_error"))
            .from(col("outbox"))
            .and_where(Expr::col(col("outbox_id")).eq(outbox_id))
            .to_owned();
        let row = self.db().query_one(&select).await;
        let row = row.map_err(ctx("read outbox reason"))?;
        row.map(|r| r.try_get("", "last_error"))
            .transpose()
            .map(Option::flatten)
            .map_err(ctx("read outbox reason"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(channel: &str) -> Now {
        Now {
            channel: channel.into(),
            erased: false,
            granted: Some(true),
            source: Some("import".into()),
            active: Some(true),
        }
    }

    #[test]
    fn a_user_still_reachable_with_consent_is_sent() {
        for channel in ["push", "email", "sms", "webhook"] {
            assert_eq!(stale(&now(channel)), None, "{channel}");
        }
    }

    #[test]
    fn erasure_unsubscribe_withdrawal_and_deactivation_each_name_their_reason() {
        let erased = Now {
            erased: true,
            ..now("email")
        };
        assert_eq!(stale(&erased), Some(Stale::Erased));
        let unsubscribed = Now {
            granted: Some(false),
            source: Some("unsubscribe".into()),
            ..now("email")
        };
        assert_eq!(stale(&unsubscribed), Some(Stale::Unsubscribed));
        let withdrawn = Now {
            granted: Some(false),
            source: Some("api".into()),
            ..now("sms")
        };
        assert_eq!(stale(&withdrawn), Some(Stale::ConsentWithdrawn));
        let inactive = Now {
            active: Some(false),
            ..now("push")
        };
        assert_eq!(stale(&inactive), Some(Stale::DeviceDeactivated));
        let webhook = Now {
            granted: Some(false),
            ..now("webhook")
        };
        assert_eq!(stale(&webhook), None, "webhooks need no consent");
        let unknown = Now {
            granted: None,
            source: None,
            active: None,
            ..now("push")
        };
        assert_eq!(stale(&unknown), None, "only a stored change counts");
    }
}
