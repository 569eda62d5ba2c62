//! Typed, layered settings.
//!
//! Settings are read once at start-up from layers, each overriding the ones
//! before it, key by key:
//!
//! 1. built-in defaults ([`Settings::default`]);
//! 2. `config/default.toml` (optional; it documents every key with its default);
//! 3. `config/<HERALD_ENV>.toml`, when `HERALD_ENV` is set (then it must exist);
//! 4. the file given with `--config FILE` (must exist);
//! 5. environment variables `HERALD__SECTION__KEY`, e.g. `HERALD__DATABASE__URL`
//!    or `HERALD__DISPATCH__APNS__CONCURRENCY` (`__` separates key segments);
//! 6. the `--database URL` flag.
//!
//! Every section rejects unknown keys, so a typo is an error naming the key and
//! the file or variable it came from, and every value is parsed into a
//! validated type (URLs, durations, caps, quiet hours) at load time
//! (ARCHITECTURE rule 3). Secrets are never config values: keys, tokens and
//! passwords are given as `*_file` paths and read on demand into [`Secret`]s,
//! which print as `[redacted]`; the database and SMTP URLs mask their password
//! in `Debug`, `Display` and `Serialize`.

mod dispatch;
mod error;
mod feedback;
mod load;
mod policy;
mod render;
mod sections;
mod urls;
mod values;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use dispatch::{ChannelLimits, DispatchSettings};
pub use error::ConfigError;
pub use feedback::FeedbackSettings;
pub use load::{ENV_PREFIX, ENV_SELECTOR, ENV_SEPARATOR, LoadOptions, load};
pub use policy::{FrequencyCap, Period, PolicySettings, QuietHours};
pub use sections::{
    ApnsSettings, DatabaseSettings, EmailSettings, FcmSettings, SecuritySettings, ServerSettings,
    SmsSettings, WebhookSettings,
};
pub use urls::{DatabaseBackend, DatabaseUrl, HttpUrl, SmtpUrl};
pub use values::{Duration, Secret, ValueError};

/// Everything herald can be configured with, one field per TOML section.
/// `Debug` and `Serialize` are safe to log: they hold no secret values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `[database]`: the store's connection.
    pub database: DatabaseSettings,
    /// `[server]`: the HTTP listener and public link base.
    pub server: ServerSettings,
    /// `[security]`: link-signing key.
    pub security: SecuritySettings,
    /// `[apns]`: Apple push provider.
    pub apns: ApnsSettings,
    /// `[fcm]`: Firebase Cloud Messaging provider.
    pub fcm: FcmSettings,
    /// `[email]`: SMTP relay.
    pub email: EmailSettings,
    /// `[sms]`: Twilio-compatible SMS provider.
    pub sms: SmsSettings,
    /// `[webhook]`: outgoing webhook channel.
    pub webhook: WebhookSettings,
    /// `[dispatch]`: concurrency, rates, retries and leases of the outbox workers.
    pub dispatch: DispatchSettings,
    /// `[policy]`: default frequency cap and quiet hours.
    pub policy: PolicySettings,
    /// `[feedback]`: click-through and view-through attribution windows.
    pub feedback: FeedbackSettings,
}

impl Settings {
    /// The effective settings as TOML, passwords masked, unset keys as `""`:
    /// safe to print (e.g. from a `herald config` command).
    pub fn redacted_toml(&self) -> String {
        match serde_json::to_value(self) {
            Ok(value) => render::toml(&value),
            Err(e) => format!("# settings could not be rendered: {e}\n"),
        }
    }

    /// Checks that span several keys; single values were checked while parsing.
    fn validate(&self) -> Result<(), ConfigError> {
        self.dispatch.validate()
    }
}
