//! The minijinja environment of one variant: its fields compiled once,
//! rendered per user against a [`RenderContext`].

use std::collections::BTreeMap;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};

use super::{
    Field, RenderContext, RenderError, RenderIssue, TemplateLibrary, VariantContent, filters,
};

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
        template.render(ctx).map(Some).map_err(|e| {
            RenderError::Template(RenderIssue {
                variant: self.content.name.clone(),
                field: self.key(field).to_owned(),
                line: e.line(),
                message: describe(&e),
            })
        })
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
        ErrorKind::UnknownTest => format!("unknown test {detail}").trim_end().to_owned(),
        ErrorKind::UnknownFunction => format!("unknown function {detail}").trim_end().to_owned(),
        kind if detail.is_empty() => kind.to_string(),
        kind => format!("{kind}: {detail}"),
    }
}
