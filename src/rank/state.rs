//! A compact binary encoding of a fitted model, for the `rank_models.state`
//! blob: little-endian numbers, length-prefixed sequences, a magic and a
//! format version up front. JSON would be ten times larger for the float
//! arrays that make up nearly all of a model.

use super::RankError;
use super::blend::Blend;
use super::dataset::{Catalog, Interaction, Signal};
use super::features::{BaseModels, Collab};
use super::models::als::Als;
use super::models::content::Content;
use super::models::ease::Ease;
use super::models::knn::ItemKnn;
use super::models::popularity::{Popularity, Trending};
use super::models::userknn::UserKnn;
use super::recommend::Snapshot;

/// First bytes of every state blob.
const MAGIC: &[u8; 8] = b"HRLDRNK4";
/// The magics of earlier formats (EASE without `min_support`, then without
/// `rated_weight`, then without `liked_weight` and `disliked_weight` and
/// a blend without the `available` feature): such a model is refused with
/// a hint to retrain.
const OLD_MAGICS: [&[u8; 8]; 3] = [b"HRLDRNK1", b"HRLDRNK2", b"HRLDRNK3"];

/// A value that can be written to and read from a state blob.
pub trait Codec: Sized {
    /// Appends the value.
    fn put(&self, out: &mut Vec<u8>);
    /// Reads a value.
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError>;
}

/// A cursor over a blob.
pub struct Reader<'a> {
    /// The remaining bytes.
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RankError> {
        if self.rest.len() < n {
            return Err(RankError::Decode("truncated model state".into()));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RankError> {
        let mut bytes = [0u8; N];
        bytes.copy_from_slice(self.take(N)?);
        Ok(bytes)
    }
}

macro_rules! number {
    ($($t:ty),*) => {$(
        impl Codec for $t {
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
                Ok(<$t>::from_le_bytes(input.array()?))
            }
        }
    )*};
}
number!(u16, u32, u64, f32, f64);

impl Codec for usize {
    fn put(&self, out: &mut Vec<u8>) {
        (*self as u64).put(out);
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        usize::try_from(u64::get(input)?).map_err(|_| RankError::Decode("size out of range".into()))
    }
}

impl Codec for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        Ok(input.take(1)?[0] != 0)
    }
}

impl Codec for String {
    fn put(&self, out: &mut Vec<u8>) {
        self.len().put(out);
        out.extend_from_slice(self.as_bytes());
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        let n = usize::get(input)?;
        String::from_utf8(input.take(n)?.to_vec()).map_err(|_| RankError::Decode("bad text".into()))
    }
}

impl<T: Codec> Codec for Vec<T> {
    fn put(&self, out: &mut Vec<u8>) {
        self.len().put(out);
        self.iter().for_each(|v| v.put(out));
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        let n = usize::get(input)?;
        if n > input.rest.len() {
            return Err(RankError::Decode("sequence longer than the blob".into()));
        }
        (0..n).map(|_| T::get(input)).collect()
    }
}

impl<A: Codec, B: Codec> Codec for (A, B) {
    fn put(&self, out: &mut Vec<u8>) {
        self.0.put(out);
        self.1.put(out);
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        Ok((A::get(input)?, B::get(input)?))
    }
}

impl<T: Codec> Codec for Option<T> {
    fn put(&self, out: &mut Vec<u8>) {
        self.is_some().put(out);
        if let Some(v) = self {
            v.put(out);
        }
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        Ok(if bool::get(input)? {
            Some(T::get(input)?)
        } else {
            None
        })
    }
}

/// Implements [`Codec`] for a struct field by field.
macro_rules! fields {
    ($t:ty { $($f:ident),* $(,)? }) => {
        impl Codec for $t {
            fn put(&self, out: &mut Vec<u8>) {
                $(self.$f.put(out);)*
            }
            fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
                Ok(Self { $($f: Codec::get(input)?),* })
            }
        }
    };
}

fields!(Ease {
    lambda,
    half_life,
    local_weight,
    window,
    min_support,
    rated_weight,
    liked_weight,
    disliked_weight,
    slot,
    items,
    weights
});
fields!(Als {
    factors,
    lambda,
    alpha,
    iterations,
    seed,
    item_factors,
    gram
});
fields!(ItemKnn {
    neighbours,
    half_life,
    rp3_beta,
    window,
    offsets,
    items,
    sims
});
fields!(UserKnn {
    neighbours,
    offsets,
    users,
    user_offsets,
    items
});
fields!(Popularity {
    half_life_days,
    global,
    by_segment
});
fields!(Trending {
    window_days,
    first_day,
    days,
    prefix
});
fields!(Content {
    seed,
    tag_slot,
    tags,
    segments,
    price_buckets,
    price_pct,
    item_y,
    weights
});
fields!(Blend { weights, intercept });
fields!(Catalog {
    ids,
    titles,
    category,
    tags,
    category_names,
    tag_names,
    brand,
    price,
    in_stock,
    year
});
fields!(BaseModels {
    collab,
    knn,
    user_knn,
    popularity,
    trend_short,
    trend_long,
    content,
    first_seen,
    tops,
    trend_top,
    by_tag,
    tags,
    half_life,
    latest,
    max_popularity,
    per_source
});

fields!(Snapshot {
    user_ids,
    offsets,
    entries,
    until_ms
});

impl Codec for Interaction {
    fn put(&self, out: &mut Vec<u8>) {
        self.item.put(out);
        self.t.put(out);
        out.push(self.signal as u8);
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        let (item, t) = (u32::get(input)?, u32::get(input)?);
        let signal = match input.take(1)?[0] {
            0 => Signal::View,
            1 => Signal::Rated,
            2 => Signal::Cart,
            3 => Signal::Purchase,
            4 => Signal::Liked,
            5 => Signal::Loved,
            6 => Signal::Disliked,
            other => return Err(RankError::Decode(format!("unknown signal {other}"))),
        };
        Ok(Interaction { item, t, signal })
    }
}

impl Codec for i64 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        Ok(i64::from_le_bytes(input.array()?))
    }
}

impl Codec for Collab {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Collab::Ease(m) => {
                0u32.put(out);
                m.put(out);
            }
            Collab::Als(m) => {
                1u32.put(out);
                m.put(out);
            }
        }
    }
    fn get(input: &mut Reader<'_>) -> Result<Self, RankError> {
        match u32::get(input)? {
            0 => Ok(Collab::Ease(Ease::get(input)?)),
            1 => Ok(Collab::Als(Als::get(input)?)),
            other => Err(RankError::Decode(format!(
                "unknown collaborative model {other}"
            ))),
        }
    }
}

/// Encodes a fitted hybrid's parts without copying them.
pub fn encode_model(
    base: &BaseModels,
    blend: &Blend,
    catalog: &Catalog,
    snapshot: &Snapshot,
) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    base.put(&mut out);
    blend.put(&mut out);
    catalog.put(&mut out);
    snapshot.put(&mut out);
    out
}

/// Decodes what [`encode_model`] wrote.
pub fn decode_model(bytes: &[u8]) -> Result<(BaseModels, Blend, Catalog, Snapshot), RankError> {
    let (base, (blend, (catalog, snapshot))) = decode(bytes)?;
    Ok((base, blend, catalog, snapshot))
}

/// Encodes a value behind the magic header.
pub fn encode<T: Codec>(value: &T) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    value.put(&mut out);
    out
}

/// Decodes a value written by [`encode`].
pub fn decode<T: Codec>(bytes: &[u8]) -> Result<T, RankError> {
    if OLD_MAGICS.iter().any(|m| bytes.starts_with(*m)) {
        return Err(RankError::Decode(
            "the model was stored by an older herald; run `herald rank train` again".into(),
        ));
    }
    let Some(rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        return Err(RankError::Decode(
            "not a herald ranking model (bad magic)".into(),
        ));
    };
    let mut reader = Reader { rest };
    let value = T::get(&mut reader)?;
    if !reader.rest.is_empty() {
        return Err(RankError::Decode("trailing bytes after the model".into()));
    }
    Ok(value)
}
