//! Precomputed lists: every user's top items, ranked once when a model is
//! trained, so a campaign over a million users reads a page of short
//! lists instead of loading the whole model and scoring each user.
//!
//! A list is exactly what live ranking would return for the user at the
//! end of the model's data: the same history (the model's snapshot), the
//! same segment, the same stock, [`LIST_ITEMS`] items at diversity
//! [`LIST_DIVERSITY`]. MMR picks greedily from a candidate pool that is the
//! same for every `n <= LIST_ITEMS`, so the first `n` items of a list are
//! the live answer for `n`. A campaign therefore uses a user's list only
//! when nothing it depends on has changed ([`ListsMeta::serves`], plus the
//! user's segment and the absence of newer events, checked by the
//! planner); anyone else is ranked live. Plans come out identical either
//! way, which keeps replays deterministic.

use super::catalog::Catalog;
use super::features::F;
use super::recommend::{RecommendOptions, Recommendation, Recommender, UserInput};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Items per precomputed list (campaigns asking for more rank live).
pub const LIST_ITEMS: usize = 5;
/// The diversity the lists are computed at (campaigns asking for another
/// rank live).
pub const LIST_DIVERSITY: f32 = 0.2;

/// What a model's lists assumed, stored with the model once every list is
/// written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListsMeta {
    /// Items per list.
    pub items: usize,
    /// MMR diversity.
    pub diversity: f32,
    /// Fingerprint of the catalogue's ids and stock ([`stock_fingerprint`]).
    pub stock: String,
    /// Events at or after this time (ms) were not in the histories.
    pub until_ms: i64,
}

impl ListsMeta {
    /// The description of lists computed now for `recommender`.
    pub fn of(recommender: &Recommender) -> Self {
        Self {
            items: LIST_ITEMS,
            diversity: LIST_DIVERSITY,
            stock: stock_fingerprint(&recommender.catalog),
            until_ms: recommender.snapshot.until_ms,
        }
    }

    /// Whether these lists answer a campaign asking for `options` while the
    /// catalogue is `current`.
    pub fn serves(&self, options: &RecommendOptions, current: &Catalog) -> bool {
        options.n <= self.items
            && options.diversity.to_bits() == self.diversity.to_bits()
            && stock_fingerprint(current) == self.stock
    }
}

/// The options lists are computed with.
pub fn list_options() -> RecommendOptions {
    RecommendOptions {
        n: LIST_ITEMS,
        diversity: LIST_DIVERSITY,
    }
}

/// A hash of every item id with its stock flag, in catalogue order: equal
/// fingerprints mean live ranking sees the same eligible items.
pub fn stock_fingerprint(catalog: &Catalog) -> String {
    let mut hash = Sha256::new();
    for (id, in_stock) in catalog.ids.iter().zip(&catalog.in_stock) {
        hash.update(id.as_bytes());
        hash.update([0, u8::from(*in_stock)]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One item of a stored list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListItem {
    /// The customer's item id.
    pub item_id: String,
    /// The blended score.
    pub score: f32,
    /// The reason in words.
    pub reason: String,
    /// The blend's feature row (what an exposure records).
    pub features: [f32; F],
}

/// One user's stored list and the segment it was ranked under.
#[derive(Debug, Clone, PartialEq)]
pub struct UserList {
    /// The segment the user was ranked in ([`super::dataset::NONE`] if none).
    pub segment: u32,
    /// Best first.
    pub items: Vec<ListItem>,
}

/// Why a stored list could not be read.
#[derive(Debug, thiserror::Error)]
#[error("a stored recommendation list is damaged ({0}); run `herald rank train` again")]
pub struct ListError(&'static str);

impl UserList {
    /// The list of `recs` ranked by `recommender` in `segment`.
    pub fn of(recommender: &Recommender, segment: u32, recs: &[Recommendation]) -> Self {
        let catalog = &recommender.catalog;
        Self {
            segment,
            items: recs
                .iter()
                .map(|r| ListItem {
                    item_id: catalog.ids[r.item as usize].clone(),
                    score: r.score,
                    reason: r.reason.text(catalog),
                    features: r.features,
                })
                .collect(),
        }
    }

    /// The bytes stored: segment, count, then per item its id, score,
    /// reason and features (little-endian, strings length-prefixed).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.items.len() * (16 + 4 * F + 48));
        out.extend_from_slice(&self.segment.to_le_bytes());
        out.push(self.items.len() as u8);
        for item in &self.items {
            put_str(&mut out, &item.item_id);
            out.extend_from_slice(&item.score.to_le_bytes());
            put_str(&mut out, &item.reason);
            for x in item.features {
                out.extend_from_slice(&x.to_le_bytes());
            }
        }
        out
    }

    /// Reads what [`UserList::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, ListError> {
        let mut r = Reader(bytes);
        let segment = u32::from_le_bytes(r.array()?);
        let count = r.array::<1>()?[0] as usize;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            let item_id = r.string()?;
            let score = f32::from_le_bytes(r.array()?);
            let reason = r.string()?;
            let mut features = [0f32; F];
            for x in &mut features {
                *x = f32::from_le_bytes(r.array()?);
            }
            items.push(ListItem {
                item_id,
                score,
                reason,
                features,
            });
        }
        if !r.0.is_empty() {
            return Err(ListError("trailing bytes"));
        }
        Ok(Self { segment, items })
    }
}

/// Appends a string with a 2-byte length (longer ones are cut at a char
/// boundary).
fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(u16::MAX as usize);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as u16).to_le_bytes());
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// A cursor over an encoded list.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ListError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(ListError("cut short"))?;
        self.0 = rest;
        Ok(*head)
    }

    fn string(&mut self) -> Result<String, ListError> {
        let len = u16::from_le_bytes(self.array()?) as usize;
        if self.0.len() < len {
            return Err(ListError("cut short"));
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(head.to_vec()).map_err(|_| ListError("not UTF-8"))
    }
}

/// The encoded lists of `users` (snapshot indices `first..`), ranked in
/// parallel with [`list_options`].
pub fn compute(recommender: &Recommender, first: u32, users: &[UserInput]) -> Vec<Vec<u8>> {
    let recs = recommender.recommend_many(first, users, &list_options());
    users
        .iter()
        .zip(&recs)
        .map(|(user, recs)| UserList::of(recommender, user.segment, recs).encode())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> UserList {
        UserList {
            segment: 3,
            items: vec![
                ListItem {
                    item_id: "sku-1".into(),
                    score: 0.75,
                    reason: "because you viewed Blue Mug ☕".into(),
                    features: [0.5; F],
                },
                ListItem {
                    item_id: "sku-22".into(),
                    score: -1.5,
                    reason: "popular in your segment".into(),
                    features: [0.0; F],
                },
            ],
        }
    }

    #[test]
    fn an_encoded_list_decodes_to_the_same_list() {
        let l = list();
        assert_eq!(UserList::decode(&l.encode()).unwrap(), l);
        let empty = UserList {
            segment: u32::MAX,
            items: Vec::new(),
        };
        assert_eq!(UserList::decode(&empty.encode()).unwrap(), empty);
    }

    #[test]
    fn a_truncated_or_padded_list_is_an_error_not_a_panic() {
        let bytes = list().encode();
        for cut in 0..bytes.len() {
            assert!(UserList::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(UserList::decode(&padded).is_err());
    }

    #[test]
    fn lists_serve_only_the_same_stock_diversity_and_at_most_their_length() {
        let catalog = Catalog {
            ids: vec!["a".into(), "b".into()],
            in_stock: vec![true, true],
            ..Catalog::default()
        };
        let meta = ListsMeta {
            items: LIST_ITEMS,
            diversity: LIST_DIVERSITY,
            stock: stock_fingerprint(&catalog),
            until_ms: 0,
        };
        let options = |n, diversity| RecommendOptions { n, diversity };
        assert!(meta.serves(&options(3, LIST_DIVERSITY), &catalog));
        assert!(meta.serves(&options(LIST_ITEMS, LIST_DIVERSITY), &catalog));
        assert!(!meta.serves(&options(LIST_ITEMS + 1, LIST_DIVERSITY), &catalog));
        assert!(!meta.serves(&options(3, 0.3), &catalog));
        let mut sold_out = catalog.clone();
        sold_out.in_stock[1] = false;
        assert!(!meta.serves(&options(3, LIST_DIVERSITY), &sold_out));
        let mut renamed = catalog.clone();
        renamed.ids[0] = "ab".into();
        renamed.ids[1] = String::new();
        assert!(!meta.serves(&options(3, LIST_DIVERSITY), &renamed));
    }
}
