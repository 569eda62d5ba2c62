//! From source text to a checked [`Program`]: the size scan, the parser on
//! a thread with a large stack, the depth limit, then unknown variables,
//! unknown functions and kind errors, each located by line and column.

use std::collections::BTreeSet;

use cel::Program;

use super::{AudienceError, BUILT_IN};
use crate::segment::cel_check::{self, Problem};
use crate::segment::cel_limits::{self, MAX_DEPTH, PARSE_STACK_BYTES};

/// Compiles `source` into a program that is safe to evaluate on any
/// thread: every check runs before the program is returned.
pub(super) fn program(
    source: &str,
    attributes: &BTreeSet<String>,
) -> Result<Program, AudienceError> {
    cel_limits::scan(source).map_err(|e| {
        let (line, column) = line_column(source, source[..e.offset].chars().count());
        AudienceError::TooLarge {
            line,
            column,
            message: e.message,
        }
    })?;
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("audience-parse".into())
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, || parse_and_check(source, attributes))
            .map_err(|e| AudienceError::TooLarge {
                line: 1,
                column: 1,
                message: format!("no thread to parse the expression on: {e}"),
            })?
            .join()
            .unwrap_or_else(|_| {
                Err(AudienceError::TooLarge {
                    line: 1,
                    column: 1,
                    message: "the parser failed on this expression; simplify it".into(),
                })
            })
    })
}

/// Parses and checks on the current (large-stack) thread; a tree that is
/// too deep is dropped here too, since dropping it recurses as well.
fn parse_and_check(source: &str, attributes: &BTreeSet<String>) -> Result<Program, AudienceError> {
    let program = Program::compile(source).map_err(|errors| {
        let first = errors.errors.first();
        AudienceError::Syntax {
            line: first.map_or(1, |e| e.pos.0.max(1) as usize),
            column: first.map_or(1, |e| e.pos.1.max(0) as usize + 1),
            message: first.map_or_else(|| errors.to_string(), |e| e.msg.clone()),
        }
    })?;
    if cel_limits::depth(program.expression()) > MAX_DEPTH {
        return Err(AudienceError::TooLarge {
            line: 1,
            column: 1,
            message: format!(
                "the expression nests deeper than {MAX_DEPTH} levels; use `in [...]` lists or a segment instead of long chains"
            ),
        });
    }
    unknown_variable(source, &program, attributes)?;
    cel_check::check(program.expression()).map_err(|problem| located(source, &program, problem))?;
    Ok(program)
}

/// The first (alphabetically) variable that is neither built in nor an
/// attribute column.
fn unknown_variable(
    source: &str,
    program: &Program,
    attributes: &BTreeSet<String>,
) -> Result<(), AudienceError> {
    let mut unknown: Vec<String> = program
        .references()
        .variables()
        .into_iter()
        .filter(|v| !BUILT_IN.contains(v) && !attributes.contains(*v))
        .map(str::to_owned)
        .collect();
    unknown.sort();
    match unknown.into_iter().next() {
        Some(name) => {
            let (line, column) = position_of(source, &name);
            Err(AudienceError::UnknownVariable { name, line, column })
        }
        None => Ok(()),
    }
}

/// A static problem with its line and column.
fn located(source: &str, program: &Program, problem: Problem) -> AudienceError {
    let at = |id: u64| {
        program
            .source_info()
            .offset_for(id)
            .map_or((1, 1), |(start, _)| line_column(source, start as usize))
    };
    match problem {
        Problem::UnknownFunction { name, id } => {
            let (line, column) = match position_of(source, &name) {
                (1, 1) => at(id),
                found => found,
            };
            AudienceError::UnknownFunction { name, line, column }
        }
        Problem::Type { id, message } => {
            let (line, column) = at(id);
            AudienceError::Type {
                line,
                column,
                message,
            }
        }
    }
}

/// 1-based line and column of the character at `offset` (in characters).
pub(super) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let (mut line, mut column) = (1, 1);
    for ch in source.chars().take(offset) {
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// The first whole-word occurrence of `name`, as 1-based line and column.
pub(super) fn position_of(source: &str, name: &str) -> (usize, usize) {
    for (i, line) in source.lines().enumerate() {
        let mut start = 0;
        while let Some(found) = line[start..].find(name) {
            let at = start + found;
            let before = line[..at].chars().next_back();
            let after = line[at + name.len()..].chars().next();
            let word =
                |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
            if !word(before) && !word(after) {
                return (i + 1, line[..at].chars().count() + 1);
            }
            start = at + name.len();
        }
    }
    (1, 1)
}
