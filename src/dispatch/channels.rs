//! The adapters a worker sends through, one optional slot per provider,
//! and the routing rule from an address to its provider: an iOS device
//! goes to APNs, an Android or web device to FCM, an email address to
//! SMTP, a phone number to the SMS API and the webhook address to the
//! webhook. Built from the settings, the set also refuses a
//! `dispatch.lease` shorter than twice the longest request timeout of its
//! adapters: a send must end well inside its lease.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::channels::apns::ApnsChannel;
use crate::channels::clock::Clock;
use crate::channels::email::{EmailChannel, EmailConfig};
use crate::channels::fcm::FcmChannel;
use crate::channels::http::REQUEST_TIMEOUT;
use crate::channels::sms::{SmsChannel, SmsConfig};
use crate::channels::webhook::{WebhookChannel, WebhookConfig};
use crate::channels::{Address, Channel};
use crate::config::Settings;
use crate::domain::Platform;

use super::DispatchError;
use super::circuit::Circuits;

/// A delivery provider: the unit of adapters, rate limits and concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Apple Push Notification service.
    Apns,
    /// Firebase Cloud Messaging.
    Fcm,
    /// SMTP relay.
    Email,
    /// Twilio-compatible SMS API.
    Sms,
    /// The customer's webhook.
    Webhook,
}

impl Provider {
    /// Every provider, in a fixed order.
    pub const ALL: [Provider; 5] = [
        Provider::Apns,
        Provider::Fcm,
        Provider::Email,
        Provider::Sms,
        Provider::Webhook,
    ];

    /// The provider that serves `address`.
    pub fn for_address(address: &Address) -> Self {
        match address {
            Address::Device {
                platform: Platform::Ios,
                ..
            } => Provider::Apns,
            Address::Device { .. } => Provider::Fcm,
            Address::Email(_) => Provider::Email,
            Address::Phone(_) => Provider::Sms,
            Address::Webhook => Provider::Webhook,
        }
    }

    /// Its name, which is also its settings section (`apns`, `fcm`,
    /// `email`, `sms`, `webhook`).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Apns => "apns",
            Provider::Fcm => "fcm",
            Provider::Email => "email",
            Provider::Sms => "sms",
            Provider::Webhook => "webhook",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The configured adapters; a provider without one is not configured and
/// its messages fail with a detail saying which section to fill in.
#[derive(Clone, Default)]
pub struct ChannelSet {
    /// APNs, for iOS devices.
    apns: Option<Arc<dyn Channel>>,
    /// FCM, for Android and web devices.
    fcm: Option<Arc<dyn Channel>>,
    /// SMTP, for email addresses.
    email: Option<Arc<dyn Channel>>,
    /// The SMS API, for phone numbers.
    sms: Option<Arc<dyn Channel>>,
    /// The webhook.
    webhook: Option<Arc<dyn Channel>>,
    /// Each provider's circuit, shared by every clone of the set (every
    /// worker of the process).
    circuits: Arc<Circuits>,
}

impl ChannelSet {
    /// No adapter at all; add them with the `with_*` setters.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds the adapter of every provider whose settings are filled in:
    /// `[apns]` when any of its key, key id, team id or topic is set,
    /// `[fcm]` when its service account or project id is set, `[sms]` when
    /// its account, token or sender is set, `[webhook]` when its URL is
    /// set, and always `[email]` (its defaults name a local relay, and it
    /// connects only on the first send). A half-filled section is an
    /// error naming the missing key, and so is a `dispatch.lease` shorter
    /// than twice the longest request timeout of the adapters built. Call
    /// it inside a Tokio runtime: the SMTP connection pool starts a
    /// background task.
    pub fn from_settings(settings: &Settings) -> Result<Self, DispatchError> {
        let mut set = Self::empty();
        let mut timeouts = Vec::new();
        for provider in Self::configured_in(settings) {
            let (channel, timeout) = build(provider, settings)?;
            timeouts.push((provider, timeout));
            set = set.with(provider, channel);
        }
        check_lease(settings.dispatch.lease, &timeouts)?;
        Ok(set)
    }

    /// The providers whose settings are filled in (see
    /// [`ChannelSet::from_settings`]), without building their adapters.
    pub fn configured_in(settings: &Settings) -> Vec<Provider> {
        let (apns, fcm, sms) = (&settings.apns, &settings.fcm, &settings.sms);
        let filled = |p: &Provider| match p {
            Provider::Apns => {
                apns.key_file.is_some()
                    || apns.key_id.is_some()
                    || apns.team_id.is_some()
                    || apns.topic.is_some()
            }
            Provider::Fcm => fcm.service_account_file.is_some() || fcm.project_id.is_some(),
            Provider::Email => true,
            Provider::Sms => {
                sms.account_sid.is_some() || sms.auth_token_file.is_some() || sms.from.is_some()
            }
            Provider::Webhook => settings.webhook.url.is_some(),
        };
        Provider::ALL.into_iter().filter(filled).collect()
    }

    /// This set with `channel` as `provider`'s adapter.
    fn with(self, provider: Provider, channel: Arc<dyn Channel>) -> Self {
        match provider {
            Provider::Apns => self.with_apns(channel),
            Provider::Fcm => self.with_fcm(channel),
            Provider::Email => self.with_email(channel),
            Provider::Sms => self.with_sms(channel),
            Provider::Webhook => self.with_webhook(channel),
        }
    }

    /// Sets the APNs adapter.
    pub fn with_apns(mut self, channel: Arc<dyn Channel>) -> Self {
        self.apns = Some(channel);
        self
    }

    /// Sets the FCM adapter.
    pub fn with_fcm(mut self, channel: Arc<dyn Channel>) -> Self {
        self.fcm = Some(channel);
        self
    }

    /// Sets the email adapter.
    pub fn with_email(mut self, channel: Arc<dyn Channel>) -> Self {
        self.email = Some(channel);
        self
    }

    /// Sets the SMS adapter.
    pub fn with_sms(mut self, channel: Arc<dyn Channel>) -> Self {
        self.sms = Some(channel);
        self
    }

    /// Sets the webhook adapter.
    pub fn with_webhook(mut self, channel: Arc<dyn Channel>) -> Self {
        self.webhook = Some(channel);
        self
    }

    /// The adapter of `provider`, if configured.
    pub fn get(&self, provider: Provider) -> Option<&Arc<dyn Channel>> {
        match provider {
            Provider::Apns => self.apns.as_ref(),
            Provider::Fcm => self.fcm.as_ref(),
            Provider::Email => self.email.as_ref(),
            Provider::Sms => self.sms.as_ref(),
            Provider::Webhook => self.webhook.as_ref(),
        }
    }

    /// The providers' circuits.
    pub fn circuits(&self) -> &Arc<Circuits> {
        &self.circuits
    }

    /// The providers that have an adapter.
    pub fn configured(&self) -> Vec<Provider> {
        Provider::ALL
            .into_iter()
            .filter(|p| self.get(*p).is_some())
            .collect()
    }
}

/// Refuses a lease shorter than twice the longest of `timeouts`.
fn check_lease(
    lease: crate::config::Duration,
    timeouts: &[(Provider, Duration)],
) -> Result<(), DispatchError> {
    let Some(&(provider, timeout)) = timeouts.iter().max_by_key(|(_, t)| *t) else {
        return Ok(());
    };
    let minimum = timeout.saturating_mul(2);
    if lease.get() >= minimum {
        return Ok(());
    }
    Err(DispatchError::LeaseTooShort {
        lease,
        provider,
        timeout: timeout.as_secs(),
        minimum: minimum.as_secs(),
    })
}

/// `provider`'s adapter built from `settings`, with its request timeout.
fn build(
    provider: Provider,
    settings: &Settings,
) -> Result<(Arc<dyn Channel>, Duration), DispatchError> {
    Ok(match provider {
        Provider::Apns => (
            Arc::new(ApnsChannel::from_settings(&settings.apns)?),
            REQUEST_TIMEOUT,
        ),
        Provider::Fcm => (
            Arc::new(FcmChannel::from_settings(&settings.fcm)?),
            REQUEST_TIMEOUT,
        ),
        Provider::Email => {
            let pool = settings.dispatch.email.concurrency.get();
            let email = EmailConfig::from_settings(&settings.email, pool)?;
            let timeout = email.timeout;
            (
                Arc::new(EmailChannel::new(email, Clock::system())?),
                timeout,
            )
        }
        Provider::Sms => {
            let sms = SmsConfig::from_settings(&settings.sms)?;
            let timeout = sms.timeout;
            (Arc::new(SmsChannel::new(sms, Clock::system())?), timeout)
        }
        Provider::Webhook => {
            let webhook = WebhookConfig::from_settings(&settings.webhook)?;
            let timeout = webhook.timeout;
            (
                Arc::new(WebhookChannel::new(webhook, Clock::system())?),
                timeout,
            )
        }
    })
}

impl fmt::Debug for ChannelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSet")
            .field("configured", &self.configured())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_route_to_their_provider() {
        let device = |platform| Address::Device {
            platform,
            token: "t".into(),
        };
        assert_eq!(
            Provider::for_address(&device(Platform::Ios)),
            Provider::Apns
        );
        assert_eq!(
            Provider::for_address(&device(Platform::Android)),
            Provider::Fcm
        );
        assert_eq!(Provider::for_address(&device(Platform::Web)), Provider::Fcm);
        let email = Address::Email("a@b.c".into());
        assert_eq!(Provider::for_address(&email), Provider::Email);
        let phone = Address::Phone("+15550001111".into());
        assert_eq!(Provider::for_address(&phone), Provider::Sms);
        assert_eq!(Provider::for_address(&Address::Webhook), Provider::Webhook);
    }

    #[tokio::test]
    async fn default_settings_configure_only_the_email_relay() {
        let set = ChannelSet::from_settings(&Settings::default()).expect("defaults build");
        assert_eq!(set.configured(), [Provider::Email]);
    }

    #[tokio::test]
    async fn a_lease_shorter_than_twice_a_provider_timeout_is_refused_naming_both() {
        let mut settings = Settings::default();
        settings.dispatch.lease = crate::config::Duration::from_secs(59);
        let err = ChannelSet::from_settings(&settings)
            .unwrap_err()
            .to_string();
        assert!(err.contains("dispatch.lease = 59s"), "{err}");
        assert!(
            err.contains("email adapter's request timeout (30s)"),
            "{err}"
        );
        assert!(err.contains("at least 60s"), "{err}");
        settings.dispatch.lease = crate::config::Duration::from_secs(60);
        ChannelSet::from_settings(&settings).expect("a lease of twice the timeout");
    }

    #[tokio::test]
    async fn a_half_filled_apns_section_names_the_missing_key() {
        let mut settings = Settings::default();
        settings.apns.topic = Some("com.example.app".into());
        let err = ChannelSet::from_settings(&settings)
            .unwrap_err()
            .to_string();
        assert!(err.contains("apns."), "{err}");
    }
}
