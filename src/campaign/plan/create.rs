//! Creating, loading and opening campaigns. A campaign file is validated
//! (spec, then every variant's templates rendered for up to
//! [`SAMPLE_USERS`] real users with their recommended items) before it is
//! stored; the stored spec keeps the file's text, its format and the user
//! attribute columns its rules were checked against, so loading it later
//! parses the same text the same way.

use super::context::{ContextBase, item_contexts, sample_items, shown};
use super::ranking::Ranking;
use crate::campaign::engine::{CampaignError, Engine, Loaded};
use crate::campaign::lifecycle::runnable;
use crate::campaign::occurrence::Occurrence;
use crate::campaign::spec::{CampaignSpec, SpecError};
use crate::domain::Channel;
use crate::render::RenderContext;
use crate::store::{CampaignRow, NewRun, RunRow, Store, UserFactRow};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// Users whose messages validate a new campaign's templates.
pub const SAMPLE_USERS: usize = 20;

/// Users read to learn the attribute columns.
const ATTRIBUTE_SCAN: u64 = 1000;

/// The `campaigns.spec` column.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct StoredSpec {
    /// `toml` or `json`.
    pub(super) format: String,
    /// The campaign file as given.
    pub(super) text: String,
    /// User attribute columns known when it was created.
    #[serde(default)]
    pub(super) attributes: Option<BTreeSet<String>>,
}

/// A stored campaign's file as `(format, text)`: `toml` or `json`, and
/// the text as given (empty when the stored spec is unreadable).
pub fn campaign_file(row: &CampaignRow) -> (String, String) {
    match serde_json::from_str::<StoredSpec>(&row.spec) {
        Ok(stored) => (stored.format, stored.text),
        Err(_) => (String::new(), String::new()),
    }
}

/// The first users with their facts, and the attribute columns they have.
pub(super) async fn known_users(
    store: &Store,
    segment_model: Option<i64>,
) -> Result<(BTreeSet<String>, Vec<UserFactRow>), CampaignError> {
    let users = store
        .user_fact_page(None, ATTRIBUTE_SCAN, segment_model)
        .await?;
    let attributes = users
        .iter()
        .flat_map(|u| u.attributes.keys().cloned())
        .collect();
    Ok((attributes, users))
}

/// Validates and stores a campaign file; see [`Engine::create`].
pub(crate) async fn create(
    engine: &Engine,
    path: &Path,
    draft: bool,
    now: i64,
) -> Result<i64, CampaignError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: file.clone(),
        field: "file".into(),
        reason: e.to_string(),
    })?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    super::create_text::create_text(engine, &text, is_json, &file, draft, now).await
}

/// Render contexts of up to [`SAMPLE_USERS`] users: their recommended
/// items when a ranker exists, padded with stand-in items to the
/// campaign's `n` (no items without `recommendations`).
pub(super) async fn samples(
    engine: &Engine,
    spec: &CampaignSpec,
    users: &[UserFactRow],
    segment_model: Option<i64>,
    attributes: &BTreeSet<String>,
) -> Result<Vec<RenderContext>, CampaignError> {
    let users: Vec<&UserFactRow> = users.iter().take(SAMPLE_USERS).collect();
    let base =
        ContextBase::load(engine, None, &spec.name, segment_model, attributes.clone()).await?;
    let n = spec.recommendations.map_or(0, |r| r.n);
    let ranking = match &spec.recommendations {
        Some(r) => Ranking::load(engine.store(), None, r).await?,
        None => None,
    };
    let (ranked, details) = match &ranking {
        Some(ranking) => {
            let ranked = ranking.rank(engine.store(), &users).await?;
            let mut ids: Vec<String> = ranked.iter().flatten().map(|r| r.item_id.clone()).collect();
            ids.sort();
            ids.dedup();
            (ranked, engine.store().items_by_id(&ids).await?)
        }
        None => (vec![Vec::new(); users.len()], HashMap::new()),
    };
    let variant = spec.variants.first().map_or("", |v| v.name.as_str());
    // Links differ by channel only in one signed byte, so one channel's
    // contexts check every channel's sizes.
    let channel = spec.channels.first().copied().unwrap_or(Channel::Push);
    let stand_ins = sample_items(n, base.public_url());
    Ok(users
        .iter()
        .zip(&ranked)
        .map(|(user, ranked)| {
            let mut items = item_contexts(&shown(ranked, &details));
            items.truncate(n);
            items.extend(stand_ins.iter().skip(items.len()).cloned());
            base.context(user, variant, items, 0, channel)
        })
        .collect())
}

/// A stored campaign with its spec; see [`Engine::load`].
pub(crate) async fn load(engine: &Engine, campaign_id: i64) -> Result<Loaded, CampaignError> {
    let store = engine.store();
    let row = store
        .campaign(campaign_id)
        .await?
        .ok_or(CampaignError::UnknownCampaign(campaign_id))?;
    let stored: StoredSpec = serde_json::from_str(&row.spec).map_err(|e| {
        CampaignError::Other(format!(
            "campaign {campaign_id}: the stored spec is unreadable: {e}"
        ))
    })?;
    let attributes = match stored.attributes {
        Some(a) => a,
        None => known_users(store, None).await?.0,
    };
    let spec = CampaignSpec::parse(&stored.text, stored.format == "json", &attributes).map_err(
        |(field, reason)| SpecError {
            file: format!("campaign {campaign_id}"),
            field,
            reason,
        },
    )?;
    Ok(Loaded {
        row,
        spec,
        attributes,
    })
}

/// Opens the run of a slot; see [`Engine::open`].
pub(crate) async fn open(
    engine: &Engine,
    campaign_id: i64,
    occurrence: &Occurrence,
    dry_run: bool,
    now: i64,
) -> Result<(RunRow, bool), CampaignError> {
    let store = engine.store();
    let row = store
        .campaign(campaign_id)
        .await?
        .ok_or(CampaignError::UnknownCampaign(campaign_id))?;
    runnable(&row.status, dry_run).map_err(|hint| CampaignError::Status {
        id: campaign_id,
        status: row.status.clone(),
        hint,
    })?;
    let segment_model_id = store.active_segment_model().await?.map(|m| m.model_id);
    let rank_model_id = store.active_rank_model_meta().await?.map(|m| m.model_id);
    let run = NewRun {
        campaign_id,
        occurrence: occurrence.key.clone(),
        status: if dry_run { "dry_run" } else { "planning" }.into(),
        seed: super::seed(campaign_id, &occurrence.key),
        segment_model_id,
        rank_model_id,
        scheduled_for: occurrence.at,
        now,
    };
    Ok(store.open_run(&run).await?)
}

/// Opens a run started by hand; see [`Engine::open_by_hand`].
pub(crate) async fn open_by_hand(
    engine: &Engine,
    campaign_id: i64,
    dry_run: bool,
    now: i64,
) -> Result<(RunRow, bool), CampaignError> {
    let loaded = engine.load(campaign_id).await?;
    let runs = engine.store().runs(campaign_id).await?;
    let ran: Vec<&str> = runs.iter().map(|r| r.occurrence.as_str()).collect();
    let n = runs.len() as u64 + 1;
    let schedule = &loaded.spec.schedule;
    let occurrence = Occurrence::by_hand(schedule, loaded.row.created_at, &ran, n, now, dry_run);
    open(engine, campaign_id, &occurrence, dry_run, now).await
}
