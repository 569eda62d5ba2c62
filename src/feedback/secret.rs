//! Where the link key comes from: `security.link_secret_file` when set,
//! else a secret generated once and kept in the database, so links sent
//! before a restart (or by another process on the same database) verify.

use super::FeedbackError;
use super::links::LinkKey;
use crate::config::SecuritySettings;
use crate::store::Store;

/// Name of the generated link secret in the `secrets` table.
pub const LINK_SECRET_NAME: &str = "link_secret";

/// Shortest accepted secret file, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// The link key: the secret file's contents, or the database's generated
/// secret (created now, at `now` ms, if this database has none yet).
pub async fn link_key(
    security: &SecuritySettings,
    store: &Store,
    now: i64,
) -> Result<LinkKey, FeedbackError> {
    if let Some(secret) = security.link_secret()? {
        let bytes = secret.expose().as_bytes();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(FeedbackError::ShortSecret(bytes.len()));
        }
        return Ok(LinkKey::new(bytes));
    }
    let candidate = hex(&rand::random::<[u8; 32]>());
    let stored = store
        .secret_or_insert(LINK_SECRET_NAME, &candidate, now)
        .await?;
    Ok(LinkKey::new(stored.as_bytes()))
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
