//! Size limits of an audience expression, checked before and after the
//! CEL parser runs.
//!
//! The `cel` crate parses, evaluates and drops expressions recursively: a
//! 6,000-term sum overflows a 2 MiB thread stack. So the raw text is
//! scanned first (length, bracket nesting, operator count, a linear pass
//! that never recurses), the parser then runs on a thread with a large
//! stack, and the parsed tree's depth is measured without recursion. A
//! tree that passes is shallow enough to evaluate on any runtime thread.

use cel::common::ast::{EntryExpr, Expr, IdedExpr};

/// Longest expression accepted, in bytes.
pub const MAX_SOURCE_BYTES: usize = 4096;
/// Deepest nesting of `(`, `[` and `{` accepted.
pub const MAX_NESTING: usize = 32;
/// Most operators (`&&`, `==`, `+`, `!`, `.`, `in`, ...) accepted.
pub const MAX_OPERATORS: usize = 200;
/// Deepest parsed tree accepted (macros such as `exists` add levels).
pub const MAX_DEPTH: usize = 256;
/// Stack of the thread the parser runs on: the scan bounds the recursion
/// well below what this holds, it is the margin if the scan is fooled.
pub const PARSE_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Why the raw text is refused: the byte offset and what is too large.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// Byte offset where the limit was crossed.
    pub offset: usize,
    /// What is over which limit, in words.
    pub message: String,
}

/// Scans `source` once, without recursion, for the limits above.
pub fn scan(source: &str) -> Result<(), TooLarge> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(TooLarge {
            offset: MAX_SOURCE_BYTES,
            message: format!(
                "the expression is {} bytes, over the limit of {MAX_SOURCE_BYTES}; use `in [...]` lists or a segment instead of long chains",
                source.len()
            ),
        });
    }
    let bytes = source.as_bytes();
    let (mut i, mut nesting, mut operators) = (0, 0usize, 0usize);
    while i < bytes.len() {
        let (step, operator) = match bytes[i] {
            b'"' | b'\'' => (string_end(bytes, i) - i, false),
            b'(' | b'[' | b'{' => {
                nesting += 1;
                if nesting > MAX_NESTING {
                    return Err(too_large(
                        i,
                        format!("brackets nest deeper than {MAX_NESTING}"),
                    ));
                }
                (1, false)
            }
            b')' | b']' | b'}' => {
                nesting = nesting.saturating_sub(1);
                (1, false)
            }
            b if b.is_ascii_alphanumeric() || b == b'_' => {
                let len = word_len(&bytes[i..]);
                (len, &bytes[i..i + len] == b"in")
            }
            _ => operator_len(&bytes[i..]).map_or((1, false), |len| (len, true)),
        };
        if operator {
            operators += 1;
            if operators > MAX_OPERATORS {
                let message = format!(
                    "more than {MAX_OPERATORS} operators; use `in [...]` lists or a segment instead of long chains"
                );
                return Err(too_large(i, message));
            }
        }
        i += step;
    }
    Ok(())
}

fn too_large(offset: usize, message: String) -> TooLarge {
    TooLarge { offset, message }
}

/// Length of the identifier or number starting `bytes`.
fn word_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count()
}

/// Length of the operator starting `bytes`, if one does.
fn operator_len(bytes: &[u8]) -> Option<usize> {
    let two = bytes.get(..2);
    if matches!(two, Some(b"&&" | b"||" | b"==" | b"!=" | b"<=" | b">=")) {
        return Some(2);
    }
    matches!(
        bytes[0],
        b'+' | b'-' | b'*' | b'/' | b'%' | b'!' | b'<' | b'>' | b'?' | b'.' | b'&' | b'|' | b'='
    )
    .then_some(1)
}

/// Offset just past the string literal opening at `start` (single or
/// triple quoted, backslash escapes skipped; the end when unterminated).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let triple = bytes.get(start..start + 3) == Some(&[quote; 3][..]);
    let (mut i, closing) = if triple {
        (start + 3, 3)
    } else {
        (start + 1, 1)
    };
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i] == quote
            && bytes
                .get(i..i + closing)
                .is_some_and(|s| s.iter().all(|b| *b == quote))
        {
            return i + closing;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Depth of the parsed tree, measured with an explicit stack; stops
/// counting at `MAX_DEPTH + 1`.
pub fn depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(root, 1usize)];
    while let Some((node, level)) = stack.pop() {
        deepest = deepest.max(level);
        if deepest > MAX_DEPTH {
            break;
        }
        stack.extend(children(&node.expr).into_iter().map(|c| (c, level + 1)));
    }
    deepest
}

/// The direct sub-expressions of `expr`.
pub fn children(expr: &Expr) -> Vec<&IdedExpr> {
    match expr {
        Expr::Call(call) => call
            .target
            .as_deref()
            .into_iter()
            .chain(&call.args)
            .collect(),
        Expr::Comprehension(c) => vec![
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ],
        Expr::List(list) => list.elements.iter().collect(),
        Expr::Map(map) => map.entries.iter().flat_map(|e| entry(&e.expr)).collect(),
        Expr::Struct(s) => s.entries.iter().flat_map(|e| entry(&e.expr)).collect(),
        Expr::Select(select) => vec![&select.operand],
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => Vec::new(),
    }
}

fn entry(entry: &EntryExpr) -> Vec<&IdedExpr> {
    match entry {
        EntryExpr::MapEntry(e) => vec![&e.key, &e.value],
        EntryExpr::StructField(f) => vec![&f.value],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_6000_term_sum_is_refused_before_parsing() {
        let sum = vec!["1"; 6000].join(" + ");
        let err = scan(&sum).unwrap_err();
        assert!(err.message.contains("4096"), "{err:?}");
    }

    #[test]
    fn a_sum_over_the_operator_limit_is_refused_even_when_short() {
        let sum = vec!["1"; MAX_OPERATORS + 2].join("+");
        assert!(sum.len() < MAX_SOURCE_BYTES);
        assert!(scan(&sum).unwrap_err().message.contains("operators"));
    }

    #[test]
    fn deep_brackets_are_refused_at_the_bracket_that_crosses_the_limit() {
        let deep = format!("{}1{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(scan(&deep).unwrap_err().offset, MAX_NESTING);
    }

    #[test]
    fn operators_inside_strings_do_not_count_and_triple_quotes_are_skipped_whole() {
        let plus = "+".repeat(MAX_OPERATORS * 2);
        assert!(scan(&format!("country == \"{plus}\"")).is_ok());
        assert!(scan(&format!("country == '''a'b{plus}'''")).is_ok());
        let fooled = format!(
            "\"\"\"a\"b\"\"\" + {}",
            vec!["1"; MAX_OPERATORS + 1].join("+")
        );
        assert!(
            scan(&fooled).is_err(),
            "operators after a triple-quoted string count"
        );
    }

    #[test]
    fn a_realistic_audience_passes_the_scan() {
        let rule = r#"segment in [2, 5] && country == "CN" && days_since_purchase < 60"#;
        assert_eq!(scan(rule), Ok(()));
    }
}
