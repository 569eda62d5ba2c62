//! The devices users installed the app on, one row of `devices.csv` each:
//! APNs tokens (64 hex), FCM registration tokens (`<11>:APA91b<134>`) and
//! web-push endpoints. Tokens carry at least 128 random bits, so they are
//! unique in practice (the tests check it).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::geo::Country;
use super::rng::{chance, pick};

/// The header of `devices.csv`.
pub(crate) const DEVICES_HEADER: [&str; 5] =
    ["user_id", "platform", "token", "app_id", "created_at"];
/// How many devices a user has, with shares.
const DEVICE_COUNTS: [(u8, f64); 4] = [(0, 0.25), (1, 0.55), (2, 0.15), (3, 0.05)];
/// Share of web-push subscriptions among devices.
const WEB_SHARE: f64 = 0.04;
/// The mobile app id.
pub(crate) const APP_ID: &str = "com.example.shop";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A device platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    Ios,
    Android,
    Web,
}

impl Platform {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::Web => "web",
        }
    }
}

/// One registered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Device {
    /// Its platform.
    pub platform: Platform,
    /// Its push token or endpoint.
    pub token: String,
    /// Registration time, Unix seconds, between sign-up and the end.
    pub created_at: i64,
}

impl Device {
    /// The `app_id` column.
    pub(crate) fn app_id(&self) -> &'static str {
        match self.platform {
            Platform::Web => "web",
            _ => APP_ID,
        }
    }
}

/// A user's devices, oldest first, registered in `[signup, last_second]`.
pub(crate) fn draw_devices(
    rng: &mut ChaCha8Rng,
    country: &Country,
    signup: i64,
    last_second: i64,
) -> Vec<Device> {
    let count = pick(rng, &DEVICE_COUNTS).unwrap_or(0);
    let mut devices: Vec<Device> = (0..count)
        .map(|_| {
            let platform = draw_platform(rng, country);
            let token = draw_token(rng, platform);
            let created_at = rng.random_range(signup..=last_second.max(signup));
            Device {
                platform,
                token,
                created_at,
            }
        })
        .collect();
    devices.sort_by_key(|d| d.created_at);
    devices
}

fn draw_platform(rng: &mut ChaCha8Rng, country: &Country) -> Platform {
    if chance(rng, WEB_SHARE) {
        Platform::Web
    } else if chance(rng, country.ios_share) {
        Platform::Ios
    } else {
        Platform::Android
    }
}

/// A token in the platform's format.
fn draw_token(rng: &mut ChaCha8Rng, platform: Platform) -> String {
    match platform {
        Platform::Ios => hex(rng, 32),
        Platform::Android => fcm_token(rng),
        Platform::Web if chance(rng, 0.7) => {
            format!("https://fcm.googleapis.com/fcm/send/{}", fcm_token(rng))
        }
        Platform::Web => format!(
            "https://updates.push.services.mozilla.com/wpush/v2/{}",
            base64url(rng, 140)
        ),
    }
}

/// An FCM-like registration token: 11 chars, `:APA91b`, 134 chars.
fn fcm_token(rng: &mut ChaCha8Rng) -> String {
    format!("{}:APA91b{}", base64url(rng, 11), base64url(rng, 134))
}

/// `bytes` random bytes as lowercase hex.
fn hex(rng: &mut ChaCha8Rng, bytes: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        let byte: u8 = rng.random();
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// `len` random base64url characters.
fn base64url(rng: &mut ChaCha8Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(BASE64URL[rng.random_range(0..64usize)]))
        .collect()
}
