//! Validated value types that settings are made of.
//!
//! Each type parses from the text an operator writes (in a TOML file or an
//! environment variable) and refuses anything malformed, so a bad value is
//! reported at load time with its key instead of deep inside a worker
//! (ARCHITECTURE rule 3). The URL types that may carry credentials mask them
//! in `Debug`, `Display` and `Serialize` (see [`super::urls`]); only
//! `expose()` gives the real text.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// Why a configuration value was refused: one line, never the secret parts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(String);

impl ValueError {
    /// Wraps a message that says what was expected.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A `NonZeroU32` from a constant, for defaults; a zero fails at compile time
/// when used in a `const` and is a programming error otherwise.
pub(crate) const fn nz(n: u32) -> std::num::NonZeroU32 {
    match std::num::NonZeroU32::new(n) {
        Some(v) => v,
        None => panic!("constant must be non-zero"),
    }
}

/// Implements `Deserialize` by parsing a string with `FromStr` (errors name
/// `$expecting`) and `Serialize` by writing the `Display` form.
macro_rules! serde_via_str {
    ($ty:ty, $expecting:literal) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str($crate::config::values::FromStrVisitor::new($expecting))
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}
pub(crate) use serde_via_str;

/// A serde visitor that accepts only strings and parses them with `FromStr`.
pub(crate) struct FromStrVisitor<T> {
    expecting: &'static str,
    target: std::marker::PhantomData<T>,
}

impl<T> FromStrVisitor<T> {
    /// A visitor whose type errors say "expected {expecting}".
    pub(crate) fn new(expecting: &'static str) -> Self {
        Self {
            expecting,
            target: std::marker::PhantomData,
        }
    }
}

impl<T> de::Visitor<'_> for FromStrVisitor<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        text.parse().map_err(E::custom)
    }
}

/// Deserializes an optional value where an empty string (or no value) means
/// "not set", so `default.toml` can show every key, even unset ones, as `""`.
pub(crate) fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    match Option::<String>::deserialize(d)? {
        Some(text) if !text.trim().is_empty() => text.parse().map(Some).map_err(de::Error::custom),
        _ => Ok(None),
    }
}

/// A span of time written as text: `500ms`, `2s`, `5m`, `1h`, `1d`, or a
/// sum such as `1h30m`. Millisecond resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(std::time::Duration);

/// Units a duration may be written in, longest first, with their length in ms.
const DURATION_UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Self(std::time::Duration::from_millis(ms))
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// The standard-library duration, for timers and arithmetic.
    pub const fn get(self) -> std::time::Duration {
        self.0
    }

    /// Whether this is a zero-length span.
    pub const fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl FromStr for Duration {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let invalid = || {
            ValueError::new(format!(
                "invalid duration {text:?}: expected a whole number followed by ms, s, m, h or d, like \"500ms\", \"2s\", \"5m\" or \"1h30m\""
            ))
        };
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let (ms, tail) = duration_term(rest).ok_or_else(invalid)?;
            total = total.checked_add(ms).ok_or_else(invalid)?;
            rest = tail;
        }
        Ok(Self::from_millis(total))
    }
}

/// Splits one `<number><unit>` term off the front of `text`: its length in
/// milliseconds and the remaining text.
fn duration_term(text: &str) -> Option<(u64, &str)> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let number: u64 = text[..digits].parse().ok()?;
    let rest = &text[digits..];
    let unit_len = rest
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(rest.len());
    let unit = &rest[..unit_len];
    let (_, factor) = DURATION_UNITS.iter().find(|(name, _)| *name == unit)?;
    Some((number.checked_mul(*factor)?, &rest[unit_len..]))
}

impl fmt::Display for Duration {
    /// Writes the canonical form, e.g. `1h30m` or `500ms`, which parses back.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut ms = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, factor) in DURATION_UNITS {
            if ms >= factor {
                write!(f, "{}{unit}", ms / factor)?;
                ms %= factor;
            }
        }
        Ok(())
    }
}

serde_via_str!(
    Duration,
    "a duration like \"500ms\", \"2s\", \"5m\" or \"1h\""
);

/// A secret read from a `*_file` setting. `Debug` and `Display` print
/// `[redacted]`; [`Secret::expose`] is the one way to the text, so a secret
/// cannot reach a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps secret text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret text, for the one call that needs it (signing, auth).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_every_unit_and_sums() {
        let ms = |t: &str| t.parse::<Duration>().map(|d| d.get().as_millis());
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("2s"), Ok(2_000));
        assert_eq!(ms("5m"), Ok(300_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
        assert_eq!(ms("1d"), Ok(86_400_000));
        assert_eq!(ms("1h30m"), Ok(5_400_000));
        assert_eq!(ms(" 0s "), Ok(0));
    }

    #[test]
    fn durations_refuse_missing_units_unknown_units_and_overflow() {
        for bad in [
            "",
            "5",
            "s",
            "5x",
            "1.5s",
            "-1s",
            "99999999999999999999d",
            "1h 30m",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn durations_display_in_a_form_that_parses_back() {
        for text in ["0s", "500ms", "2s", "1h30m", "1d2h3m4s5ms"] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
        }
        assert_eq!("90s".parse::<Duration>().unwrap().to_string(), "1m30s");
    }

    #[test]
    fn secrets_print_as_redacted() {
        let secret = Secret::new("s3cr3t");
        assert_eq!(format!("{secret} {secret:?}"), "[redacted] [redacted]");
        assert_eq!(secret.expose(), "s3cr3t");
    }
}
