//! One user's browsing history: sessions placed on the user's daily rhythm,
//! items picked by latent preference times popularity, and the
//! view → cart → purchase funnel.
//!
//! Session start times are drawn as sorted uniforms one at a time and mapped
//! through the inverse of the user's hour-of-day activity curve, so a user's
//! events come out in time order without being collected or sorted.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::SynthError;
use super::catalog::Catalog;
use super::latent::Latent;
use super::lifecycle::HOUR;
use super::rng::{SortedUniforms, chance, exponential};
use super::truth::hour_factor;

/// The header of `events.csv`.
pub(crate) const EVENTS_HEADER: [&str; 5] = ["user_id", "item_id", "event", "ts", "value"];
/// Relative shop traffic by local hour (quiet nights, busy evenings).
#[rustfmt::skip]
const DIURNAL: [f64; 24] = [
    0.30, 0.20, 0.12, 0.08, 0.08, 0.12, 0.25, 0.50, 0.75, 0.85, 0.95, 1.00,
    1.10, 1.00, 0.90, 0.90, 0.95, 1.05, 1.25, 1.45, 1.60, 1.50, 1.10, 0.60,
];
/// Share of a session's picks that stay in the session's category.
const SESSION_FOCUS: f64 = 0.8;

/// A funnel step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    View,
    Cart,
    Purchase,
}

impl EventKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Cart => "cart",
            EventKind::Purchase => "purchase",
        }
    }
}

/// One event of the current user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    /// Item index in the catalogue.
    pub item: u32,
    /// Funnel step.
    pub kind: EventKind,
    /// Unix seconds.
    pub ts: i64,
}

/// P(cart | view), rising with the latent preference.
fn cart_probability(preference: f64) -> f64 {
    0.04 + 0.36 * preference
}

/// P(purchase | cart), for an item in stock.
fn purchase_probability(preference: f64) -> f64 {
    0.15 + 0.55 * preference
}

/// A user's activity over the UTC hours of a day, cumulated for inversion.
/// It uses the zone's UTC offset at the end of the history, so daylight
/// saving shifts earlier events by an hour at most.
pub(crate) struct HourCurve {
    /// `cumulative[k]` = weight of UTC hours `0..k`; `cumulative[24]` a whole day.
    cumulative: [f64; 25],
}

impl HourCurve {
    /// The curve of a user whose zone is `utc_offset_minutes` ahead of UTC.
    pub(crate) fn new(best_hour: u8, utc_offset_minutes: i32) -> Self {
        let mut cumulative = [0.0; 25];
        for utc in 0..24usize {
            let local = (utc as i64 * 60 + i64::from(utc_offset_minutes))
                .div_euclid(60)
                .rem_euclid(24);
            let peak = 1.0 + 3.0 * (hour_factor(best_hour, local as u32) - 0.4) / 0.6;
            cumulative[utc + 1] = cumulative[utc] + DIURNAL[local as usize] * peak;
        }
        Self { cumulative }
    }

    /// Activity mass from the epoch up to the start of absolute hour `hour`.
    fn mass_before(&self, hour: i64) -> f64 {
        let day = self.cumulative[24];
        hour.div_euclid(24) as f64 * day + self.cumulative[hour.rem_euclid(24) as usize]
    }

    /// The instant splitting hours `[from, to)` at fraction `u` of their mass.
    fn time_at(&self, from: i64, to: i64, u: f64) -> i64 {
        let base = self.mass_before(from);
        let target = base + u * (self.mass_before(to) - base);
        let day_mass = self.cumulative[24];
        let day = (target / day_mass).floor();
        let rest = target - day * day_mass;
        let hour = self.cumulative[1..].partition_point(|&c| c <= rest).min(23);
        let width = self.cumulative[hour + 1] - self.cumulative[hour];
        let fraction = ((rest - self.cumulative[hour]) / width).clamp(0.0, 1.0);
        let ts = (day as i64 * 24 + hour as i64) * HOUR + (fraction * (HOUR - 1) as f64) as i64;
        ts.min(to * HOUR - 1).max(from * HOUR)
    }
}

/// Everything drawing one user's events needs.
pub(crate) struct EventDraw<'a> {
    /// The catalogue.
    pub catalog: &'a Catalog,
    /// The user's tastes.
    pub latent: &'a Latent,
    /// (category, catalogue mass) for exploration.
    pub explore: &'a [(u16, f64)],
    /// The user's daily rhythm.
    pub curve: &'a HourCurve,
    /// First hour the user can be active in.
    pub first_hour: i64,
    /// Hour at which the history ends (exclusive).
    pub end_hour: i64,
}

impl EventDraw<'_> {
    /// Emits exactly `count` events of the user, in non-decreasing time order.
    pub(crate) fn run<F>(
        &self,
        rng: &mut ChaCha8Rng,
        count: u64,
        emit: &mut F,
    ) -> Result<(), SynthError>
    where
        F: FnMut(Event) -> Result<(), SynthError>,
    {
        if count == 0 {
            return Ok(());
        }
        let depth = 2.0 + exponential(rng, 4.0);
        let sessions = ((count as f64 / depth).round() as u64).clamp(1, count);
        let mut starts = SortedUniforms::new(sessions);
        let (mut left, mut clock) = (count, self.first_hour * HOUR);
        for done in 0..sessions {
            let u = starts.next(rng).unwrap_or(0.0);
            let start = self
                .curve
                .time_at(self.first_hour, self.end_hour, u)
                .max(clock);
            let rows = session_rows(rng, left, sessions - done);
            left -= rows;
            clock = self.session(rng, start, rows, emit)?;
        }
        Ok(())
    }

    /// One session of `rows` events from `start`; returns the last timestamp.
    fn session<F>(
        &self,
        rng: &mut ChaCha8Rng,
        start: i64,
        rows: u64,
        emit: &mut F,
    ) -> Result<i64, SynthError>
    where
        F: FnMut(Event) -> Result<(), SynthError>,
    {
        let focus = self.latent.draw_category(rng, self.explore);
        let mut clock = Clock {
            now: start as f64,
            last: start,
            last_second: self.end_hour * HOUR - 1,
        };
        let mut left = rows;
        while left > 0 {
            let item = self.pick_item(rng, focus);
            self.chain(rng, item, &mut left, &mut clock, emit)?;
            clock.now += 10.0 + exponential(rng, 75.0);
        }
        Ok(clock.last)
    }

    /// A view of `item`, maybe followed by a cart and a purchase, within `left` rows.
    fn chain<F>(
        &self,
        rng: &mut ChaCha8Rng,
        item: u32,
        left: &mut u64,
        clock: &mut Clock,
        emit: &mut F,
    ) -> Result<(), SynthError>
    where
        F: FnMut(Event) -> Result<(), SynthError>,
    {
        let facts = &self.catalog.items[item as usize];
        let preference = self.latent.preference(facts);
        emit(Event {
            item,
            kind: EventKind::View,
            ts: clock.stamp(),
        })?;
        *left -= 1;
        if *left == 0 || !chance(rng, cart_probability(preference)) {
            return Ok(());
        }
        clock.now += 15.0 + exponential(rng, 60.0);
        emit(Event {
            item,
            kind: EventKind::Cart,
            ts: clock.stamp(),
        })?;
        *left -= 1;
        if *left == 0 || !facts.in_stock || !chance(rng, purchase_probability(preference)) {
            return Ok(());
        }
        clock.now += 30.0 + exponential(rng, 240.0);
        emit(Event {
            item,
            kind: EventKind::Purchase,
            ts: clock.stamp(),
        })?;
        *left -= 1;
        Ok(())
    }

    /// An item from the session's focus category (or another one now and then).
    fn pick_item(&self, rng: &mut ChaCha8Rng, focus: Option<u16>) -> u32 {
        let category = match focus {
            Some(c) if chance(rng, SESSION_FOCUS) => Some(c),
            _ => self.latent.draw_category(rng, self.explore),
        };
        category
            .and_then(|c| {
                self.catalog
                    .sample_item(rng, c, |item| self.latent.acceptance(item))
            })
            .unwrap_or_else(|| rng.random_range(0..self.catalog.items.len().max(1)) as u32)
    }
}

/// Session time: fractional seconds, capped at the end of the history.
struct Clock {
    /// Current time, Unix seconds.
    now: f64,
    /// The last timestamp handed out.
    last: i64,
    /// The latest timestamp allowed.
    last_second: i64,
}

impl Clock {
    /// The current time as a timestamp, never before the last one.
    fn stamp(&mut self) -> i64 {
        self.last = (self.now as i64).min(self.last_second).max(self.last);
        self.last
    }
}

/// How many of the `left` rows the next of `sessions` sessions takes.
fn session_rows(rng: &mut ChaCha8Rng, left: u64, sessions: u64) -> u64 {
    if sessions <= 1 {
        return left;
    }
    let mean = left as f64 / sessions as f64;
    let rows = (mean * (0.3 + 1.4 * rng.random::<f64>())).round() as u64;
    rows.min(left.saturating_sub(sessions - 1)).max(1).min(left)
}
