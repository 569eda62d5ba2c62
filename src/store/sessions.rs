//! Dashboard sessions: one row per signed-in browser, keyed by the
//! SHA-256 of its opaque session id (the id itself is only in the
//! browser's cookie), with the CSRF token its forms carry, the API key
//! that signed in and when it expires. A session is valid while it has
//! not expired and its key is not revoked; deleting the key deletes its
//! sessions (foreign key).

use super::{Store, StoreError, ctx};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query};

/// A session to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Lowercase hex SHA-256 of the session id.
    pub hash: String,
    /// The API key that signed in.
    pub key_id: i64,
    /// The token every form post of the session carries.
    pub csrf_token: String,
    /// When it was created (ms).
    pub created_at: i64,
    /// When it stops being valid (ms).
    pub expires_at: i64,
}

/// A valid session, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The API key that signed in.
    pub key_id: i64,
    /// The token every form post of the session carries.
    pub csrf_token: String,
    /// When it stops being valid (ms).
    pub expires_at: i64,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

impl Store {
    /// Stores a new session, and drops the sessions that expired by its
    /// creation time (housekeeping at sign-in, so the table stays small).
    pub async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        let purge = Query::delete()
            .from_table(col("dashboard_sessions"))
            .and_where(Expr::col(col("expires_at")).lte(session.created_at))
            .to_owned();
        let insert = Query::insert()
            .into_table(col("dashboard_sessions"))
            .columns(
                [
                    "session_hash",
                    "key_id",
                    "csrf_token",
                    "created_at",
                    "expires_at",
                ]
                .map(col),
            )
            .values_panic([
                session.hash.clone().into(),
                session.key_id.into(),
                session.csrf_token.clone().into(),
                session.created_at.into(),
                session.expires_at.into(),
            ])
            .to_owned();
        let txn = self.begin_write().await.map_err(ctx("begin session"))?;
        txn.execute(&purge)
            .await
            .map_err(ctx("drop expired sessions"))?;
        txn.execute(&insert).await.map_err(ctx("create session"))?;
        txn.commit().await.map_err(ctx("commit session"))
    }

    /// The session with this id hash if it is valid at `now`: not expired
    /// and its key not revoked.
    pub async fn session(&self, hash: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
        let (s, k) = (Alias::new("s"), Alias::new("k"));
        let stmt = Query::select()
            .column((s.clone(), col("key_id")))
            .column((s.clone(), col("csrf_token")))
            .column((s.clone(), col("expires_at")))
            .from_as(col("dashboard_sessions"), s.clone())
            .join_as(
                JoinType::InnerJoin,
                col("api_keys"),
                k.clone(),
                Expr::col((k.clone(), col("key_id"))).equals((s.clone(), col("key_id"))),
            )
            .and_where(Expr::col((s.clone(), col("session_hash"))).eq(hash))
            .and_where(Expr::col((s, col("expires_at"))).gt(now))
            .and_where(Expr::col((k, col("revoked_at"))).is_null())
            .to_owned();
        let row = self
            .db()
            .query_one(&stmt)
            .await
            .map_err(ctx("read session"))?;
        row.map(|r| {
            Ok(SessionRow {
                key_id: r.try_get("", "key_id")?,
                csrf_token: r.try_get("", "csrf_token")?,
                expires_at: r.try_get("", "expires_at")?,
            })
        })
        .transpose()
        .map_err(ctx("read session"))
    }

    /// Deletes a session (sign-out); true when there was one.
    pub async fn delete_session(&self, hash: &str) -> Result<bool, StoreError> {
        let stmt = Query::delete()
            .from_table(col("dashboard_sessions"))
            .and_where(Expr::col(col("session_hash")).eq(hash))
            .to_owned();
        let done = self
            .db()
            .execute(&stmt)
            .await
            .map_err(ctx("delete session"))?;
        Ok(done.rows_affected() > 0)
    }
}
