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

#[cfg(test)]
mod tests {
    use super::*;

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
