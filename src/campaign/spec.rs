//! The campaign file (SPEC §4), TOML or JSON, parsed into a validated
//! [`CampaignSpec`]. Everything that can be checked without rendering is
//! checked here, with messages that name the field: unknown keys, channels
//! and schedules, a bad cron or timezone, weights that do not sum to 1,
//! duplicate variant names, a holdout outside [0, 0.5], an optimal
//! schedule mixed with another kind or with a `within` outside 1h..=7d, a
//! bad audience (CEL, with line and column) or trigger condition. Template
//! checks run against sample users where the campaign is created.

use super::cron::CronExpr;
use crate::config::{Duration, FrequencyCap, QuietHours};
use crate::domain::{Channel, Timezone};
use crate::segment::audience::Audience;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A campaign file as written; see the module doc for what is validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    channels: Vec<String>,
    #[serde(default)]
    audience: Option<String>,
    schedule: RawSchedule,
    #[serde(default)]
    holdout: f64,
    #[serde(default)]
    recommendations: Option<Recommendations>,
    variants: Vec<RawVariant>,
    #[serde(default)]
    policy: Option<Policy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    at: Option<String>,
    cron: Option<String>,
    timezone: Option<String>,
    trigger: Option<String>,
    delay: Option<Duration>,
    condition: Option<String>,
    window: Option<Duration>,
    optimal: Option<bool>,
    within: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawVariant {
    name: String,
    weight: f64,
    #[serde(flatten)]
    content: BTreeMap<String, serde_json::Value>,
}

/// How many recommended items each message carries, and how diverse.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Recommendations {
    /// Items per message.
    pub n: usize,
    /// MMR trade-off: 0 = pure relevance, 1 = pure diversity.
    #[serde(default)]
    pub diversity: f64,
}

/// The campaign's own contact policy, over the configured defaults.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// At most this many messages per period, across campaigns.
    pub frequency_cap: Option<FrequencyCap>,
    /// Nothing is sent in this local-time window; sends are deferred.
    pub quiet_hours: Option<QuietHours>,
}

/// Where the schedule's wall-clock times are read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScheduleZone {
    /// One fixed IANA timezone.
    Fixed(Timezone),
    /// Each user's own timezone.
    User,
}

/// When a campaign runs.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Once, at an instant (milliseconds since the epoch).
    At(i64),
    /// Recurring, on a cron expression read in a timezone.
    Cron {
        /// The expression (boxed: the parsed schedule is large).
        cron: Box<CronExpr>,
        /// Whose wall clock it follows.
        zone: ScheduleZone,
    },
    /// On an event, after a delay, when a condition holds.
    Trigger {
        /// The event name that fires it.
        event: String,
        /// How long after the event to send.
        delay: Duration,
        /// An extra CEL condition on the user.
        condition: Option<String>,
        /// A user fires the trigger at most once per window (events are
        /// bucketed by `floor(ts / window)`); 24 hours by default.
        window: Duration,
    },
    /// Once, at the first scheduler tick after creation (or on `campaign
    /// run`), each user's message held until their best local hour
    /// (learned from their opens and clicks, see
    /// [`send_time`](super::send_time)) within `within` of the run.
    Optimal {
        /// How far past the run a message may wait for its hour (1h to 7d).
        within: Duration,
    },
}

/// The default trigger dedup window: one fire per user per day.
pub const DEFAULT_TRIGGER_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// The default `within` of an optimal schedule: a day, so every hour of
/// the day is reachable.
pub const DEFAULT_OPTIMAL_WITHIN: Duration = Duration::from_secs(24 * 3600);

/// The shortest `within` of an optimal schedule.
pub const OPTIMAL_WITHIN_MIN: Duration = Duration::from_secs(3600);

/// The longest `within` of an optimal schedule.
pub const OPTIMAL_WITHIN_MAX: Duration = Duration::from_secs(7 * 24 * 3600);

/// One variant: its share of the audience and its content fields (title,
/// body, email_subject, email_template, ...), checked by the renderer.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Unique within the campaign.
    pub name: String,
    /// Share of the non-holdout audience.
    pub weight: f64,
    /// The content fields as written.
    pub content: BTreeMap<String, serde_json::Value>,
}

/// A validated campaign.
#[derive(Debug, Clone)]
pub struct CampaignSpec {
    /// Display name.
    pub name: String,
    /// Channels in fallback order.
    pub channels: Vec<Channel>,
    /// The CEL audience rule (everyone when absent).
    pub audience: Option<String>,
    /// When it runs.
    pub schedule: Schedule,
    /// Share of the audience held out as a control group.
    pub holdout: f64,
    /// Recommended items in each message.
    pub recommendations: Option<Recommendations>,
    /// The variants.
    pub variants: Vec<Variant>,
    /// Contact policy overrides.
    pub policy: Option<Policy>,
}

/// Why a campaign file was rejected: the file and the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {field}: {reason}")]
pub struct SpecError {
    /// The campaign file.
    pub file: String,
    /// The field, e.g. `variants[1].weight` or `schedule.cron`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl CampaignSpec {
    /// Reads and validates a `.toml` or `.json` campaign file; `attributes`
    /// are the user attribute columns audiences may name.
    pub fn from_file(
        path: &Path,
        attributes: &BTreeSet<String>,
    ) -> Result<CampaignSpec, SpecError> {
        let file = path.display().to_string();
        let fail = |field: &str, reason: String| SpecError {
            file: file.clone(),
            field: field.into(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail("file", e.to_string()))?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        Self::parse(&text, is_json, attributes).map_err(|(field, reason)| fail(&field, reason))
    }

    /// Parses campaign text (TOML, or JSON when `json`); errors are
    /// (field, reason).
    pub fn parse(
        text: &str,
        json: bool,
        attributes: &BTreeSet<String>,
    ) -> Result<CampaignSpec, (String, String)> {
        let raw: RawSpec = if json {
            serde_json::from_str(text).map_err(|e| ("file".to_owned(), e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| {
                (
                    "file".to_owned(),
                    e.message().to_owned() + &toml_line(text, &e),
                )
            })?
        };
        validate(raw, attributes)
    }
}

fn toml_line(text: &str, error: &toml::de::Error) -> String {
    error.span().map_or(String::new(), |span| {
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        format!(" (line {line})")
    })
}

type Checked<T> = Result<T, (String, String)>;

fn bad<T>(field: &str, reason: impl Into<String>) -> Checked<T> {
    Err((field.to_owned(), reason.into()))
}

fn validate(raw: RawSpec, attributes: &BTreeSet<String>) -> Checked<CampaignSpec> {
    if raw.name.trim().is_empty() {
        return bad("name", "is empty");
    }
    if !(0.0..=0.5).contains(&raw.holdout) {
        return bad("holdout", format!("{} is outside 0..=0.5", raw.holdout));
    }
    if let Some(audience) = &raw.audience {
        Audience::compile(audience, attributes)
            .map_err(|e| ("audience".to_owned(), e.to_string()))?;
    }
    if let Some(r) = &raw.recommendations {
        if r.n == 0 || r.n > 50 {
            return bad("recommendations.n", "must be 1 to 50");
        }
        if !(0.0..=1.0).contains(&r.diversity) {
            return bad("recommendations.diversity", "must be between 0 and 1");
        }
    }
    Ok(CampaignSpec {
        channels: channels(&raw.channels)?,
        schedule: schedule::schedule(&raw.schedule, attributes)?,
        variants: variants(&raw.variants)?,
        name: raw.name,
        audience: raw.audience,
        holdout: raw.holdout,
        recommendations: raw.recommendations,
        policy: raw.policy,
    })
}

fn channels(names: &[String]) -> Checked<Vec<Channel>> {
    if names.is_empty() {
        return bad("channels", "list at least one of push, email, sms, webhook");
    }
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let channel = Channel::parse(name).map_err(|e| (format!("channels[{i}]"), e.0))?;
        if out.contains(&channel) {
            return bad(
                &format!("channels[{i}]"),
                format!("`{name}` is listed twice"),
            );
        }
        out.push(channel);
    }
    Ok(out)
}

fn variants(raw: &[RawVariant]) -> Checked<Vec<Variant>> {
    if raw.is_empty() {
        return bad("variants", "define at least one [[variants]]");
    }
    let mut names = BTreeSet::new();
    for (i, v) in raw.iter().enumerate() {
        if v.name.trim().is_empty() || !names.insert(v.name.clone()) {
            return bad(
                &format!("variants[{i}].name"),
                format!("`{}` is empty or used twice", v.name),
            );
        }
        if !(v.weight > 0.0 && v.weight <= 1.0) {
            return bad(
                &format!("variants[{i}].weight"),
                format!("{} is not in (0, 1]", v.weight),
            );
        }
    }
    let total: f64 = raw.iter().map(|v| v.weight).sum();
    if (total - 1.0).abs() > 1e-6 {
        return bad("variants", format!("weights sum to {total}, not 1"));
    }
    Ok(raw
        .iter()
        .map(|v| Variant {
            name: v.name.clone(),
            weight: v.weight,
            content: v.content.clone(),
        })
        .collect())
}

mod schedule;

/// Just the `schedule.at` of a campaign file (the rest is ignored here).
#[derive(Deserialize)]
struct OnlyAt {
    schedule: OnlyAtSchedule,
}

#[derive(Deserialize)]
struct OnlyAtSchedule {
    at: Option<String>,
}

/// How long ago a `schedule.at` may lie before creating the campaign asks
/// for an explicit "send it now" (a file written a moment ago for "now"
/// still goes through).
pub const PAST_AT_GRACE_MS: i64 = 5 * 60 * 1000;

/// The `schedule.at` of campaign text when it lies more than
/// [`PAST_AT_GRACE_MS`] before `now`: creating such a campaign as
/// scheduled would send it at the next scheduler tick, so `campaign
/// create` and the API ask for `--now` / `?now=true` first.
pub fn passed_at(text: &str, json: bool, now: i64) -> Option<i64> {
    scheduled_at(text, json).filter(|at| *at < now.saturating_sub(PAST_AT_GRACE_MS))
}

/// The `schedule.at` instant (ms) of campaign text (TOML, or JSON when
/// `json`), when it has a readable one; the rest of the file is checked by
/// [`CampaignSpec::parse`], not here.
pub fn scheduled_at(text: &str, json: bool) -> Option<i64> {
    let raw: OnlyAt = if json {
        serde_json::from_str(text).ok()?
    } else {
        toml::from_str(text).ok()?
    };
    crate::domain::parse_rfc3339_millis(raw.schedule.at.as_deref()?).ok()
}

#[cfg(test)]
mod tests;
