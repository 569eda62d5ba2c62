//! What planning, previews, explanations and fallbacks need of one
//! campaign, prepared once: the spec, the compiled audience and trigger
//! condition, one compiled renderer per variant, the contact rules, the
//! ranker and the segment descriptions.

use super::context::ContextBase;
use super::ranking::Ranking;
use crate::campaign::engine::{CampaignError, Engine, Loaded};
use crate::campaign::policy::Rules;
use crate::campaign::spec::{CampaignSpec, Schedule, Variant};
use crate::render::{Renderer, TemplateLibrary, VariantContent};
use crate::segment::audience::Audience;
use crate::store::UserFactRow;
use std::collections::{BTreeMap, BTreeSet};

/// One campaign, ready to plan.
pub(crate) struct Setup {
    /// The campaign.
    pub campaign_id: i64,
    /// Its validated spec.
    pub spec: CampaignSpec,
    /// The compiled audience (everyone when absent).
    pub audience: Option<Audience>,
    /// The trigger's extra condition, for trigger runs.
    pub condition: Option<Audience>,
    /// One renderer per variant, by name.
    pub renderers: BTreeMap<String, Renderer>,
    /// Contact rules in force.
    pub rules: Rules,
    /// The ranker, when the campaign carries recommendations and a model
    /// has been trained.
    pub ranking: Option<Ranking>,
    /// What every render context shares.
    pub base: ContextBase,
    /// The segment model users' facts are read under.
    pub segment_model_id: Option<i64>,
    /// The hour histograms of an optimal schedule, read on first use.
    pub send_time: super::timing::PriorCell,
    /// Whether the audience or the trigger condition reads activity
    /// facts (a read of every event of a page's users).
    pub activity: bool,
}

impl Setup {
    /// Prepares `loaded` with the given model versions (the run's, or the
    /// active ones for previews).
    pub async fn new(
        engine: &Engine,
        loaded: Loaded,
        segment_model_id: Option<i64>,
        rank_model_id: Option<i64>,
    ) -> Result<Setup, CampaignError> {
        let Loaded {
            row,
            spec,
            attributes,
        } = loaded;
        let campaign_id = row.campaign_id;
        let audience = compile(spec.audience.as_deref(), &attributes, campaign_id)?;
        let condition = match &spec.schedule {
            Schedule::Trigger { condition, .. } => {
                compile(condition.as_deref(), &attributes, campaign_id)?
            }
            _ => None,
        };
        let renderers = renderers(campaign_id, &spec.variants)?;
        let ranking = match &spec.recommendations {
            Some(r) => Ranking::load(engine.store(), rank_model_id, r).await?,
            None => None,
        };
        let base = ContextBase::load(
            engine,
            Some(campaign_id),
            &spec.name,
            segment_model_id,
            attributes.clone(),
        )
        .await?;
        let activity = [&audience, &condition]
            .into_iter()
            .flatten()
            .any(Audience::reads_activity);
        Ok(Setup {
            campaign_id,
            activity,
            rules: super::rules(&spec, engine.settings()),
            spec,
            audience,
            condition,
            renderers,
            ranking,
            base,
            segment_model_id,
            send_time: Default::default(),
        })
    }

    /// Whether `user` is in the audience (and meets the trigger condition
    /// when `trigger`); an evaluation error counts as not matching.
    pub fn admits(&self, user: &UserFactRow, trigger: bool, now: i64) -> bool {
        let matches = |a: &Option<Audience>| {
            a.as_ref()
                .is_none_or(|a| a.matches(user, now).unwrap_or(false))
        };
        matches(&self.audience) && (!trigger || matches(&self.condition))
    }

    /// The renderer of a variant.
    pub fn renderer(&self, variant: &str) -> Result<&Renderer, String> {
        self.renderers
            .get(variant)
            .ok_or_else(|| format!("campaign {} has no variant {variant}", self.campaign_id))
    }
}

/// Compiles a stored rule; it compiled when the campaign was created, so
/// a failure means the user columns changed since.
fn compile(
    source: Option<&str>,
    attributes: &BTreeSet<String>,
    campaign_id: i64,
) -> Result<Option<Audience>, CampaignError> {
    source
        .map(|s| Audience::compile(s, attributes))
        .transpose()
        .map_err(|e| CampaignError::Other(format!("campaign {campaign_id}: {e}")))
}

/// A variant's content as the renderer reads it.
pub(crate) fn variant_content(variant: &Variant) -> Result<VariantContent, String> {
    let mut map: serde_json::Map<String, serde_json::Value> = variant
        .content
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    map.insert("name".into(), variant.name.clone().into());
    serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| format!("variant {}: {e}", variant.name))
}

/// Compiles every variant's templates.
fn renderers(
    campaign_id: i64,
    variants: &[Variant],
) -> Result<BTreeMap<String, Renderer>, CampaignError> {
    let library = TemplateLibrary::builtin();
    let fail = |issues: String| CampaignError::Templates {
        file: format!("campaign {campaign_id}"),
        issues,
    };
    let mut out = BTreeMap::new();
    for variant in variants {
        let content = variant_content(variant).map_err(fail)?;
        let renderer = Renderer::new(&content, &library).map_err(|e| fail(e.to_string()))?;
        out.insert(variant.name.clone(), renderer);
    }
    Ok(out)
}
