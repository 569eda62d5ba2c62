//! Recommendations for the users of one page. A user whose precomputed
//! list still holds (the model's lists answer the campaign's options and
//! today's stock, the user is in the same segment and has no event newer
//! than the model) is read from `rank_lists`, a page at a time; anyone
//! else is ranked live by the model, which is loaded (with today's stock)
//! only when the first such user comes. Live, a user the model was
//! trained on starts from the history snapshot saved with the model and
//! reads only the events that came after it (an index range per user,
//! usually empty); any other user's history is read whole and they rank
//! as a new user from it and their segment (cold start). Both ways give
//! the same items, scores, reasons and features (see `rank::lists`), and
//! everything is a function of the data and the model: no clock, no
//! randomness.

use crate::campaign::engine::CampaignError;
use crate::campaign::spec::Recommendations;
use crate::rank::dataset::{NONE, Signal, fold, secs};
use crate::rank::features::{F, Scratch};
use crate::rank::linalg::par_chunks_mut;
use crate::rank::lists::{ListsMeta, UserList};
use crate::rank::load::load_catalog;
use crate::rank::recommend::{RecommendOptions, Recommendation, Recommender, UserInput};
use crate::rank::{Catalog, Interaction};
use crate::store::{RankEventRow, Store, UserFactRow};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::OnceCell;

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

/// The active ranker for one campaign: its precomputed lists when they
/// answer the campaign, the model itself on demand.
pub(crate) struct Ranking {
    /// The model's stored id.
    model_id: i64,
    /// Its hyper-parameters (JSON), for loading it.
    params: String,
    /// Items per user and diversity.
    options: RecommendOptions,
    /// The model's lists, when they answer this campaign.
    lists: Option<ListsMeta>,
    /// Today's catalogue (the stock live ranking applies).
    current: Catalog,
    /// The model, loaded for the first user the lists do not answer.
    live: OnceCell<Live>,
    /// Users answered from lists and live so far.
    counts: [AtomicU64; 2],
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
        let Some(meta) = store.active_rank_model_meta().await? else {
            return Ok(None);
        };
        if wanted.is_some_and(|w| w != meta.model_id) {
            tracing::warn!(
                wanted = wanted,
                active = meta.model_id,
                "the run's ranking model is no longer active; using the active one"
            );
        }
        let options = RecommendOptions {
            n: recommendations.n,
            diversity: recommendations.diversity as f32,
        };
        let current = load_catalog(store).await.map_err(rank_error)?;
        let lists = meta
            .lists
            .as_deref()
            .and_then(|json| serde_json::from_str::<ListsMeta>(json).ok())
            .filter(|lists| lists.serves(&options, &current));
        Ok(Some(Ranking {
            model_id: meta.model_id,
            params: meta.params,
            options,
            lists,
            current,
            live: OnceCell::new(),
            counts: Default::default(),
        }))
    }

    /// The model's stored id.
    pub fn model_id(&self) -> i64 {
        self.model_id
    }

    /// Users answered from precomputed lists and ranked live so far.
    pub fn counts(&self) -> (u64, u64) {
        let [lists, live] = &self.counts;
        (lists.load(Ordering::Relaxed), live.load(Ordering::Relaxed))
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
        let mut out = self.listed(store, users).await?;
        let rest: Vec<&UserFactRow> = users
            .iter()
            .zip(&out)
            .filter(|(_, list)| list.is_none())
            .map(|(u, _)| *u)
            .collect();
        let answered = (users.len() - rest.len()) as u64;
        self.counts[0].fetch_add(answered, Ordering::Relaxed);
        self.counts[1].fetch_add(rest.len() as u64, Ordering::Relaxed);
        if !rest.is_empty() {
            let live = self.live(store).await?;
            let mut ranked = live.rank(store, &rest, &self.options).await?.into_iter();
            for slot in out.iter_mut().filter(|list| list.is_none()) {
                *slot = ranked.next();
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Each user's precomputed list, cut to the campaign's length, where
    /// it still holds; `None` where the user must be ranked live.
    async fn listed(
        &self,
        store: &Store,
        users: &[&UserFactRow],
    ) -> Result<Vec<Option<Vec<Ranked>>>, CampaignError> {
        let Some(meta) = &self.lists else {
            return Ok(vec![None; users.len()]);
        };
        let ids: Vec<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
        let mut stored = store.rank_lists(self.model_id, &ids).await?;
        let listed: Vec<String> = stored.keys().cloned().collect();
        // The same cut-off as live ranking's snapshot (whole seconds).
        let since = meta.until_ms.saturating_add(1000);
        let newer: HashSet<String> = store
            .rank_events_since(&listed, since)
            .await?
            .into_iter()
            .map(|e| e.user_id)
            .collect();
        Ok(users
            .iter()
            .map(|user| {
                if newer.contains(&user.user_id) {
                    return None;
                }
                let list = UserList::decode(&stored.remove(&user.user_id)?)
                    .inspect_err(|e| tracing::warn!(user = %user.user_id, "{e}; ranking live"))
                    .ok()?;
                (list.segment == segment_of(user)).then(|| self.cut(list))
            })
            .collect())
    }

    /// The first `n` items of a stored list.
    fn cut(&self, list: UserList) -> Vec<Ranked> {
        list.items
            .into_iter()
            .take(self.options.n)
            .map(|item| Ranked {
                item_id: item.item_id,
                score: f64::from(item.score),
                reason: item.reason,
                features: item.features,
            })
            .collect()
    }

    /// The model, loaded on first use.
    async fn live(&self, store: &Store) -> Result<&Live, CampaignError> {
        self.live
            .get_or_try_init(|| Live::load(store, self.model_id, &self.params, &self.current))
            .await
    }
}

/// A user's segment as the ranker numbers it.
fn segment_of(user: &UserFactRow) -> u32 {
    user.segment
        .and_then(|s| u32::try_from(s).ok())
        .unwrap_or(NONE)
}

/// A loaded model that ranks users one page at a time.
struct Live {
    /// The model with its catalogue.
    recommender: Recommender,
    /// The dense indices of the users the model was trained on, in the
    /// order of their ids (a binary search finds one; 4 bytes a user
    /// where a map by id would copy every id).
    known: Vec<u32>,
    /// Dense index of each catalogue item, by id.
    items: HashMap<String, u32>,
}

impl Live {
    /// Loads model `model_id` and applies today's stock to it.
    async fn load(
        store: &Store,
        model_id: i64,
        params: &str,
        current: &Catalog,
    ) -> Result<Live, CampaignError> {
        let row = store
            .rank_model(model_id)
            .await?
            .ok_or_else(|| rank_error(format!("model {model_id} is gone")))?;
        let mut recommender = Recommender::from_state(params, &row.state).map_err(rank_error)?;
        recommender.set_stock(current);
        let known = by_id(&recommender.snapshot.user_ids);
        let items = recommender
            .catalog
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i as u32))
            .collect();
        Ok(Live {
            recommender,
            known,
            items,
        })
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
    async fn rank(
        &self,
        store: &Store,
        users: &[&UserFactRow],
        options: &RecommendOptions,
    ) -> Result<Vec<Vec<Ranked>>, CampaignError> {
        let histories = self.histories(store, users).await?;
        let inputs: Vec<(u32, UserInput)> = users
            .iter()
            .zip(histories)
            .map(|(user, history)| {
                let index = self.index_of(&user.user_id);
                (
                    index.unwrap_or(self.recommender.snapshot.user_ids.len() as u32),
                    UserInput {
                        history,
                        segment: segment_of(user),
                    },
                )
            })
            .collect();
        let picks = self.score(&inputs, options);
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
    fn score(
        &self,
        inputs: &[(u32, UserInput)],
        options: &RecommendOptions,
    ) -> Vec<Vec<Recommendation>> {
        let mut out: Vec<Vec<Recommendation>> = vec![Vec::new(); inputs.len()];
        par_chunks_mut(&mut out, 64, |start, chunk| {
            let mut scratch = Scratch::default();
            for (offset, slot) in chunk.iter_mut().enumerate() {
                let (index, input) = &inputs[start + offset];
                let view = self.recommender.view(*index, input);
                *slot = self.recommender.recommend(&view, options, &mut scratch);
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
