//! The system's own layouts, askama templates in `templates/`: the email
//! frame (`email.html`, `email.txt`) and the unsubscribe page
//! (`unsubscribe.html`). Checked at compile time; `email.html` escapes
//! everything but the already-escaped body.

use askama::Template;

use super::RenderError;

/// The HTML email frame: a centred 600 px table with inline styles, the
/// body, and a footer with the unsubscribe link and open pixel.
#[derive(Debug, Template)]
#[template(path = "email.html")]
pub struct EmailHtmlLayout<'a> {
    /// Subject, used as the document title.
    pub subject: &'a str,
    /// Inbox preview text, hidden in the body.
    pub preheader: &'a str,
    /// The rendered, escaped HTML body.
    pub content: &'a str,
    /// Unsubscribe page, when there is one.
    pub unsubscribe_url: Option<&'a str>,
    /// Open-tracking pixel, when there is one.
    pub open_pixel: Option<&'a str>,
}

/// The plain-text email frame.
#[derive(Debug, Template)]
#[template(path = "email.txt")]
pub struct EmailTextLayout<'a> {
    /// The body as plain text.
    pub content: &'a str,
    /// Unsubscribe page, when there is one.
    pub unsubscribe_url: Option<&'a str>,
}

/// The page behind `/u/...`: a confirm button that POSTs to `action`
/// (the same signed URL, RFC 8058), or the confirmation once done.
#[derive(Debug, Template)]
#[template(path = "unsubscribe.html")]
pub struct UnsubscribePage<'a> {
    /// Sender name shown in the heading.
    pub brand: &'a str,
    /// Where the confirm form posts (the signed unsubscribe URL).
    pub action: &'a str,
    /// The channel being unsubscribed from (`email`, `push`, `sms`).
    pub channel: &'a str,
    /// Whether the unsubscribe has been recorded.
    pub done: bool,
}

/// Renders an askama layout, naming it on failure.
pub(crate) fn render(
    layout: &'static str,
    template: &impl Template,
) -> Result<String, RenderError> {
    template.render().map_err(|e| RenderError::Layout {
        layout,
        message: e.to_string(),
    })
}
