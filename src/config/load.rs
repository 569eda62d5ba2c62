//! Building [`Settings`] from its layers.
//!
//! Everything that comes from outside (working directory, `HERALD_ENV`,
//! `HERALD__*` variables, flags) is gathered into [`LoadOptions`] first, so
//! [`load`] itself reads only files and tests never touch the process
//! environment.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::Settings;
use super::error::ConfigError;
use super::urls::DatabaseUrl;

/// Prefix of environment variables that set config keys: `HERALD__DATABASE__URL`.
pub const ENV_PREFIX: &str = "HERALD__";
/// Separator between key segments in those variables (`.` in the TOML key).
pub const ENV_SEPARATOR: &str = "__";
/// Environment variable that selects `config/<name>.toml`.
pub const ENV_SELECTOR: &str = "HERALD_ENV";

/// Where to load settings from. Build it with [`LoadOptions::from_process`]
/// in the binary, or field by field (starting from [`LoadOptions::new`]) in tests.
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// Folder holding `default.toml` and `<env>.toml`; `config` in the working directory.
    pub config_dir: PathBuf,
    /// The `HERALD_ENV` value: loads `<config_dir>/<env>.toml`, which must exist.
    pub env: Option<String>,
    /// The `--config FILE` flag: loaded after the folder's files; must exist.
    pub file: Option<PathBuf>,
    /// The `--database URL` flag: overrides `database.url` from every other layer.
    pub database_url: Option<String>,
    /// Environment variables as (name, value); those starting `HERALD__` set keys.
    pub env_vars: Vec<(String, String)>,
}

impl LoadOptions {
    /// Options that read only `<config_dir>/default.toml`: no environment, no flags.
    pub fn new(config_dir: impl Into<PathBuf>) -> Self {
        Self {
            config_dir: config_dir.into(),
            ..Self::default()
        }
    }

    /// Options for the running process: `config/` under the working directory,
    /// `HERALD_ENV`, the real `HERALD__*` variables and the two CLI flags.
    pub fn from_process(config_file: Option<PathBuf>, database: Option<String>) -> Self {
        let env = std::env::var(ENV_SELECTOR)
            .ok()
            .filter(|e| !e.trim().is_empty());
        let env_vars = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .filter(|(k, _)| env_key_path(k).is_some())
            .collect();
        Self {
            config_dir: PathBuf::from("config"),
            env: env.map(|e| e.trim().to_owned()),
            file: config_file,
            database_url: database,
            env_vars,
        }
    }
}

impl fmt::Debug for LoadOptions {
    /// Shows variable names only and a masked `--database`: both may hold passwords.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let database = self
            .database_url
            .as_deref()
            .map(|u| match u.parse::<DatabaseUrl>() {
                Ok(url) => url.redacted(),
                Err(_) => "[invalid, not shown]".to_owned(),
            });
        let names: Vec<&str> = self.env_vars.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("LoadOptions")
            .field("config_dir", &self.config_dir)
            .field("env", &self.env)
            .field("file", &self.file)
            .field("database_url", &database)
            .field("env_vars", &names)
            .finish()
    }
}

/// Loads and validates the settings, layer over layer (lowest first):
/// defaults, `default.toml`, `<env>.toml`, `--config`, `HERALD__*`, `--database`.
pub fn load(opts: &LoadOptions) -> Result<Settings, ConfigError> {
    let settings: Settings = figment(opts)?.extract_lossy()?;
    settings.validate()?;
    tracing::debug!(env = ?opts.env, file = ?opts.file, "configuration loaded");
    Ok(settings)
}

/// The layers of `opts` as a figment, after checking that required files exist.
fn figment(opts: &LoadOptions) -> Result<Figment, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    let default_file = opts.config_dir.join("default.toml");
    if default_file.exists() {
        figment = figment.merge(Toml::file_exact(default_file));
    }
    if let Some(env) = &opts.env {
        figment = figment.merge(Toml::file_exact(env_file(&opts.config_dir, env)?));
    }
    if let Some(file) = &opts.file {
        figment = figment.merge(Toml::file_exact(required_file(file)?));
    }
    let mut vars: Vec<&(String, String)> = opts.env_vars.iter().collect();
    vars.sort();
    for (name, value) in vars {
        if let Some(path) = env_key_path(name) {
            figment = figment.merge(Override::new(
                format!("environment variable {name}"),
                &path,
                value,
            ));
        }
    }
    if let Some(url) = &opts.database_url {
        figment = figment.merge(Override::new(
            "the --database flag".to_owned(),
            "database.url",
            url,
        ));
    }
    Ok(figment)
}

/// `<dir>/<env>.toml`, which must exist once `HERALD_ENV` asks for it.
fn env_file(dir: &Path, env: &str) -> Result<PathBuf, ConfigError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if env.is_empty() || !env.chars().all(plain) {
        return Err(ConfigError::BadEnvName {
            env: env.to_owned(),
        });
    }
    let path = dir.join(format!("{env}.toml"));
    if !path.exists() {
        return Err(ConfigError::MissingEnvFile {
            env: env.to_owned(),
            path,
        });
    }
    Ok(path)
}

/// The `--config` file, which must exist.
fn required_file(path: &Path) -> Result<&Path, ConfigError> {
    if path.exists() {
        Ok(path)
    } else {
        Err(ConfigError::MissingFile {
            path: path.to_owned(),
        })
    }
}

/// `HERALD__DISPATCH__APNS__RATE` → `dispatch.apns.rate`; `None` for other
/// variables. The prefix is matched case-insensitively; keys are lowercased.
fn env_key_path(name: &str) -> Option<String> {
    let prefix = name.get(..ENV_PREFIX.len())?;
    if !prefix.eq_ignore_ascii_case(ENV_PREFIX) {
        return None;
    }
    let segments: Vec<String> = name[ENV_PREFIX.len()..]
        .split(ENV_SEPARATOR)
        .map(str::to_ascii_lowercase)
        .collect();
    let well_formed = |s: &String| !s.is_empty() && !s.contains('.');
    segments.iter().all(well_formed).then(|| segments.join("."))
}

/// A provider that sets one key from outside the files (an environment
/// variable or a flag), named so errors say exactly where a bad value came from.
/// Values stay strings; `extract_lossy` turns them into numbers where needed.
struct Override {
    /// How the source appears in errors.
    name: String,
    /// The dotted key it sets.
    key: String,
    /// The value as given.
    value: String,
}

impl Override {
    fn new(name: String, key: &str, value: &str) -> Self {
        Self {
            name,
            key: key.to_owned(),
            value: value.to_owned(),
        }
    }
}

impl Provider for Override {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let nested = figment::util::nest(&self.key, Value::from(self.value.clone()));
        let dict = nested.into_dict().unwrap_or_default();
        Ok(Profile::Default.collect(dict))
    }
}

#[cfg(test)]
mod tests {
    use super::env_key_path;

    #[test]
    fn env_var_names_map_to_lowercase_dotted_keys() {
        assert_eq!(
            env_key_path("HERALD__DATABASE__URL").as_deref(),
            Some("database.url")
        );
        assert_eq!(
            env_key_path("herald__dispatch__apns__concurrency").as_deref(),
            Some("dispatch.apns.concurrency")
        );
    }

    #[test]
    fn other_and_malformed_env_vars_are_ignored() {
        for name in [
            "HERALD_ENV",
            "PATH",
            "HERALD__",
            "HERALD__A____B",
            "HERALD__A.B__C",
            "HÉ",
        ] {
            assert_eq!(env_key_path(name), None, "{name}");
        }
    }
}
