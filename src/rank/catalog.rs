//! The item side of the data: ids, titles, category, tags (genres, or the
//! category alone), brand, price, stock and year, interned into dense
//! indices so models index plain vectors.

use super::dataset::NONE;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The item side: ids, titles and the attributes models use.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalog {
    /// Customer item ids, by dense index.
    pub ids: Vec<String>,
    /// Titles, for reasons ("because you viewed X").
    pub titles: Vec<String>,
    /// Category index per item ([`NONE`] if unknown).
    pub category: Vec<u32>,
    /// Tag indices per item: every genre, or the category alone.
    pub tags: Vec<Vec<u16>>,
    /// Names of categories.
    pub category_names: Vec<String>,
    /// Names of tags.
    pub tag_names: Vec<String>,
    /// Brand index per item ([`NONE`] if unknown).
    pub brand: Vec<u32>,
    /// Price per item (NaN if unknown).
    pub price: Vec<f32>,
    /// Whether the item can be recommended.
    pub in_stock: Vec<bool>,
    /// Release or creation year (NaN if unknown).
    pub year: Vec<f32>,
}

/// Attributes of one item, as read from the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemInput {
    /// The customer's id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: Option<String>,
    /// Extra tags (genres); the category is used when empty.
    pub tags: Vec<String>,
    /// Brand.
    pub brand: Option<String>,
    /// Price.
    pub price: Option<f64>,
    /// In stock.
    pub in_stock: bool,
    /// Release or creation year.
    pub year: Option<f64>,
}

/// Interns strings into dense indices.
#[derive(Default)]
struct Interner {
    /// Index by name.
    index: HashMap<String, u32>,
    /// Names by index.
    names: Vec<String>,
}

impl Interner {
    fn get(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.index.insert(name.to_owned(), i);
        self.names.push(name.to_owned());
        i
    }
}

impl Catalog {
    /// Builds a catalogue from items in any order (their order is kept).
    pub fn from_items(items: impl IntoIterator<Item = ItemInput>) -> Catalog {
        let (mut cats, mut tags, mut brands) = Default::default();
        let mut catalog = Catalog::default();
        for item in items {
            catalog.push(item, &mut cats, &mut tags, &mut brands);
        }
        catalog.category_names = cats.names;
        catalog.tag_names = tags.names;
        catalog
    }

    fn push(&mut self, item: ItemInput, c: &mut Interner, t: &mut Interner, b: &mut Interner) {
        let category = item.category.as_deref().filter(|s| !s.is_empty());
        self.category.push(category.map_or(NONE, |s| c.get(s)));
        let mut tags: Vec<u16> = item.tags.iter().map(|s| t.get(s) as u16).collect();
        if tags.is_empty()
            && let Some(cat) = category
        {
            tags.push(t.get(cat) as u16);
        }
        tags.sort_unstable();
        tags.dedup();
        self.tags.push(tags);
        let brand = item.brand.as_deref().filter(|s| !s.is_empty());
        self.brand.push(brand.map_or(NONE, |s| b.get(s)));
        self.price.push(item.price.map_or(f32::NAN, |p| p as f32));
        self.year.push(item.year.map_or(f32::NAN, |y| y as f32));
        self.in_stock.push(item.in_stock);
        self.ids.push(item.id);
        self.titles.push(item.title);
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Dense index by customer id.
    pub fn index(&self) -> HashMap<&str, u32> {
        self.ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i as u32))
            .collect()
    }

    /// A printable name: the title, or the id when untitled.
    pub fn name(&self, item: u32) -> &str {
        let i = item as usize;
        match self.titles.get(i) {
            Some(t) if !t.is_empty() => t,
            _ => self.ids.get(i).map_or("", String::as_str),
        }
    }

    /// Jaccard overlap of two items' tags, `0..=1`.
    pub fn tag_similarity(&self, a: u32, b: u32) -> f32 {
        let (x, y) = (&self.tags[a as usize], &self.tags[b as usize]);
        if x.is_empty() || y.is_empty() {
            return f32::from(self.category[a as usize] == self.category[b as usize]);
        }
        let common = x.iter().filter(|t| y.binary_search(t).is_ok()).count();
        common as f32 / (x.len() + y.len() - common) as f32
    }
}
