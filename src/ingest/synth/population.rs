//! The per-user pass: for every user, in order, draw the lifecycle, profile,
//! latent tastes, devices and events from the user's own streams and append
//! them to `users.csv`, `truth.jsonl`, `devices.csv` and `events.csv`.
//!
//! Nothing is kept between users except running counts, so memory does not
//! grow with the number of users or events (the catalogue is O(items)).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{Offset, TimeZone};
use chrono_tz::Tz;

use super::activity::{EVENTS_HEADER, Event, EventDraw, EventKind, HourCurve};
use super::catalog::{Catalog, digits};
use super::devices::{DEVICES_HEADER, draw_devices};
use super::geo::COUNTRIES;
use super::latent::draw_latent;
use super::lifecycle::{Allocator, Lifecycle, Window, draw_lifecycle, total_weight};
use super::people::{USERS_HEADER, draw_profile};
use super::rng::{Stream, stream};
use super::write::{CsvSink, JsonLinesSink, rfc3339};
use super::{GenParams, Stage, SynthError};

/// Users between two progress reports.
const PROGRESS_EVERY: u64 = 4_096;

/// The fixed inputs of the per-user pass.
pub(crate) struct Shop<'a> {
    /// What to generate.
    pub params: &'a GenParams,
    /// The event history.
    pub window: &'a Window,
    /// The catalogue the users shop in.
    pub catalog: &'a Catalog,
}

/// What the per-user pass wrote.
#[derive(Debug, Default)]
pub(crate) struct Written {
    /// Rows in `events.csv`.
    pub events: u64,
    /// Rows in `devices.csv`.
    pub devices: u64,
    /// The files, finished.
    pub files: Vec<PathBuf>,
}

/// The four output files of the pass.
struct Sinks {
    users: CsvSink,
    truth: JsonLinesSink,
    devices: CsvSink,
    events: CsvSink,
}

/// Lookups shared by all users, derived once from the shop.
struct Context<'a> {
    shop: &'a Shop<'a>,
    /// Width of the zero-padded user ids.
    width: usize,
    /// (category, prior share) of the non-empty categories.
    live: Vec<(u16, f64)>,
    /// (category, catalogue mass) of the non-empty categories, for exploration.
    explore: Vec<(u16, f64)>,
    /// UTC offset in minutes of every zone, at the end of the history.
    offsets: HashMap<&'static str, i32>,
}

/// Writes every user's rows; see the module doc.
pub(crate) fn write_population(
    shop: &Shop<'_>,
    dir: &Path,
    progress: &dyn Fn(Stage, u64),
) -> Result<Written, SynthError> {
    let ctx = Context::new(shop)?;
    let mut sinks = Sinks {
        users: CsvSink::create(dir, "users.csv", &USERS_HEADER)?,
        truth: JsonLinesSink::create(dir, "truth.jsonl")?,
        devices: CsvSink::create(dir, "devices.csv", &DEVICES_HEADER)?,
        events: CsvSink::create(dir, "events.csv", &EVENTS_HEADER)?,
    };
    let (seed, users) = (shop.params.seed, shop.params.users);
    let mut alloc = Allocator::new(shop.params.events, total_weight(seed, users, shop.window));
    let mut written = Written::default();
    for index in 0..users {
        let life = draw_lifecycle(seed, index, shop.window);
        let count = alloc.next(life.weight, index + 1 == users);
        ctx.write_user(&mut sinks, index, &life, count, &mut written)?;
        if (index + 1) % PROGRESS_EVERY == 0 || index + 1 == users {
            progress(Stage::Users, index + 1);
            progress(Stage::Events, written.events);
        }
    }
    for file in [
        sinks.users.finish()?,
        sinks.truth.finish()?,
        sinks.devices.finish()?,
        sinks.events.finish()?,
    ] {
        written.files.push(file);
    }
    Ok(written)
}

impl<'a> Context<'a> {
    fn new(shop: &'a Shop<'a>) -> Result<Self, SynthError> {
        let catalog = shop.catalog;
        let live: Vec<u16> = catalog.live_categories().collect();
        Ok(Self {
            shop,
            width: digits(shop.params.users),
            live: live
                .iter()
                .map(|&c| (c, catalog.categories[usize::from(c)].spec.share))
                .collect(),
            explore: live
                .iter()
                .map(|&c| (c, catalog.categories[usize::from(c)].mass))
                .collect(),
            offsets: zone_offsets(shop.window.end_ts)?,
        })
    }

    /// Draws user `index` and appends all its rows.
    fn write_user(
        &self,
        sinks: &mut Sinks,
        index: u64,
        life: &Lifecycle,
        count: u64,
        written: &mut Written,
    ) -> Result<(), SynthError> {
        let (seed, catalog, window) = (self.shop.params.seed, self.shop.catalog, self.shop.window);
        let mut rng = stream(seed, Stream::Profile, index);
        let profile = draw_profile(&mut rng, index, self.width);
        let latent = draw_latent(&mut rng, catalog, &self.live);
        sinks.users.row(profile.record(life.signup))?;
        sinks
            .truth
            .write(&latent.to_truth(&profile.id, life.activity, catalog))?;
        let mut rng = stream(seed, Stream::Devices, index);
        for device in draw_devices(&mut rng, profile.country, life.signup, window.last_second()) {
            let created = rfc3339(device.created_at);
            let platform = device.platform.as_str().as_bytes();
            let app_id = device.app_id().as_bytes();
            sinks.devices.row([
                profile.id.as_bytes(),
                platform,
                device.token.as_bytes(),
                app_id,
                &created,
            ])?;
            written.devices += 1;
        }
        let offset = self.offsets.get(profile.timezone).copied().unwrap_or(0);
        let curve = HourCurve::new(latent.best_hour, offset);
        let draw = EventDraw {
            catalog,
            latent: &latent,
            explore: &self.explore,
            curve: &curve,
            first_hour: life.first_hour,
            end_hour: window.end_hour,
        };
        let mut rng = stream(seed, Stream::Events, index);
        let user_id = profile.id.as_bytes();
        draw.run(&mut rng, count, &mut |event| {
            written.events += 1;
            write_event(&mut sinks.events, user_id, catalog, event)
        })
    }
}

/// Appends one `events.csv` row; carts and purchases carry the item price.
fn write_event(
    sink: &mut CsvSink,
    user_id: &[u8],
    catalog: &Catalog,
    event: Event,
) -> Result<(), SynthError> {
    let item = &catalog.items[event.item as usize];
    let value = match event.kind {
        EventKind::View => "",
        EventKind::Cart | EventKind::Purchase => item.price_text.as_str(),
    };
    let ts = rfc3339(event.ts);
    sink.row([
        user_id,
        item.id.as_bytes(),
        event.kind.as_str().as_bytes(),
        &ts,
        value.as_bytes(),
    ])
}

/// The UTC offset (minutes) of every zone in the world table at `at` (Unix seconds).
fn zone_offsets(at: i64) -> Result<HashMap<&'static str, i32>, SynthError> {
    let when = chrono::DateTime::from_timestamp(at, 0)
        .ok_or_else(|| SynthError::Model(format!("timestamp {at} out of range")))?
        .naive_utc();
    let mut offsets = HashMap::new();
    for zone in COUNTRIES.iter().flat_map(|c| c.zones) {
        let tz: Tz = zone
            .tz
            .parse()
            .map_err(|e| SynthError::Model(format!("zone {}: {e}", zone.tz)))?;
        let minutes = tz.offset_from_utc_datetime(&when).fix().local_minus_utc() / 60;
        offsets.insert(zone.tz, minutes);
    }
    Ok(offsets)
}
