//! Campaign file validation: the SPEC §4 example parses; each kind of
//! mistake is rejected naming its field.

use super::*;

const EXAMPLE: &str = r#"
name = "Weekend picks"
channels = ["push", "email"]
audience = 'segment in [2, 5] && country == "CN" && days_since_purchase < 60'
schedule = { cron = "0 0 10 * * Sat", timezone = "user" }
holdout = 0.05
recommendations = { n = 3, diversity = 0.3 }
[[variants]]
name = "A"
weight = 0.5
title = "{{ user.first_name }}, {{ items[0].title }} is back"
body = "From {{ items[0].price | money(items[0].currency) }}"
email_subject = "Picked for you"
email_template = "weekly_picks"
[[variants]]
name = "B"
weight = 0.5
title = "New for you"
body = "Have a look"
[policy]
frequency_cap = "2/day"
quiet_hours = "22:00-08:00"
"#;

fn attrs() -> BTreeSet<String> {
    ["first_name".to_owned()].into()
}

fn error_of(text: &str) -> (String, String) {
    CampaignSpec::parse(text, false, &attrs()).unwrap_err()
}

#[test]
fn the_spec_example_parses() {
    let spec = CampaignSpec::parse(EXAMPLE, false, &attrs()).unwrap();
    assert_eq!(spec.channels, vec![Channel::Push, Channel::Email]);
    assert!(matches!(
        spec.schedule,
        Schedule::Cron {
            zone: ScheduleZone::User,
            ..
        }
    ));
    assert_eq!(spec.variants[0].content["email_template"], "weekly_picks");
    assert_eq!(spec.policy.unwrap().frequency_cap.unwrap().count, 2);
}

#[test]
fn weights_that_do_not_sum_to_one_are_rejected() {
    let text = EXAMPLE.replace("weight = 0.5\ntitle = \"New", "weight = 0.4\ntitle = \"New");
    let (field, reason) = error_of(&text);
    assert_eq!(field, "variants");
    assert!(reason.contains("sum to 0.9"), "{reason}");
}

#[test]
fn an_unknown_channel_is_rejected_naming_its_position() {
    let (field, reason) = error_of(&EXAMPLE.replace(r#""push", "email""#, r#""push", "pigeon""#));
    assert_eq!(field, "channels[1]");
    assert!(reason.contains("pigeon"));
}

#[test]
fn a_bad_cron_and_a_bad_timezone_are_rejected() {
    let (field, _) = error_of(&EXAMPLE.replace("0 0 10 * * Sat", "0 10 * *"));
    assert_eq!(field, "schedule.cron");
    let (field, _) =
        error_of(&EXAMPLE.replace(r#"timezone = "user""#, r#"timezone = "Mars/Base""#));
    assert_eq!(field, "schedule.timezone");
}

#[test]
fn a_bad_audience_is_rejected_with_line_and_column() {
    let (field, reason) = error_of(&EXAMPLE.replace("country ==", "cuntry =="));
    assert_eq!(field, "audience");
    assert!(
        reason.contains("unknown variable `cuntry`") && reason.contains("column"),
        "{reason}"
    );
}

#[test]
fn unknown_top_level_keys_and_bad_policies_are_rejected() {
    let (field, reason) = error_of(&format!("colour = \"red\"\n{EXAMPLE}"));
    assert_eq!(field, "file");
    assert!(reason.contains("colour"), "{reason}");
    let (_, reason) = error_of(&EXAMPLE.replace("2/day", "2/fortnight"));
    assert!(reason.contains("frequency cap"), "{reason}");
}

#[test]
fn json_campaigns_parse_too() {
    let json = r#"{"name":"Cart reminder","channels":["push"],"schedule":{"trigger":"cart","delay":"2h","condition":"!has_email"},
        "variants":[{"name":"A","weight":1.0,"title":"Still thinking?","body":"Your cart misses you"}]}"#;
    let spec = CampaignSpec::parse(json, true, &attrs()).unwrap();
    match spec.schedule {
        Schedule::Trigger { event, delay, .. } => {
            assert_eq!(event, "cart");
            assert_eq!(std::time::Duration::from(delay).as_secs(), 7200);
        }
        other => panic!("expected a trigger, got {other:?}"),
    }
}

fn with_schedule(schedule: &str) -> String {
    EXAMPLE.replace(
        r#"schedule = { cron = "0 0 10 * * Sat", timezone = "user" }"#,
        &format!("schedule = {schedule}"),
    )
}

#[test]
fn an_optimal_schedule_parses_with_a_default_window_of_a_day() {
    let spec = CampaignSpec::parse(&with_schedule("{ optimal = true }"), false, &attrs()).unwrap();
    match spec.schedule {
        Schedule::Optimal { within } => assert_eq!(within.get().as_secs(), 24 * 3600),
        other => panic!("expected optimal, got {other:?}"),
    }
    let text = with_schedule(r#"{ optimal = true, within = "6h" }"#);
    let spec = CampaignSpec::parse(&text, false, &attrs()).unwrap();
    assert!(
        matches!(spec.schedule, Schedule::Optimal { within } if within.get().as_secs() == 6 * 3600)
    );
}

#[test]
fn an_optimal_schedule_mixed_with_another_kind_is_rejected_naming_the_field() {
    let (field, reason) = error_of(&with_schedule(
        r#"{ optimal = true, at = "2026-12-01T09:00:00Z" }"#,
    ));
    assert_eq!(field, "schedule.at");
    assert!(reason.contains("optimal"), "{reason}");
    let (field, _) = error_of(&with_schedule(
        r#"{ optimal = true, cron = "0 10 * * *", timezone = "UTC" }"#,
    ));
    assert_eq!(field, "schedule.cron");
    let (field, _) = error_of(&with_schedule(r#"{ optimal = true, trigger = "cart" }"#));
    assert_eq!(field, "schedule.trigger");
}

#[test]
fn optimal_must_be_true_and_within_needs_it_and_stays_between_an_hour_and_a_week() {
    let (field, reason) = error_of(&with_schedule("{ optimal = false }"));
    assert_eq!(field, "schedule.optimal");
    assert!(reason.contains("must be true"), "{reason}");
    let (field, _) = error_of(&with_schedule(
        r#"{ at = "2026-12-01T09:00:00Z", within = "24h" }"#,
    ));
    assert_eq!(field, "schedule.within");
    for bad in ["30m", "8d"] {
        let (field, reason) = error_of(&with_schedule(&format!(
            r#"{{ optimal = true, within = "{bad}" }}"#
        )));
        assert_eq!(field, "schedule.within", "{bad}");
        assert!(reason.contains("1h..=7d"), "{reason}");
    }
    for good in ["1h", "7d"] {
        let text = with_schedule(&format!(r#"{{ optimal = true, within = "{good}" }}"#));
        assert!(
            CampaignSpec::parse(&text, false, &attrs()).is_ok(),
            "{good}"
        );
    }
}

#[test]
fn the_at_instant_is_read_from_toml_and_json_files() {
    let toml = "name = \"x\"\nschedule = { at = \"2026-01-01T00:00:00Z\" }\n";
    assert_eq!(scheduled_at(toml, false), Some(1_767_225_600_000));
    let json = r#"{"name":"x","schedule":{"at":"2026-01-01T00:00:00Z"}}"#;
    assert_eq!(scheduled_at(json, true), Some(1_767_225_600_000));
    assert_eq!(
        scheduled_at(EXAMPLE, false),
        None,
        "a cron schedule has no at"
    );
    assert_eq!(scheduled_at("not [toml", false), None);
}
