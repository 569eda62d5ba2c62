//! Recommendations for the users of one page: the active ranker loaded
//! once per run (with today's stock), each user's history read from the
//! store, scored in parallel. A user the model was not trained on ranks as
//! a new user from their history and segment (cold start). Everything is
//! a function of the data and the model: no clock, no randomness.

use crate::campaign::engine::CampaignError;
use crate::campaign::spec::Recommendations;
use crate::rank::dataset::NONE;
use crate::rank::features::{F, Scratch};
use crate::rank::linalg::par_chunks_mut;
use crate::rank::load::{HistoryReader, load_catalog};
use crate::rank::recommend::{RecommendOptions, Recommendation, Recommender, UserInput};
use crate::store::{Store, UserFactRow};
use std::collections::HashMap;

/// One recommended item for one user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ranked {
    /// The item's id.
    pub item_id: String,
    /// The model's score.
    pub score: f64,
    /// Why, in words.
    pub reason: String,
    /// The blend's feature row of the item for this user.
    pub features: [f32; F],
}

/// A loaded ranker with the options of the campaign.
pub(crate) struct Ranking {
    /// The model with its catalogue.
    recommender: Recommender,
    /// Its stored id.
    model_id: i64,
    /// Dense index of each user the model was trained on.
    known: HashMap<String, u32>,
    /// Items per user and diversity.
    options: RecommendOptions,
}

fn rank_error(e: impl std::fmt::Display) -> CampaignError {
    CampaignError::Other(format!("ranking: {e}"))
}

impl Ranking {
    /// The active ranker, or none when no model has been trained. `wanted`
    /// is the model the run recorded; a newer active model is used (with a
    /// warning) when they differ.
    pub async fn load(
        store: &Store,
        wanted: Option<i64>,
        recommendations: &Recommendations,
    ) -> Result<Option<Ranking>, CampaignError> {
        let Some(row) = store.active_rank_model().await? else {
            return Ok(None);
        };
        if wanted.is_some_and(|w| w != row.model_id) {
            tracing::warn!(
                wanted = wanted,
                active = row.model_id,
                "the run's ranking model is no longer active; using the active one"
            );
        }
        let mut recommender =
            Recommender::from_state(&row.params, &row.state).map_err(rank_error)?;
        recommender.set_stock(&load_catalog(store).await.map_err(rank_error)?);
        let known = recommender
            .snapshot
            .user_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        Ok(Some(Ranking {
            recommender,
            model_id: row.model_id,
            known,
            options: RecommendOptions {
                n: recommendations.n,
                diversity: recommendations.diversity as f32,
            },
        }))
    }

    /// The model's stored id.
    pub fn model_id(&self) -> i64 {
        self.model_id
    }

    /// Recommendations for each of `users`, in the same order.
    pub async fn rank(
        &self,
        store: &Store,
        users: &[&UserFactRow],
    ) -> Result<Vec<Vec<Ranked>>, CampaignError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = users.iter().map(|u| u.user_id.clone()).collect();
        let histories = HistoryReader::new(store, &self.recommender.catalog)
            .histories(&ids)
            .await
            .map_err(rank_error)?;
        let inputs: Vec<(u32, UserInput)> = users
            .iter()
            .zip(histories)
            .map(|(user, history)| {
                let index = self.known.get(&user.user_id).copied();
                let segment = user
                    .segment
                    .and_then(|s| u32::try_from(s).ok())
                    .unwrap_or(NONE);
                (
                    index.unwrap_or(self.known.len() as u32),
                    UserInput { history, segment },
                )
            })
            .collect();
        let picks = self.score(&inputs);
        Ok(picks.iter().map(|list| self.describe(list)).collect())
    }

    /// Scores users in parallel.
    fn score(&self, inputs: &[(u32, UserInput)]) -> Vec<Vec<Recommendation>> {
        let mut out: Vec<Vec<Recommendation>> = vec![Vec::new(); inputs.len()];
        par_chunks_mut(&mut out, 64, |start, chunk| {
            let mut scratch = Scratch::default();
            for (offset, slot) in chunk.iter_mut().enumerate() {
                let (index, input) = &inputs[start + offset];
                let view = self.recommender.view(*index, input);
                *slot = self
                    .recommender
                    .recommend(&view, &self.options, &mut scratch);
            }
        });
        out
    }

    /// Item ids and reasons in words.
    fn describe(&self, list: &[Recommendation]) -> Vec<Ranked> {
        let catalog = &self.recommender.catalog;
        list.iter()
            .map(|r| Ranked {
                item_id: catalog.ids[r.item as usize].clone(),
                score: f64::from(r.score),
                reason: r.reason.text(catalog),
                features: r.features,
            })
            .collect()
    }
}
