//! Behavioural event kinds: the closed set herald reasons about, plus
//! custom names that triggers and audiences can still match on.

use super::Invalid;

/// What a user did.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Looked at an item.
    View,
    /// Added an item to the cart.
    Cart,
    /// Bought an item (`value` is the revenue).
    Purchase,
    /// Searched.
    Search,
    /// Clicked a message.
    Click,
    /// Opened a message.
    Open,
    /// Anything else the app reports, by name.
    Custom(String),
}

impl EventKind {
    /// Parses an event name: lowercase letters, digits, `_`, `-`, `.`, up
    /// to 64 characters. Known names map to their variants.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let name = value.trim();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            return Err(Invalid::new(format!(
                "`{value}` is not an event name (letters, digits, _ - . up to 64 characters)"
            )));
        }
        Ok(match name.to_ascii_lowercase().as_str() {
            "view" => Self::View,
            "cart" => Self::Cart,
            "purchase" => Self::Purchase,
            "search" => Self::Search,
            "click" => Self::Click,
            "open" => Self::Open,
            other => Self::Custom(other.to_owned()),
        })
    }

    /// The stored name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::View => "view",
            Self::Cart => "cart",
            Self::Purchase => "purchase",
            Self::Search => "search",
            Self::Click => "click",
            Self::Open => "open",
            Self::Custom(name) => name,
        }
    }

    /// Whether this kind is about one item and so needs an `item_id`.
    pub fn needs_item(&self) -> bool {
        matches!(self, Self::View | Self::Cart | Self::Purchase)
    }
}

/// How far back an event may be: ten years (3,653 days) before now.
pub const EVENT_MAX_AGE_MS: i64 = 3_653 * 86_400_000;
/// How far ahead an event may be: one day after now (clock skew).
pub const EVENT_MAX_LEAD_MS: i64 = 86_400_000;

/// Checks an event's time against `now` (both in ms): it must fall within
/// [now - 10 years, now + 1 day], so a typo (`1926`, `2062`) or a unit
/// mistake (seconds for milliseconds) is refused rather than stored.
pub fn check_event_time(ts: i64, now: i64) -> Result<i64, Invalid> {
    let oldest = now.saturating_sub(EVENT_MAX_AGE_MS);
    let newest = now.saturating_add(EVENT_MAX_LEAD_MS);
    if ts < oldest {
        return Err(Invalid::new(format!(
            "{} is more than 10 years ago; events must be from the last 10 years",
            super::millis_to_rfc3339(ts)
        )));
    }
    if ts > newest {
        return Err(Invalid::new(format!(
            "{} is more than a day in the future; check the clock and the time zone",
            super::millis_to_rfc3339(ts)
        )));
    }
    Ok(ts)
}

/// Checks an event's `value`: a finite number, not negative for a
/// purchase (its revenue).
pub fn check_event_value(kind: &EventKind, value: f64) -> Result<f64, Invalid> {
    if !value.is_finite() {
        return Err(Invalid::new(format!("{value} is not a finite number")));
    }
    if *kind == EventKind::Purchase && value < 0.0 {
        return Err(Invalid::new(format!(
            "{value} is negative; a purchase's value is its revenue (0 or more)"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_time_outside_ten_years_back_to_a_day_ahead_is_refused() {
        let now = 1_800_000_000_000;
        let day = 86_400_000;
        assert!(check_event_time(now - 11 * 365 * day, now).is_err());
        assert!(check_event_time(now + 2 * day, now).is_err());
        assert_eq!(
            check_event_time(now - 9 * 365 * day, now),
            Ok(now - 9 * 365 * day)
        );
        assert_eq!(check_event_time(now + day / 2, now), Ok(now + day / 2));
    }

    #[test]
    fn a_negative_or_non_finite_purchase_value_is_refused() {
        assert!(check_event_value(&EventKind::Purchase, -1.0).is_err());
        assert!(check_event_value(&EventKind::Purchase, f64::NAN).is_err());
        assert!(check_event_value(&EventKind::View, f64::INFINITY).is_err());
        assert_eq!(check_event_value(&EventKind::Purchase, 9.5), Ok(9.5));
    }

    #[test]
    fn event_names_map_known_kinds_and_keep_custom_ones() {
        assert_eq!(EventKind::parse("Purchase").unwrap(), EventKind::Purchase);
        assert_eq!(
            EventKind::parse("wishlist_add").unwrap().as_str(),
            "wishlist_add"
        );
        assert!(EventKind::parse("has space").is_err());
        assert!(EventKind::parse("").is_err());
    }
}
