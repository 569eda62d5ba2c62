//! The product catalogue: categories, generated brands, items with
//! log-normal prices, a Zipf-like popularity over a random permutation, and
//! per-category alias tables so an item is drawn in O(1) without scanning.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;
use rand_distr::weighted::WeightedAliasIndex;

use super::SynthError;
use super::lexicon::{ADJECTIVES, CATEGORIES, CategorySpec, SYLLABLES};
use super::lifecycle::{DAY, Window};
use super::rng::{Stream, chance, lognormal, one_of, pick, pick_by, stream};
use super::truth::ItemTruth;
use super::write::{CsvSink, JsonLinesSink, rfc3339_string};

/// Exponent of the popularity power law (weight ∝ 1 / rank^0.9).
const ZIPF_EXPONENT: f64 = 0.9;
/// Share of items in stock.
const IN_STOCK: f64 = 0.92;
/// Rejection-sampling attempts before settling for the last candidate.
const MAX_TRIES: u32 = 48;

/// The header of `items.csv`.
pub(crate) const ITEMS_HEADER: [&str; 10] = [
    "item_id",
    "title",
    "category",
    "brand",
    "price",
    "currency",
    "url",
    "image_url",
    "in_stock",
    "created_at",
];

/// The whole catalogue, in memory (O(items)).
pub(crate) struct Catalog {
    /// Categories by index, with their brands, items and samplers.
    pub categories: Vec<Category>,
    /// Brands by index.
    pub brands: Vec<Brand>,
    /// Items by index.
    pub items: Vec<Item>,
}

/// One category of the catalogue.
pub(crate) struct Category {
    /// Its name, price range and title nouns.
    pub spec: &'static CategorySpec,
    /// Indices of its brands.
    pub brands: Vec<u32>,
    /// Indices of its items.
    pub items: Vec<u32>,
    /// Draws a position in `items` by popularity; `None` for an empty category.
    pub picker: Option<WeightedAliasIndex<f64>>,
    /// Total popularity of its items.
    pub mass: f64,
}

/// A generated brand, belonging to one category.
pub(crate) struct Brand {
    /// Unique name, e.g. `Lumora`.
    pub name: String,
    /// Price multiplier of the brand (premium brands above 1).
    pub tier: f64,
    /// Relative share of the category's items.
    pub weight: f64,
}

/// One catalogue item.
pub(crate) struct Item {
    /// `i0001`-style id.
    pub id: String,
    /// `Brand Adjective Noun`.
    pub title: String,
    /// Category index.
    pub category: u16,
    /// Brand index.
    pub brand: u32,
    /// Shelf price in USD.
    pub price: f64,
    /// Price formatted with two decimals.
    pub price_text: String,
    /// Rank of the price within the category, `0..1`.
    pub price_pct: f64,
    /// Share of the catalogue-wide popularity (sums to 1).
    pub popularity: f64,
    /// Whether the item can be bought.
    pub in_stock: bool,
    /// Creation time, Unix seconds, before the history.
    pub created_at: i64,
}

impl Catalog {
    /// Generates `count` items from the catalogue stream of `seed`.
    pub(crate) fn generate(seed: u64, count: u64, window: &Window) -> Result<Self, SynthError> {
        let mut rng = stream(seed, Stream::Catalog, 0);
        let (mut categories, brands) = make_brands(&mut rng);
        let shares: Vec<(usize, f64)> = CATEGORIES.iter().map(|c| c.share).enumerate().collect();
        let draw = ItemDraw {
            width: digits(count),
            shares: &shares,
            brands: &brands,
            window,
        };
        let mut items: Vec<Item> = (0..count)
            .map(|i| draw.item(&mut rng, i, &mut categories))
            .collect();
        assign_popularity(&mut rng, &mut items);
        for category in &mut categories {
            index_category(category, &mut items)?;
        }
        Ok(Self {
            categories,
            brands,
            items,
        })
    }

    /// Draws an item of `category` by popularity, kept with probability
    /// `accept(item)` (rejection sampling); `None` if the category is empty.
    pub(crate) fn sample_item(
        &self,
        rng: &mut ChaCha8Rng,
        category: u16,
        accept: impl Fn(&Item) -> f64,
    ) -> Option<u32> {
        let cat = self.categories.get(usize::from(category))?;
        let picker = cat.picker.as_ref()?;
        let mut chosen = None;
        for _ in 0..MAX_TRIES {
            let index = *cat.items.get(picker.sample(rng))?;
            chosen = Some(index);
            if rng.random::<f64>() < accept(&self.items[index as usize]) {
                break;
            }
        }
        chosen
    }

    /// Indices of the categories that have at least one item.
    pub(crate) fn live_categories(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.categories.len() as u16)
            .filter(|&c| self.categories[usize::from(c)].picker.is_some())
    }
}

/// Number of decimal digits of `n` (at least 1), the width of padded ids.
pub(crate) fn digits(n: u64) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// Every category with 5 to 15 brands of unique generated names.
fn make_brands(rng: &mut ChaCha8Rng) -> (Vec<Category>, Vec<Brand>) {
    let mut taken = HashSet::new();
    let mut brands = Vec::new();
    let mut categories = Vec::with_capacity(CATEGORIES.len());
    for spec in CATEGORIES {
        let count = rng.random_range(5..=15u32);
        let first = brands.len() as u32;
        for rank in 0..count {
            let name = brand_name(rng, &mut taken);
            let tier = lognormal(rng, 0.0, 0.35);
            let weight = 1.0 / f64::from(rank + 1).powf(1.1);
            brands.push(Brand { name, tier, weight });
        }
        let brand_ids = (first..first + count).collect();
        categories.push(Category {
            spec,
            brands: brand_ids,
            items: Vec::new(),
            picker: None,
            mass: 0.0,
        });
    }
    (categories, brands)
}

/// A pronounceable brand name not used before, e.g. `Zentorly`.
fn brand_name(rng: &mut ChaCha8Rng, taken: &mut HashSet<String>) -> String {
    let mut attempt = 0u32;
    loop {
        let syllables = rng.random_range(2..=3);
        let mut name: String = (0..syllables)
            .filter_map(|_| one_of(rng, SYLLABLES).copied())
            .collect();
        if attempt > 20 {
            name.push_str(&attempt.to_string());
        }
        let mut chars = name.chars();
        let name = match chars.next() {
            Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
            None => String::from("Brand"),
        };
        if taken.insert(name.clone()) {
            return name;
        }
        attempt += 1;
    }
}

/// What drawing one item needs besides the stream and the categories.
struct ItemDraw<'a> {
    /// Width of the zero-padded ids.
    width: usize,
    /// (category index, share of the catalogue).
    shares: &'a [(usize, f64)],
    /// All brands.
    brands: &'a [Brand],
    /// The history, which items predate.
    window: &'a Window,
}

impl ItemDraw<'_> {
    /// Item `index`: category by share, brand by weight, price, title, stock.
    fn item(&self, rng: &mut ChaCha8Rng, index: u64, categories: &mut [Category]) -> Item {
        let category = pick(rng, self.shares).unwrap_or(0);
        let cat = &mut categories[category];
        let brand = pick_by(rng, &cat.brands, |&b| self.brands[b as usize].weight)
            .copied()
            .unwrap_or(0);
        let brand_ref = &self.brands[brand as usize];
        let spread = lognormal(rng, 0.0, cat.spec.price_sigma);
        let price = shelf_price(cat.spec.median_price * brand_ref.tier * spread);
        let adjective = one_of(rng, ADJECTIVES).copied().unwrap_or("");
        let noun = one_of(rng, cat.spec.nouns).copied().unwrap_or("Thing");
        cat.items.push(index as u32);
        Item {
            id: format!("i{:0width$}", index + 1, width = self.width),
            title: format!("{} {adjective} {noun}", brand_ref.name),
            category: category as u16,
            brand,
            price,
            price_text: format!("{price:.2}"),
            price_pct: 0.0,
            popularity: 0.0,
            in_stock: chance(rng, IN_STOCK),
            created_at: self.window.start_ts - rng.random_range(DAY..730 * DAY),
        }
    }
}

/// A raw price rounded to a shelf price ending in 9 (`23.99`, `4.49`, `0.99` minimum).
fn shelf_price(raw: f64) -> f64 {
    let price = if raw >= 10.0 {
        raw.ceil() - 0.01
    } else {
        (raw * 10.0).ceil() / 10.0 - 0.01
    };
    price.max(0.99)
}

/// Zipf-like popularity over a random permutation of the items, summing to 1.
fn assign_popularity(rng: &mut ChaCha8Rng, items: &mut [Item]) {
    let mut ranks: Vec<u32> = (0..items.len() as u32).collect();
    ranks.shuffle(rng);
    let weight = |rank: u32| 1.0 / f64::from(rank + 1).powf(ZIPF_EXPONENT);
    let total: f64 = ranks.iter().map(|&r| weight(r)).sum();
    for (item, rank) in items.iter_mut().zip(ranks) {
        item.popularity = weight(rank) / total;
    }
}

/// Price percentiles, total mass and the popularity alias table of a category.
fn index_category(category: &mut Category, items: &mut [Item]) -> Result<(), SynthError> {
    if category.items.is_empty() {
        return Ok(());
    }
    let mut by_price: Vec<(f64, u32)> = category
        .items
        .iter()
        .map(|&i| (items[i as usize].price, i))
        .collect();
    by_price.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let n = by_price.len() as f64;
    for (position, &(_, i)) in by_price.iter().enumerate() {
        items[i as usize].price_pct = (position as f64 + 0.5) / n;
    }
    let weights: Vec<f64> = category
        .items
        .iter()
        .map(|&i| items[i as usize].popularity)
        .collect();
    category.mass = weights.iter().sum();
    let picker = WeightedAliasIndex::new(weights).map_err(|e| SynthError::Model(e.to_string()))?;
    category.picker = Some(picker);
    Ok(())
}

/// Writes `items.csv` and `items_truth.jsonl`.
pub(crate) fn write_items(catalog: &Catalog, dir: &Path) -> Result<Vec<PathBuf>, SynthError> {
    let mut csv = CsvSink::create(dir, "items.csv", &ITEMS_HEADER)?;
    let mut truth = JsonLinesSink::create(dir, "items_truth.jsonl")?;
    for item in &catalog.items {
        let category = catalog.categories[usize::from(item.category)].spec.name;
        let brand = &catalog.brands[item.brand as usize].name;
        let url = format!("https://shop.example.com/p/{}", item.id);
        let image = format!("https://img.example.com/p/{}.jpg", item.id);
        let created = rfc3339_string(item.created_at);
        let stock = if item.in_stock { "true" } else { "false" };
        csv.row([
            item.id.as_str(),
            &item.title,
            category,
            brand,
            &item.price_text,
            "USD",
            &url,
            &image,
            stock,
            &created,
        ])?;
        truth.write(&ItemTruth {
            item_id: item.id.clone(),
            category: category.to_string(),
            brand: brand.clone(),
            price_percentile: item.price_pct,
            popularity: item.popularity,
        })?;
    }
    Ok(vec![csv.finish()?, truth.finish()?])
}
