//! Before a run is planned for sending: every provider its messages can
//! route to must be configured in this process. Push goes to APNs for iOS
//! devices and to FCM for Android and web devices (only the platforms that
//! have an active device count), email to the SMTP relay, SMS to the SMS
//! API, webhooks to the webhook. A run that fails this check is marked
//! `failed` with the reason and nothing is planned, so no message waits in
//! the outbox for a provider that cannot send it, and the scheduler does
//! not retry the slot on every tick.

use crate::campaign::engine::{CampaignError, Engine};
use crate::dispatch::Provider;
use crate::domain::{Channel, Platform};
use crate::store::RunRow;

/// The providers `channel` can route to, given the platforms with an
/// active device.
fn routes(channel: Channel, platforms: &[Platform]) -> Vec<Provider> {
    match channel {
        Channel::Push => {
            let mut providers: Vec<Provider> = platforms
                .iter()
                .map(|p| match p {
                    Platform::Ios => Provider::Apns,
                    Platform::Android | Platform::Web => Provider::Fcm,
                })
                .collect();
            providers.sort_by_key(|p| p.name());
            providers.dedup();
            providers
        }
        Channel::Email => vec![Provider::Email],
        Channel::Sms => vec![Provider::Sms],
        Channel::Webhook => vec![Provider::Webhook],
    }
}

/// The first (channel, provider) of `channels` that is not `configured`.
fn first_missing(
    channels: &[Channel],
    platforms: &[Platform],
    configured: &[Provider],
) -> Option<(Channel, Provider)> {
    channels.iter().find_map(|&channel| {
        let missing = routes(channel, platforms)
            .into_iter()
            .find(|p| !configured.contains(p));
        missing.map(|p| (channel, p))
    })
}

/// Checks `run` (of a campaign sending on `channels`) against the
/// engine's providers; on a missing one the run is marked `failed` with
/// the reason and the error names the section to fill in. An engine that
/// does not send (no providers set) checks nothing.
pub(crate) async fn check(
    engine: &Engine,
    run: &RunRow,
    channels: &[Channel],
    now: i64,
) -> Result<(), CampaignError> {
    let Some(configured) = engine.providers() else {
        return Ok(());
    };
    let store = engine.store();
    let platforms: Vec<Platform> = (store.active_device_platforms().await?)
        .iter()
        .filter_map(|p| Platform::parse(p).ok())
        .collect();
    let Some((channel, provider)) = first_missing(channels, &platforms, configured) else {
        return Ok(());
    };
    let error = CampaignError::Unconfigured {
        run_id: run.run_id,
        channel,
        provider,
    };
    let stats = serde_json::json!({ "error": error.to_string() }).to_string();
    (store.set_run_status(run.run_id, "failed", Some(&stats), Some(now))).await?;
    tracing::warn!(run_id = run.run_id, %error, "run failed before planning");
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_needs_the_provider_of_each_platform_with_devices() {
        let all = [Provider::Apns, Provider::Fcm, Provider::Email];
        let push = [Channel::Push];
        assert_eq!(first_missing(&push, &[Platform::Ios], &all), None);
        let ios_only = [Provider::Apns, Provider::Email];
        assert_eq!(first_missing(&push, &[Platform::Ios], &ios_only), None);
        assert_eq!(
            first_missing(&push, &[Platform::Ios, Platform::Web], &ios_only),
            Some((Channel::Push, Provider::Fcm)),
            "web devices go through FCM"
        );
        assert_eq!(first_missing(&push, &[], &[]), None, "no devices, no push");
    }

    #[test]
    fn sms_and_webhook_need_their_own_sections() {
        let configured = [Provider::Email];
        let channels = [Channel::Email, Channel::Sms];
        assert_eq!(
            first_missing(&channels, &[], &configured),
            Some((Channel::Sms, Provider::Sms))
        );
        let webhook = [Channel::Webhook];
        assert_eq!(
            first_missing(&webhook, &[], &configured),
            Some((Channel::Webhook, Provider::Webhook))
        );
    }
}
