//! After training: every user's list ranked once and stored
//! (`rank::lists`), so campaigns read lists instead of loading the model.
//! Ranking a batch (every core) overlaps with writing the one before it
//! (the database), and the lists are marked complete on the model only
//! once every batch is in.

use super::super::progress::Progress;
use crate::rank::lists::{ListsMeta, compute};
use crate::rank::recommend::{Recommender, UserInput};
use crate::store::Store;
use anyhow::Context;
use std::time::Instant;
use tokio::task::JoinHandle;

/// Users ranked per batch.
const BATCH: usize = 10_000;

/// What writing the lists took.
#[derive(Debug, Clone, Copy)]
pub(super) struct ListsWritten {
    /// Users with a list.
    pub users: usize,
    /// Wall time (seconds).
    pub seconds: f64,
}

/// Ranks every user of the model's snapshot (in `segments[u]`) and stores
/// their lists under `model_id`.
pub(super) async fn write_lists(
    store: &Store,
    model_id: i64,
    recommender: &Recommender,
    segments: &[u32],
) -> anyhow::Result<ListsWritten> {
    let start = Instant::now();
    let snapshot = &recommender.snapshot;
    let n = snapshot.user_ids.len();
    let mut progress = Progress::new("ranking every user", n as u64, false);
    let mut writing: Option<JoinHandle<anyhow::Result<()>>> = None;
    for first in (0..n).step_by(BATCH) {
        let end = (first + BATCH).min(n);
        let inputs: Vec<UserInput> = (first..end)
            .map(|u| UserInput {
                history: snapshot.history(u).to_vec(),
                segment: segments
                    .get(u)
                    .copied()
                    .unwrap_or(crate::rank::dataset::NONE),
            })
            .collect();
        let lists = compute(recommender, first as u32, &inputs);
        let rows: Vec<(String, Vec<u8>)> = snapshot.user_ids[first..end]
            .iter()
            .cloned()
            .zip(lists)
            .collect();
        finish(writing.take()).await?;
        let store = store.clone();
        writing = Some(tokio::spawn(async move {
            store
                .save_rank_lists(model_id, &rows)
                .await
                .context("storing recommendation lists")
        }));
        progress.set(end as u64);
    }
    finish(writing).await?;
    let meta = serde_json::to_string(&ListsMeta::of(recommender))?;
    store.finish_rank_lists(model_id, &meta).await?;
    progress.finish();
    Ok(ListsWritten {
        users: n,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Waits for a batch being written.
async fn finish(writing: Option<JoinHandle<anyhow::Result<()>>>) -> anyhow::Result<()> {
    match writing {
        Some(handle) => handle.await.context("writing recommendation lists")?,
        None => Ok(()),
    }
}
