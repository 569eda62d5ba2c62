//! Creating a campaign from its text (a file's content or an API request
//! body): parse and validate the spec against the known user attributes,
//! check every variant's templates on sample users, and store it as
//! `scheduled` (or `draft`) with the text, its format and those
//! attributes. A draft's text is replaced the same way, validated alike.

use super::create::{StoredSpec, known_users, samples};
use super::setup::variant_content;
use crate::campaign::engine::{CampaignError, Engine};
use crate::campaign::lifecycle::editable;
use crate::campaign::spec::{CampaignSpec, SpecError};
use crate::render::{Limits, VariantContent, validate};
use crate::store::NewCampaign;

/// Validates and stores campaign `text` (JSON when `json`, else TOML) as
/// `scheduled`, or `draft` when `draft`, naming `file` in errors; see
/// [`Engine::create_from_text`].
pub(crate) async fn create_text(
    engine: &Engine,
    text: &str,
    json: bool,
    file: &str,
    draft: bool,
    now: i64,
) -> Result<i64, CampaignError> {
    let mut campaign = validated(engine, text, json, file, now).await?;
    campaign.status = if draft { "draft" } else { "scheduled" }.into();
    Ok(engine.store().insert_campaign(&campaign).await?)
}

/// Replaces draft `campaign_id`'s file with `text`, validated like a new
/// campaign; see [`Engine::update_from_text`].
pub(crate) async fn update_text(
    engine: &Engine,
    campaign_id: i64,
    text: &str,
    json: bool,
    file: &str,
    now: i64,
) -> Result<(), CampaignError> {
    let store = engine.store();
    let status_error = |status: String| match editable(&status) {
        Ok(()) => None,
        Err(hint) => Some(CampaignError::Status {
            id: campaign_id,
            status,
            hint,
        }),
    };
    let row = store
        .campaign(campaign_id)
        .await?
        .ok_or(CampaignError::UnknownCampaign(campaign_id))?;
    if let Some(error) = status_error(row.status) {
        return Err(error);
    }
    let campaign = validated(engine, text, json, file, now).await?;
    if store.replace_draft(campaign_id, &campaign).await? {
        return Ok(());
    }
    // Scheduled or cancelled between the read and the write.
    let status = store.campaign(campaign_id).await?.map(|r| r.status);
    Err(status
        .and_then(status_error)
        .unwrap_or(CampaignError::UnknownCampaign(campaign_id)))
}

/// The campaign `text` describes, validated (spec, then templates on
/// sample users), ready to store as `scheduled`.
async fn validated(
    engine: &Engine,
    text: &str,
    json: bool,
    file: &str,
    now: i64,
) -> Result<NewCampaign, CampaignError> {
    let store = engine.store();
    let segment_model = store.active_segment_model().await?.map(|m| m.model_id);
    let (attributes, users) = known_users(store, segment_model).await?;
    let spec =
        CampaignSpec::parse(text, json, &attributes).map_err(|(field, reason)| SpecError {
            file: file.to_owned(),
            field,
            reason,
        })?;
    let contents = spec
        .variants
        .iter()
        .map(variant_content)
        .collect::<Result<Vec<VariantContent>, String>>()
        .map_err(|issues| CampaignError::Templates {
            file: file.to_owned(),
            issues,
        })?;
    let samples = samples(engine, &spec, &users, segment_model, &attributes).await?;
    let limits = Limits {
        channels: spec.channels.clone(),
        ..Limits::default()
    };
    // Rendering every variant for every sample is CPU work: off the
    // async workers, so `herald serve` keeps answering meanwhile.
    let checked = tokio::task::spawn_blocking(move || validate(&contents, &samples, &limits))
        .await
        .map_err(|e| CampaignError::Templates {
            file: file.to_owned(),
            issues: format!("checking the templates failed: {e}"),
        })?;
    if let Err(issues) = checked {
        let lines: Vec<String> = issues.iter().map(ToString::to_string).collect();
        return Err(CampaignError::Templates {
            file: file.to_owned(),
            issues: lines.join("\n"),
        });
    }
    let stored = StoredSpec {
        format: if json { "json" } else { "toml" }.into(),
        text: text.to_owned(),
        attributes: Some(attributes),
    };
    let campaign = NewCampaign {
        name: spec.name.clone(),
        spec: serde_json::to_string(&stored).unwrap_or_default(),
        status: "scheduled".into(),
        variants: spec
            .variants
            .iter()
            .map(|v| {
                let content = serde_json::to_string(&v.content).unwrap_or_default();
                (v.name.clone(), v.weight, content)
            })
            .collect(),
        now,
    };
    Ok(campaign)
}
