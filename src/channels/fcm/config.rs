//! What the FCM adapter needs, validated once from `[fcm]` settings: the
//! endpoint, the service-account JSON (checked for the fields the OAuth
//! flow reads, with errors that name fields, never values) and the project.

use std::time::Duration;

use url::Url;

use super::FcmError;
use crate::config::{FcmSettings, Secret};

/// How long FCM keeps an undelivered message when the message sets no
/// expiration of its own (matches the APNs adapter).
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The FCM adapter's configuration.
#[derive(Clone, Debug)]
pub struct FcmConfig {
    /// Base URL: `https://fcm.googleapis.com`, or the sandbox.
    pub endpoint: Url,
    /// The service-account JSON; its `token_uri` is where tokens come from.
    pub service_account: Secret,
    /// The Firebase project id.
    pub project_id: String,
    /// TTL used when a message has no expiration.
    pub default_ttl: Duration,
}

impl FcmConfig {
    /// Reads and checks `[fcm]`. The project id defaults to the service
    /// account's `project_id`.
    pub fn from_settings(settings: &FcmSettings) -> Result<Self, FcmError> {
        let json = settings
            .service_account()?
            .ok_or(FcmError::Missing("service_account_file"))?;
        let account = ServiceAccountFields::parse(json.expose())?;
        let project_id = settings
            .project_id
            .clone()
            .filter(|p| !p.trim().is_empty())
            .or(account.project_id)
            .ok_or(FcmError::Missing("project_id"))?;
        Ok(Self {
            endpoint: settings.endpoint.as_url().clone(),
            service_account: json,
            project_id,
            default_ttl: DEFAULT_TTL,
        })
    }
}

/// The service-account fields herald checks before the token module
/// reads the JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceAccountFields {
    /// `project_id`, if present.
    pub project_id: Option<String>,
    /// `token_uri`.
    pub token_uri: String,
}

impl ServiceAccountFields {
    /// Checks that the JSON is an object with string `client_email`,
    /// `private_key` and `token_uri`. Errors name the field only.
    pub(crate) fn parse(json: &str) -> Result<Self, FcmError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|_| FcmError::ServiceAccount("not JSON".into()))?;
        let field = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        for required in ["client_email", "private_key", "token_uri"] {
            if field(required).is_none_or(|v| v.trim().is_empty()) {
                return Err(FcmError::ServiceAccount(format!(
                    "field `{required}` is missing or not a string"
                )));
            }
        }
        Ok(Self {
            project_id: field("project_id"),
            token_uri: field("token_uri").unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_without_a_private_key_is_refused_by_field_name() {
        let json = r#"{"client_email": "a@b", "token_uri": "http://x/token"}"#;
        let err = ServiceAccountFields::parse(json).unwrap_err();
        assert!(err.to_string().contains("`private_key`"), "{err}");
    }

    #[test]
    fn malformed_service_accounts_are_refused_without_echoing_them() {
        let err = ServiceAccountFields::parse("{\"private_key\": 5, secret").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn settings_without_a_service_account_are_refused_by_key_name() {
        let err = FcmConfig::from_settings(&FcmSettings::default()).unwrap_err();
        assert_eq!(err.to_string(), "fcm.service_account_file is not set");
    }
}
