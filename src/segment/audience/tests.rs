//! Compiling and evaluating audiences.

use super::*;

fn user() -> UserFactRow {
    let mut u = UserFactRow {
        user_id: "u1".into(),
        segment: Some(2),
        purchases: 3,
        ..Default::default()
    };
    u.profile.insert("country".into(), "CN".into());
    u.profile.insert("age".into(), 31.into());
    u.attributes.insert("first_name".into(), "Li".into());
    u.last_purchase_at = Some(0);
    u.platforms = vec!["ios".into()];
    u.consents.insert("push".into(), true);
    u
}

fn attrs() -> BTreeSet<String> {
    ["first_name".to_owned()].into()
}

#[test]
fn the_spec_example_selects_by_segment_country_and_recency() {
    let rule = r#"segment in [2, 5] && country == "CN" && days_since_purchase < 60"#;
    let audience = Audience::compile(rule, &attrs()).unwrap();
    let day = 86_400_000;
    assert!(audience.matches(&user(), 30 * day).unwrap());
    assert!(!audience.matches(&user(), 90 * day).unwrap());
}

#[test]
fn an_audience_says_whether_it_reads_activity() {
    let names = BTreeSet::new();
    let reads = |src: &str| Audience::compile(src, &names).unwrap().reads_activity();
    assert!(reads("days_since_purchase < 30"));
    assert!(reads("country == \"DE\" || purchases > 2"));
    assert!(!reads("country == \"DE\" && segment in [1, 2]"));
}

#[test]
fn attributes_devices_and_consent_are_variables() {
    let rule = r#"first_name == "Li" && has_ios && consent_push && !consent_sms && age >= 30"#;
    assert!(
        Audience::compile(rule, &attrs())
            .unwrap()
            .matches(&user(), 0)
            .unwrap()
    );
}

#[test]
fn a_syntax_error_names_line_and_column() {
    let err = Audience::compile("country == \"CN\" &&\n  segment in [2,", &attrs()).unwrap_err();
    match err {
        AudienceError::Syntax { line, .. } => assert_eq!(line, 2, "{err}"),
        other => panic!("expected a syntax error, got {other}"),
    }
}

#[test]
fn an_unknown_variable_is_rejected_with_its_position() {
    let err = Audience::compile("country == \"CN\" && cuntry == \"US\"", &attrs()).unwrap_err();
    assert_eq!(
        err,
        AudienceError::UnknownVariable {
            name: "cuntry".into(),
            line: 1,
            column: 20
        }
    );
}

#[test]
fn a_rule_that_is_not_boolean_fails_for_the_user_with_a_message() {
    let err = Audience::compile("first_name", &attrs())
        .unwrap()
        .matches(&user(), 0)
        .unwrap_err();
    assert!(err.to_string().contains("not true or false"), "{err}");
}

#[test]
fn a_rule_known_not_to_be_boolean_is_refused_when_compiled() {
    let err = Audience::compile("age + 1", &attrs()).unwrap_err();
    assert!(err.to_string().contains("must be true or false"), "{err}");
}

#[test]
fn an_unknown_function_is_refused_with_its_line_and_column() {
    let err = Audience::compile("has_push &&\n  frobnicate(country)", &attrs()).unwrap_err();
    assert_eq!(
        err,
        AudienceError::UnknownFunction {
            name: "frobnicate".into(),
            line: 2,
            column: 3
        }
    );
}

#[test]
fn every_listed_function_exists_in_the_cel_runtime() {
    for name in crate::segment::cel_check::FUNCTIONS {
        let declared = [format!("{name}()"), format!("'a'.{name}()")]
            .iter()
            .any(|probe| {
                let program = cel::Program::compile(probe).unwrap();
                !matches!(
                    program.execute(&Context::default()),
                    Err(cel::ExecutionError::UndeclaredReference(n)) if n.as_str() == name
                )
            });
        assert!(declared, "{name} is not a CEL function");
    }
}

#[test]
fn the_largest_accepted_expression_evaluates_on_a_small_stack() {
    use crate::segment::cel_limits::{MAX_NESTING, MAX_OPERATORS};
    let chain = vec!["-age"; MAX_OPERATORS / 2].join("+");
    let source = format!(
        "{}{chain}{} < 0",
        "(".repeat(MAX_NESTING),
        ")".repeat(MAX_NESTING)
    );
    let audience = Audience::compile(&source, &attrs()).unwrap();
    let run = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || audience.matches(&user(), 0))
        .unwrap()
        .join()
        .expect("no stack overflow on 256 KiB");
    assert_eq!(run, Ok(true));
}
