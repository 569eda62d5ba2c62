//! The shipped `config/` files agree with the defaults, and secrets stay hidden.

use std::collections::BTreeSet;

use figment::Figment;
use figment::providers::{Format, Toml};

use super::*;

#[test]
fn the_shipped_default_toml_parses_into_exactly_the_built_in_defaults() {
    let file = shipped_config().join("default.toml");
    let alone: Settings = Figment::from(Toml::file_exact(&file))
        .extract_lossy()
        .unwrap();
    assert_eq!(alone, Settings::default());
    assert_eq!(
        load(&LoadOptions::new(shipped_config())).unwrap(),
        Settings::default()
    );
}

/// The dotted paths of every leaf (non-table value) in `value`.
fn leaf_keys(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value.as_object() {
        Some(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_keys(&path, v, out);
            }
        }
        None => {
            out.insert(prefix.to_owned());
        }
    }
}

#[test]
fn every_settings_key_is_in_default_toml_and_nothing_else_is() {
    let file = shipped_config().join("default.toml");
    let documented: serde_json::Value = Figment::from(Toml::file_exact(&file)).extract().unwrap();
    let (mut in_file, mut in_settings) = (BTreeSet::new(), BTreeSet::new());
    leaf_keys("", &documented, &mut in_file);
    leaf_keys(
        "",
        &serde_json::to_value(Settings::default()).unwrap(),
        &mut in_settings,
    );
    assert_eq!(in_file, in_settings);
}

#[test]
fn every_key_in_default_toml_has_a_comment_line_above_it() {
    let text = std::fs::read_to_string(shipped_config().join("default.toml")).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        let is_key = !line.is_empty() && !line.starts_with('#') && !line.starts_with('[');
        if is_key {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "no comment above {line:?}"
            );
        }
    }
}

#[test]
fn the_shipped_test_and_production_example_files_load() {
    let test = LoadOptions {
        env: Some("test".into()),
        ..LoadOptions::new(shipped_config())
    };
    let settings = load(&test).unwrap();
    assert_eq!(settings.database.url.backend(), DatabaseBackend::Sqlite);
    let example = LoadOptions {
        file: Some(shipped_config().join("production.example.toml")),
        ..LoadOptions::new(shipped_config())
    };
    let settings = load(&example).unwrap();
    assert_eq!(settings.database.url.backend(), DatabaseBackend::Postgres);
    assert_eq!(
        settings.policy.frequency_cap,
        Some(FrequencyCap {
            count: 2,
            per: Period::Day
        })
    );
}

#[test]
fn secrets_are_read_from_their_files_without_the_trailing_newline() {
    let dir = folder(&[("link.key", "s3cr3t\n")]);
    let toml = format!(
        "[security]\nlink_secret_file = {:?}\n",
        dir.path().join("link.key")
    );
    std::fs::write(dir.path().join("config/default.toml"), toml).unwrap();
    let settings = load(&options(&dir)).unwrap();
    let secret = settings.security.link_secret().unwrap().unwrap();
    assert_eq!(secret.expose(), "s3cr3t");
    assert!(!format!("{settings:?} {secret:?} {secret}").contains("s3cr3t"));
}

#[test]
fn unset_secret_files_read_as_none() {
    let settings = Settings::default();
    assert!(settings.security.link_secret().unwrap().is_none());
    assert!(settings.apns.key().unwrap().is_none());
    assert!(settings.fcm.service_account().unwrap().is_none());
    assert!(settings.email.password().unwrap().is_none());
    assert!(settings.sms.auth_token().unwrap().is_none());
    assert!(settings.webhook.secret().unwrap().is_none());
}

#[test]
fn secret_file_errors_name_the_key_and_path_but_never_the_contents() {
    let dir = folder(&[("empty", "\n")]);
    std::fs::write(dir.path().join("binary"), b"s3cr3t\xff\xfe").unwrap();
    let mut sms = SmsSettings {
        auth_token_file: Some(dir.path().join("binary")),
        ..Default::default()
    };
    let err = sms.auth_token().unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("sms.auth_token_file") && text.contains("binary"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "{text}");
    sms.auth_token_file = Some(dir.path().join("empty"));
    assert!(matches!(
        sms.auth_token(),
        Err(ConfigError::SecretEmpty { .. })
    ));
    sms.auth_token_file = Some(dir.path().join("missing"));
    assert_eq!(
        sms.auth_token().unwrap_err().key().as_deref(),
        Some("sms.auth_token_file")
    );
}

#[test]
fn the_database_password_is_masked_in_debug_and_redacted_toml() {
    let dir = folder(&[]);
    let opts = LoadOptions {
        env_vars: vars(&[(
            "HERALD__DATABASE__URL",
            "postgres://herald:hunter2@db/herald",
        )]),
        ..options(&dir)
    };
    let settings = load(&opts).unwrap();
    assert!(settings.database.url.expose().contains("hunter2"));
    for shown in [
        format!("{settings:?}"),
        settings.redacted_toml(),
        format!("{opts:?}"),
    ] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[test]
fn a_bad_database_url_error_does_not_repeat_its_password() {
    let dir = folder(&[]);
    let opts = LoadOptions {
        database_url: Some("postgres://herald:hunter2@db:99999/herald".into()),
        ..options(&dir)
    };
    let err = load(&opts).unwrap_err().to_string();
    assert!(
        err.contains("database.url") && err.contains("--database"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn redacted_toml_loads_back_into_the_same_settings() {
    let dir = folder(&[(
        "config/default.toml",
        "[policy]\nquiet_hours = \"22:00-08:00\"\n",
    )]);
    let settings = load(&options(&dir)).unwrap();
    std::fs::write(
        dir.path().join("config/default.toml"),
        settings.redacted_toml(),
    )
    .unwrap();
    assert_eq!(load(&options(&dir)).unwrap(), settings);
}
