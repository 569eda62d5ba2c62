//! A variant's content as written in the campaign file (SPEC §4): Jinja
//! templates per field, compiled once by [`super::Renderer`].

use serde::Deserialize;

/// One variant's templates. Every text field is a Jinja template.
///
/// Beside SPEC §4's `title`, `body`, `email_subject` and `email_template`:
/// `sms_body` (SMS text; `body` when unset), `deep_link` (push tap target;
/// `links.click` when unset), `image_url` (push image), `email_html` (an
/// inline HTML body template, instead of a named `email_template`),
/// `email_text` (the plain-text alternative; derived from the HTML when
/// unset), `email_preheader` (inbox preview text), and the push extras
/// `sound`, `category` and `collapse_id`. Unknown keys are ignored so a
/// campaign spec can flatten this beside its own `weight`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct VariantContent {
    /// Variant name (`A`), used in validation messages.
    pub name: String,
    /// Push title.
    pub title: Option<String>,
    /// Push body; also the SMS text unless `sms_body` is set.
    pub body: Option<String>,
    /// Email subject line.
    pub email_subject: Option<String>,
    /// Name of an HTML body template in the [`super::TemplateLibrary`].
    pub email_template: Option<String>,
    /// Inline HTML body template; wins over `email_template`.
    pub email_html: Option<String>,
    /// Plain-text body template; derived from the HTML when unset.
    pub email_text: Option<String>,
    /// Inbox preview text shown after the subject.
    pub email_preheader: Option<String>,
    /// SMS text; `body` when unset.
    pub sms_body: Option<String>,
    /// Where a push tap leads; `links.click` when unset.
    pub deep_link: Option<String>,
    /// Push image URL.
    pub image_url: Option<String>,
    /// Push sound name (`default`).
    pub sound: Option<String>,
    /// Push category (action buttons).
    pub category: Option<String>,
    /// Push collapse key.
    pub collapse_id: Option<String>,
}

/// A template field of [`VariantContent`], named as in the campaign file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `title`
    Title,
    /// `body`
    Body,
    /// `email_subject`
    EmailSubject,
    /// `email_template` / `email_html`: the HTML body.
    EmailHtml,
    /// `email_text`
    EmailText,
    /// `email_preheader`
    EmailPreheader,
    /// `sms_body`
    SmsBody,
    /// `deep_link`
    DeepLink,
    /// `image_url`
    ImageUrl,
}

impl Field {
    /// Every field, in campaign-file order.
    pub const ALL: [Field; 9] = [
        Self::Title,
        Self::Body,
        Self::EmailSubject,
        Self::EmailHtml,
        Self::EmailText,
        Self::EmailPreheader,
        Self::SmsBody,
        Self::DeepLink,
        Self::ImageUrl,
    ];

    /// The campaign-file key, also the template's name in the environment
    /// (the HTML body is `email_html.html`, which turns on auto-escaping).
    pub fn name(self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Body => "body",
            Self::EmailSubject => "email_subject",
            Self::EmailHtml => "email_html.html",
            Self::EmailText => "email_text",
            Self::EmailPreheader => "email_preheader",
            Self::SmsBody => "sms_body",
            Self::DeepLink => "deep_link",
            Self::ImageUrl => "image_url",
        }
    }
}

impl VariantContent {
    /// The raw template of a field, if the variant sets it. The HTML body
    /// is looked up in `library` when given by name.
    pub fn source<'a>(
        &'a self,
        field: Field,
        library: &'a super::TemplateLibrary,
    ) -> Result<Option<&'a str>, String> {
        let text = match field {
            Field::Title => self.title.as_deref(),
            Field::Body => self.body.as_deref(),
            Field::EmailSubject => self.email_subject.as_deref(),
            Field::EmailHtml => return self.html_source(library),
            Field::EmailText => self.email_text.as_deref(),
            Field::EmailPreheader => self.email_preheader.as_deref(),
            Field::SmsBody => self.sms_body.as_deref(),
            Field::DeepLink => self.deep_link.as_deref(),
            Field::ImageUrl => self.image_url.as_deref(),
        };
        Ok(text)
    }

    /// The HTML body: inline, named, or the library's default when the
    /// variant has an email subject but no body of its own.
    fn html_source<'a>(
        &'a self,
        library: &'a super::TemplateLibrary,
    ) -> Result<Option<&'a str>, String> {
        if let Some(inline) = self.email_html.as_deref() {
            return Ok(Some(inline));
        }
        match self.email_template.as_deref() {
            Some(name) => library
                .get(name)
                .map(Some)
                .ok_or_else(|| format!("unknown email template {name:?}")),
            None if self.email_subject.is_some() => Ok(library.get(super::DEFAULT_EMAIL_TEMPLATE)),
            None => Ok(None),
        }
    }
}
