//! The feature pipeline's first half: raw per-user features computed from
//! the store. One row per user, one column per [`Feature`]; a missing value
//! is `NaN` and is filled by [`super::pipeline`].
//!
//! Columns, in order:
//! - RFM: `recency_days` (since the last event), `frequency` (purchases,
//!   log1p), `monetary` (purchase revenue, log1p), `activity` (all events,
//!   log1p);
//! - `price_level`: how expensive the user's items are relative to their
//!   category (mean of log(user's mean price / category median price));
//! - `share:<category>`: share of the user's events in each of the top
//!   categories; `brand:<brand>` the same for the top brands, and
//!   `brand_loyalty`: the share of the user's events on their own most
//!   frequent brand;
//! - `engagement:<channel>`: opened or clicked messages per message sent;
//! - demographics: `age`, `gender:f`, `gender:m`, `country:<code>` for the
//!   top countries; devices: `platform:ios`, `platform:android`.

use crate::store::{Store, StoreError};
use ndarray::Array2;
use std::collections::HashMap;

/// How many categories and countries get their own column.
const TOP_CATEGORIES: usize = 8;
const TOP_BRANDS: usize = 5;
const TOP_COUNTRIES: usize = 6;
const MILLIS_PER_DAY: f64 = 86_400_000.0;

/// What a feature column measures, which decides how it is filled and how
/// a centroid is put into words.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Feature {
    /// Days since the last event.
    Recency,
    /// Purchases (log1p).
    Frequency,
    /// Purchase revenue (log1p).
    Monetary,
    /// Events of any kind (log1p).
    Activity,
    /// Price level relative to the category (log ratio).
    PriceLevel,
    /// Share of events in one category.
    CategoryShare(String),
    /// Share of events on one brand.
    BrandShare(String),
    /// Share of events on the user's most frequent brand.
    BrandLoyalty,
    /// Opens or clicks per message on one channel.
    Engagement(String),
    /// Age in years.
    Age,
    /// Whether the recorded gender is this one (`f` or `m`).
    Gender(String),
    /// Whether the user lives in this country.
    Country(String),
    /// Share of the user's active devices on this platform.
    Platform(String),
}

impl Feature {
    /// How much the column counts in k-means distances: behaviour fully,
    /// engagement a little less, demographics and platforms about half.
    pub fn weight(&self) -> f64 {
        match self {
            Feature::Recency
            | Feature::Frequency
            | Feature::Monetary
            | Feature::Activity
            | Feature::PriceLevel
            | Feature::CategoryShare(_) => 1.0,
            Feature::BrandShare(_) | Feature::BrandLoyalty => 0.7,
            Feature::Engagement(_) => 0.7,
            Feature::Age | Feature::Platform(_) => 0.5,
            Feature::Gender(_) | Feature::Country(_) => 0.35,
        }
    }

    /// The column name, e.g. `share:electronics`.
    pub fn name(&self) -> String {
        match self {
            Feature::Recency => "recency_days".into(),
            Feature::Frequency => "frequency".into(),
            Feature::Monetary => "monetary".into(),
            Feature::Activity => "activity".into(),
            Feature::PriceLevel => "price_level".into(),
            Feature::CategoryShare(c) => format!("share:{c}"),
            Feature::BrandShare(b) => format!("brand:{b}"),
            Feature::BrandLoyalty => "brand_loyalty".into(),
            Feature::Engagement(c) => format!("engagement:{c}"),
            Feature::Age => "age".into(),
            Feature::Gender(g) => format!("gender:{g}"),
            Feature::Country(c) => format!("country:{c}"),
            Feature::Platform(p) => format!("platform:{p}"),
        }
    }
}

/// Raw features of every user.
#[derive(Debug, Clone)]
pub struct RawFeatures {
    /// The users, one per row, in id order.
    pub user_ids: Vec<String>,
    /// The columns.
    pub features: Vec<Feature>,
    /// Values; `NaN` where unknown.
    pub values: Array2<f64>,
}

/// Everything read from the store, keyed by user.
struct Facts {
    profiles: Vec<crate::store::ProfileRow>,
    activity: HashMap<String, crate::store::ActivityRow>,
    categories: Vec<crate::store::CategoryRow>,
    brands: Vec<crate::store::CountRow>,
    devices: Vec<crate::store::CountRow>,
    sends: Vec<crate::store::CountRow>,
    engagement: Vec<crate::store::CountRow>,
}

async fn read_facts(store: &Store) -> Result<Facts, StoreError> {
    let activity = store.activity_rows().await?;
    Ok(Facts {
        profiles: store.profile_rows().await?,
        activity: activity
            .into_iter()
            .map(|a| (a.user_id.clone(), a))
            .collect(),
        categories: store.category_rows().await?,
        brands: store.brand_rows().await?,
        devices: store.device_rows().await?,
        sends: store.send_rows().await?,
        engagement: store.engagement_rows().await?,
    })
}

/// Computes raw features for every user as of `now` (milliseconds).
pub async fn compute(store: &Store, now: i64) -> Result<RawFeatures, StoreError> {
    let facts = read_facts(store).await?;
    Ok(assemble(&facts, now))
}

fn top_labels<'a>(labels: impl Iterator<Item = (&'a str, i64)>, n: usize) -> Vec<String> {
    let mut totals: HashMap<&str, i64> = HashMap::new();
    for (label, count) in labels {
        *totals.entry(label).or_default() += count;
    }
    let mut sorted: Vec<(&str, i64)> = totals.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    sorted
        .into_iter()
        .take(n)
        .map(|(l, _)| l.to_owned())
        .collect()
}

fn columns(facts: &Facts) -> Vec<Feature> {
    let cats = top_labels(
        facts
            .categories
            .iter()
            .map(|c| (c.category.as_str(), c.events)),
        TOP_CATEGORIES,
    );
    let countries = top_labels(
        facts
            .profiles
            .iter()
            .filter_map(|p| p.country.as_deref().map(|c| (c, 1))),
        TOP_COUNTRIES,
    );
    let mut features = vec![
        Feature::Recency,
        Feature::Frequency,
        Feature::Monetary,
        Feature::Activity,
        Feature::PriceLevel,
    ];
    features.extend(cats.into_iter().map(Feature::CategoryShare));
    let brands = top_labels(
        facts.brands.iter().map(|b| (b.label.as_str(), b.count)),
        TOP_BRANDS,
    );
    features.extend(brands.into_iter().map(Feature::BrandShare));
    features.push(Feature::BrandLoyalty);
    features.extend(["push", "email", "sms"].map(|c| Feature::Engagement(c.into())));
    features.push(Feature::Age);
    features.extend(["f", "m"].map(|g| Feature::Gender(g.into())));
    features.extend(countries.into_iter().map(Feature::Country));
    features.extend(["ios", "android"].map(|p| Feature::Platform(p.into())));
    features
}

fn assemble(facts: &Facts, now: i64) -> RawFeatures {
    let features = columns(facts);
    let index: HashMap<&str, usize> = facts
        .profiles
        .iter()
        .enumerate()
        .map(|(i, p)| (p.user_id.as_str(), i))
        .collect();
    let col: HashMap<String, usize> = features
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name(), i))
        .collect();
    let mut values = Array2::from_elem((facts.profiles.len(), features.len()), f64::NAN);
    fill_profiles(facts, &col, &mut values);
    fill_activity(facts, &index, &col, now, &mut values);
    fill_categories(facts, &index, &col, &mut values);
    fill_brands(facts, &index, &col, &mut values);
    fill_counts(facts, &index, &col, &mut values);
    RawFeatures {
        user_ids: facts.profiles.iter().map(|p| p.user_id.clone()).collect(),
        features,
        values,
    }
}

fn fill_profiles(facts: &Facts, col: &HashMap<String, usize>, values: &mut Array2<f64>) {
    for (row, p) in facts.profiles.iter().enumerate() {
        values[[row, col["age"]]] = p.age.map_or(f64::NAN, f64::from);
        let gender = p.gender.as_deref().map(|g| g.to_ascii_lowercase());
        for g in ["f", "m"] {
            let known = gender
                .as_deref()
                .is_some_and(|x| matches!(x, "f" | "m" | "female" | "male"));
            let is = gender.as_deref().is_some_and(|x| x.starts_with(g));
            values[[row, col[&format!("gender:{g}")]]] = if known {
                f64::from(u8::from(is))
            } else {
                f64::NAN
            };
        }
        for (name, &c) in col.iter().filter(|(n, _)| n.starts_with("country:")) {
            let is = p.country.as_deref() == Some(&name["country:".len()..]);
            values[[row, c]] = f64::from(u8::from(is));
        }
    }
}

fn fill_activity(
    facts: &Facts,
    index: &HashMap<&str, usize>,
    col: &HashMap<String, usize>,
    now: i64,
    values: &mut Array2<f64>,
) {
    for row in 0..values.nrows() {
        for name in ["frequency", "monetary", "activity"] {
            values[[row, col[name]]] = 0.0;
        }
    }
    for a in facts.activity.values() {
        let Some(&row) = index.get(a.user_id.as_str()) else {
            continue;
        };
        values[[row, col["recency_days"]]] = ((now - a.last_ts) as f64 / MILLIS_PER_DAY).max(0.0);
        values[[row, col["frequency"]]] = (a.purchases as f64).ln_1p();
        values[[row, col["monetary"]]] = a.revenue.max(0.0).ln_1p();
        values[[row, col["activity"]]] = (a.events as f64).ln_1p();
    }
}

/// Category shares, and the price level as the event-weighted mean of
/// log(user's mean price in a category / that category's median price).
fn fill_categories(
    facts: &Facts,
    index: &HashMap<&str, usize>,
    col: &HashMap<String, usize>,
    values: &mut Array2<f64>,
) {
    let medians = category_medians(&facts.categories);
    let mut totals: HashMap<&str, (i64, f64, i64)> = HashMap::new();
    for c in &facts.categories {
        let entry = totals.entry(c.user_id.as_str()).or_default();
        entry.0 += c.events;
        if let (Some(price), Some(median)) = (c.mean_price, medians.get(c.category.as_str()))
            && price > 0.0
            && *median > 0.0
        {
            entry.1 += (price / median).ln() * c.events as f64;
            entry.2 += c.events;
        }
    }
    let share_columns: Vec<usize> = col
        .iter()
        .filter(|(name, _)| name.starts_with("share:"))
        .map(|(_, &c)| c)
        .collect();
    for (&user, &row) in index {
        let start = if totals.contains_key(user) {
            0.0
        } else {
            f64::NAN
        };
        for &c in &share_columns {
            values[[row, c]] = start;
        }
    }
    for c in &facts.categories {
        let (Some(&row), Some(&(events, ..))) = (
            index.get(c.user_id.as_str()),
            totals.get(c.user_id.as_str()),
        ) else {
            continue;
        };
        if let Some(&column) = col.get(&format!("share:{}", c.category)) {
            values[[row, column]] = c.events as f64 / events.max(1) as f64;
        }
    }
    for (user, (_, sum, n)) in totals {
        if let (Some(&row), true) = (index.get(user), n > 0) {
            values[[row, col["price_level"]]] = sum / n as f64;
        }
    }
}

/// Brand shares of the top brands and each user's loyalty to their own
/// favourite brand; users without branded events stay missing.
fn fill_brands(
    facts: &Facts,
    index: &HashMap<&str, usize>,
    col: &HashMap<String, usize>,
    values: &mut Array2<f64>,
) {
    let totals = totals_by_user(&facts.brands);
    let mut favourite: HashMap<&str, i64> = HashMap::new();
    for b in &facts.brands {
        let best = favourite.entry(b.user_id.as_str()).or_default();
        *best = (*best).max(b.count);
    }
    let brand_columns: Vec<usize> = col
        .iter()
        .filter(|(n, _)| n.starts_with("brand:"))
        .map(|(_, &c)| c)
        .collect();
    for (user, &total) in &totals {
        let Some(&row) = index.get(user) else {
            continue;
        };
        brand_columns.iter().for_each(|&c| values[[row, c]] = 0.0);
        values[[row, col["brand_loyalty"]]] = favourite[user] as f64 / total.max(1) as f64;
    }
    for b in &facts.brands {
        if let (Some(&row), Some(&c)) = (
            index.get(b.user_id.as_str()),
            col.get(&format!("brand:{}", b.label)),
        ) {
            values[[row, c]] = b.count as f64 / totals[b.user_id.as_str()].max(1) as f64;
        }
    }
}

/// Median of the per-user mean prices seen in each category.
fn category_medians(rows: &[crate::store::CategoryRow]) -> HashMap<&str, f64> {
    let mut prices: HashMap<&str, Vec<f64>> = HashMap::new();
    for r in rows {
        if let Some(p) = r.mean_price.filter(|p| p.is_finite()) {
            prices.entry(r.category.as_str()).or_default().push(p);
        }
    }
    prices
        .into_iter()
        .map(|(c, mut v)| {
            v.sort_by(f64::total_cmp);
            (c, v[v.len() / 2])
        })
        .collect()
}

fn fill_counts(
    facts: &Facts,
    index: &HashMap<&str, usize>,
    col: &HashMap<String, usize>,
    values: &mut Array2<f64>,
) {
    let platform_totals = totals_by_user(&facts.devices);
    for d in &facts.devices {
        if let (Some(&row), Some(&c)) = (
            index.get(d.user_id.as_str()),
            col.get(&format!("platform:{}", d.label)),
        ) {
            values[[row, c]] = d.count as f64 / platform_totals[d.user_id.as_str()] as f64;
        }
    }
    for row in 0..values.nrows() {
        for p in ["ios", "android"] {
            let c = col[&format!("platform:{p}")];
            if values[[row, c]].is_nan() {
                values[[row, c]] = 0.0;
            }
        }
    }
    let sends: HashMap<(&str, &str), i64> = facts
        .sends
        .iter()
        .map(|s| ((s.user_id.as_str(), s.label.as_str()), s.count))
        .collect();
    for s in &facts.sends {
        if let (Some(&row), Some(&c)) = (
            index.get(s.user_id.as_str()),
            col.get(&format!("engagement:{}", s.label)),
        ) {
            values[[row, c]] = 0.0;
        }
    }
    for e in &facts.engagement {
        let sent = sends
            .get(&(e.user_id.as_str(), e.label.as_str()))
            .copied()
            .unwrap_or(0);
        if let (Some(&row), Some(&c), true) = (
            index.get(e.user_id.as_str()),
            col.get(&format!("engagement:{}", e.label)),
            sent > 0,
        ) {
            values[[row, c]] = (e.count as f64 / sent as f64).min(1.0);
        }
    }
}

fn totals_by_user(rows: &[crate::store::CountRow]) -> HashMap<&str, i64> {
    let mut totals = HashMap::new();
    for r in rows {
        *totals.entry(r.user_id.as_str()).or_default() += r.count;
    }
    totals
}
