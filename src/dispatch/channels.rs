//! The adapters a worker sends through, one optional slot per provider,
//! and the routing rule from an address to its provider: an iOS device
//! goes to APNs, an Android or web device to FCM, an email address to
//! SMTP, a phone number to the SMS API and the webhook address to the
//! webhook.

use std::fmt;
use std::sync::Arc;

use crate::channels::apns::ApnsChannel;
use crate::channels::email::EmailChannel;
use crate::channels::fcm::FcmChannel;
use crate::channels::sms::SmsChannel;
use crate::channels::webhook::WebhookChannel;
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
    /// error naming the missing key. Call it inside a Tokio runtime: the
    /// SMTP connection pool starts a background task.
    pub fn from_settings(settings: &Settings) -> Result<Self, DispatchError> {
        let mut set = Self::empty();
        let apns = &settings.apns;
        if apns.key_file.is_some()
            || apns.key_id.is_some()
            || apns.team_id.is_some()
            || apns.topic.is_some()
        {
            set.apns = Some(Arc::new(ApnsChannel::from_settings(apns)?));
        }
        let fcm = &settings.fcm;
        if fcm.service_account_file.is_some() || fcm.project_id.is_some() {
            set.fcm = Some(Arc::new(FcmChannel::from_settings(fcm)?));
        }
        let pool = settings.dispatch.email.concurrency.get();
        set.email = Some(Arc::new(EmailChannel::from_settings(
            &settings.email,
            pool,
        )?));
        let sms = &settings.sms;
        if sms.account_sid.is_some() || sms.auth_token_file.is_some() || sms.from.is_some() {
            set.sms = Some(Arc::new(SmsChannel::from_settings(sms)?));
        }
        if settings.webhook.url.is_some() {
            set.webhook = Some(Arc::new(WebhookChannel::from_settings(&settings.webhook)?));
        }
        Ok(set)
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
    async fn a_half_filled_apns_section_names_the_missing_key() {
        let mut settings = Settings::default();
        settings.apns.topic = Some("com.example.app".into());
        let err = ChannelSet::from_settings(&settings)
            .unwrap_err()
            .to_string();
        assert!(err.contains("apns."), "{err}");
    }
}
