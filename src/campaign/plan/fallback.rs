//! The dispatcher's fallback: when a user's push token dies and they have
//! no other device, the campaign decides where the message goes next: the
//! first channel listed after the failed one (push skipped: its tokens are
//! what failed) that the user consented to and can be reached on, rendered
//! with the same variant and message id. The prepared campaign of the last
//! run asked about is kept, so a burst of dead tokens costs one setup.

use super::context::{item_contexts, shown};
use super::message::{Unsent, reachable_with_consent};
use super::page::recommendations;
use super::setup::Setup;
use crate::campaign::engine::{CampaignError, Engine};
use crate::dispatch::Fallback;
use crate::domain::Channel;
use crate::store::{NewOutbox, OutboxRow, RunRow};
use std::sync::Arc;
use tokio::sync::Mutex;

/// [`Fallback`] backed by the campaign engine.
pub(crate) struct CampaignFallback {
    /// The engine.
    engine: Engine,
    /// The prepared campaign of the last run asked about.
    cached: Mutex<Option<(i64, Arc<Setup>)>>,
}

impl CampaignFallback {
    /// A fallback over `engine`.
    pub fn new(engine: Engine) -> Self {
        Self {
            engine,
            cached: Mutex::new(None),
        }
    }

    /// The prepared campaign of `run`.
    async fn setup(&self, run: &RunRow) -> Result<Arc<Setup>, CampaignError> {
        let mut cached = self.cached.lock().await;
        if let Some((run_id, setup)) = cached.as_ref()
            && *run_id == run.run_id
        {
            return Ok(setup.clone());
        }
        let loaded = self.engine.load(run.campaign_id).await?;
        let setup = Arc::new(
            Setup::new(
                &self.engine,
                loaded,
                run.segment_model_id,
                run.rank_model_id,
            )
            .await?,
        );
        *cached = Some((run.run_id, setup.clone()));
        Ok(setup)
    }

    /// The next channel's outbox row for `row`, if the campaign has one.
    async fn next(&self, row: &OutboxRow, now: i64) -> Result<Option<NewOutbox>, CampaignError> {
        let store = self.engine.store();
        let run = store
            .run(row.run_id)
            .await?
            .ok_or_else(|| CampaignError::Other(format!("no run {}", row.run_id)))?;
        let setup = self.setup(&run).await?;
        let current = Channel::parse(&row.channel).map_err(|e| CampaignError::Other(e.0))?;
        let later: Vec<Channel> = setup
            .spec
            .channels
            .iter()
            .skip_while(|c| **c != current)
            .skip(1)
            .filter(|c| **c != Channel::Push)
            .copied()
            .collect();
        if later.is_empty() {
            return Ok(None);
        }
        let Some(user) = store
            .user_facts(std::slice::from_ref(&row.user_id), setup.segment_model_id)
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let Some(channel) = later
            .into_iter()
            .find(|c| reachable_with_consent(&user, *c))
        else {
            return Ok(None);
        };
        let (mut ranked, details) = recommendations(&self.engine, &setup, &[&user]).await?;
        let ranked = ranked.pop().unwrap_or_default();
        let items = item_contexts(&shown(&ranked, &details));
        let ctx = setup
            .base
            .context(&user, &row.variant, items, run.run_id, channel);
        let composed = match setup.compose(&user, None, channel, &row.variant, &ctx) {
            Ok(c) => c,
            Err(Unsent::Unreachable) => return Ok(None),
            Err(Unsent::Render(e)) => return Err(CampaignError::Other(e)),
        };
        let payload = composed.payload();
        let mut next = composed.outbox(run.run_id, &row.user_id, &row.variant, payload, now, now);
        next.dedup_key = row.dedup_key.clone();
        Ok(Some(next))
    }
}

#[async_trait::async_trait]
impl Fallback for CampaignFallback {
    async fn next_channel(&self, row: &OutboxRow, now: i64) -> Result<Option<NewOutbox>, String> {
        self.next(row, now).await.map_err(|e| e.to_string())
    }
}
