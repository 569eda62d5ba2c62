//! `POST /api/v1/campaigns/{id}/run` plans a manual run now (the workers of
//! `herald serve` send it) and `POST /api/v1/campaigns/{id}/test?user=ID`
//! (or `?device=TOKEN`) sends one user's first reachable message (or the
//! owner's push message to that one device) right away, outside any run:
//! nothing is written to the outbox.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{Id, engine};
use crate::api::AppState;
use crate::api::error::{ErrorBody, JsonError};
use crate::campaign::plan::dedup_key;
use crate::channels::{Address, OutboundMessage, Outcome, RenderedMessage};
use crate::dispatch::{ChannelSet, Provider};
use crate::domain::{Channel, Platform, now_millis};
use crate::scheduler::owner_id;
use crate::store::DeviceRow;

/// What planning a run did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPlanned {
    /// The new run.
    pub run_id: i64,
    /// Users the audience matched.
    pub targeted: u64,
    /// Users planned to be sent to now.
    pub send: u64,
    /// Users deferred by quiet hours.
    pub deferred: u64,
    /// Users not sent to, by reason code.
    pub skipped: BTreeMap<String, u64>,
}

/// Who a test send goes to: a user (their first reachable channel), or
/// one registered device (its owner's push message, to that device only).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TestQuery {
    /// The user to send to.
    pub user: Option<String>,
    /// The push token of an active device to send to (its owner's message).
    pub device: Option<String>,
}

/// The user whose message a test send renders, and the device it goes
/// to when one is named (it must belong to the user when both are given).
async fn recipient(
    state: &AppState,
    query: TestQuery,
) -> Result<(String, Option<DeviceRow>), JsonError> {
    let user = query.user.filter(|u| !u.trim().is_empty());
    let Some(token) = query.device.filter(|d| !d.trim().is_empty()) else {
        let user = user.ok_or_else(|| {
            JsonError::invalid(
                "user",
                "give the user or device to send to: ?user=ID or ?device=TOKEN",
            )
        })?;
        return Ok((user, None));
    };
    let device = state
        .store
        .active_device_by_token(token.trim())
        .await?
        .ok_or_else(|| {
            JsonError::invalid(
                "device",
                "no active device has this token; register it with POST /api/v1/devices",
            )
        })?;
    match user {
        Some(user) if user != device.user_id => Err(JsonError::invalid(
            "device",
            format!(
                "this device belongs to another user than `{user}`; leave out ?user to send its owner's message"
            ),
        )),
        _ => Ok((device.user_id.clone(), Some(device))),
    }
}

/// The push message of `messages` addressed to `device`.
fn device_message(
    device: &DeviceRow,
    messages: Vec<(Channel, RenderedMessage)>,
) -> Option<(Channel, Address, RenderedMessage)> {
    let platform = Platform::parse(&device.platform).ok()?;
    let (channel, content) = messages.into_iter().find(|(c, _)| *c == Channel::Push)?;
    let address = Address::Device {
        platform,
        token: device.token.clone(),
    };
    Some((channel, address, content))
}

/// The classified result of a test send.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestSent {
    /// The user.
    pub user_id: String,
    /// The channel used: `push`, `email`, `sms` or `webhook`.
    pub channel: String,
    /// The provider: `apns`, `fcm`, `email`, `sms` or `webhook`.
    pub provider: String,
    /// `delivered`, `retry`, `permanent` or `token_gone`.
    pub outcome: String,
    /// The provider's message id, when delivered and given.
    pub provider_id: Option<String>,
    /// Why it failed, when it did.
    pub reason: Option<String>,
}

/// Plans a manual run of the campaign now; sending is left to the workers.
#[utoipa::path(operation_id = "run_campaign", post, path = "/api/v1/campaigns/{id}/run", tag = "campaigns",
    security(("bearer" = [])), params(("id" = i64, Path, description = "the campaign id")),
    responses((status = 200, body = RunPlanned), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn run(State(state): State<AppState>, Id(id): Id) -> Result<Json<RunPlanned>, JsonError> {
    let engine = engine(&state);
    let (run, _) = engine.open_by_hand(id, false, now_millis()).await?;
    let report = engine.plan(&run, &owner_id(), now_millis()).await?;
    Ok(Json(RunPlanned {
        run_id: report.run_id,
        targeted: report.targeted,
        send: report.send,
        deferred: report.deferred,
        skipped: report.skipped,
    }))
}

/// The user's address on `channel`, if they have one.
async fn address(
    state: &AppState,
    user_id: &str,
    channel: Channel,
) -> Result<Option<Address>, JsonError> {
    let user = state.store.user(user_id).await?;
    Ok(match channel {
        Channel::Push => {
            let devices = state.store.active_devices(&[user_id.to_owned()]).await?;
            let newest = devices.get(user_id).and_then(|d| d.first());
            newest.and_then(|d| {
                Some(Address::Device {
                    platform: Platform::parse(&d.platform).ok()?,
                    token: d.token.clone(),
                })
            })
        }
        Channel::Email => user.and_then(|u| u.email).map(Address::Email),
        Channel::Sms => user.and_then(|u| u.phone).map(Address::Phone),
        Channel::Webhook => Some(Address::Webhook),
    })
}

/// The first previewed message the user has an address for.
async fn first_reachable(
    state: &AppState,
    user_id: &str,
    messages: Vec<(Channel, RenderedMessage)>,
) -> Result<Option<(Channel, Address, RenderedMessage)>, JsonError> {
    for (channel, content) in messages {
        if let Some(address) = address(state, user_id, channel).await? {
            return Ok(Some((channel, address, content)));
        }
    }
    Ok(None)
}

/// The outcome as the answer's fields.
fn classify(outcome: Outcome) -> (String, Option<String>, Option<String>) {
    let kind = outcome.kind().to_owned();
    match outcome {
        Outcome::Delivered { provider_id } => (kind, provider_id, None),
        Outcome::Retry { reason, .. }
        | Outcome::Permanent { reason }
        | Outcome::TokenGone { reason }
        | Outcome::TokenRejected { reason, .. } => (kind, None, Some(reason)),
        Outcome::Credentials { reason, fix } => (kind, None, Some(format!("{reason}: fix {fix}"))),
    }
}

/// Sends the user's first reachable message of the campaign now (or,
/// with `device`, its owner's push message to that device), without
/// recording it; answers the provider's classified outcome.
#[utoipa::path(operation_id = "test_campaign", post, path = "/api/v1/campaigns/{id}/test", tag = "campaigns",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "the campaign id"), TestQuery),
    responses((status = 200, body = TestSent), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn test(
    State(state): State<AppState>,
    Id(id): Id,
    Query(query): Query<TestQuery>,
) -> Result<Json<TestSent>, JsonError> {
    let (user, device) = recipient(&state, query).await?;
    let now = now_millis();
    let messages = engine(&state).preview(id, &user, now).await?;
    let reachable = match &device {
        Some(device) => device_message(device, messages),
        None => first_reachable(&state, &user, messages).await?,
    };
    let (channel, address, content) = reachable.ok_or_else(|| {
        JsonError::invalid(
            if device.is_some() { "device" } else { "user" },
            format!("user `{user}` cannot be reached on any channel of campaign {id}"),
        )
    })?;
    let provider = Provider::for_address(&address);
    let channels = ChannelSet::from_settings(&state.settings).map_err(|e| {
        JsonError::invalid("settings", format!("the channels are misconfigured: {e}"))
    })?;
    let adapter = channels.get(provider).ok_or_else(|| {
        JsonError::invalid(
            "settings",
            format!("no [{provider}] section is configured; fill it in to send"),
        )
    })?;
    let message = OutboundMessage {
        id: dedup_key(-now, &user),
        address,
        content,
    };
    let (outcome, provider_id, reason) = classify(adapter.send(&message).await);
    Ok(Json(TestSent {
        user_id: user,
        channel: channel.as_str().to_owned(),
        provider: provider.name().to_owned(),
        outcome,
        provider_id,
        reason,
    }))
}
