//! Push devices: the platform and a token validated for it. APNs tokens are
//! 64 hexadecimal characters (32 bytes); FCM registration tokens are long
//! strings of URL-safe characters; web push tokens are endpoint URLs or
//! opaque strings.

use super::Invalid;
use std::fmt;

/// The platform a device token belongs to; it picks the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Apple devices, through APNs.
    Ios,
    /// Android devices, through FCM.
    Android,
    /// Browsers, through FCM web push.
    Web,
}

impl Platform {
    /// Parses `ios`, `android` or `web` (case-insensitive).
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        match value.trim().to_ascii_lowercase().as_str() {
            "ios" => Ok(Self::Ios),
            "android" => Ok(Self::Android),
            "web" => Ok(Self::Web),
            _ => Err(Invalid::new(format!(
                "`{value}` is not a platform (use ios, android or web)"
            ))),
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ios => "ios",
            Self::Android => "android",
            Self::Web => "web",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device token, valid for its platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceToken(String);

impl DeviceToken {
    /// Validates `token` for `platform`. APNs tokens are stored lowercase.
    pub fn parse(platform: Platform, token: &str) -> Result<Self, Invalid> {
        let token = token.trim();
        match platform {
            Platform::Ios => parse_apns(token),
            Platform::Android => parse_fcm(token),
            Platform::Web => parse_web(token),
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn parse_apns(token: &str) -> Result<DeviceToken, Invalid> {
    if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(DeviceToken(token.to_ascii_lowercase()));
    }
    Err(Invalid::new(format!(
        "APNs token is not 64 hex characters (got {} characters)",
        token.chars().count()
    )))
}

fn parse_fcm(token: &str) -> Result<DeviceToken, Invalid> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':');
    if (32..=4096).contains(&token.len()) && token.bytes().all(allowed) {
        return Ok(DeviceToken(token.to_owned()));
    }
    Err(Invalid::new(
        "FCM token must be 32 to 4096 characters of A-Z a-z 0-9 - _ :",
    ))
}

fn parse_web(token: &str) -> Result<DeviceToken, Invalid> {
    if (16..=4096).contains(&token.len()) && !token.chars().any(char::is_whitespace) {
        return Ok(DeviceToken(token.to_owned()));
    }
    Err(Invalid::new(
        "web push token must be 16 to 4096 characters without spaces",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apns_tokens_are_64_hex_characters_stored_lowercase() {
        let token = "AB".repeat(32);
        let parsed = DeviceToken::parse(Platform::Ios, &token).unwrap();
        assert_eq!(parsed.as_str(), "ab".repeat(32));
        assert!(DeviceToken::parse(Platform::Ios, &"ab".repeat(31)).is_err());
        assert!(DeviceToken::parse(Platform::Ios, &"zz".repeat(32)).is_err());
    }

    #[test]
    fn fcm_tokens_accept_the_registration_alphabet() {
        let token = format!("{}:APA91b{}", "a".repeat(11), "B-_9".repeat(30));
        assert!(DeviceToken::parse(Platform::Android, &token).is_ok());
        assert!(DeviceToken::parse(Platform::Android, "short").is_err());
        assert!(Platform::parse("windows").is_err());
    }
}
