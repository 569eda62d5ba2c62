//! Property tests of every parser that takes outside input, 10,000
//! generated cases each: audiences (CEL), templates, campaign files (TOML
//! and JSON), cron expressions, signed link tokens and users/devices rows
//! given as JSON. Each must answer Ok or a clear error: no panic, no stack
//! overflow, no hang (the CSV/JSONL reader and the API's event bodies are
//! covered inside the crate, next to their private parsers).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use herald::campaign::cron::CronExpr;
use herald::campaign::spec::CampaignSpec;
use herald::feedback::{LinkKey, LinkKind, LinkToken};
use herald::ingest::import::{device_from_json, user_from_json};
use herald::render::{Field, RenderContext, Renderer, TemplateLibrary, VariantContent};
use herald::segment::audience::{Audience, AudienceError};
use herald::store::UserFactRow;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases per property.
const CASES: u32 = 10_000;

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::with_cases(CASES)
    }
}

/// Text made of `tokens`, space-separated or glued.
fn soup(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(tokens), 0..max),
        any::<bool>(),
    )
        .prop_map(|(parts, glue)| parts.join(if glue { "" } else { " " }))
}

const CEL_TOKENS: &[&str] = &[
    "country",
    "age",
    "segment",
    "revenue",
    "platforms",
    "attributes",
    "has_push",
    "tier",
    "frobnicate",
    "size",
    "contains",
    "startsWith",
    "int",
    "double",
    "string",
    "exists",
    "all",
    "map",
    "has",
    "x",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    ":",
    "?",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "in",
    "1",
    "0",
    "-7",
    "2.5",
    "1e308",
    "9223372036854775807",
    "true",
    "false",
    "null",
    "\"CN\"",
    "'x'",
    "\"\"\"",
    "b'a'",
    "u",
    "\n",
];

fn user() -> UserFactRow {
    let mut u = UserFactRow {
        user_id: "u1".into(),
        segment: Some(2),
        purchases: 3,
        revenue: 10.0,
        platforms: vec!["ios".into()],
        ..Default::default()
    };
    u.profile.insert("country".into(), "CN".into());
    u.profile.insert("age".into(), 31.into());
    u.attributes.insert("tier".into(), "gold".into());
    u
}

/// Compiles and, when it compiles, evaluates `source`; every error is
/// located at a real line and column.
fn audience_answers(source: &str) {
    let attributes: BTreeSet<String> = ["tier".to_owned()].into();
    match Audience::compile(source, &attributes) {
        Ok(audience) => {
            let _ = audience.matches(&user(), 0);
        }
        Err(
            AudienceError::Syntax { line, column, .. }
            | AudienceError::TooLarge { line, column, .. }
            | AudienceError::UnknownVariable { line, column, .. }
            | AudienceError::UnknownFunction { line, column, .. }
            | AudienceError::Type { line, column, .. },
        ) => {
            assert!(line >= 1 && column >= 1, "{source:?}");
        }
        Err(other) => panic!("unexpected {other} for {source:?}"),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_as_an_audience_compiles_or_is_refused_with_a_position(
        text in "\\PC{0,120}",
    ) {
        audience_answers(&text);
    }

    #[test]
    fn near_valid_audiences_compile_and_evaluate_or_are_refused(
        text in soup(CEL_TOKENS, 40),
    ) {
        audience_answers(&text);
    }

    #[test]
    fn long_or_deep_audiences_are_refused_without_overflowing_the_stack(
        term in prop::sample::select(&["age", "1", "(age)", "!has_push", "-1", "x.y"][..]),
        op in prop::sample::select(&[" + ", "+", " && ", "||", ".", "-", "!"][..]),
        n in 1usize..8_000,
        open in 0usize..300,
    ) {
        let chain = vec![term; n].join(op);
        let text = format!("{}{chain}{} > 0", "(".repeat(open), ")".repeat(open));
        audience_answers(&text);
    }
}

const JINJA_TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "for",
    "i",
    "in",
    "range(",
    "1000",
    ")",
    "endfor",
    "if",
    "else",
    "endif",
    "set",
    "x",
    "=",
    "user.first_name",
    "user",
    ".",
    "|",
    "money",
    "upper",
    "truncate(3)",
    "default('a')",
    "'a'",
    "*",
    "~",
    "+",
    "10",
    "items",
    "loop.index",
    "macro",
    "endmacro",
    "call",
    "recursive",
    "loop(",
    "include",
    "'t'",
    "raw",
    "endraw",
    " ",
    "\n",
    "-",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_template_compiles_and_renders_within_its_budget_or_is_refused(
        title in soup(JINJA_TOKENS, 30),
        body in "\\PC{0,80}",
    ) {
        let content = VariantContent {
            name: "A".into(),
            title: Some(title),
            body: Some(body),
            ..VariantContent::default()
        };
        if let Ok(renderer) = Renderer::new(&content, &TemplateLibrary::builtin()) {
            let ctx = Renderer::context_value(&RenderContext::default());
            for field in [Field::Title, Field::Body] {
                let started = Instant::now();
                if let Ok(Some(text)) = renderer.render_field(field, &ctx) {
                    prop_assert!(text.len() <= 512 * 1024);
                }
                prop_assert!(started.elapsed() < Duration::from_secs(2));
            }
        }
    }
}

const CRON_TOKENS: &[&str] = &[
    "*",
    "*/5",
    "*/0",
    "0",
    "59",
    "60",
    "1-5",
    "5-1",
    "1,2",
    "L",
    "W",
    "#",
    "?",
    "Mon",
    "Sun-Sat",
    "Feb",
    "31",
    "30",
    "29",
    "2",
    "*/100",
    "-",
    ",",
    "/",
    "99999999999",
    " ",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_cron_text_parses_and_finds_its_next_time_or_is_refused(
        text in prop_oneof![soup(CRON_TOKENS, 8), "\\PC{0,40}"],
    ) {
        if let Ok(cron) = CronExpr::parse(&text) {
            let after = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
            let started = Instant::now();
            let _ = cron.next_after(&after, &Utc);
            prop_assert!(started.elapsed() < Duration::from_secs(2), "{text}");
        }
    }
}

/// A campaign file in TOML or JSON built from generated pieces.
fn campaign_text() -> impl Strategy<Value = (String, bool)> {
    let piece = prop_oneof!["\\PC{0,20}", soup(CEL_TOKENS, 10), soup(CRON_TOKENS, 6)];
    (piece.clone(), piece.clone(), piece, -2.0f64..2.0, any::<bool>(), any::<u8>()).prop_map(
        |(audience, cron, title, weight, json, pick)| {
            let doc = serde_json::json!({
                "name": if pick % 5 == 0 { "" } else { "n" },
                "channels": if pick % 3 == 0 { serde_json::json!(["push", "fax"]) } else { serde_json::json!(["push"]) },
                "audience": audience,
                "schedule": if pick % 2 == 0 { serde_json::json!({"cron": cron, "timezone": "UTC"}) } else { serde_json::json!({"at": cron}) },
                "holdout": weight,
                "variants": [{"name": "A", "weight": weight, "title": title, "body": "b"}],
            });
            if json {
                (doc.to_string(), true)
            } else {
                (toml::to_string(&doc).unwrap_or_default(), false)
            }
        },
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_campaign_file_parses_or_names_the_field_at_fault(
        (text, json) in prop_oneof![campaign_text(), ("\\PC{0,200}", any::<bool>())],
    ) {
        if let Err((field, reason)) = CampaignSpec::parse(&text, json, &BTreeSet::new()) {
            prop_assert!(!field.is_empty() && !reason.is_empty(), "{text}");
        }
    }
}

fn token() -> LinkToken {
    LinkToken {
        kind: LinkKind::Click,
        run_id: 7,
        user_id: "u1".into(),
        variant: "A".into(),
        channel: herald::domain::Channel::Push,
        item_id: Some("i1".into()),
        destination: Some("https://example.com/x".into()),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_forged_or_garbled_link_token_is_refused_without_panicking(
        garbage in "[A-Za-z0-9_\\-=+/.]{0,120}",
        flip in any::<prop::sample::Index>(),
        with in prop::sample::select(&['A', 'b', '_', '-', '0'][..]),
    ) {
        let key = LinkKey::new(b"property-secret");
        for kind in LinkKind::ALL {
            let _ = key.verify(&garbage, kind);
        }
        let signed = key.sign(&token());
        let at = flip.index(signed.len());
        let mut forged: Vec<char> = signed.chars().collect();
        if forged[at] != with {
            forged[at] = with;
            let forged: String = forged.into_iter().collect();
            prop_assert!(key.verify(&forged, LinkKind::Click).is_err(), "{forged}");
        }
        prop_assert_eq!(key.verify(&signed, LinkKind::Click).ok(), Some(token()));
    }
}

/// A JSON value a client might send in a field.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "\\PC{0,30}".prop_map(serde_json::Value::from),
        prop::sample::select(
            &[
                "2026-11-28T10:00:00Z",
                "1890-01-01T00:00:00Z",
                "+33612345678",
                "a@b.co",
                "ios",
                "Europe/Paris",
                "true"
            ][..]
        )
        .prop_map(serde_json::Value::from),
        prop::collection::vec(any::<u8>(), 0..3).prop_map(|v| serde_json::json!(v)),
    ]
}

const ROW_KEYS: &[&str] = &[
    "user_id",
    "email",
    "phone",
    "timezone",
    "age",
    "signup_at",
    "consent_push",
    "platform",
    "token",
    "app_id",
    "created_at",
    "country",
    "first_name",
    "",
    "tier",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_json_user_or_device_is_validated_or_refused_naming_a_field(
        fields in prop::collection::vec((prop::sample::select(ROW_KEYS), json_value()), 0..8),
    ) {
        let object: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let now = 1_800_000_000_000;
        if let Err(e) = user_from_json(object.clone(), now) {
            prop_assert!(!e.field.is_empty() && !e.reason.is_empty());
        }
        if let Err(e) = device_from_json(object, now) {
            prop_assert!(!e.field.is_empty() && !e.reason.is_empty());
        }
    }
}
