//! What happens after a provider says a device token is dead: the device
//! is deactivated in the same transaction as the attempt, and the message
//! moves on, never back to the dead token. First choice is the user's
//! newest other active device on a configured provider (the row is
//! redirected and due at once); then the campaign's next channel for the
//! user, through the [`Fallback`] plug point; failing both, the row fails.

use crate::channels::Address;
use crate::domain::Platform;
use crate::store::{DeviceRow, NewOutbox, OutboxRow, OutboxUpdate, Store};

use super::DispatchError;
use super::channels::{ChannelSet, Provider};

/// The campaign's say in where a message goes when a user's push token
/// dies and no other device is left: the dispatcher knows nothing of
/// campaigns (ARCHITECTURE, imports run one way), so the campaign engine
/// plugs this in.
#[async_trait::async_trait]
pub trait Fallback: Send + Sync {
    /// The outbox row for the user's next channel after `row.channel` (the
    /// campaign decides, from its channel list, consent and contact
    /// policy), or `None` when there is none. `now` is in ms. An error is
    /// logged and the message fails.
    async fn next_channel(&self, row: &OutboxRow, now: i64) -> Result<Option<NewOutbox>, String>;
}

/// Where a message with a dead token goes, and what the attempt says.
#[derive(Debug)]
pub struct AfterTokenGone {
    /// The row's new state.
    pub update: OutboxUpdate,
    /// The device to deactivate, with the provider's reason.
    pub deactivate: Option<(i64, String)>,
    /// The detail for the attempt log.
    pub detail: String,
}

/// What resolving a dead token may consult.
pub struct TokenGoneContext<'a> {
    /// For the user's other devices.
    pub store: &'a Store,
    /// Only devices on a configured provider are redirect targets.
    pub channels: &'a ChannelSet,
    /// The campaign's next channel, if plugged in.
    pub fallback: Option<&'a dyn Fallback>,
}

impl TokenGoneContext<'_> {
    /// Decides where `row` goes after its token died for `reason`.
    pub async fn resolve(
        &self,
        row: &OutboxRow,
        reason: &str,
        now: i64,
    ) -> Result<AfterTokenGone, DispatchError> {
        let deactivate = row.device_id.map(|id| (id, reason.to_owned()));
        if let Some(update) = self.other_device(row).await? {
            let detail = format!("{reason}: moved to the user's next device");
            return Ok(AfterTokenGone {
                update,
                deactivate,
                detail,
            });
        }
        let (update, detail) = self.next_channel(row, reason, now).await;
        Ok(AfterTokenGone {
            update,
            deactivate,
            detail,
        })
    }

    /// A redirect to the user's newest other active device, if any.
    async fn other_device(&self, row: &OutboxRow) -> Result<Option<OutboxUpdate>, DispatchError> {
        if row.device_id.is_none() {
            return Ok(None);
        }
        let users = [row.user_id.clone()];
        let mut devices = self.store.active_devices(&users).await?;
        let candidates = devices.remove(&row.user_id).unwrap_or_default();
        let dead = dead_token(row);
        Ok(candidates
            .iter()
            .filter(|d| Some(d.device_id) != row.device_id)
            .filter(|d| dead.as_deref() != Some(d.token.as_str()))
            .find_map(|d| self.redirect(d, row)))
    }

    /// The redirect to `device`, when its provider is configured.
    fn redirect(&self, device: &DeviceRow, row: &OutboxRow) -> Option<OutboxUpdate> {
        let platform = Platform::parse(&device.platform).ok()?;
        let address = Address::Device {
            platform,
            token: device.token.clone(),
        };
        self.channels.get(Provider::for_address(&address))?;
        Some(OutboxUpdate::Redirect {
            device_id: device.device_id,
            address: serde_json::to_string(&address).ok()?,
            payload: row.payload.clone(),
        })
    }

    /// The campaign's next channel, or a failure saying why there is none.
    async fn next_channel(
        &self,
        row: &OutboxRow,
        reason: &str,
        now: i64,
    ) -> (OutboxUpdate, String) {
        let Some(fallback) = self.fallback else {
            let detail = format!("{reason}: no other active device and no fallback channel");
            return (OutboxUpdate::Failed, detail);
        };
        match fallback.next_channel(row, now).await {
            Ok(Some(next)) => {
                let detail = format!("{reason}: falling back to {}", next.channel);
                (
                    OutboxUpdate::Fallback {
                        next: Box::new(next),
                    },
                    detail,
                )
            }
            Ok(None) => {
                let detail = format!("{reason}: no other active device and no next channel");
                (OutboxUpdate::Failed, detail)
            }
            Err(e) => {
                tracing::warn!(outbox_id = row.outbox_id, error = %e, "dispatch fallback failed");
                (
                    OutboxUpdate::Failed,
                    format!("{reason}: fallback failed: {e}"),
                )
            }
        }
    }
}

/// The token of a row's device address, when it parses as one.
fn dead_token(row: &OutboxRow) -> Option<String> {
    match serde_json::from_str(&row.address).ok()? {
        Address::Device { token, .. } => Some(token),
        _ => None,
    }
}
