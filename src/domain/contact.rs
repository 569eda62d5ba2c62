//! Contact addresses: email (RFC 5322 addr-spec, via `email_address`) and
//! phone numbers in E.164 form (`+` then 8 to 15 digits, no leading zero).

use super::Invalid;
use std::str::FromStr;

/// A syntactically valid email address, stored as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Validates an address such as `ana@example.com`.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        let parsed = email_address::EmailAddress::from_str(value)
            .map_err(|e| Invalid::new(format!("`{value}` is not a valid email address ({e})")))?;
        if !parsed.domain().contains('.') {
            return Err(Invalid::new(format!(
                "`{value}` is not a valid email address (domain has no dot)"
            )));
        }
        Ok(Self(value.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form, e.g. `+14155550123`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Validates an E.164 number; spaces, dashes and dots are not accepted
    /// so what is stored is exactly what providers expect.
    pub fn parse(value: &str) -> Result<Self, Invalid> {
        let value = value.trim();
        let digits = value.strip_prefix('+').unwrap_or("");
        let ok = digits.len() >= 8
            && digits.len() <= 15
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if !ok {
            return Err(Invalid::new(format!(
                "`{value}` is not an E.164 phone number (expected + then 8 to 15 digits, e.g. +14155550123)"
            )));
        }
        Ok(Self(value.to_owned()))
    }

    /// The number, with its leading `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("ana@example.com").is_ok());
        assert!(Email::parse("ana.example.com").is_err());
        assert!(Email::parse("ana@localhost").is_err());
        assert!(Email::parse("@example.com").is_err());
    }

    #[test]
    fn phones_must_be_e164() {
        assert!(Phone::parse("+14155550123").is_ok());
        assert!(Phone::parse("14155550123").is_err());
        assert!(Phone::parse("+1 415 555 0123").is_err());
        assert!(Phone::parse("+0123456789").is_err());
        assert!(Phone::parse("+1234567890123456").is_err());
    }
}
