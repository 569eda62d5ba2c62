//! Loader tests, by topic: the layers (here), errors, and the shipped
//! files with secret hygiene. Every test works in its own temporary folder and passes environment
//! variables in [`LoadOptions`]; none reads or changes the process environment.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::*;

mod errors;
mod files;

/// A temporary folder with a `config/` subfolder holding `files`.
fn folder(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("config")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// Options reading `<dir>/config` and nothing else.
fn options(dir: &TempDir) -> LoadOptions {
    LoadOptions::new(dir.path().join("config"))
}

/// The error of loading `toml` as `config/default.toml`.
fn error_for(toml: &str) -> ConfigError {
    let dir = folder(&[("config/default.toml", toml)]);
    load(&options(&dir)).unwrap_err()
}

/// The repository's own `config/` folder.
fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn without_any_file_the_built_in_defaults_apply() {
    let dir = folder(&[]);
    assert_eq!(load(&options(&dir)).unwrap(), Settings::default());
}

#[test]
fn default_toml_overrides_the_built_in_defaults() {
    let dir = folder(&[("config/default.toml", "[dispatch]\nmax_attempts = 9\n")]);
    let settings = load(&options(&dir)).unwrap();
    assert_eq!(settings.dispatch.max_attempts.get(), 9);
    assert_eq!(
        settings.dispatch.batch_size,
        Settings::default().dispatch.batch_size
    );
}

#[test]
fn the_herald_env_file_overrides_default_toml() {
    let dir = folder(&[
        (
            "config/default.toml",
            "[dispatch]\nmax_attempts = 9\nbatch_size = 10\n",
        ),
        ("config/staging.toml", "[dispatch]\nmax_attempts = 2\n"),
    ]);
    let opts = LoadOptions {
        env: Some("staging".into()),
        ..options(&dir)
    };
    let settings = load(&opts).unwrap();
    assert_eq!(settings.dispatch.max_attempts.get(), 2);
    assert_eq!(settings.dispatch.batch_size.get(), 10);
}

#[test]
fn the_config_flag_file_overrides_the_herald_env_file() {
    let dir = folder(&[
        (
            "config/staging.toml",
            "[server]\nbind = \"0.0.0.0:1\"\npublic_url = \"https://a.example\"\n",
        ),
        ("mine.toml", "[server]\nbind = \"0.0.0.0:2\"\n"),
    ]);
    let opts = LoadOptions {
        env: Some("staging".into()),
        file: Some(dir.path().join("mine.toml")),
        ..options(&dir)
    };
    let settings = load(&opts).unwrap();
    assert_eq!(settings.server.bind.port(), 2);
    assert_eq!(settings.server.public_url.to_string(), "https://a.example/");
}

#[test]
fn env_vars_override_the_config_flag_file() {
    let dir = folder(&[("mine.toml", "[dispatch.apns]\nconcurrency = 5\nrate = 7\n")]);
    let opts = LoadOptions {
        file: Some(dir.path().join("mine.toml")),
        env_vars: vars(&[
            ("HERALD__DISPATCH__APNS__CONCURRENCY", "12"),
            ("PATH", "/bin"),
        ]),
        ..options(&dir)
    };
    let apns = load(&opts).unwrap().dispatch.apns;
    assert_eq!((apns.concurrency.get(), apns.rate), (12, 7));
}

#[test]
fn the_database_flag_overrides_every_other_layer() {
    let dir = folder(&[
        (
            "config/default.toml",
            "[database]\nurl = \"sqlite://a.db\"\n",
        ),
        ("mine.toml", "[database]\nurl = \"sqlite://b.db\"\n"),
    ]);
    let opts = LoadOptions {
        file: Some(dir.path().join("mine.toml")),
        env_vars: vars(&[("HERALD__DATABASE__URL", "sqlite://c.db")]),
        database_url: Some("postgres://db.internal/herald".into()),
        ..options(&dir)
    };
    let url = load(&opts).unwrap().database.url;
    assert_eq!(url.expose(), "postgres://db.internal/herald");
    assert_eq!(url.backend(), DatabaseBackend::Postgres);
}

#[test]
fn env_var_values_become_numbers_only_where_a_number_is_expected() {
    let dir = folder(&[]);
    let opts = LoadOptions {
        env_vars: vars(&[
            ("HERALD__SMS__FROM", "+15550001111"),
            ("HERALD__FCM__PROJECT_ID", "12345"),
            ("herald__dispatch__max_attempts", "3"),
        ]),
        ..options(&dir)
    };
    let settings = load(&opts).unwrap();
    assert_eq!(settings.sms.from.as_deref(), Some("+15550001111"));
    assert_eq!(settings.fcm.project_id.as_deref(), Some("12345"));
    assert_eq!(settings.dispatch.max_attempts.get(), 3);
}

#[test]
fn a_partial_channel_table_keeps_that_channels_other_defaults() {
    let dir = folder(&[("config/default.toml", "[dispatch.sms]\nrate = 1\n")]);
    let sms = load(&options(&dir)).unwrap().dispatch.sms;
    assert_eq!(
        (sms.concurrency.get(), sms.rate_limit().map(|r| r.get())),
        (4, Some(1))
    );
}
