//! Configuration errors: each displays as one line naming the key or file to
//! fix and where the bad value came from, and never a secret's contents.

use std::path::PathBuf;

use figment::Source;
use figment::error::Kind;

/// Why the configuration could not be loaded or a secret could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file given with `--config` does not exist.
    #[error("config file {} (given with --config) does not exist", .path.display())]
    MissingFile {
        /// The path as given.
        path: PathBuf,
    },
    /// `HERALD_ENV` names an environment without a `config/<env>.toml`.
    #[error("HERALD_ENV={env} needs the config file {}, which does not exist", .path.display())]
    MissingEnvFile {
        /// The value of `HERALD_ENV`.
        env: String,
        /// The file that was looked for.
        path: PathBuf,
    },
    /// `HERALD_ENV` is not a plain name (it must not reach outside the config folder).
    #[error("HERALD_ENV={env:?} is not a valid environment name: use letters, digits, '-' and '_'")]
    BadEnvName {
        /// The value of `HERALD_ENV`.
        env: String,
    },
    /// A file did not parse, or a key is unknown or has a bad value.
    #[error("{}", describe(.0))]
    Source(Box<figment::Error>),
    /// A value that is fine alone conflicts with another one.
    #[error("{key}: {reason}")]
    Invalid {
        /// The dotted config key to fix.
        key: &'static str,
        /// What is wrong, in words.
        reason: String,
    },
    /// A `*_file` secret could not be read.
    #[error("{key}: cannot read the secret file {}: {cause}", .path.display())]
    SecretUnreadable {
        /// The dotted config key that names the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error (it never holds the file's contents).
        cause: std::io::Error,
    },
    /// A `*_file` secret is empty.
    #[error("{key}: the secret file {} is empty", .path.display())]
    SecretEmpty {
        /// The dotted config key that names the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
    },
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        ConfigError::Source(Box::new(err))
    }
}

impl ConfigError {
    /// The dotted key the error is about, when there is one (for tests and tooling).
    pub fn key(&self) -> Option<String> {
        match self {
            ConfigError::Source(err) if !err.path.is_empty() => Some(err.path.join(".")),
            ConfigError::Invalid { key, .. }
            | ConfigError::SecretUnreadable { key, .. }
            | ConfigError::SecretEmpty { key, .. } => Some((*key).to_owned()),
            _ => None,
        }
    }
}

/// One line for a figment error: `key: what (origin)` or `origin: what`.
fn describe(err: &figment::Error) -> String {
    let what = match &err.kind {
        Kind::UnknownField(found, expected) => {
            format!(
                "unknown key `{found}`, expected one of: {}",
                expected.join(", ")
            )
        }
        kind => one_line(&kind.to_string()),
    };
    let origin = origin(err);
    let text = if err.path.is_empty() {
        format!("{origin}: {what}")
    } else {
        format!("{}: {what} ({origin})", err.path.join("."))
    };
    match err.count() {
        0 | 1 => text,
        n => format!("{text} (and {} more errors)", n - 1),
    }
}

/// Where the failing value came from: a file, an environment variable or a flag.
fn origin(err: &figment::Error) -> String {
    match &err.metadata {
        Some(md) => match &md.source {
            Some(Source::File(path)) => format!("in {}", path.display()),
            _ => format!("from {}", md.name),
        },
        None => "in the configuration".to_owned(),
    }
}

/// Joins a multi-line parser message into one line, dropping the source
/// excerpt lines (`12 | key = ...`), which could show a secret pasted in a file.
fn one_line(text: &str) -> String {
    let excerpt = |line: &str| {
        let line = line.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ');
        line.starts_with('|')
    };
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !excerpt(line))
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn parser_messages_become_one_line_without_the_source_excerpt() {
        let toml = "TOML parse error at line 2, column 7\n  |\n2 | key = = \"hunter2\"\n  |       ^\ninvalid string\nexpected `\"`, `'`\n";
        let line = one_line(toml);
        assert_eq!(
            line,
            "TOML parse error at line 2, column 7: invalid string: expected `\"`, `'`"
        );
        assert!(!line.contains("hunter2"));
    }
}
