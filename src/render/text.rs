//! HTML to plain text, for the text alternative of an email whose
//! variant gives no `email_text` template, and script removal for the
//! HTML body.
//!
//! A small converter for the mail-client HTML herald's bodies use: block
//! ends become line breaks, links become `label (url)`, list items get a
//! dash, scripts and styles vanish, entities are decoded and runs of
//! blank lines are collapsed.

/// Tags after which text continues on a new line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "blockquote",
    "section",
    "header",
    "footer",
];

/// Plain text of an HTML fragment.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut href: Vec<Option<String>> = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        push_text(&mut out, &rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = &rest[open..];
            break;
        };
        let tag = &rest[open + 1..open + close];
        rest = &rest[open + close + 1..];
        rest = on_tag(&mut out, &mut href, tag, rest);
    }
    push_text(&mut out, rest);
    tidy(&out)
}

/// Applies one tag to the output; returns the input left (skipping the
/// contents of `script` and `style`).
fn on_tag<'a>(
    out: &mut String,
    href: &mut Vec<Option<String>>,
    tag: &str,
    rest: &'a str,
) -> &'a str {
    let closing = tag.starts_with('/');
    let name = tag_name(tag);
    match (name.as_str(), closing) {
        ("script" | "style", false) => return skip_element(rest, &name),
        ("br", _) => out.push('\n'),
        ("li", false) => out.push_str("\n- "),
        ("li", true) => {}
        ("a", false) => href.push(attribute(tag, "href")),
        ("a", true) => {
            if let Some(Some(url)) = href.pop() {
                let link = decode_entities(&url);
                if !out.trim_end().ends_with(link.as_str()) && !link.is_empty() {
                    out.push_str(&format!(" ({link})"));
                }
            }
        }
        ("td" | "th", true) => out.push(' '),
        (block, _) if BLOCKS.contains(&block) => out.push('\n'),
        _ => {}
    }
    rest
}

/// The lower-cased element name of a tag's inside (`/A href=..` -> `a`).
fn tag_name(tag: &str) -> String {
    tag.trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The value of attribute `name` in a tag's inside, quoted or not.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let value = &tag[at..];
    let (quote, body) = match value.chars().next()? {
        q @ ('"' | '\'') => (Some(q), &value[1..]),
        _ => (None, value),
    };
    let end = match quote {
        Some(q) => body.find(q)?,
        None => body.find(char::is_whitespace).unwrap_or(body.len()),
    };
    Some(body[..end].to_owned())
}

/// Skips to after `</name>` (case-insensitive), or to the end.
fn skip_element<'a>(rest: &'a str, name: &str) -> &'a str {
    let needle = format!("</{name}");
    match rest.to_ascii_lowercase().find(&needle) {
        Some(at) => match rest[at..].find('>') {
            Some(end) => &rest[at + end + 1..],
            None => "",
        },
        None => "",
    }
}

/// Appends text with whitespace runs collapsed and entities decoded.
fn push_text(out: &mut String, text: &str) {
    let decoded = decode_entities(text);
    for (i, word) in decoded.split_whitespace().enumerate() {
        let starts_with_space = i > 0 || decoded.starts_with(char::is_whitespace);
        if starts_with_space && !out.ends_with([' ', '\n']) && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if decoded.ends_with(char::is_whitespace) && !decoded.trim().is_empty() {
        out.push(' ');
    }
}

/// Decodes the entities minijinja and mail HTML use, and numeric ones.
pub(crate) fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match rest
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| entity(&rest[1..end]).map(|c| (c, end)))
        {
            Some((ch, end)) => {
                out.push(ch);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character an entity name (between `&` and `;`) stands for.
fn entity(name: &str) -> Option<char> {
    let named = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "middot" => '·',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "copy" => '©',
        "euro" => '€',
        _ => return numeric_entity(name),
    };
    Some(named)
}

/// `#39`, `#x27`.
fn numeric_entity(name: &str) -> Option<char> {
    let number = name.strip_prefix('#')?;
    let code = match number.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => number.parse().ok()?,
    };
    char::from_u32(code)
}

/// Trims every line and keeps at most one blank line in a row.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        out.push_str(line);
        blank = 0;
    }
    out
}

/// Removes `<script>` elements from rendered HTML (defence in depth:
/// validation already rejects bodies that contain them).
pub(crate) fn strip_scripts(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.to_ascii_lowercase().find("<script") {
        out.push_str(&rest[..at]);
        rest = skip_element(&rest[at..], "script");
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_links_and_entities_become_readable_text() {
        let html = "<h1>Hi &amp; welcome</h1><p>See <a href=\"https://x.test/a?b=1&amp;c=2\">our picks</a>.</p>\
                    <ul><li>One</li><li>Two</li></ul><script>alert(1)</script><p>&lt;b&gt; &#x27;q&#x27;</p>";
        assert_eq!(
            html_to_text(html),
            "Hi & welcome\n\nSee our picks (https://x.test/a?b=1&c=2).\n\n- One\n- Two\n\n<b> 'q'"
        );
    }

    #[test]
    fn scripts_are_removed_from_html() {
        assert_eq!(
            strip_scripts("a<SCRIPT src=x>evil()</script>b<script>"),
            "ab"
        );
    }
}
