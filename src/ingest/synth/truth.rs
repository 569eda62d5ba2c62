//! The hidden ground truth a generated shop was drawn from, and the latent
//! model that answers "how much does this user like this item".
//!
//! Two files sit beside the CSVs:
//!
//! - `truth.jsonl`, one [`UserTruth`] per user: `{"user_id", "category_prefs":
//!   {category: weight} (one to five categories the user shops, weights sum
//!   to 1 up to 6-decimal rounding), "brand_prefs": {brand: weight} (up to
//!   three brands, sum 1),
//!   "price_level" (0..1, a price percentile within a category),
//!   "activity" (events per active hour relative to the mean user, mean 1),
//!   "open_propensity" and "click_propensity" (0..1), "best_hour" (0..23,
//!   local hour the user is most responsive)}`;
//! - `items_truth.jsonl`, one [`ItemTruth`] per item: `{"item_id",
//!   "category", "brand", "price_percentile" (0..1 within its category),
//!   "popularity" (Zipf-like, sums to 1 over the catalogue)}`.
//!
//! [`affinity`] is the preference the generator itself used: category share
//! (relative to the user's top category) × [`brand_factor`] × [`price_match`],
//! in `0..=1`. Users viewed items with probability proportional to affinity
//! times popularity, and carted/bought them more often the higher it was.
//! [`Truth`] loads both files and answers per-id queries for simulators.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::SynthError;

/// Width (in price percentiles) of a user's price comfort zone.
pub const PRICE_SIGMA: f64 = 0.2;
/// Brand factor of a brand the user has no affinity for.
pub const BRAND_FLOOR: f64 = 0.5;

/// One user's latent tastes and habits, a line of `truth.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTruth {
    /// The user's id in `users.csv`.
    pub user_id: String,
    /// Category → weight; sums to 1; absent categories weigh 0.
    pub category_prefs: BTreeMap<String, f64>,
    /// Brand → weight; sums to 1; absent brands weigh 0.
    pub brand_prefs: BTreeMap<String, f64>,
    /// Preferred price percentile within a category, `0..1`.
    pub price_level: f64,
    /// Events per active hour relative to the average user (mean 1).
    pub activity: f64,
    /// Probability of opening a push sent at the best hour.
    pub open_propensity: f64,
    /// Probability of clicking an opened push showing a perfectly liked item.
    pub click_propensity: f64,
    /// Local hour (0..23) at which the user is most active and responsive.
    pub best_hour: u8,
}

/// One item's latent attributes, a line of `items_truth.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemTruth {
    /// The item's id in `items.csv`.
    pub item_id: String,
    /// Its category.
    pub category: String,
    /// Its brand.
    pub brand: String,
    /// Rank of its price within its category, `0..1` (cheapest near 0).
    pub price_percentile: f64,
    /// Probability mass of the item in the catalogue-wide popularity (sums to 1).
    pub popularity: f64,
}

/// How well an item's price percentile suits a user's price level, `0..=1`.
pub fn price_match(price_percentile: f64, price_level: f64) -> f64 {
    let d = price_percentile - price_level;
    (-(d * d) / (2.0 * PRICE_SIGMA * PRICE_SIGMA)).exp()
}

/// The boost of a brand given its weight relative to the user's top brand, `0.5..=1`.
pub fn brand_factor(relative_brand_weight: f64) -> f64 {
    BRAND_FLOOR + (1.0 - BRAND_FLOOR) * relative_brand_weight.clamp(0.0, 1.0)
}

/// The latent preference from its parts (all relative to the user's maxima).
pub(crate) fn combine(category_share: f64, brand_share: f64, pct: f64, level: f64) -> f64 {
    category_share * brand_factor(brand_share) * price_match(pct, level)
}

/// How much `user` likes `item`, `0..=1` (1 = top category, top brand, ideal price).
pub fn affinity(user: &UserTruth, item: &ItemTruth) -> f64 {
    let category = relative(&user.category_prefs, &item.category);
    let brand = relative(&user.brand_prefs, &item.brand);
    combine(category, brand, item.price_percentile, user.price_level)
}

/// `key`'s weight divided by the largest weight in `weights` (0 if absent).
fn relative(weights: &BTreeMap<String, f64>, key: &str) -> f64 {
    let top = weights.values().copied().fold(0.0, f64::max);
    match weights.get(key) {
        Some(w) if top > 0.0 => w / top,
        _ => 0.0,
    }
}

/// How responsive a user is at `local_hour` relative to their best hour, `0.4..=1`.
pub fn hour_factor(best_hour: u8, local_hour: u32) -> f64 {
    let diff = (i64::from(best_hour) - i64::from(local_hour % 24)).rem_euclid(24);
    let distance = diff.min(24 - diff) as f64;
    0.4 + 0.6 * (-(distance * distance) / 8.0).exp()
}

/// The loaded ground truth of a generated shop.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// Users by id.
    users: BTreeMap<String, UserTruth>,
    /// Items by id.
    items: BTreeMap<String, ItemTruth>,
}

impl Truth {
    /// Loads `truth.jsonl` and `items_truth.jsonl` from a `gen-data` directory.
    pub fn load(dir: &Path) -> Result<Self, SynthError> {
        let users: Vec<UserTruth> = read_jsonl(&dir.join("truth.jsonl"))?;
        let items: Vec<ItemTruth> = read_jsonl(&dir.join("items_truth.jsonl"))?;
        Ok(Self {
            users: users.into_iter().map(|u| (u.user_id.clone(), u)).collect(),
            items: items.into_iter().map(|i| (i.item_id.clone(), i)).collect(),
        })
    }

    /// One user's truth.
    pub fn user(&self, user_id: &str) -> Option<&UserTruth> {
        self.users.get(user_id)
    }

    /// One item's truth.
    pub fn item(&self, item_id: &str) -> Option<&ItemTruth> {
        self.items.get(item_id)
    }

    /// Every user, in id order.
    pub fn users(&self) -> impl Iterator<Item = &UserTruth> {
        self.users.values()
    }

    /// Every item, in id order.
    pub fn items(&self) -> impl Iterator<Item = &ItemTruth> {
        self.items.values()
    }

    /// [`affinity`] of a user and an item, `None` if either id is unknown.
    pub fn preference(&self, user_id: &str, item_id: &str) -> Option<f64> {
        Some(affinity(self.user(user_id)?, self.item(item_id)?))
    }

    /// P(open | push delivered at `local_hour`) = open propensity × [`hour_factor`].
    pub fn open_probability(&self, user_id: &str, local_hour: u32) -> Option<f64> {
        let user = self.user(user_id)?;
        Some(user.open_propensity * hour_factor(user.best_hour, local_hour))
    }

    /// P(click | opened push showing the item) = click propensity × (0.1 + 0.9 × affinity).
    pub fn click_probability(&self, user_id: &str, item_id: &str) -> Option<f64> {
        let user = self.user(user_id)?;
        let item = self.item(item_id)?;
        Some(user.click_propensity * (0.1 + 0.9 * affinity(user, item)))
    }
}

/// Reads a JSON Lines file into values, naming the file and line on errors.
fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, SynthError> {
    let read_error = |source| SynthError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let mut values = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(read_error)?;
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(&line).map_err(|source| SynthError::Parse {
            path: path.to_path_buf(),
            line: index as u64 + 1,
            source,
        })?;
        values.push(value);
    }
    Ok(values)
}
