//! Creating a campaign from its text (a file's content or an API request
//! body): parse and validate the spec against the known user attributes,
//! check every variant's templates on sample users, and store it as
//! `scheduled` with the text, its format and those attributes.

use super::create::{StoredSpec, known_users, samples};
use super::setup::variant_content;
use crate::campaign::engine::{CampaignError, Engine};
use crate::campaign::spec::{CampaignSpec, SpecError};
use crate::render::{Limits, VariantContent, validate};
use crate::store::NewCampaign;

/// Validates and stores campaign `text` (JSON when `json`, else TOML),
/// naming `file` in errors; see [`Engine::create_from_text`].
pub(crate) async fn create_text(
    engine: &Engine,
    text: &str,
    json: bool,
    file: &str,
    now: i64,
) -> Result<i64, CampaignError> {
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
    if let Err(issues) = validate(&contents, &samples, &limits) {
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
    Ok(store.insert_campaign(&campaign).await?)
}
