//! The contact policy, rule by rule.

use super::*;
use crate::campaign::spec::CampaignSpec;
use std::collections::BTreeSet;

fn spec(holdout: f64, channels: &str) -> CampaignSpec {
    let text = format!(
        r#"name = "t"
channels = [{channels}]
schedule = {{ at = "2026-12-01T09:00:00Z" }}
holdout = {holdout}
[[variants]]
name = "A"
weight = 0.5
title = "a"
[[variants]]
name = "B"
weight = 0.5
title = "b"
"#
    );
    CampaignSpec::parse(&text, false, &BTreeSet::new()).unwrap()
}

fn user(id: &str) -> UserFactRow {
    let mut u = UserFactRow {
        user_id: id.into(),
        ..Default::default()
    };
    u.platforms = vec!["ios".into()];
    u.profile.insert("email".into(), "a@example.com".into());
    u.profile.insert("timezone".into(), "Asia/Tokyo".into());
    u.consents.insert("push".into(), true);
    u.consents.insert("email".into(), true);
    u
}

fn noon_utc() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap() // 12:00 in Tokyo
}

#[test]
fn holdout_and_variants_are_deterministic_and_follow_the_weights() {
    let s = spec(0.1, r#""push""#);
    let rules = Rules::default();
    let (mut holdout, mut a) = (0, 0);
    for i in 0..10_000 {
        let u = user(&format!("u{i}"));
        let first = decide(&s, 7, &rules, &u, 0, noon_utc());
        assert_eq!(
            first,
            decide(&s, 7, &rules, &u, 0, noon_utc()),
            "same user, same decision"
        );
        match first {
            Decision::Skip {
                reason: Reason::Holdout,
                ..
            } => holdout += 1,
            Decision::Send { variant, .. } if variant == "A" => a += 1,
            _ => {}
        }
    }
    assert!(
        (900..1100).contains(&holdout),
        "{holdout} of 10000 held out"
    );
    assert!((4300..4800).contains(&a), "{a} of ~9000 got A");
}

#[test]
fn a_user_without_push_falls_back_to_email() {
    let mut u = user("u1");
    u.platforms.clear();
    assert_eq!(
        pick_channel(&[Channel::Push, Channel::Email], &u),
        Ok(Channel::Email)
    );
    u.consents.insert("email".into(), false);
    assert_eq!(
        pick_channel(&[Channel::Push, Channel::Email], &u),
        Err(Reason::NoConsent)
    );
    u.profile.remove("email");
    assert_eq!(
        pick_channel(&[Channel::Push, Channel::Email], &u),
        Err(Reason::NoReachableChannel)
    );
}

#[test]
fn the_frequency_cap_counts_messages_across_campaigns() {
    let s = spec(0.0, r#""push""#);
    let rules = Rules {
        frequency_cap: "2/day".parse().ok(),
        quiet_hours: None,
    };
    let u = user("u1");
    assert!(matches!(
        decide(&s, 1, &rules, &u, 1, noon_utc()),
        Decision::Send { .. }
    ));
    assert!(matches!(
        decide(&s, 1, &rules, &u, 2, noon_utc()),
        Decision::Skip {
            reason: Reason::FrequencyCapped(_),
            ..
        }
    ));
}

#[test]
fn quiet_hours_defer_to_the_end_of_the_window_in_the_users_timezone() {
    let s = spec(0.0, r#""push""#);
    let rules = Rules {
        frequency_cap: None,
        quiet_hours: "22:00-08:00".parse().ok(),
    };
    let late = Utc.with_ymd_and_hms(2026, 12, 1, 14, 30, 0).unwrap(); // 23:30 in Tokyo
    match decide(&s, 1, &rules, &user("u1"), 0, late) {
        Decision::Send {
            not_before: Some(t),
            ..
        } => {
            let expected = Utc.with_ymd_and_hms(2026, 12, 1, 23, 0, 0).unwrap(); // 08:00 Tokyo
            assert_eq!(t, expected.timestamp_millis());
        }
        other => panic!("expected a deferred send, got {other:?}"),
    }
    match decide(&s, 1, &rules, &user("u1"), 0, noon_utc()) {
        Decision::Send { not_before, .. } => assert_eq!(not_before, None),
        other => panic!("expected a send, got {other:?}"),
    }
}

#[test]
fn every_reason_explains_itself() {
    for r in [
        Reason::Holdout,
        Reason::NoConsent,
        Reason::NoReachableChannel,
        Reason::QuietHours,
    ] {
        assert!(!r.explain().is_empty() && !r.code().is_empty());
    }
}
