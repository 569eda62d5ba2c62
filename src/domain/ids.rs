//! Customer-supplied identifiers: non-empty strings of at most 255
//! characters without control characters or surrounding whitespace.

use super::Invalid;
use std::fmt;

/// Checks the shared rules for customer ids.
fn check_id(kind: &str, value: &str) -> Result<(), Invalid> {
    if value.is_empty() {
        return Err(Invalid::new(format!("{kind} is empty")));
    }
    if value.len() > 255 {
        return Err(Invalid::new(format!("{kind} is longer than 255 bytes")));
    }
    if value.trim() != value || value.chars().any(char::is_control) {
        return Err(Invalid::new(format!(
            "{kind} has surrounding spaces or control characters"
        )));
    }
    Ok(())
}

macro_rules! string_id {
    ($name:ident, $kind:literal) => {
        #[doc = concat!("A validated ", $kind, ".")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an id.
            pub fn parse(value: &str) -> Result<Self, Invalid> {
                check_id($kind, value)?;
                Ok(Self(value.to_owned()))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(UserId, "user id");
string_id!(ItemId, "item id");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_empty_padded_and_control_characters() {
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(" u1").is_err());
        assert!(ItemId::parse("a\tb").is_err());
        assert!(ItemId::parse(&"x".repeat(256)).is_err());
        assert_eq!(UserId::parse("u-1").unwrap().as_str(), "u-1");
    }
}
