//! Recommendations for the users of one page: the active ranker loaded
//! once per run (with today's stock), scored in parallel. A user the
//! model was trained on starts from the history snapshot saved with the
//! model and reads only the events that came after it (an index range
//! per user, usually empty); any other user's history is read whole and
//! they rank as a new user from it and their segment (cold start).
//! Everything is a function of the data and the model: no clock, no
//! randomness.

use crate::campaign::engine::CampaignError;
use crate::campaign::spec::Recommendations;
use crate::rank::Interaction;
use crate::rank::dataset::{NONE, Signal, fold, secs};
use crate::rank::features::{F, Scratch};
use crate::rank::linalg::par_chunks_mut;
use crate::rank::load::load_catalog;
use crate::rank::recommend::{RecommendOptions, Recommendation, Recommender, UserInput};
use crate::store::{RankEventRow, Store, UserFactRow};
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
    /// The dense indices of the users the model was trained on, in the
    /// order of their ids (a binary search finds one; 4 bytes a user
    /// where a map by id would copy every id).
    known: Vec<u32>,
    /// Dense index of each catalogue item, by id.
    items: HashMap<String, u32>,
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
        let known = by_id(&recommender.snapshot.user_ids);
        let items = recommender
            .catalog
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        Ok(Some(Ranking {
            recommender,
            model_id: row.model_id,
            known,
            items,
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

    /// The dense index of a user the model was trained on.
    fn index_of(&self, user_id: &str) -> Option<u32> {
        let ids = &self.recommender.snapshot.user_ids;
        self.known
            .binary_search_by(|&i| ids[i as usize].as_str().cmp(user_id))
            .ok()
            .map(|at| self.known[at])
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
        let histories = self.histories(store, users).await?;
        let inputs: Vec<(u32, UserInput)> = users
            .iter()
            .zip(histories)
            .map(|(user, history)| {
                let index = self.index_of(&user.user_id);
                let segment = user
                    .segment
                    .and_then(|s| u32::try_from(s).ok())
                    .unwrap_or(NONE);
                (
                    index.unwrap_or(self.recommender.snapshot.user_ids.len() as u32),
                    UserInput { history, segment },
                )
            })
            .collect();
        let picks = self.score(&inputs);
        Ok(picks.iter().map(|list| self.describe(list)).collect())
    }

    /// Each user's folded history: the model's snapshot updated with the
    /// events after it for users the model knows, every event for others.
    async fn histories(
        &self,
        store: &Store,
        users: &[&UserFactRow],
    ) -> Result<Vec<Vec<Interaction>>, CampaignError> {
        let snapshot = &self.recommender.snapshot;
        // The snapshot holds whole seconds up to `until_ms`: newer means a
        // later second, so no event is counted twice.
        let since = snapshot.until_ms.saturating_add(1000);
        let index: Vec<Option<u32>> = users.iter().map(|u| self.index_of(&u.user_id)).collect();
        let (known, unknown): (Vec<String>, Vec<String>) = users
            .iter()
            .zip(&index)
            .map(|(u, i)| (u.user_id.clone(), i.is_some()))
            .fold(
                (Vec::new(), Vec::new()),
                |(mut k, mut n), (id, is_known)| {
                    if is_known {
                        k.push(id)
                    } else {
                        n.push(id)
                    }
                    (k, n)
                },
            );
        let mut newer = self.by_user(store.rank_events_since(&known, since).await?);
        newer.extend(self.by_user(store.rank_events(&unknown).await?));
        Ok(users
            .iter()
            .zip(index)
            .map(|(user, i)| {
                let old = i.map_or(&[][..], |i| snapshot.history(i as usize));
                merge(old, newer.remove(&user.user_id).unwrap_or_default())
            })
            .collect())
    }

    /// Events grouped per user as `(item, seconds, signal)`; items the
    /// model does not know are left out.
    fn by_user(&self, events: Vec<RankEventRow>) -> HashMap<String, Vec<(u32, u32, Signal)>> {
        let mut out: HashMap<String, Vec<(u32, u32, Signal)>> = HashMap::new();
        for e in events {
            if let Some(&item) = self.items.get(&e.item_id) {
                let signal = Signal::from_event(&e.event, e.value);
                out.entry(e.user_id)
                    .or_default()
                    .push((item, secs(e.ts), signal));
            }
        }
        out
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

/// Indices of `ids` in the order of the ids.
fn by_id(ids: &[String]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]));
    order
}

/// A snapshot history with newer raw events folded in.
fn merge(old: &[Interaction], mut new: Vec<(u32, u32, Signal)>) -> Vec<Interaction> {
    if new.is_empty() {
        return old.to_vec();
    }
    new.extend(old.iter().map(|e| (e.item, e.t, e.signal)));
    fold(&mut new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(item: u32, t: u32, signal: Signal) -> Interaction {
        Interaction { item, t, signal }
    }

    #[test]
    fn user_indices_are_ordered_by_id_for_a_binary_search() {
        let ids: Vec<String> = ["u10", "u2", "u1"].map(String::from).to_vec();
        let order = by_id(&ids);
        assert_eq!(order, vec![2, 0, 1]);
        let find = |id: &str| {
            order
                .binary_search_by(|&i| ids[i as usize].as_str().cmp(id))
                .ok()
                .map(|at| order[at])
        };
        assert_eq!(find("u2"), Some(1));
        assert_eq!(find("u3"), None);
    }

    #[test]
    fn a_snapshot_history_without_newer_events_is_kept_as_it_is() {
        let old = vec![seen(1, 10, Signal::View), seen(2, 20, Signal::Cart)];
        assert_eq!(merge(&old, Vec::new()), old);
    }

    #[test]
    fn newer_events_fold_into_the_snapshot_history_by_item() {
        let old = vec![seen(1, 10, Signal::View), seen(2, 20, Signal::Cart)];
        let merged = merge(&old, vec![(1, 30, Signal::Purchase), (3, 25, Signal::View)]);
        assert_eq!(
            merged,
            vec![
                seen(2, 20, Signal::Cart),
                seen(3, 25, Signal::View),
                seen(1, 30, Signal::Purchase)
            ]
        );
    }
}
