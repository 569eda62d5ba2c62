//! Rendering: a variant's Jinja templates, compiled once, rendered per
//! user into the [`RenderedMessage`](crate::channels::RenderedMessage) of
//! one channel.
//!
//! User-authored content (titles, bodies, email bodies) is minijinja with
//! strict undefined behaviour and marketer filters (`money`, `datetime`,
//! `date`, `truncate`, `title`, `default`); the system's own layouts (the
//! email frame, its text twin, the unsubscribe page) are askama templates
//! in `templates/`, checked at compile time. The email body is rendered
//! with HTML auto-escaping, so a hostile `user.first_name` shows as text.
//!
//! [`validate`] runs when a campaign is created: it compiles every field,
//! checks names against the context and renders each variant for sample
//! users to check provider size limits, so a bad template never reaches
//! the send path.

mod builders;
mod content;
mod context;
mod engine;
mod filters;
mod layout;
mod library;
mod money;
mod names;
mod size;
mod text;
mod validate;

pub use content::{Field, VariantContent};
pub use context::{
    CONTEXT_KEYS, CampaignContext, DeliveryMeta, ItemContext, Links, RenderContext, SegmentContext,
    UserContext, VariantContext,
};
pub use engine::Renderer;
pub use layout::{EmailHtmlLayout, EmailTextLayout, UnsubscribePage};
pub use library::{DEFAULT_EMAIL_TEMPLATE, TemplateLibrary};
pub use money::format_money;
pub use size::{SmsEncoding, SmsSegments, apns_payload_len, fcm_payload_len, sms_segments};
pub use text::html_to_text;
pub use validate::{Limits, validate, validate_with};

use std::fmt;

/// One problem with a variant's template, located for the marketer:
/// `variant A: title: line 1: unknown variable user.frist_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderIssue {
    /// Variant name.
    pub variant: String,
    /// Campaign-file field (`title`, `email_template`, ...), or the
    /// channel for a size problem (`push`, `sms`).
    pub field: String,
    /// 1-based line within the field's template, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RenderIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "variant {}: {}: ", self.variant, self.field)?;
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Why a message could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The variant's templates do not compile.
    #[error("{}", join(.0))]
    Invalid(Vec<RenderIssue>),
    /// A template failed for this user (undefined value, bad filter input).
    #[error("{0}")]
    Template(RenderIssue),
    /// The channel needs a field the variant does not set.
    #[error("variant {variant}: {channel} needs `{field}`")]
    MissingField {
        /// Variant name.
        variant: String,
        /// The channel being rendered.
        channel: &'static str,
        /// The missing campaign-file key.
        field: &'static str,
    },
    /// An askama layout failed to render.
    #[error("layout {layout}: {message}")]
    Layout {
        /// Which layout.
        layout: &'static str,
        /// askama's message.
        message: String,
    },
}

/// Issues one per line.
fn join(issues: &[RenderIssue]) -> String {
    let lines: Vec<String> = issues.iter().map(ToString::to_string).collect();
    lines.join("\n")
}
