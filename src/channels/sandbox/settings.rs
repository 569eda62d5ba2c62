//! Settings that point herald at a running sandbox: the `[apns]`, `[fcm]`,
//! `[email]`, `[sms]` and `[webhook]` sections as a TOML file, with the
//! test-only keys written beside it as `*_file` secrets. Used by
//! `herald sandbox --write-config`, the demo, the scale benchmark and the
//! tests that drive the real binary against the sandbox.

use super::Sandbox;
use super::credentials::{
    DEMO_APNS_KEY_ID, DEMO_APNS_KEY_PEM, DEMO_APNS_TEAM_ID, DEMO_APNS_TOPIC, DEMO_FCM_PROJECT_ID,
    demo_service_account_json,
};
use super::sms::{DEMO_SMS_ACCOUNT_SID, DEMO_SMS_AUTH_TOKEN};
use super::webhook::DEMO_WEBHOOK_SECRET;
use std::path::{Path, PathBuf};

/// The sender address the demo settings use.
pub const DEMO_EMAIL_FROM: &str = "Herald Demo <news@example.com>";

/// The sender number the demo settings use.
pub const DEMO_SMS_FROM: &str = "+15550001111";

impl Sandbox {
    /// The channel sections for this sandbox, with key files in `dir`
    /// (written by [`Sandbox::write_settings`]).
    pub fn settings_toml(&self, dir: &Path) -> String {
        let file = |name: &str| toml_string(&dir.join(name).display().to_string());
        format!(
            "[apns]\nendpoint = {apns}\nkey_file = {apns_key}\nkey_id = {key_id}\nteam_id = {team}\ntopic = {topic}\n\n\
             [fcm]\nendpoint = {fcm}\nservice_account_file = {account}\nproject_id = {project}\n\n\
             [email]\nsmtp_url = {smtp}\nfrom = {from}\n\n\
             [sms]\nendpoint = {sms}\naccount_sid = {sid}\nauth_token_file = {sms_token}\nfrom = {sms_from}\n\n\
             [webhook]\nurl = {webhook}\nsecret_file = {webhook_secret}\n",
            apns = toml_string(&self.apns_url),
            apns_key = file("apns-key.p8"),
            key_id = toml_string(DEMO_APNS_KEY_ID),
            team = toml_string(DEMO_APNS_TEAM_ID),
            topic = toml_string(DEMO_APNS_TOPIC),
            fcm = toml_string(&self.fcm_url),
            account = file("fcm-service-account.json"),
            project = toml_string(DEMO_FCM_PROJECT_ID),
            smtp = toml_string(&self.smtp_url),
            from = toml_string(DEMO_EMAIL_FROM),
            sms = toml_string(&self.sms_url),
            sid = toml_string(DEMO_SMS_ACCOUNT_SID),
            sms_token = file("sms-auth-token"),
            sms_from = toml_string(DEMO_SMS_FROM),
            webhook = toml_string(&self.webhook_url),
            webhook_secret = file("webhook-secret"),
        )
    }

    /// Writes the key files and `sandbox.toml` (the channel sections plus
    /// `extra`, appended as is) into `dir`; returns the settings file.
    pub fn write_settings(&self, dir: &Path, extra: &str) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let secrets = [
            ("apns-key.p8", DEMO_APNS_KEY_PEM.to_owned()),
            (
                "fcm-service-account.json",
                demo_service_account_json(&self.fcm_token_uri),
            ),
            ("sms-auth-token", DEMO_SMS_AUTH_TOKEN.to_owned()),
            ("webhook-secret", DEMO_WEBHOOK_SECRET.to_owned()),
        ];
        for (name, content) in secrets {
            std::fs::write(dir.join(name), content)?;
        }
        let path = dir.join("sandbox.toml");
        std::fs::write(&path, format!("{}\n{extra}", self.settings_toml(dir)))?;
        Ok(path)
    }
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load};

    #[tokio::test]
    async fn written_settings_load_and_name_every_channel() {
        let sandbox = Sandbox::start(super::super::SandboxConfig::default())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = sandbox
            .write_settings(dir.path(), "[dispatch]\nmax_attempts = 4\n")
            .unwrap();
        let mut options = LoadOptions::new(dir.path());
        options.file = Some(path);
        let settings = load(&options).unwrap();
        assert_eq!(settings.apns.topic.as_deref(), Some(DEMO_APNS_TOPIC));
        assert!(settings.apns.key().unwrap().is_some());
        assert!(settings.fcm.service_account().unwrap().is_some());
        assert_eq!(settings.dispatch.max_attempts.get(), 4);
        sandbox.shutdown().await;
    }
}
