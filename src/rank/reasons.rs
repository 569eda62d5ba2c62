//! A short reason per recommendation, from the blend feature that
//! contributed most: "similar to X you bought", "because you viewed X",
//! "popular in your segment", "trending", "new arrival", "matches your
//! taste in Y". The "X" is the history item most similar to the
//! recommended one under item-kNN.

use super::blend::Blend;
use super::dataset::{Catalog, NONE, Signal};
use super::features::BaseModels;
use super::hybrid::Scored;
use super::models::UserView;
use serde::Serialize;

/// Why an item was recommended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Reason {
    /// Close to something the user bought or liked.
    SimilarTo {
        /// The history item.
        item: u32,
        /// The user's signal on it.
        signal: Signal,
    },
    /// Close to something the user viewed or carted.
    BecauseViewed(u32),
    /// Personal collaborative score without a single anchor item.
    ForYou,
    /// Popular among the user's segment.
    PopularInSegment,
    /// Popular overall (no segment known).
    Popular,
    /// Many recent interactions.
    Trending,
    /// Recently added to the catalogue.
    New,
    /// Fits the user's favourite tag.
    Taste(u16),
}

impl Reason {
    /// The reason in words, naming items by title.
    pub fn text(&self, catalog: &Catalog) -> String {
        match self {
            Reason::SimilarTo { item, signal } => {
                let verb = match signal {
                    Signal::Liked | Signal::Loved | Signal::Rated | Signal::Disliked => "liked",
                    _ => "bought",
                };
                format!("similar to {} you {verb}", catalog.name(*item))
            }
            Reason::BecauseViewed(item) => format!("because you viewed {}", catalog.name(*item)),
            Reason::ForYou => "picked for you".into(),
            Reason::PopularInSegment => "popular in your segment".into(),
            Reason::Popular => "popular right now".into(),
            Reason::Trending => "trending".into(),
            Reason::New => "new arrival".into(),
            Reason::Taste(tag) => {
                let name = catalog
                    .tag_names
                    .get(*tag as usize)
                    .map_or("", String::as_str);
                format!("matches your taste in {name}")
            }
        }
    }
}

/// Feature groups, by index into [`super::features::FEATURES`].
const PERSONAL: [usize; 6] = [0, 1, 2, 9, 10, 11];
const POPULAR: [usize; 2] = [3, 6];
const TRENDING: [usize; 2] = [4, 5];
const CONTENT: usize = 7;
const FRESH: usize = 8;

/// Explains one scored item for a user.
pub fn explain(scored: &Scored, blend: &Blend, base: &BaseModels, user: &UserView<'_>) -> Reason {
    let c = blend.contributions(&scored.features);
    let sum = |idx: &[usize]| {
        idx.iter()
            .map(|&i| c.get(i).copied().unwrap_or(0.0))
            .sum::<f32>()
    };
    let groups = [
        (sum(&PERSONAL), 0),
        (sum(&POPULAR), 1),
        (sum(&TRENDING), 2),
        (sum(&[CONTENT]), 3),
        (sum(&[FRESH]), 4),
    ];
    let best = groups
        .iter()
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
        .map_or(1, |g| g.1);
    match best {
        0 => anchored(scored.item, base, user),
        2 => Reason::Trending,
        3 => favourite_tag(scored.item, base, user).map_or(Reason::ForYou, Reason::Taste),
        4 => Reason::New,
        _ if user.segment != NONE => Reason::PopularInSegment,
        _ => Reason::Popular,
    }
}

/// "Similar to X" / "because you viewed X", or a plain personal reason.
fn anchored(item: u32, base: &BaseModels, user: &UserView<'_>) -> Reason {
    match base.knn.because(user.history, item) {
        Some((anchor, _)) => {
            let signal = user
                .history
                .iter()
                .find(|e| e.item == anchor)
                .map_or(Signal::View, |e| e.signal);
            match signal {
                Signal::View | Signal::Cart => Reason::BecauseViewed(anchor),
                _ => Reason::SimilarTo {
                    item: anchor,
                    signal,
                },
            }
        }
        None if user.history.is_empty() => Reason::Popular,
        None => Reason::ForYou,
    }
}

/// The item's tag the user interacted with most.
fn favourite_tag(item: u32, base: &BaseModels, user: &UserView<'_>) -> Option<u16> {
    let tags = base.tags.get(item as usize)?;
    tags.iter()
        .map(|&t| {
            (
                t,
                user.history
                    .iter()
                    .filter(|e| base.tags[e.item as usize].contains(&t))
                    .count(),
            )
        })
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(t, _)| t)
}
