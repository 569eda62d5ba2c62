//! Every way loading fails names the key or file to fix, on one line.

use super::*;

#[test]
fn a_missing_config_flag_file_is_an_error_naming_it() {
    let dir = folder(&[]);
    let opts = LoadOptions {
        file: Some(dir.path().join("nope.toml")),
        ..options(&dir)
    };
    let err = load(&opts).unwrap_err();
    assert!(matches!(err, ConfigError::MissingFile { .. }));
    assert!(err.to_string().contains("nope.toml"), "{err}");
}

#[test]
fn a_herald_env_without_its_file_is_an_error_naming_the_file() {
    let dir = folder(&[]);
    let opts = LoadOptions {
        env: Some("prodution".into()),
        ..options(&dir)
    };
    let err = load(&opts).unwrap_err().to_string();
    assert!(
        err.contains("prodution.toml") && err.contains("HERALD_ENV"),
        "{err}"
    );
}

#[test]
fn herald_env_cannot_reach_outside_the_config_folder() {
    let dir = folder(&[("secret.toml", "")]);
    let opts = LoadOptions {
        env: Some("../secret".into()),
        ..options(&dir)
    };
    assert!(matches!(load(&opts), Err(ConfigError::BadEnvName { .. })));
}

#[test]
fn an_unknown_key_is_an_error_naming_the_key_and_its_file() {
    let err = error_for("[dispatch]\nmax_atempts = 3\n");
    assert_eq!(err.key().as_deref(), Some("dispatch.max_atempts"));
    let text = err.to_string();
    assert!(
        text.contains("max_atempts") && text.contains("default.toml"),
        "{text}"
    );
}

#[test]
fn an_unknown_section_is_an_error_naming_it() {
    let err = error_for("[databse]\nurl = \"sqlite://x.db\"\n");
    assert_eq!(err.key().as_deref(), Some("databse"));
}

#[test]
fn an_unknown_env_var_key_is_an_error_naming_the_variable() {
    let dir = folder(&[]);
    let opts = LoadOptions {
        env_vars: vars(&[("HERALD__DATABASE__ULR", "sqlite://x.db")]),
        ..options(&dir)
    };
    let err = load(&opts).unwrap_err().to_string();
    assert!(
        err.contains("database.ulr") && err.contains("HERALD__DATABASE__ULR"),
        "{err}"
    );
}

#[test]
fn a_non_numeric_max_attempts_is_an_error_naming_the_key_the_file_and_the_expectation() {
    let err = error_for("[dispatch]\nmax_attempts = \"x\"\n");
    assert_eq!(err.key().as_deref(), Some("dispatch.max_attempts"));
    let text = err.to_string();
    assert!(
        text.contains("default.toml") && text.contains("u32"),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn bad_quiet_hours_are_an_error_naming_the_key_and_the_expected_form() {
    let err = error_for("[policy]\nquiet_hours = \"10pm-8am\"\n");
    assert_eq!(err.key().as_deref(), Some("policy.quiet_hours"));
    assert!(err.to_string().contains("HH:MM-HH:MM"), "{err}");
}

#[test]
fn every_malformed_value_is_an_error_naming_its_key() {
    let cases = [
        (
            "[dispatch]\nbackoff_base = \"5 minutes\"",
            "dispatch.backoff_base",
        ),
        ("[dispatch]\nlease = 30", "dispatch.lease"),
        (
            "[dispatch.fcm]\nconcurrency = 0",
            "dispatch.fcm.concurrency",
        ),
        (
            "[policy]\nfrequency_cap = \"2/fortnight\"",
            "policy.frequency_cap",
        ),
        ("[database]\nurl = \"mysql://db/herald\"", "database.url"),
        ("[server]\nbind = \"localhost\"", "server.bind"),
        (
            "[server]\npublic_url = \"links.example.com\"",
            "server.public_url",
        ),
        (
            "[apns]\nendpoint = \"ftp://apple.example\"",
            "apns.endpoint",
        ),
        (
            "[email]\nsmtp_url = \"https://mail.example\"",
            "email.smtp_url",
        ),
        ("[email]\nfrom = \"nobody\"", "email.from"),
        ("[webhook]\nurl = \"not a url\"", "webhook.url"),
    ];
    for (toml, key) in cases {
        assert_eq!(error_for(toml).key().as_deref(), Some(key), "{toml}");
    }
}

#[test]
fn a_backoff_max_below_backoff_base_is_an_error_naming_backoff_max() {
    let err = error_for("[dispatch]\nbackoff_base = \"1m\"\nbackoff_max = \"1s\"\n");
    assert_eq!(err.key().as_deref(), Some("dispatch.backoff_max"));
}

#[test]
fn a_file_that_is_not_toml_is_an_error_naming_the_file_on_one_line() {
    let text = error_for("[dispatch\nmax_attempts = 1\n").to_string();
    assert!(
        text.contains("default.toml") && !text.contains('\n'),
        "{text}"
    );
}
