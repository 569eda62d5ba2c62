//! The campaign engine's entry points: create a campaign from its file
//! (validated, templates checked against sample users), open a run for a
//! schedule slot with the model versions in force, plan it into the
//! outbox, and answer `preview` and `explain` for one user. The work is
//! done in [`super::plan`]; this file is the thin entry.

use super::occurrence::Occurrence;
use super::plan;
use super::spec::{CampaignSpec, SpecError};
use crate::channels::RenderedMessage;
use crate::config::Settings;
use crate::dispatch::{Fallback, Provider};
use crate::domain::Channel;
use crate::store::{CampaignRow, RunRow, Store, StoreError};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// Why a campaign operation failed; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The campaign file is invalid.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A variant's templates are invalid (one issue per line).
    #[error("{file}: {issues}")]
    Templates {
        /// The campaign file.
        file: String,
        /// The issues, one per line.
        issues: String,
    },
    /// No campaign has this id.
    #[error("no campaign {0}: `herald campaign list` shows the ids")]
    UnknownCampaign(i64),
    /// No user has this id.
    #[error("no user {0}: import users first or check the id")]
    UnknownUser(String),
    /// The campaign's status forbids the operation.
    #[error("campaign {id} is {status}: {hint}")]
    Status {
        /// The campaign.
        id: i64,
        /// Its status.
        status: String,
        /// What to do.
        hint: &'static str,
    },
    /// A channel of the campaign routes to a provider this process has no
    /// settings for; the run failed before planning, nothing is held.
    #[error(
        "run {run_id} failed before planning: the campaign sends {channel}, which goes \
         through {provider}, and [{provider}] is not configured: fill in [{provider}] (or \
         remove {channel} from the campaign's channels) and run it again"
    )]
    Unconfigured {
        /// The failed run.
        run_id: i64,
        /// The campaign's channel.
        channel: Channel,
        /// The provider without settings (also its section name).
        provider: Provider,
    },
    /// Another process holds the run's planner lease.
    #[error("run {0} is being planned by another process")]
    Busy(i64),
    /// A store error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else, with context (ranking, segments, rendering).
    #[error("{0}")]
    Other(String),
}

/// A stored campaign with its parsed spec.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The row.
    pub row: CampaignRow,
    /// The validated spec.
    pub spec: CampaignSpec,
    /// The user attribute columns its rules were checked against.
    pub attributes: BTreeSet<String>,
}

/// What planning one run did (stored as the run's `stats`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PlanReport {
    /// The run.
    pub run_id: i64,
    /// Users the audience matched (in scope).
    pub targeted: u64,
    /// Users planned to be sent to now.
    pub send: u64,
    /// Users deferred by quiet hours (sent later).
    pub deferred: u64,
    /// Users not sent to, by reason code.
    pub skipped: std::collections::BTreeMap<String, u64>,
    /// Users looked at (audience evaluated).
    pub scanned: u64,
    /// Users whose items came from the model's precomputed lists (by
    /// this planner).
    pub ranked_from_lists: u64,
    /// Users whose items were ranked live by the model (by this planner).
    pub ranked_live: u64,
}

/// Why one user did or did not get a campaign, in words and codes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// The campaign.
    pub campaign_id: i64,
    /// The user.
    pub user_id: String,
    /// The run the answer comes from (the newest that planned the user),
    /// or none when it is a fresh evaluation.
    pub run_id: Option<i64>,
    /// `send`, `deferred`, `holdout`, `suppressed` or `not_in_audience`.
    pub decision: String,
    /// The reason code, if any.
    pub reason: Option<String>,
    /// The variant.
    pub variant: Option<String>,
    /// The channel.
    pub channel: Option<String>,
    /// The sentences.
    pub lines: Vec<String>,
}

/// The campaign engine over one store and configuration.
#[derive(Clone)]
pub struct Engine {
    /// The store.
    store: Store,
    /// Settings (policy defaults, public URL, dispatch).
    settings: Arc<Settings>,
    /// The providers this process sends through, when it sends: a run
    /// whose messages could reach another provider fails before planning
    /// (see [`Engine::sending_through`]). `None`: plan without checking.
    providers: Option<Arc<[Provider]>>,
}

impl Engine {
    /// An engine on `store` with `settings`.
    pub fn new(store: Store, settings: Arc<Settings>) -> Self {
        Self {
            store,
            settings,
            providers: None,
        }
    }

    /// The same engine for a process that sends through `providers` (the
    /// configured ones, [`ChannelSet::configured`](crate::dispatch::ChannelSet::configured)):
    /// planning a run for sending first checks that every provider its
    /// messages could route to is among them, and otherwise fails the run
    /// naming the settings section to fill in, with nothing planned or
    /// held in the outbox.
    pub fn sending_through(mut self, providers: Vec<Provider>) -> Self {
        self.providers = Some(providers.into());
        self
    }

    /// The providers set by [`Engine::sending_through`], if any.
    pub(crate) fn providers(&self) -> Option<&[Provider]> {
        self.providers.as_deref()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Validates a campaign file (spec and templates against sample
    /// users) and stores it as `scheduled`; returns its id.
    pub async fn create(&self, path: &Path, now: i64) -> Result<i64, CampaignError> {
        plan::create(self, path, false, now).await
    }

    /// Like [`Engine::create`], stored as an editable `draft` that is
    /// never sent until it is scheduled.
    pub async fn create_draft(&self, path: &Path, now: i64) -> Result<i64, CampaignError> {
        plan::create(self, path, true, now).await
    }

    /// Validates campaign `text` (JSON when `json`, else TOML) like
    /// [`Engine::create`] and stores it as `scheduled` or `draft`; errors
    /// name the file as `request`. Returns its id.
    pub async fn create_from_text(
        &self,
        text: &str,
        json: bool,
        draft: bool,
        now: i64,
    ) -> Result<i64, CampaignError> {
        plan::create_text(self, text, json, "request", draft, now).await
    }

    /// Replaces draft `campaign_id`'s file with `text` (named `file` in
    /// errors), validated like a new campaign; any other status is refused.
    pub async fn update_from_text(
        &self,
        campaign_id: i64,
        text: &str,
        json: bool,
        file: &str,
        now: i64,
    ) -> Result<(), CampaignError> {
        plan::update_text(self, campaign_id, text, json, file, now).await
    }

    /// A stored campaign with its spec.
    pub async fn load(&self, campaign_id: i64) -> Result<Loaded, CampaignError> {
        plan::load(self, campaign_id).await
    }

    /// Opens (or finds) the run for a slot, recording the segment and
    /// ranking model versions in force and a seed fixed by (campaign,
    /// occurrence); `dry_run` runs have status `dry_run`.
    pub async fn open(
        &self,
        campaign_id: i64,
        occurrence: &Occurrence,
        dry_run: bool,
        now: i64,
    ) -> Result<(RunRow, bool), CampaignError> {
        plan::open(self, campaign_id, occurrence, dry_run, now).await
    }

    /// Opens a run started by hand (`campaign run`, the API, the demo):
    /// the first real one of a one-off campaign is its scheduled slot, so
    /// the scheduler does not send it again (see [`Occurrence::by_hand`]);
    /// otherwise the next `manual:<n>` (or `dry-run:<n>`) run.
    pub async fn open_by_hand(
        &self,
        campaign_id: i64,
        dry_run: bool,
        now: i64,
    ) -> Result<(RunRow, bool), CampaignError> {
        plan::open_by_hand(self, campaign_id, dry_run, now).await
    }

    /// Plans a run under the planner lease held by `owner`: streams the
    /// audience in scope, decides per user, ranks and renders, and writes
    /// plan, outbox (not for dry runs) and exposures page by page,
    /// resuming after the last planned user. A planned run becomes
    /// `sending`; a dry run stays `dry_run`.
    pub async fn plan(
        &self,
        run: &RunRow,
        owner: &str,
        now: i64,
    ) -> Result<PlanReport, CampaignError> {
        plan::plan(self, run, owner, now).await
    }

    /// Marks a `sending` run `done` when its outbox has nothing pending;
    /// true when it did.
    pub async fn finish_if_drained(&self, run_id: i64, now: i64) -> Result<bool, CampaignError> {
        plan::finish_if_drained(self, run_id, now).await
    }

    /// The exact messages `user_id` would get now, per campaign channel
    /// the user can be reached on.
    pub async fn preview(
        &self,
        campaign_id: i64,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<(Channel, RenderedMessage)>, CampaignError> {
        plan::preview(self, campaign_id, user_id, now).await
    }

    /// Like [`Engine::preview`], with the campaign's file replaced by
    /// `text` (an edit not yet saved).
    pub async fn preview_text(
        &self,
        campaign_id: i64,
        text: &str,
        json: bool,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<(Channel, RenderedMessage)>, CampaignError> {
        plan::preview_text(self, campaign_id, text, json, user_id, now).await
    }

    /// Why `user_id` did or did not get the campaign: from the newest run
    /// that planned them, else a fresh evaluation at `now`.
    pub async fn explain(
        &self,
        campaign_id: i64,
        user_id: &str,
        now: i64,
    ) -> Result<Explanation, CampaignError> {
        plan::explain(self, campaign_id, user_id, now).await
    }

    /// The dispatcher's fallback: renders the user's next campaign
    /// channel when a token dies.
    pub fn fallback(&self) -> Arc<dyn Fallback> {
        Arc::new(plan::CampaignFallback::new(self.clone()))
    }
}
