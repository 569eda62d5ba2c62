//! The minijinja environment of one variant: its fields compiled once,
//! rendered per user against a [`RenderContext`].
//!
//! Every render of a field is bounded: [`TEMPLATE_FUEL`] limits the work
//! (minijinja's fuel: about one unit per instruction and per 64 bytes
//! produced, so a loop of 10^10 iterations stops within milliseconds) and
//! [`MAX_OUTPUT_BYTES`] the text it may produce.

use std::collections::BTreeMap;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use super::{
    Field, RenderContext, RenderError, RenderIssue, TemplateLibrary, VariantContent, filters,
};

/// Work one render of one field may do, in minijinja fuel.
pub const TEMPLATE_FUEL: u64 = 200_000;

/// Most bytes one field may render to.
pub const MAX_OUTPUT_BYTES: usize = 512 * 1024;

/// A variant's templates, compiled; cheap to share across workers
/// (`Send + Sync`) and to render for many users.
#[derive(Debug)]
pub struct Renderer {
    /// The environment holding one template per set field.
    env: Environment<'static>,
    /// The variant's content (non-template extras: sound, category, ...).
    content: VariantContent,
    /// Campaign-file key of each compiled field, for messages.
    keys: BTreeMap<Field, &'static str>,
    /// Source of each compiled field, for static checks.
    sources: BTreeMap<Field, String>,
}

impl Renderer {
    /// Compiles every field the variant sets; all syntax errors and
    /// unknown email templates are reported together.
    pub fn new(content: &VariantContent, library: &TemplateLibrary) -> Result<Self, RenderError> {
        let (renderer, issues) = Self::compile(content, library);
        if issues.is_empty() {
            Ok(renderer)
        } else {
            Err(RenderError::Invalid(issues))
        }
    }

    /// Compiles what compiles and lists the rest.
    pub(crate) fn compile(
        content: &VariantContent,
        library: &TemplateLibrary,
    ) -> (Self, Vec<RenderIssue>) {
        let mut env = environment();
        let mut keys = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let mut issues = Vec::new();
        for field in Field::ALL {
            let key = field_key(content, field);
            let issue = |line, message| RenderIssue {
                variant: content.name.clone(),
                field: key.to_owned(),
                line,
                message,
            };
            match content.source(field, library) {
                Ok(None) => {}
                Ok(Some(source)) => match env.add_template_owned(field.name(), source.to_owned()) {
                    Ok(()) => {
                        keys.insert(field, key);
                        sources.insert(field, source.to_owned());
                    }
                    Err(e) => issues.push(issue(e.line(), describe(&e))),
                },
                Err(message) => issues.push(issue(None, message)),
            }
        }
        let content = content.clone();
        (
            Self {
                env,
                content,
                keys,
                sources,
            },
            issues,
        )
    }

    /// The variant's content as given.
    pub fn content(&self) -> &VariantContent {
        &self.content
    }

    /// The variant's name.
    pub fn variant(&self) -> &str {
        &self.content.name
    }

    /// Whether the variant sets `field` (and it compiled).
    pub fn has(&self, field: Field) -> bool {
        self.keys.contains_key(&field)
    }

    /// The campaign-file key of `field` (`email_template` for a named
    /// HTML body, `email_html` for an inline one).
    pub fn key(&self, field: Field) -> &'static str {
        field_key(&self.content, field)
    }

    /// The compiled source of `field`.
    pub(crate) fn source(&self, field: Field) -> Option<&str> {
        self.sources.get(&field).map(String::as_str)
    }

    /// The fields that compiled, in order.
    pub(crate) fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.keys.keys().copied()
    }

    /// Whether `name` is a filter of this environment.
    pub(crate) fn filter_known(&self, name: &str) -> bool {
        let probe = format!("{{{{ none | {name} }}}}");
        match self.env.render_str(&probe, ()) {
            Err(e) => e.kind() != ErrorKind::UnknownFilter,
            Ok(_) => true,
        }
    }

    /// Dotted variable paths `field` reads from the context.
    pub(crate) fn variables(&self, field: Field) -> Vec<String> {
        let mut names: Vec<String> = self
            .env
            .get_template(field.name())
            .map(|t| t.undeclared_variables(true).into_iter().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Turns a context into the value templates see (one serialization per
    /// user, shared by every field).
    pub fn context_value(ctx: &RenderContext) -> Value {
        Value::from(Serde(ctx))
    }

    /// Renders `field` against `ctx`, `None` when the variant lacks it.
    pub fn render_field(&self, field: Field, ctx: &Value) -> Result<Option<String>, RenderError> {
        let Ok(template) = self.env.get_template(field.name()) else {
            return Ok(None);
        };
        let issue = |line, message| {
            RenderError::Template(RenderIssue {
                variant: self.content.name.clone(),
                field: self.key(field).to_owned(),
                line,
                message,
            })
        };
        let text = template
            .render(ctx)
            .map_err(|e| issue(e.line(), describe(&e)))?;
        if text.len() > MAX_OUTPUT_BYTES {
            return Err(issue(None, over_output(text.len())));
        }
        Ok(Some(text))
    }

    /// The budget problem (out of fuel, output over the cap) `field` has
    /// when rendered for an empty user, if any: what campaign creation
    /// still checks when there is no real user to sample.
    pub(crate) fn budget_issue(&self, field: Field) -> Option<RenderIssue> {
        let empty = Self::context_value(&RenderContext::default());
        match self.render_field(field, &empty) {
            Err(RenderError::Template(issue)) if is_budget(&issue.message) => Some(issue),
            _ => None,
        }
    }
}

/// The campaign-file key under which a field was written.
fn field_key(content: &VariantContent, field: Field) -> &'static str {
    match field {
        Field::EmailHtml if content.email_html.is_none() => "email_template",
        Field::EmailHtml => "email_html",
        other => other.name(),
    }
}

/// A fresh environment: strict undefined, HTML escaping for `*.html`
/// templates, `none` printed as nothing, herald's filters.
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(|out, state, value| {
        if value.is_none() {
            Ok(())
        } else if matches!(state.auto_escape(), AutoEscape::Html)
            && !value.is_safe()
            && !value.is_undefined()
        {
            out.write_str(&escape_html(&value.to_string()))
                .map_err(minijinja::Error::from)
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    filters::register(&mut env);
    env
}

/// Escapes `& < > " '` (what markupsafe and askama escape; `/` stays, so
/// URLs in attributes read as written).
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// What an out-of-fuel render reports.
const OUT_OF_FUEL: &str = "the template does too much work for one message (over its budget of 200,000 steps): loop over a user's items, not over large ranges";

/// What an over-sized render reports.
fn over_output(len: usize) -> String {
    format!("the template rendered {len} bytes, over the cap of {MAX_OUTPUT_BYTES}")
}

/// Whether `message` reports a render budget problem.
fn is_budget(message: &str) -> bool {
    message == OUT_OF_FUEL || message.contains("over the cap of")
}

/// A minijinja error in a marketer's words, without location (the issue
/// carries the line).
pub(crate) fn describe(e: &minijinja::Error) -> String {
    let detail = e.detail().unwrap_or_default();
    match e.kind() {
        ErrorKind::SyntaxError => format!("syntax error: {detail}"),
        ErrorKind::UnknownFilter => match detail
            .strip_prefix("filter ")
            .and_then(|d| d.strip_suffix(" is unknown"))
        {
            Some(name) => format!("unknown filter {name}"),
            None => "unknown filter".to_owned(),
        },
        ErrorKind::UndefinedError => "undefined value".to_owned(),
        ErrorKind::OutOfFuel => OUT_OF_FUEL.to_owned(),
        ErrorKind::UnknownTest => format!("unknown test {detail}").trim_end().to_owned(),
        ErrorKind::UnknownFunction => format!("unknown function {detail}").trim_end().to_owned(),
        kind if detail.is_empty() => kind.to_string(),
        kind => format!("{kind}: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Limits, validate};

    const RUNAWAY: &str =
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";

    fn titled(title: &str) -> VariantContent {
        VariantContent {
            name: "A".into(),
            title: Some(title.into()),
            body: Some("b".into()),
            ..VariantContent::default()
        }
    }

    fn render_title(title: &str) -> Result<Option<String>, RenderError> {
        let renderer = Renderer::new(&titled(title), &TemplateLibrary::builtin()).unwrap();
        let ctx = Renderer::context_value(&RenderContext::default());
        renderer.render_field(Field::Title, &ctx)
    }

    #[test]
    fn a_loop_of_ten_billion_steps_runs_out_of_fuel_within_a_second() {
        let started = std::time::Instant::now();
        let err = render_title(RUNAWAY).unwrap_err();
        assert!(err.to_string().contains("too much work"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn a_render_over_the_output_cap_is_refused() {
        let err = render_title("{{ 'x' * 600000 }}").unwrap_err();
        assert!(err.to_string().contains("over the cap of 524288"), "{err}");
        assert_eq!(
            render_title("{{ 'x' * 1000 }}").unwrap().unwrap().len(),
            1000
        );
    }

    #[test]
    fn validation_without_sample_users_still_refuses_a_runaway_loop_naming_the_field() {
        let issues = validate(&[titled(RUNAWAY)], &[], &Limits::default()).unwrap_err();
        let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.starts_with("variant A: title:") && t.contains("too much work")),
            "{text:?}"
        );
    }
}
