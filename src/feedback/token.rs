//! The signed part of a tracking link: which message (run, user, variant,
//! channel), which item, where a click goes, and what the link is for, as
//! a small binary record.
//!
//! Layout (version 1), before the MAC is appended and the whole is
//! base64url-encoded without padding:
//!
//! ```text
//! u8 version = 1 | u8 kind | u8 channel | varint run_id
//! | str user_id | str variant | str item_id ("" = none) | str destination ("" = none)
//! ```
//!
//! `varint` is unsigned LEB128; `str` is a varint byte length then UTF-8.
//! Nothing in it depends on the clock or on chance: the same message always
//! gets the same link, which keeps plans byte-identical.

use crate::domain::Channel;

/// The format version written first in every token.
pub const VERSION: u8 = 1;

/// Longest string field accepted when decoding (a destination URL).
const MAX_FIELD: usize = 8 * 1024;

/// What a link does; each kind has its own route, and a token of one kind
/// is refused on another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// `/t/c/`: record a click, redirect to the destination.
    Click,
    /// `/t/o/`: record an open, answer a 1x1 GIF.
    Open,
    /// `/u/`: the unsubscribe page and its RFC 8058 one-click POST.
    Unsubscribe,
    /// `/t/r/`: the SMS provider's delivery receipts.
    Receipt,
}

impl LinkKind {
    /// Every kind.
    pub const ALL: [LinkKind; 4] = [Self::Click, Self::Open, Self::Unsubscribe, Self::Receipt];

    /// The route prefix, with its slashes.
    pub fn path(self) -> &'static str {
        match self {
            Self::Click => "/t/c/",
            Self::Open => "/t/o/",
            Self::Unsubscribe => "/u/",
            Self::Receipt => "/t/r/",
        }
    }

    fn code(self) -> u8 {
        match self {
            Self::Click => 1,
            Self::Open => 2,
            Self::Unsubscribe => 3,
            Self::Receipt => 4,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

fn channel_code(channel: Channel) -> u8 {
    match channel {
        Channel::Push => 1,
        Channel::Email => 2,
        Channel::Sms => 3,
        Channel::Webhook => 4,
    }
}

fn channel_from_code(code: u8) -> Option<Channel> {
    Channel::ALL.into_iter().find(|c| channel_code(*c) == code)
}

/// What one link says about the message it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken {
    /// What the link is for.
    pub kind: LinkKind,
    /// The campaign run (0 for previews).
    pub run_id: i64,
    /// The recipient.
    pub user_id: String,
    /// The variant the recipient was assigned.
    pub variant: String,
    /// The channel the message went out on.
    pub channel: Channel,
    /// The recommended item the link leads to, if any.
    pub item_id: Option<String>,
    /// Where a click redirects to (signed, so it cannot be changed into an
    /// open redirect).
    pub destination: Option<String>,
}

impl LinkToken {
    /// The binary record (without MAC).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            16 + self.user_id.len()
                + self.variant.len()
                + self.item_id.as_ref().map_or(0, String::len)
                + self.destination.as_ref().map_or(0, String::len),
        );
        out.extend([VERSION, self.kind.code(), channel_code(self.channel)]);
        varint(&mut out, self.run_id.max(0) as u64);
        for field in [
            self.user_id.as_str(),
            self.variant.as_str(),
            self.item_id.as_deref().unwrap_or(""),
            self.destination.as_deref().unwrap_or(""),
        ] {
            varint(&mut out, field.len() as u64);
            out.extend_from_slice(field.as_bytes());
        }
        out
    }

    /// Parses a binary record; `None` unless it is exactly one well-formed
    /// version-1 record.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader { bytes, at: 0 };
        if r.byte()? != VERSION {
            return None;
        }
        let kind = LinkKind::from_code(r.byte()?)?;
        let channel = channel_from_code(r.byte()?)?;
        let run_id = i64::try_from(r.varint()?).ok()?;
        let user_id = r.text()?;
        let variant = r.text()?;
        let item_id = Some(r.text()?).filter(|s| !s.is_empty());
        let destination = Some(r.text()?).filter(|s| !s.is_empty());
        if r.at != bytes.len() || user_id.is_empty() {
            return None;
        }
        Some(Self {
            kind,
            run_id,
            user_id,
            variant,
            channel,
            item_id,
            destination,
        })
    }
}

/// Appends `n` as unsigned LEB128.
fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// A cursor over a binary record.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    fn text(&mut self) -> Option<String> {
        let len = usize::try_from(self.varint()?).ok()?;
        if len > MAX_FIELD {
            return None;
        }
        let end = self.at.checked_add(len)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        String::from_utf8(slice.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> LinkToken {
        LinkToken {
            kind: LinkKind::Click,
            run_id: 300,
            user_id: "u1".into(),
            variant: "A".into(),
            channel: Channel::Email,
            item_id: Some("sku-9".into()),
            destination: Some("https://shop.example/p/9?x=1".into()),
        }
    }

    #[test]
    fn a_token_round_trips_through_its_bytes() {
        let t = token();
        assert_eq!(LinkToken::from_bytes(&t.to_bytes()), Some(t.clone()));
        let bare = LinkToken {
            kind: LinkKind::Unsubscribe,
            item_id: None,
            destination: None,
            ..t
        };
        assert_eq!(LinkToken::from_bytes(&bare.to_bytes()), Some(bare));
    }

    #[test]
    fn truncated_or_padded_records_do_not_parse() {
        let bytes = token().to_bytes();
        for n in 0..bytes.len() {
            assert_eq!(LinkToken::from_bytes(&bytes[..n]), None, "prefix {n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(LinkToken::from_bytes(&longer), None);
        let mut other = bytes;
        other[0] = 2;
        assert_eq!(LinkToken::from_bytes(&other), None, "unknown version");
    }

    #[test]
    fn large_run_ids_use_more_varint_bytes() {
        let mut t = token();
        t.run_id = i64::MAX;
        assert_eq!(LinkToken::from_bytes(&t.to_bytes()), Some(t));
    }
}
