//! Campaign-creation checks: every variant compiles, names only known
//! variables and filters, renders within its work budget and within each
//! provider's size limit for a sample of real users (for an empty user
//! when there is none, so a runaway loop is refused either way). Problems are listed together, each naming
//! the variant, the field and the line.

use minijinja::value::Value;

use super::names::{filters_used, is_global, line_of, resolves};
use super::{
    CONTEXT_KEYS, Field, RenderContext, RenderError, RenderIssue, Renderer, TemplateLibrary,
    VariantContent, apns_payload_len, fcm_payload_len, sms_segments,
};
use crate::channels::apns::APNS_MAX_PAYLOAD;
use crate::channels::fcm::FCM_MAX_PAYLOAD;
use crate::domain::Channel;

/// Provider limits and the campaign's channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The channels the campaign may use; only these are rendered and sized.
    pub channels: Vec<Channel>,
    /// APNs payload limit in bytes (Apple: 4096).
    pub apns_max_bytes: usize,
    /// FCM message limit in bytes (Google: 4096).
    pub fcm_max_bytes: usize,
    /// Most SMS parts one message may take.
    pub sms_max_segments: usize,
    /// HTML body size above which Gmail clips an email (about 102 KB).
    pub email_max_html_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            channels: Channel::ALL.to_vec(),
            apns_max_bytes: APNS_MAX_PAYLOAD,
            fcm_max_bytes: FCM_MAX_PAYLOAD,
            sms_max_segments: 3,
            email_max_html_bytes: 102_000,
        }
    }
}

/// Checks `variants` against `samples` (contexts of real users) with the
/// built-in email template library; see [`validate_with`].
pub fn validate(
    variants: &[VariantContent],
    samples: &[RenderContext],
    limits: &Limits,
) -> Result<(), Vec<RenderIssue>> {
    validate_with(variants, samples, limits, &TemplateLibrary::builtin())
}

/// Checks every variant: syntax, unknown filters, unknown variables,
/// unsafe email HTML, render errors and sizes per channel per sample.
pub fn validate_with(
    variants: &[VariantContent],
    samples: &[RenderContext],
    limits: &Limits,
    library: &TemplateLibrary,
) -> Result<(), Vec<RenderIssue>> {
    let values: Vec<Value> = samples.iter().map(Renderer::context_value).collect();
    let mut issues = Vec::new();
    for content in variants {
        let (renderer, mut found) = Renderer::compile(content, library);
        for field in renderer.fields().collect::<Vec<_>>() {
            found.extend(static_issues(&renderer, field, &values));
        }
        for sample in samples {
            render_issues(&renderer, sample, limits, &mut found);
        }
        if samples.is_empty() {
            let fields: Vec<Field> = renderer.fields().collect();
            found.extend(fields.into_iter().filter_map(|f| renderer.budget_issue(f)));
        }
        issues.extend(found);
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Problems visible in one field's source.
fn static_issues(renderer: &Renderer, field: Field, samples: &[Value]) -> Vec<RenderIssue> {
    let source = renderer.source(field).unwrap_or_default().to_owned();
    let issue = |line, message| RenderIssue {
        variant: renderer.variant().to_owned(),
        field: renderer.key(field).to_owned(),
        line,
        message,
    };
    let mut found = Vec::new();
    for used in filters_used(&source) {
        if !renderer.filter_known(&used.name) {
            found.push(issue(used.line, format!("unknown filter {}", used.name)));
        }
    }
    for path in renderer.variables(field) {
        if let Some(message) = unknown_variable(&path, field, samples) {
            let last = path.rsplit('.').next().unwrap_or(&path);
            found.push(issue(
                line_of(&source, &path).or_else(|| line_of(&source, last)),
                message,
            ));
        }
    }
    if field == Field::EmailHtml {
        found.extend(unsafe_html(&source).map(|(line, m)| issue(Some(line), m)));
    }
    found
}

/// Why `path` is not a known variable, if it is not.
fn unknown_variable(path: &str, field: Field, samples: &[Value]) -> Option<String> {
    let root = path.split('.').next().unwrap_or(path);
    let is_message = root == "message" && matches!(field, Field::EmailHtml | Field::EmailText);
    if is_global(path) || is_message {
        return None;
    }
    let known_root = CONTEXT_KEYS.contains(&root);
    let resolved = samples.is_empty() || samples.iter().any(|s| resolves(s, path));
    (!known_root || !resolved).then(|| format!("unknown variable {path}"))
}

/// Script tags, inline event handlers and `javascript:` URLs in an HTML
/// body: mail clients strip or flag them.
fn unsafe_html(source: &str) -> Option<(usize, String)> {
    let lower = source.to_ascii_lowercase();
    let at = lower
        .find("<script")
        .or_else(|| lower.find("javascript:"))
        .or_else(|| event_handler(&lower))?;
    let line = super::names::line_at(source, at);
    Some((
        line,
        "scripts are not allowed in email HTML (script tags, on* handlers, javascript: URLs)"
            .to_owned(),
    ))
}

/// Offset of an ` on<name>=` attribute.
fn event_handler(lower: &str) -> Option<usize> {
    lower.match_indices(" on").map(|(i, _)| i).find(|&i| {
        let name: String = lower[i + 3..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        !name.is_empty() && lower[i + 3 + name.len()..].trim_start().starts_with('=')
    })
}

/// Renders `sample` for every channel the campaign uses, collecting render
/// errors (once per field) and size problems.
fn render_issues(
    renderer: &Renderer,
    sample: &RenderContext,
    limits: &Limits,
    found: &mut Vec<RenderIssue>,
) {
    for &channel in &limits.channels {
        if !applies(renderer, channel) {
            continue;
        }
        match renderer.render(channel, sample) {
            Ok(message) => {
                if let Some(issue) = size_issue(renderer, &message, sample, limits) {
                    push_once(found, issue);
                }
            }
            Err(RenderError::Template(issue)) => {
                if !found.iter().any(|f| f.field == issue.field) {
                    push_once(found, issue);
                }
            }
            Err(other) => push_once(
                found,
                channel_issue(renderer, channel.as_str(), other.to_string()),
            ),
        }
    }
}

/// Whether the variant has content for `channel` at all (a push-only
/// variant is not an email error).
fn applies(renderer: &Renderer, channel: Channel) -> bool {
    match channel {
        Channel::Push | Channel::Sms => renderer.has(Field::Body) || renderer.has(Field::SmsBody),
        Channel::Email => renderer.has(Field::EmailSubject),
        Channel::Webhook => true,
    }
}

/// A size problem of one rendered message, if any.
fn size_issue(
    renderer: &Renderer,
    message: &crate::channels::RenderedMessage,
    sample: &RenderContext,
    limits: &Limits,
) -> Option<RenderIssue> {
    use crate::channels::RenderedMessage as M;
    let user = &sample.user.user_id;
    let (channel, message) = match message {
        M::Push(push) => ("push", push_size(push, user, limits)?),
        M::Sms(sms) => {
            let s = sms_segments(&sms.body);
            if s.segments <= limits.sms_max_segments {
                return None;
            }
            let text = format!(
                "SMS is {} segments ({:?}, {} units) for user {user}, over the cap of {}",
                s.segments, s.encoding, s.units, limits.sms_max_segments
            );
            ("sms", text)
        }
        M::Email(email) if email.html.len() > limits.email_max_html_bytes => {
            let text = format!(
                "HTML is {} bytes for user {user}, over {} (mail clients clip it)",
                email.html.len(),
                limits.email_max_html_bytes
            );
            ("email", text)
        }
        M::Email(_) | M::Webhook(_) => return None,
    };
    Some(channel_issue(renderer, channel, message))
}

/// Why a push is refused by APNs or FCM, if it is.
fn push_size(push: &crate::channels::PushMessage, user: &str, limits: &Limits) -> Option<String> {
    let over = |name: &str, size: usize, limit: usize| {
        (size > limit).then(|| {
            format!("{name} payload is {size} bytes for user {user}, over the {limit}-byte limit")
        })
    };
    let apns = match apns_payload_len(push) {
        Ok(size) => over("APNs", size, limits.apns_max_bytes),
        Err(e) => Some(e.to_string()),
    };
    apns.or_else(|| match fcm_payload_len(push) {
        Ok(size) => over("FCM", size, limits.fcm_max_bytes),
        Err(e) => Some(e.to_string()),
    })
}

/// An issue about a whole channel rather than one field.
fn channel_issue(renderer: &Renderer, channel: &str, message: String) -> RenderIssue {
    RenderIssue {
        variant: renderer.variant().to_owned(),
        field: channel.to_owned(),
        line: None,
        message,
    }
}

/// Adds `issue` unless the same problem is already listed (many sample
/// users hit the same one).
fn push_once(found: &mut Vec<RenderIssue>, issue: RenderIssue) {
    let same = |f: &RenderIssue| {
        f.field == issue.field
            && f.line == issue.line
            && (f.message == issue.message || issue.line.is_none())
    };
    if !found.iter().any(same) {
        found.push(issue);
    }
}
