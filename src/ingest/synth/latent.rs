//! A user's hidden tastes: sparse category preferences, favourite brands,
//! price level, responsiveness and best hour, in the index-based form the
//! event loop needs; [`Latent::to_truth`] turns it into the published
//! [`UserTruth`].

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::catalog::{Catalog, Item};
use super::rng::{beta, chance, exponential, gamma, pick, rounded};
use super::truth::{UserTruth, brand_factor, combine, price_match};

/// Sum of the Dirichlet concentrations over categories: small, so most
/// users have one to three dominant categories.
const CONCENTRATION: f64 = 1.0;
/// At most this many categories per user; smaller weights are dropped.
const MAX_CATEGORIES: usize = 5;
const MIN_CATEGORY_WEIGHT: f64 = 0.05;
/// At most this many favourite brands.
const MAX_BRANDS: usize = 3;
/// Share of category draws that explore the whole catalogue instead.
pub(crate) const EXPLORE: f64 = 0.05;
/// Relative chance of each local hour being a user's best hour.
#[rustfmt::skip]
const BEST_HOUR_WEIGHTS: [f64; 24] = [
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 1.0, 1.5, 0.8, 0.6, 0.8,
    1.5, 1.2, 0.6, 0.5, 0.6, 0.8, 1.2, 1.8, 2.0, 1.8, 1.0, 0.3,
];

/// One user's latent model, indices into the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Latent {
    /// (category, weight), heaviest first; weights sum to 1.
    pub categories: Vec<(u16, f64)>,
    /// (brand, weight), heaviest first; weights sum to 1.
    pub brands: Vec<(u32, f64)>,
    /// Preferred price percentile, `0..1`.
    pub price_level: f64,
    /// P(open) at the best hour.
    pub open_propensity: f64,
    /// P(click | open) for a perfectly liked item.
    pub click_propensity: f64,
    /// Local hour of peak activity.
    pub best_hour: u8,
}

/// Draws a user's latent model; `live` lists (category, prior share) of
/// the non-empty categories.
pub(crate) fn draw_latent(rng: &mut ChaCha8Rng, catalog: &Catalog, live: &[(u16, f64)]) -> Latent {
    let categories = draw_categories(rng, live);
    let brands = draw_brands(rng, catalog, &categories);
    let hours: Vec<(u8, f64)> = (0..24u8).zip(BEST_HOUR_WEIGHTS).collect();
    Latent {
        categories,
        brands,
        price_level: rounded(beta(rng, 2.0, 2.0), 4),
        open_propensity: rounded(beta(rng, 2.0, 6.0), 4),
        click_propensity: rounded(beta(rng, 2.0, 5.0), 4),
        best_hour: pick(rng, &hours).unwrap_or(20),
    }
}

/// A sparse Dirichlet draw over the live categories, truncated and renormalised.
fn draw_categories(rng: &mut ChaCha8Rng, live: &[(u16, f64)]) -> Vec<(u16, f64)> {
    let total_share: f64 = live.iter().map(|(_, s)| s).sum();
    let mut drawn: Vec<(u16, f64)> = live
        .iter()
        .map(|&(c, share)| (c, gamma(rng, CONCENTRATION * share / total_share)))
        .collect();
    let sum: f64 = drawn.iter().map(|(_, w)| w).sum();
    drawn.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    if !(sum > 0.0 && sum.is_finite()) {
        drawn.truncate(1);
        return drawn.into_iter().map(|(c, _)| (c, 1.0)).collect();
    }
    let kept: Vec<(u16, f64)> = drawn
        .into_iter()
        .take(MAX_CATEGORIES)
        .enumerate()
        .filter(|&(rank, (_, w))| rank == 0 || w / sum >= MIN_CATEGORY_WEIGHT)
        .map(|(_, entry)| entry)
        .collect();
    normalise(kept)
}

/// One to three favourite brands, found by browsing the top categories.
fn draw_brands(
    rng: &mut ChaCha8Rng,
    catalog: &Catalog,
    categories: &[(u16, f64)],
) -> Vec<(u32, f64)> {
    let mut brands: Vec<(u32, f64)> = Vec::new();
    for &(category, weight) in categories.iter().take(2) {
        let picks = if chance(rng, 0.5) { 2 } else { 1 };
        for _ in 0..picks {
            let Some(item) = catalog.sample_item(rng, category, |_| 1.0) else {
                continue;
            };
            let brand = catalog.items[item as usize].brand;
            let w = weight * exponential(rng, 1.0);
            match brands.iter_mut().find(|(b, _)| *b == brand) {
                Some(entry) => entry.1 += w,
                None => brands.push((brand, w)),
            }
        }
    }
    brands.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    brands.truncate(MAX_BRANDS);
    normalise(brands)
}

/// Scales weights to sum to 1 (to 6 decimals), dropping non-positive ones.
fn normalise<T: Copy>(entries: Vec<(T, f64)>) -> Vec<(T, f64)> {
    let sum: f64 = entries.iter().map(|(_, w)| w.max(0.0)).sum();
    if sum <= 0.0 {
        return Vec::new();
    }
    entries
        .into_iter()
        .map(|(k, w)| (k, rounded(w / sum, 6)))
        .filter(|(_, w)| *w > 0.0)
        .collect()
}

impl Latent {
    /// Weight of `category` relative to the top category (0 if not shopped).
    pub(crate) fn category_share(&self, category: u16) -> f64 {
        relative(&self.categories, category)
    }

    /// Weight of `brand` relative to the top brand (0 if not a favourite).
    pub(crate) fn brand_share(&self, brand: u32) -> f64 {
        relative(&self.brands, brand)
    }

    /// The latent preference for an item, as [`super::truth::affinity`].
    pub(crate) fn preference(&self, item: &Item) -> f64 {
        let category = self.category_share(item.category);
        combine(
            category,
            self.brand_share(item.brand),
            item.price_pct,
            self.price_level,
        )
    }

    /// Within a category, how likely a popularity-drawn item is kept.
    pub(crate) fn acceptance(&self, item: &Item) -> f64 {
        brand_factor(self.brand_share(item.brand)) * price_match(item.price_pct, self.price_level)
    }

    /// A category to browse: from the preferences, or exploring by catalogue mass.
    pub(crate) fn draw_category(
        &self,
        rng: &mut ChaCha8Rng,
        explore: &[(u16, f64)],
    ) -> Option<u16> {
        if self.categories.is_empty() || rng.random::<f64>() < EXPLORE {
            return pick(rng, explore);
        }
        pick(rng, &self.categories)
    }

    /// The published form, with names instead of indices.
    pub(crate) fn to_truth(&self, user_id: &str, activity: f64, catalog: &Catalog) -> UserTruth {
        let category_name = |c: u16| catalog.categories[usize::from(c)].spec.name.to_string();
        UserTruth {
            user_id: user_id.to_string(),
            category_prefs: self
                .categories
                .iter()
                .map(|&(c, w)| (category_name(c), w))
                .collect(),
            brand_prefs: self
                .brands
                .iter()
                .map(|&(b, w)| (catalog.brands[b as usize].name.clone(), w))
                .collect(),
            price_level: self.price_level,
            activity,
            open_propensity: self.open_propensity,
            click_propensity: self.click_propensity,
            best_hour: self.best_hour,
        }
    }
}

/// `key`'s weight over the largest weight (the first entry) in a sorted list.
fn relative<K: PartialEq + Copy>(weights: &[(K, f64)], key: K) -> f64 {
    let Some(&(_, top)) = weights.first() else {
        return 0.0;
    };
    weights
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(0.0, |(_, w)| w / top)
}
