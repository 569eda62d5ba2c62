//! Ranking: which items each user sees in a campaign.
//!
//! ```text
//!  store ──► Dataset (dense u32 users/items, folded interactions)
//!              │ split (user-temporal | random)       ──► eval: P/R/NDCG/MAP@k,
//!              ▼                                            coverage, diversity
//!  models: popularity, trending, item-kNN, content (bilinear, linfa-linear),
//!          EASE (small catalogues) or implicit ALS (large)
//!              │ per-user normalised scores + recency/segment signals
//!              ▼
//!  blend (linfa-logistic, trained on a validation split or click feedback)
//!              ▼
//!  candidates ─► exclude owned / out of stock ─► MMR diversity ─► reasons
//! ```
//!
//! Everything is plain data and deterministic for a seed; the store is read
//! by [`load`] only (and [`privacy`], which erases a user from stored
//! models), and fitted models are saved as versioned blobs.

pub mod blend;
pub mod candidates;
pub mod catalog;
pub mod compare;
pub mod dataset;
pub mod eval;
pub mod features;
pub mod hybrid;
pub mod linalg;
pub mod lists;
pub mod load;
pub mod metrics;
pub mod mmr;
pub mod models;
pub mod privacy;
pub mod reasons;
pub mod recommend;
pub mod split;
pub mod state;
pub mod tune;

pub use dataset::{
    Catalog, Dataset, DatasetBuilder, Interaction, ItemInput, RawEvent, Signal, Users,
};
pub use models::{Ranker, UserView};
pub use split::{Split, SplitKind};

/// Why ranking failed.
#[derive(Debug, thiserror::Error)]
pub enum RankError {
    /// A model cannot handle a catalogue this large.
    #[error("{model} cannot fit {items} items (use a scalable model)")]
    TooLarge {
        /// The model.
        model: &'static str,
        /// Active items.
        items: usize,
    },
    /// A numerical step failed.
    #[error("numerical failure: {0}")]
    Numeric(&'static str),
    /// A parameter is out of range.
    #[error("invalid ranking parameter `{name}`: {reason}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// There is nothing to learn from.
    #[error("no interactions to learn from (import events first)")]
    NoData,
    /// A stored model could not be decoded.
    #[error("stored ranking model is unreadable: {0}")]
    Decode(String),
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A regression (content model or blend) failed.
    #[error("regression failed: {0}")]
    Regression(String),
}
