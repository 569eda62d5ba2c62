//! Validated domain types: every value that crosses a boundary (an imported
//! row, an HTTP body, a CLI argument) becomes one of these before any stage
//! sees it. Parsing returns [`Invalid`], a short reason the caller places in
//! context (`users.csv:12: email: not a valid email address`). No I/O here.

mod contact;
mod device;
mod event;
mod ids;
mod records;
mod time;

pub use contact::{Email, Phone};
pub use device::{DeviceToken, Platform};
pub use event::{
    EVENT_MAX_AGE_MS, EVENT_MAX_LEAD_MS, EventKind, check_event_time, check_event_value,
};
pub use ids::{ItemId, UserId};
pub use records::{Channel, ConsentRecord, DeviceRecord, EventRecord, ItemRecord, UserRecord};
pub use time::{Laps, Timezone, millis_to_rfc3339, now_millis, parse_rfc3339_millis};

/// Why a value was rejected, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    /// Builds a reason from anything printable.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// Parses a boolean the way spreadsheets and JSON write them.
pub fn parse_bool(value: &str) -> Result<bool, Invalid> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "t" => Ok(true),
        "false" | "0" | "no" | "n" | "f" => Ok(false),
        _ => Err(Invalid::new(format!(
            "`{value}` is not a boolean (use true or false)"
        ))),
    }
}
