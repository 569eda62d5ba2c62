//! One user's message on one channel: the address it goes to (the newest
//! active device for push, the profile's email or phone, the configured
//! webhook), the variant rendered for that channel, and the outbox row
//! that carries both (address and payload as JSON).

use super::setup::Setup;
use crate::channels::{Address, RenderedMessage};
use crate::domain::{Channel, Platform};
use crate::render::RenderContext;
use crate::store::{DeviceRow, NewOutbox, UserFactRow};

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Composed {
    /// The channel.
    pub channel: Channel,
    /// The device, for push.
    pub device_id: Option<i64>,
    /// Where it goes.
    pub address: Address,
    /// The rendered content.
    pub message: RenderedMessage,
    /// The (run, user) message id.
    pub dedup_key: String,
}

/// Why a user who should get a message cannot.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Unsent {
    /// No address on the channel (e.g. the device went inactive).
    Unreachable,
    /// The variant failed to render for this user.
    Render(String),
}

impl Unsent {
    /// The plan's reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Unsent::Unreachable => "no_reachable_channel",
            Unsent::Render(_) => "render_error",
        }
    }
}

/// The address of `user` on `channel`, with the device for push.
pub(crate) fn address(
    user: &UserFactRow,
    device: Option<&DeviceRow>,
    channel: Channel,
) -> Option<(Address, Option<i64>)> {
    let profile = |name: &str| {
        user.profile
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match channel {
        Channel::Push => {
            let device = device?;
            let platform = Platform::parse(&device.platform).ok()?;
            let address = Address::Device {
                platform,
                token: device.token.clone(),
            };
            Some((address, Some(device.device_id)))
        }
        Channel::Email => profile("email").map(|e| (Address::Email(e), None)),
        Channel::Sms => profile("phone").map(|p| (Address::Phone(p), None)),
        Channel::Webhook => Some((Address::Webhook, None)),
    }
}

/// Whether `user` consented to `channel` and has an address for it (push:
/// an active device platform); the webhook needs neither.
pub(crate) fn reachable_with_consent(user: &UserFactRow, channel: Channel) -> bool {
    let consent = |c: &str| user.consents.get(c).copied() == Some(true);
    match channel {
        Channel::Push => !user.platforms.is_empty() && consent("push"),
        Channel::Email => user.profile.contains_key("email") && consent("email"),
        Channel::Sms => user.profile.contains_key("phone") && consent("sms"),
        Channel::Webhook => true,
    }
}

impl Setup {
    /// Renders `variant` for `channel` with `ctx` and addresses it.
    pub fn compose(
        &self,
        user: &UserFactRow,
        device: Option<&DeviceRow>,
        channel: Channel,
        variant: &str,
        ctx: &RenderContext,
    ) -> Result<Composed, Unsent> {
        let (address, device_id) = address(user, device, channel).ok_or(Unsent::Unreachable)?;
        let renderer = self.renderer(variant).map_err(Unsent::Render)?;
        let mut message = renderer
            .render(channel, ctx)
            .map_err(|e| Unsent::Render(e.to_string()))?;
        let dedup_key = ctx
            .delivery
            .data
            .get("message_id")
            .cloned()
            .unwrap_or_default();
        if let RenderedMessage::Push(push) = &mut message
            && push.collapse_id.is_none()
        {
            push.collapse_id = Some(dedup_key.clone());
        }
        Ok(Composed {
            channel,
            device_id,
            address,
            message,
            dedup_key,
        })
    }
}

impl Composed {
    /// The payload JSON.
    pub fn payload(&self) -> String {
        serde_json::to_string(&self.message).unwrap_or_default()
    }

    /// The outbox row for it, due at `due`.
    pub fn outbox(
        &self,
        run_id: i64,
        user_id: &str,
        variant: &str,
        payload: String,
        due: i64,
        now: i64,
    ) -> NewOutbox {
        NewOutbox {
            run_id,
            user_id: user_id.to_owned(),
            channel: self.channel.as_str().to_owned(),
            device_id: self.device_id,
            address: serde_json::to_string(&self.address).unwrap_or_default(),
            variant: variant.to_owned(),
            payload,
            dedup_key: self.dedup_key.clone(),
            next_attempt_at: due,
            now,
        }
    }
}
