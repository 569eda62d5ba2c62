//! The base models of the hybrid and the feature rows the blend scores.
//!
//! For one user, [`BaseModels::pool`] picks a candidate pool (the union of
//! each signal's top items among the allowed ones) and
//! [`BaseModels::features`] turns each pooled item into [`FEATURES`], the
//! user-dependent scores divided by their largest value in the pool so one
//! set of blend weights fits every user. On a large catalogue the pool comes
//! from sparse sources only (kNN, popularity lists), so a user costs
//! `O(pool)` rather than `O(items)`.

use super::candidates::top_of;
use super::dataset::{Dataset, NONE};
use super::hybrid::HybridParams;
use super::models::als::Als;
use super::models::content::Content;
use super::models::ease::Ease;
use super::models::knn::ItemKnn;
use super::models::popularity::{Popularity, Trending};
use super::models::userknn::UserKnn;
use super::models::{EASE_MAX_ITEMS, Ranker, UserView, position_weights};
use super::{RankError, linalg};
use serde::{Deserialize, Serialize};

/// The blend's inputs, in order.
pub const FEATURES: [&str; 13] = [
    "collab",
    "collab_recent",
    "knn",
    "popularity",
    "trend_active",
    "trend_long",
    "segment",
    "content",
    "freshness",
    "collab_rank",
    "user_knn",
    "knn_recent",
    "available",
];

/// Number of features.
pub const F: usize = FEATURES.len();
/// Index of the recency-weighted collaborative score (the fallback blend).
pub const COLLAB_RECENT: usize = 1;
/// Seconds in a day.
const DAY: u32 = 86_400;
/// Half-width in days of the window around each of the user's active days.
const ACTIVE_WINDOW_DAYS: u32 = 3;

/// The collaborative model, picked by catalogue size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Collab {
    /// EASE, for catalogues up to [`EASE_MAX_ITEMS`] active items.
    Ease(Ease),
    /// Implicit ALS, above that.
    Als(Als),
}

/// Every base model the blend draws on, fitted on one dataset.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BaseModels {
    /// EASE or ALS.
    pub collab: Collab,
    /// Item-kNN.
    pub knn: ItemKnn,
    /// User-kNN.
    pub user_knn: UserKnn,
    /// Global and per-segment popularity.
    pub popularity: Popularity,
    /// Short-window trending.
    pub trend_short: Trending,
    /// Long-window trending.
    pub trend_long: Trending,
    /// The bilinear content model.
    pub content: Content,
    /// First interaction time per item (`u32::MAX` if never).
    pub first_seen: Vec<u32>,
    /// Most popular items per segment, then globally (last).
    pub tops: Vec<Vec<u32>>,
    /// Trending items at the end of the data.
    pub trend_top: Vec<u32>,
    /// Most popular items per tag, for users' favourite tags.
    pub by_tag: Vec<Vec<u32>>,
    /// Tags per item (copied from the catalogue).
    pub tags: Vec<Vec<u16>>,
    /// History half-life (positions) of the recency-weighted scores.
    pub half_life: f32,
    /// Latest interaction time in the training data (seconds).
    pub latest: u32,
    /// The largest global popularity (scales the popularity feature).
    pub max_popularity: f32,
    /// Items taken from each source into a pool.
    pub per_source: usize,
}

/// Per-thread buffers for scoring one user after another.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Dense kNN scores by item.
    pub(crate) knn: Vec<f32>,
    /// Items with a non-zero kNN score.
    pub(crate) touched: Vec<u32>,
    /// Dense user-kNN and recency-weighted kNN scores by item.
    pub(crate) extra: [Vec<f32>; 2],
    /// Items with a non-zero user-kNN score.
    pub(crate) touched_users: Vec<u32>,
    /// Dense collaborative scores (EASE only), plain and recent.
    pub(crate) dense: [Vec<f32>; 2],
    /// Pool membership marks.
    pub(crate) mark: Vec<bool>,
    /// User-kNN overlap counters.
    pub(crate) overlap: Vec<u32>,
}

/// Items EASE would take: those with at least `least` positive-weight
/// interactions.
fn active_items(data: &Dataset, least: u32) -> usize {
    let mut support = vec![0u32; data.item_count()];
    (0..data.user_count() as u32)
        .flat_map(|u| data.history(u))
        .filter(|e| e.signal.weight() > 0.0)
        .for_each(|e| support[e.item as usize] += 1);
    support.iter().filter(|&&s| s >= least.max(1)).count()
}

impl BaseModels {
    /// Fits every base model on `data`; a content model fitted already
    /// (on a superset of the data) is reused as is.
    pub fn fit(
        data: &Dataset,
        params: &HybridParams,
        content: Option<Content>,
    ) -> Result<Self, RankError> {
        let least = params.ease_min_support;
        let mut collab = if active_items(data, least) <= EASE_MAX_ITEMS.min(params.ease_max_items) {
            let mut ease = Ease::new(params.lambda, params.half_life);
            ease.local_weight = params.ease_local_weight;
            ease.window = params.ease_window;
            ease.min_support = least;
            ease.rated_weight = params.ease_rated_weight;
            ease.liked_weight = params.ease_liked_weight;
            ease.disliked_weight = params.ease_disliked_weight;
            Collab::Ease(ease)
        } else {
            Collab::Als(Als::new(
                params.factors,
                params.als_lambda,
                params.alpha,
                params.iterations,
                params.seed,
            ))
        };
        match &mut collab {
            Collab::Ease(m) => m.fit(data)?,
            Collab::Als(m) => m.fit(data)?,
        }
        let mut knn = ItemKnn::new(params.neighbours, 0.0);
        knn.window = params.window;
        knn.fit(data)?;
        let mut user_knn = UserKnn::new(50);
        user_knn.fit(data)?;
        let mut popularity = Popularity::new(params.popularity_half_life);
        popularity.fit(data)?;
        let (mut trend_short, mut trend_long) = (
            Trending::new(params.trend_days[0]),
            Trending::new(params.trend_days[1]),
        );
        trend_short.fit(data)?;
        trend_long.fit(data)?;
        let content = match content {
            Some(content) => content,
            None => {
                let mut content = Content::new(params.seed);
                content.fit(data)?;
                content
            }
        };
        let by_tag = tag_lists(data, &popularity, params.per_source);
        let segments = data.users.segment_count() as u32;
        let tops = (0..segments)
            .chain([NONE])
            .map(|s| popularity.top(s, 4 * params.per_source))
            .collect();
        let now = data.latest();
        let max_popularity = popularity.global.iter().copied().fold(0.0, f32::max);
        let trend: Vec<f32> = (0..data.item_count() as u32)
            .map(|i| trend_long.at(i, now))
            .collect();
        let trend_top = top_of(
            &trend,
            (0..data.item_count() as u32).collect(),
            params.per_source,
            &|_| true,
        );
        Ok(Self {
            user_knn,
            tops,
            trend_top,
            collab,
            knn,
            popularity,
            trend_short,
            trend_long,
            content,
            first_seen: first_seen(data),
            by_tag,
            tags: data.items.tags.clone(),
            half_life: params.half_life,
            latest: data.latest(),
            max_popularity,
            // Large catalogues score every user by a smaller pool.
            per_source: if data.item_count() > EASE_MAX_ITEMS {
                params.per_source.div_ceil(2)
            } else {
                params.per_source
            },
        })
    }

    /// The collaborative model's name.
    pub fn collab_name(&self) -> &'static str {
        match self.collab {
            Collab::Ease(_) => "ease",
            Collab::Als(_) => "als",
        }
    }

    pub(crate) fn items(&self) -> usize {
        self.first_seen.len()
    }

    /// Feature rows for the pooled items (after [`Self::pool`] on `s`).
    pub fn features(&self, user: &UserView<'_>, pool: &[u32], s: &mut Scratch) -> Vec<[f32; F]> {
        let mut rows = vec![[0.0f32; F]; pool.len()];
        let days = active_days(user, if self.items() > EASE_MAX_ITEMS { 4 } else { 8 });
        let sym = ACTIVE_WINDOW_DAYS;
        let today = user.now / DAY;
        self.collab_columns(user, pool, s, &mut rows);
        let mut content = vec![0.0f32; pool.len()];
        self.content.score(user, pool, &mut content);
        for (k, (row, &item)) in rows.iter_mut().zip(pool).enumerate() {
            let i = item as usize;
            row[2] = s.knn[i];
            row[3] = (1.0 + self.popularity.global[i]).ln();
            row[4] = days
                .iter()
                .map(|&d| self.trend_short.between(item, d / DAY - sym, d / DAY + sym))
                .sum::<f32>();
            row[5] = self.trend_long.at(item, user.now);
            row[6] = self.popularity.segment_score(user.segment, item);
            row[7] = content[k];
            row[8] = freshness(self.first_seen[i], user.now);
            row[10] = s.extra[0][i];
            row[11] = s.extra[1][i];
            // Whether anyone had taken the item by the user's day: what no
            // one had seen yet was hardly in the user's reach.
            row[12] = f32::from(u8::from(self.trend_short.between(item, 0, today) > 0.0));
        }
        normalise(&mut rows, &[0, 1, 2, 4, 5, 6, 7, 10, 11]);
        let scale = (1.0 + self.max_popularity).ln().max(1e-6);
        rows.iter_mut().for_each(|r| r[3] /= scale);
        rank_column(&mut rows, COLLAB_RECENT, 9);
        for &i in &s.touched {
            s.knn[i as usize] = 0.0;
            s.extra[1][i as usize] = 0.0;
        }
        s.touched_users
            .iter()
            .for_each(|&i| s.extra[0][i as usize] = 0.0);
        s.touched.clear();
        s.touched_users.clear();
        rows
    }

    /// Fills the plain and recent collaborative columns.
    fn collab_columns(
        &self,
        user: &UserView<'_>,
        pool: &[u32],
        s: &Scratch,
        rows: &mut [[f32; F]],
    ) {
        match &self.collab {
            Collab::Ease(_) => {
                for (row, &item) in rows.iter_mut().zip(pool) {
                    row[0] = s.dense[0][item as usize];
                    row[1] = s.dense[1][item as usize];
                }
            }
            Collab::Als(als) => {
                for (k, hl) in [(0, 0.0), (1, self.half_life)] {
                    let weights = position_weights(user.history.len(), hl);
                    let history = user
                        .history
                        .iter()
                        .zip(weights)
                        .map(|(e, w)| (e.item, e.signal.weight() * w));
                    let x = als.user_factors(history.filter(|h| h.1 > 0.0));
                    for (row, &item) in rows.iter_mut().zip(pool) {
                        let y = als.item(item);
                        row[k] = if y.is_empty() {
                            0.0
                        } else {
                            linalg::dot(&x, y)
                        };
                    }
                }
            }
        }
    }
}

/// The ends (seconds) of the user's last `most` distinct active days.
fn active_days(user: &UserView<'_>, most: usize) -> Vec<u32> {
    let mut days: Vec<u32> = user.history.iter().map(|e| e.t / DAY).collect();
    days.sort_unstable();
    days.dedup();
    days.iter()
        .rev()
        .take(most)
        .map(|d| (d + 1) * DAY - 1)
        .collect()
}

/// How new an item is at `now`: 1 when first seen today, halving monthly.
fn freshness(first: u32, now: u32) -> f32 {
    if first == u32::MAX || first > now {
        return 0.0;
    }
    let days = ((now - first) / DAY) as f32;
    (-days / 30.0 * std::f32::consts::LN_2).exp()
}

/// Divides the given columns by their largest absolute value in the pool.
fn normalise(rows: &mut [[f32; F]], columns: &[usize]) {
    for &c in columns {
        let max = rows.iter().map(|r| r[c].abs()).fold(0.0f32, f32::max);
        if max > 0.0 {
            rows.iter_mut().for_each(|r| r[c] /= max);
        }
    }
}

/// Writes `1 / (1 + rank)` of column `from` into column `to`.
fn rank_column(rows: &mut [[f32; F]], from: usize, to: usize) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| rows[b][from].total_cmp(&rows[a][from]).then(a.cmp(&b)));
    for (rank, i) in order.into_iter().enumerate() {
        rows[i][to] = 1.0 / (1.0 + rank as f32);
    }
}

/// First interaction time per item.
fn first_seen(data: &Dataset) -> Vec<u32> {
    let mut first = vec![u32::MAX; data.item_count()];
    for u in 0..data.user_count() as u32 {
        for e in data.history(u) {
            first[e.item as usize] = first[e.item as usize].min(e.t);
        }
    }
    first
}

/// The most popular items of each tag.
fn tag_lists(data: &Dataset, popularity: &Popularity, per: usize) -> Vec<Vec<u32>> {
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); data.items.tag_names.len()];
    for item in popularity.top(NONE, usize::MAX) {
        for &t in &data.items.tags[item as usize] {
            if lists[t as usize].len() < per {
                lists[t as usize].push(item);
            }
        }
    }
    lists
}
