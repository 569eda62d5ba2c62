//! The plain data every ranker learns from: a catalogue, a user table and
//! each user's interactions, all indexed densely (`u32`) so a 20M-event shop
//! fits in a few hundred megabytes.
//!
//! Events are folded into one [`Interaction`] per (user, item): the strongest
//! [`Signal`] seen and the time of the latest event. A user's interactions
//! are stored contiguously (CSR layout) and ordered by time, which is what
//! the temporal split and the recency features need.

pub use super::catalog::{Catalog, ItemInput};
use serde::{Deserialize, Serialize};

/// "No value" for dense `u32` columns (segment, category, brand).
pub const NONE: u32 = u32::MAX;

/// What an event says about a user's interest in an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Signal {
    /// A view, click or other light touch: weak evidence.
    View = 0,
    /// A middling rating, below the positive threshold and at or above
    /// [`DISLIKED_RATING`]: seen, not liked.
    Rated = 1,
    /// Put in the cart.
    Cart = 2,
    /// Bought.
    Purchase = 3,
    /// Rated at or above the positive threshold (below [`LOVED_RATING`]).
    Liked = 4,
    /// Rated at the top of the scale ([`LOVED_RATING`]): a positive like
    /// [`Signal::Liked`], kept apart so a model may weigh it more.
    Loved = 5,
    /// Rated below [`DISLIKED_RATING`]: seen and disliked.
    Disliked = 6,
}

/// Ratings at or above this value are positives (the protocol).
pub const LIKED_RATING: f64 = 4.0;

/// Ratings at or above this value are [`Signal::Loved`].
pub const LOVED_RATING: f64 = 5.0;

/// Ratings below this value are [`Signal::Disliked`].
pub const DISLIKED_RATING: f64 = 3.0;

impl Signal {
    /// Reads an event name and value (`rating` uses the value).
    pub fn from_event(event: &str, value: Option<f64>) -> Signal {
        match event {
            "purchase" | "order" | "buy" => Signal::Purchase,
            "cart" | "add_to_cart" => Signal::Cart,
            "rating" if value.is_some_and(|v| v >= LOVED_RATING) => Signal::Loved,
            "rating" if value.is_some_and(|v| v >= LIKED_RATING) => Signal::Liked,
            "rating" if value.is_some_and(|v| v < DISLIKED_RATING) => Signal::Disliked,
            "rating" => Signal::Rated,
            _ => Signal::View,
        }
    }

    /// Training weight: purchases and likes 1, carts 0.6, views weak.
    pub fn weight(self) -> f32 {
        match self {
            Signal::View => 0.2,
            Signal::Rated | Signal::Disliked => 0.0,
            Signal::Cart => 0.6,
            Signal::Purchase | Signal::Liked | Signal::Loved => 1.0,
        }
    }

    /// Whether the interaction counts as a positive (evaluation target).
    pub fn is_positive(self) -> bool {
        matches!(
            self,
            Signal::Cart | Signal::Purchase | Signal::Liked | Signal::Loved
        )
    }

    /// Whether the user already owns or judged the item (never recommended again).
    pub fn is_owned(self) -> bool {
        matches!(
            self,
            Signal::Purchase | Signal::Liked | Signal::Loved | Signal::Rated | Signal::Disliked
        )
    }

    /// Merge order: the stronger signal wins when one item has several events.
    fn strength(self) -> u8 {
        match self {
            Signal::View => 0,
            Signal::Rated | Signal::Disliked => 1,
            Signal::Cart => 2,
            Signal::Purchase | Signal::Liked | Signal::Loved => 3,
        }
    }
}

/// One user's folded interaction with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interaction {
    /// Dense item index.
    pub item: u32,
    /// Seconds since the Unix epoch of the latest event on the item.
    pub t: u32,
    /// The strongest signal seen.
    pub signal: Signal,
}

/// Converts milliseconds since the epoch to the compact seconds used here.
pub fn secs(ts_millis: i64) -> u32 {
    (ts_millis.div_euclid(1000)).clamp(0, i64::from(u32::MAX)) as u32
}

/// The user side: ids and segment per user.
#[derive(Debug, Clone, Default)]
pub struct Users {
    /// Customer user ids, by dense index.
    pub ids: Vec<String>,
    /// Segment per user ([`NONE`] when unassigned).
    pub segment: Vec<u32>,
}

impl Users {
    /// Number of segments (largest segment index + 1).
    pub fn segment_count(&self) -> usize {
        self.segment
            .iter()
            .filter(|&&s| s != NONE)
            .map(|&s| s as usize + 1)
            .max()
            .unwrap_or(0)
    }
}

/// Users, items and each user's interactions, time-ordered.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// The items.
    pub items: Catalog,
    /// The users.
    pub users: Users,
    /// `offsets[u]..offsets[u + 1]` is user `u`'s slice of `entries`.
    offsets: Vec<usize>,
    /// Interactions of every user, each user's ordered by (time, item).
    entries: Vec<Interaction>,
}

/// One raw event with dense indices, for [`Dataset::from_events`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawEvent {
    /// Dense user index.
    pub user: u32,
    /// Dense item index.
    pub item: u32,
    /// Seconds since the epoch.
    pub t: u32,
    /// What happened.
    pub signal: Signal,
}

impl Dataset {
    /// Builds a dataset from events in any order.
    pub fn from_events(items: Catalog, users: Users, mut events: Vec<RawEvent>) -> Dataset {
        events.sort_unstable_by_key(|e| (e.user, e.item, e.t));
        let mut builder = DatasetBuilder::new(items, users);
        let mut start = 0;
        while start < events.len() {
            let user = events[start].user;
            let end = start
                + events[start..]
                    .iter()
                    .take_while(|e| e.user == user)
                    .count();
            let mut slice: Vec<_> = events[start..end]
                .iter()
                .map(|e| (e.item, e.t, e.signal))
                .collect();
            builder.push_user(user, &mut slice);
            start = end;
        }
        builder.finish()
    }

    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.users.ids.len()
    }

    /// Number of items.
    pub fn item_count(&self) -> usize {
        self.items.len()
    }

    /// Total number of (user, item) interactions.
    pub fn interaction_count(&self) -> usize {
        self.entries.len()
    }

    /// One user's interactions, oldest first.
    pub fn history(&self, user: u32) -> &[Interaction] {
        let u = user as usize;
        match (self.offsets.get(u), self.offsets.get(u + 1)) {
            (Some(&a), Some(&b)) => &self.entries[a..b],
            _ => &[],
        }
    }

    /// The histories in CSR form: `offsets[u]..offsets[u + 1]` indexes `entries`.
    pub fn csr(&self) -> (&[usize], &[Interaction]) {
        (&self.offsets, &self.entries)
    }

    /// Latest interaction time in the data (seconds), 0 when empty.
    pub fn latest(&self) -> u32 {
        self.entries.iter().map(|e| e.t).max().unwrap_or(0)
    }

    /// The same users and items with other interactions (`per_user[u]`, time-ordered).
    pub fn with_histories(&self, per_user: Vec<Vec<Interaction>>) -> Dataset {
        let mut offsets = Vec::with_capacity(per_user.len() + 1);
        offsets.push(0);
        let mut entries = Vec::with_capacity(per_user.iter().map(Vec::len).sum());
        for h in per_user {
            entries.extend(h);
            offsets.push(entries.len());
        }
        Dataset {
            items: self.items.clone(),
            users: self.users.clone(),
            offsets,
            entries,
        }
    }
}

/// Builds a [`Dataset`] user by user, folding each user's events per item.
pub struct DatasetBuilder {
    /// The dataset under construction.
    data: Dataset,
}

impl DatasetBuilder {
    /// Starts with the catalogue and users; every user starts with no history.
    pub fn new(items: Catalog, users: Users) -> Self {
        let data = Dataset {
            items,
            users,
            offsets: vec![0],
            entries: Vec::new(),
        };
        Self { data }
    }

    /// Adds user `user`'s events (item, seconds, signal); users must come in
    /// increasing order, and a user seen earlier is ignored.
    pub fn push_user(&mut self, user: u32, events: &mut [(u32, u32, Signal)]) {
        let known = self.data.offsets.len() - 1;
        if (user as usize) < known || user as usize >= self.data.users.ids.len() {
            return;
        }
        let last = *self.data.offsets.last().unwrap_or(&0);
        self.data.offsets.resize(user as usize + 1, last);
        let start = self.data.entries.len();
        fold_events(events, &mut self.data.entries, start);
        self.data.entries[start..].sort_unstable_by_key(|e| (e.t, e.item));
        self.data.offsets.push(self.data.entries.len());
    }

    /// Appends the next user's already folded, time-ordered history.
    pub fn push_folded(&mut self, history: &[Interaction]) {
        if self.data.offsets.len() > self.data.users.ids.len() {
            return;
        }
        self.data.entries.extend_from_slice(history);
        self.data.offsets.push(self.data.entries.len());
    }

    /// The finished dataset.
    pub fn finish(mut self) -> Dataset {
        let last = *self.data.offsets.last().unwrap_or(&0);
        self.data
            .offsets
            .resize(self.data.users.ids.len() + 1, last);
        self.data
    }
}

/// Folds one user's events (item, seconds, signal; any order) into one
/// interaction per item, ordered by (time, item).
pub fn fold(events: &mut [(u32, u32, Signal)]) -> Vec<Interaction> {
    let mut out = Vec::new();
    fold_events(events, &mut out, 0);
    out.sort_unstable_by_key(|e| (e.t, e.item));
    out
}

/// Folds events (any order) into one interaction per item, appended to
/// `out` (whose entries from `start` on belong to the same user).
fn fold_events(events: &mut [(u32, u32, Signal)], out: &mut Vec<Interaction>, start: usize) {
    events.sort_unstable_by_key(|e| (e.0, e.1));
    for &(item, t, signal) in events.iter() {
        let fresh = out.len() == start;
        match out.last_mut() {
            Some(last) if !fresh && last.item == item => {
                last.t = last.t.max(t);
                if signal.strength() > last.signal.strength() {
                    last.signal = signal;
                }
            }
            _ => out.push(Interaction { item, t, signal }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_map_to_signals_by_value() {
        let at = |v: f64| Signal::from_event("rating", Some(v));
        assert_eq!(
            [at(5.0), at(4.5), at(4.0), at(3.0), at(2.5), at(1.0)],
            [
                Signal::Loved,
                Signal::Liked,
                Signal::Liked,
                Signal::Rated,
                Signal::Disliked,
                Signal::Disliked
            ]
        );
        assert!(Signal::Loved.is_positive() && Signal::Loved.is_owned());
        assert!(!Signal::Disliked.is_positive() && Signal::Disliked.is_owned());
        assert_eq!(Signal::Disliked.weight(), 0.0);
        assert_eq!(Signal::from_event("rating", None), Signal::Rated);
    }
}
