//! Static checks on template source that rendering alone can miss: a
//! filter or variable inside a branch the sample users never take.
//!
//! Filter names are found by a small lexer over `{{ }}` and `{% %}` tags
//! (string literals skipped); variable paths come from minijinja's
//! `undeclared_variables(true)` and are resolved against the serialized
//! sample contexts.

use minijinja::value::Value;

/// minijinja globals a template may name without a context key.
const GLOBALS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "debug",
    "lipsum",
    "cycler",
    "joiner",
    "loop",
];

/// A name used in a template and the 1-based line where it appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// The filter name or dotted variable path.
    pub name: String,
    /// Line of its first use.
    pub line: Option<usize>,
}

/// Every filter applied in `source` (`x | money("EUR")` -> `money`).
pub fn filters_used(source: &str) -> Vec<Use> {
    let mut found = Vec::new();
    let mut rest = source;
    let mut offset = 0;
    while let Some(start) = rest.find(['{']) {
        let after = &rest[start..];
        let close = match after.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            _ => {
                offset += start + 1;
                rest = &rest[start + 1..];
                continue;
            }
        };
        let end = after.find(close).map_or(after.len(), |e| e + 2);
        scan_tag(&after[..end], offset + start, source, &mut found);
        offset += start + end;
        rest = &after[end..];
    }
    found
}

/// Collects the filter names of one tag (`tag` starts at byte `at`).
fn scan_tag(tag: &str, at: usize, source: &str, found: &mut Vec<Use>) {
    let mut quote: Option<char> = None;
    let mut chars = tag.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(ch),
            (None, '|') => {
                let name: String = tag[i + 1..]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(Use {
                        name,
                        line: Some(line_at(source, at + i)),
                    });
                }
            }
            _ => {}
        }
    }
}

/// The 1-based line of byte `offset`.
pub fn line_at(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

/// The line where `name` first appears in `source`.
pub fn line_of(source: &str, name: &str) -> Option<usize> {
    source.find(name).map(|at| line_at(source, at))
}

/// Whether a dotted path resolves in a context value: each segment must
/// exist while the value is a map; lists and scalars end the check.
pub fn resolves(context: &Value, path: &str) -> bool {
    let mut value = context.clone();
    for segment in path.split('.') {
        if value.kind() != minijinja::value::ValueKind::Map {
            return true;
        }
        match value.get_attr(segment) {
            Ok(next) if !next.is_undefined() => value = next,
            _ => return false,
        }
    }
    true
}

/// Whether `path` names a minijinja global (or a name a template defines
/// for itself, like `loop`).
pub fn is_global(path: &str) -> bool {
    let root = path.split('.').next().unwrap_or(path);
    GLOBALS.contains(&root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_found_outside_strings_with_their_lines() {
        let src =
            "Hi {{ a | title }}\n{{ \"x|y\" ~ b|frobnicate(1) }}{% if c|length %}|nope{% endif %}";
        let names: Vec<(String, Option<usize>)> = filters_used(src)
            .into_iter()
            .map(|u| (u.name, u.line))
            .collect();
        assert_eq!(
            names,
            vec![
                ("title".to_owned(), Some(1)),
                ("frobnicate".to_owned(), Some(2)),
                ("length".to_owned(), Some(2)),
            ]
        );
    }
}
