//! Previews: the exact messages one user would get from a campaign, on
//! every campaign channel they can be reached on, built with the same
//! context and renderer as a run (holdout, consent and caps ignored: the
//! marketer wants to see the content).

use super::context::{item_contexts, shown};
use super::message::{Unsent, address};
use super::page::{recommendations, utc};
use super::setup::Setup;
use crate::campaign::engine::{CampaignError, Engine, Loaded};
use crate::campaign::policy::{Decision, Rules, decide};
use crate::campaign::spec::{CampaignSpec, SpecError};
use crate::channels::RenderedMessage;
use crate::domain::Channel;
use crate::store::UserFactRow;

/// One user's facts under the active segment model.
pub(crate) async fn user_facts(
    engine: &Engine,
    user_id: &str,
    segment_model: Option<i64>,
) -> Result<UserFactRow, CampaignError> {
    engine
        .store()
        .user_facts(&[user_id.to_owned()], segment_model)
        .await?
        .pop()
        .ok_or_else(|| CampaignError::UnknownUser(user_id.to_owned()))
}

/// The variant the user is assigned to, holdout or not.
pub(crate) fn variant_of(decision: &Decision) -> &str {
    match decision {
        Decision::Send { variant, .. } | Decision::Skip { variant, .. } => variant,
    }
}

/// See [`Engine::preview`].
pub(crate) async fn preview(
    engine: &Engine,
    campaign_id: i64,
    user_id: &str,
    now: i64,
) -> Result<Vec<(Channel, RenderedMessage)>, CampaignError> {
    let loaded = engine.load(campaign_id).await?;
    preview_loaded(engine, loaded, user_id, now).await
}

/// See [`Engine::preview_text`]: campaign `campaign_id` as if its file
/// were `text` (nothing is stored).
pub(crate) async fn preview_text(
    engine: &Engine,
    campaign_id: i64,
    text: &str,
    json: bool,
    user_id: &str,
    now: i64,
) -> Result<Vec<(Channel, RenderedMessage)>, CampaignError> {
    let mut loaded = engine.load(campaign_id).await?;
    loaded.spec =
        CampaignSpec::parse(text, json, &loaded.attributes).map_err(|(field, reason)| {
            SpecError {
                file: format!("campaign {campaign_id} (edited)"),
                field,
                reason,
            }
        })?;
    preview_loaded(engine, loaded, user_id, now).await
}

/// The messages of a loaded campaign for one user.
async fn preview_loaded(
    engine: &Engine,
    loaded: Loaded,
    user_id: &str,
    now: i64,
) -> Result<Vec<(Channel, RenderedMessage)>, CampaignError> {
    let campaign_id = loaded.row.campaign_id;
    let segment_model = engine
        .store()
        .active_segment_model()
        .await?
        .map(|m| m.model_id);
    let user = user_facts(engine, user_id, segment_model).await?;
    let setup = Setup::new(engine, loaded, segment_model, None).await?;
    let decision = decide(
        &setup.spec,
        campaign_id,
        &Rules::default(),
        &user,
        0,
        utc(now),
    );
    let variant = variant_of(&decision).to_owned();
    let (mut ranked, details) = recommendations(engine, &setup, &[&user]).await?;
    let ranked = ranked.pop().unwrap_or_default();
    let items = item_contexts(&shown(&ranked, &details));
    let devices = engine
        .store()
        .active_devices(std::slice::from_ref(&user.user_id))
        .await?;
    let device = devices.get(&user.user_id).and_then(|d| d.first());
    let mut out = Vec::new();
    for &channel in &setup.spec.channels {
        if address(&user, device, channel).is_none() {
            continue;
        }
        let ctx = setup
            .base
            .context(&user, &variant, items.clone(), 0, channel);
        match setup.compose(&user, device, channel, &variant, &ctx) {
            Ok(composed) => out.push((channel, composed.message)),
            Err(Unsent::Unreachable) => {}
            Err(Unsent::Render(e)) => return Err(CampaignError::Other(e)),
        }
    }
    Ok(out)
}
