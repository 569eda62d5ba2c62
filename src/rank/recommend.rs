//! Serving: a fitted hybrid plus the catalogue it was fitted on. For one
//! user it ranks the eligible items (in stock, not bought or rated),
//! diversifies the head with MMR and attaches a reason to each pick. Users
//! without history get their segment's popular items (cold start).

use super::blend::Blend;
use super::dataset::{Catalog, Dataset, Interaction, NONE};
use super::features::{F, Scratch};
use super::hybrid::{Hybrid, HybridParams};
use super::linalg::par_chunks_mut;
use super::mmr::mmr;
use super::models::UserView;
use super::reasons::{Reason, explain};
use super::state::{decode_model, encode_model};
use super::{RankError, candidates};

/// How many items to return and how much variety to ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecommendOptions {
    /// Items per user.
    pub n: usize,
    /// `0` = pure relevance, `1` = as varied as possible (MMR `1 - lambda`).
    pub diversity: f32,
}

impl Default for RecommendOptions {
    fn default() -> Self {
        Self {
            n: 10,
            diversity: 0.2,
        }
    }
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// Dense item index in the recommender's catalogue.
    pub item: u32,
    /// Blended score.
    pub score: f32,
    /// Why.
    pub reason: Reason,
    /// The blend's input features (what the exposure records).
    pub features: [f32; F],
}

/// A fitted model with its catalogue.
#[derive(Debug, Clone)]
pub struct Recommender {
    /// The model.
    pub model: Hybrid,
    /// The catalogue the model's item indices refer to.
    pub catalog: Catalog,
    /// Every user's history at training time.
    pub snapshot: Snapshot,
}

/// Every user's folded history when the model was trained, saved with it so
/// a batch run over all users reads only the events that came later.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// User ids, by snapshot index.
    pub user_ids: Vec<String>,
    /// `offsets[u]..offsets[u + 1]` indexes `entries`.
    pub offsets: Vec<u64>,
    /// The folded interactions.
    pub entries: Vec<Interaction>,
    /// Events at or after this time (milliseconds) are not in the snapshot
    /// for sure; read them from the store.
    pub until_ms: i64,
}

impl Snapshot {
    /// The histories of a dataset.
    pub fn of(data: &Dataset) -> Self {
        let (offsets, entries) = data.csr();
        Self {
            user_ids: data.users.ids.clone(),
            offsets: offsets.iter().map(|&o| o as u64).collect(),
            entries: entries.to_vec(),
            until_ms: i64::from(data.latest()) * 1000,
        }
    }

    /// History of snapshot user `u`.
    pub fn history(&self, u: usize) -> &[Interaction] {
        match (self.offsets.get(u), self.offsets.get(u + 1)) {
            (Some(&a), Some(&b)) => self.entries.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// A user to recommend for: history, segment and the moment.
#[derive(Debug, Clone)]
pub struct UserInput {
    /// Folded history, oldest first.
    pub history: Vec<Interaction>,
    /// Segment ([`NONE`] if unknown).
    pub segment: u32,
}

impl Recommender {
    /// Fits the hybrid on `data`.
    pub fn fit(data: &Dataset, params: &HybridParams) -> Result<Self, RankError> {
        Ok(Self {
            model: Hybrid::fit(data, params)?,
            catalog: data.items.clone(),
            snapshot: Snapshot::of(data),
        })
    }

    /// Fits the base models on `data` with a blend learned elsewhere
    /// (campaign clicks).
    pub fn fit_with_blend(
        data: &Dataset,
        params: &HybridParams,
        blend: Blend,
    ) -> Result<Self, RankError> {
        Ok(Self {
            model: Hybrid::fit_with_blend(data, params, blend)?,
            catalog: data.items.clone(),
            snapshot: Snapshot::of(data),
        })
    }

    /// Applies the current stock (by item id) to the catalogue.
    pub fn set_stock(&mut self, current: &Catalog) {
        let index = current.index();
        for (i, id) in self.catalog.ids.iter().enumerate() {
            self.catalog.in_stock[i] = index
                .get(id.as_str())
                .is_some_and(|&j| current.in_stock[j as usize]);
        }
    }

    /// The view of a user at the end of the model's data (or of their history).
    pub fn view<'a>(&self, user: u32, input: &'a UserInput) -> UserView<'a> {
        let last = input.history.iter().map(|e| e.t).max().unwrap_or(0);
        UserView {
            user,
            history: &input.history,
            segment: input.segment,
            now: self.model.base.latest.max(last),
        }
    }

    /// Top `opts.n` eligible items for one user, diversified, with reasons.
    pub fn recommend(
        &self,
        view: &UserView<'_>,
        opts: &RecommendOptions,
        s: &mut Scratch,
    ) -> Vec<Recommendation> {
        let owned = candidates::owned(view.history);
        let allowed = |i: u32| candidates::eligible(&self.catalog, &owned, i);
        let head = self.model.rank(view, &allowed, (opts.n * 4).max(20), s);
        let picked = mmr(&head, opts.n, 1.0 - opts.diversity, |a, b| {
            self.catalog.tag_similarity(a, b)
        });
        picked
            .iter()
            .map(|p| Recommendation {
                item: p.item,
                score: p.score,
                reason: explain(p, &self.model.blend, &self.model.base, view),
                features: p.features,
            })
            .collect()
    }

    /// Recommends for many users in parallel (index `i` of the input is user `first + i`).
    pub fn recommend_many(
        &self,
        first: u32,
        users: &[UserInput],
        opts: &RecommendOptions,
    ) -> Vec<Vec<Recommendation>> {
        let mut out: Vec<Vec<Recommendation>> = vec![Vec::new(); users.len()];
        par_chunks_mut(&mut out, 64, |start, chunk| {
            let mut scratch = Scratch::default();
            for (offset, slot) in chunk.iter_mut().enumerate() {
                let i = start + offset;
                *slot = self.recommend(&self.view(first + i as u32, &users[i]), opts, &mut scratch);
            }
        });
        out
    }

    /// The state blob: base models, blend and catalogue.
    pub fn to_state(&self) -> Vec<u8> {
        encode_model(
            &self.model.base,
            &self.model.blend,
            &self.catalog,
            &self.snapshot,
        )
    }

    /// Rebuilds a recommender from its parameters (JSON) and state blob.
    pub fn from_state(params: &str, state: &[u8]) -> Result<Self, RankError> {
        let params: HybridParams =
            serde_json::from_str(params).map_err(|e| RankError::Decode(e.to_string()))?;
        let (base, blend, catalog, snapshot) = decode_model(state)?;
        Ok(Self {
            model: Hybrid {
                params,
                base,
                blend,
                validation_ndcg: f64::NAN,
            },
            catalog,
            snapshot,
        })
    }
}

/// A user with no history in no segment.
pub fn cold_user() -> UserInput {
    UserInput {
        history: Vec::new(),
        segment: NONE,
    }
}
