//! The circuit's state machine, driven at chosen instants.

use super::*;

const T0: i64 = 1_700_000_000_000;

fn answer(outbox_id: i64, probe: bool, now: i64) -> Answer {
    Answer {
        provider: Provider::Fcm,
        outbox_id,
        probe,
        last_attempt: false,
        now,
    }
}

fn refused() -> Outcome {
    Outcome::Credentials {
        reason: "the token endpoint refused the service account (invalid_grant)".into(),
        fix: "[fcm] service_account_file".into(),
    }
}

fn delivered() -> Outcome {
    Outcome::Delivered { provider_id: None }
}

fn not_for_topic() -> Outcome {
    Outcome::TokenRejected {
        reason: "DeviceTokenNotForTopic".into(),
        fix: "[apns] topic".into(),
    }
}

/// Opens the FCM circuit at T0 with a credentials failure.
fn opened() -> Circuits {
    let circuits = Circuits::new();
    assert_eq!(circuits.admit(Provider::Fcm, T0), Admission::Send);
    let judged = circuits.judge(answer(1, false, T0), refused());
    assert!(
        matches!(&judged, Judged::Hold { until, .. } if *until == T0 + FIRST_PROBE_MS),
        "{judged:?}"
    );
    circuits
}

#[test]
fn a_credentials_failure_opens_the_circuit_and_holds_until_the_first_probe() {
    let circuits = opened();
    assert_eq!(circuits.state(Provider::Fcm), CircuitState::Open);
    assert_eq!(circuits.state(Provider::Apns), CircuitState::Closed);
    let held = circuits.admit(Provider::Fcm, T0 + 10);
    assert!(
        matches!(&held, Admission::Hold { until, .. } if *until == T0 + FIRST_PROBE_MS),
        "{held:?}"
    );
    let line = circuits.tripped().expect("tripped").to_string();
    assert_eq!(
        line,
        "fcm: the token endpoint refused the service account (invalid_grant): \
         fix [fcm] service_account_file"
    );
}

#[test]
fn one_probe_goes_at_a_time_and_each_refusal_doubles_the_wait_up_to_the_cap() {
    let circuits = opened();
    let mut now = T0 + FIRST_PROBE_MS;
    let mut interval = FIRST_PROBE_MS;
    for _ in 0..12 {
        assert_eq!(circuits.admit(Provider::Fcm, now), Admission::Probe);
        assert_eq!(circuits.state(Provider::Fcm), CircuitState::HalfOpen);
        assert!(matches!(
            circuits.admit(Provider::Fcm, now),
            Admission::Hold { .. }
        ));
        interval = (interval * 2).min(MAX_PROBE_MS);
        let judged = circuits.judge(answer(2, true, now), refused());
        assert!(
            matches!(&judged, Judged::Hold { until, .. } if *until == now + interval),
            "{judged:?}"
        );
        assert!(matches!(
            circuits.admit(Provider::Fcm, now + interval - 1),
            Admission::Hold { .. }
        ));
        now += interval;
    }
    assert_eq!(interval, MAX_PROBE_MS);
}

#[test]
fn an_accepted_probe_closes_the_circuit_but_an_in_flight_success_does_not() {
    let circuits = opened();
    let late = circuits.judge(answer(3, false, T0 + 5), delivered());
    assert_eq!(late, Judged::Proceed(delivered()));
    assert_eq!(circuits.state(Provider::Fcm), CircuitState::Open);
    let at = T0 + FIRST_PROBE_MS;
    assert_eq!(circuits.admit(Provider::Fcm, at), Admission::Probe);
    assert_eq!(
        circuits.judge(answer(4, true, at), delivered()),
        Judged::Proceed(delivered())
    );
    assert_eq!(circuits.state(Provider::Fcm), CircuitState::Closed);
    assert_eq!(circuits.tripped(), None);
    assert_eq!(circuits.admit(Provider::Fcm, at), Admission::Send);
}

#[test]
fn a_lost_probe_is_replaced_after_a_minute() {
    let circuits = opened();
    let at = T0 + FIRST_PROBE_MS;
    assert_eq!(circuits.admit(Provider::Fcm, at), Admission::Probe);
    assert!(matches!(
        circuits.admit(Provider::Fcm, at + PROBE_TIMEOUT_MS - 1),
        Admission::Hold { .. }
    ));
    assert_eq!(
        circuits.admit(Provider::Fcm, at + PROBE_TIMEOUT_MS),
        Admission::Probe
    );
}

#[test]
fn refusals_of_most_tokens_open_the_circuit_without_a_dead_token() {
    let circuits = Circuits::new();
    let mut judged = Vec::new();
    for id in 0..12 {
        judged.push(circuits.judge(answer(id, false, T0), not_for_topic()));
    }
    let retried = judged
        .iter()
        .filter(|j| matches!(j, Judged::Proceed(Outcome::Retry { .. })))
        .count();
    let held = judged
        .iter()
        .filter(|j| matches!(j, Judged::Hold { .. }))
        .count();
    assert_eq!((retried, held), (9, 3), "{judged:?}");
    let trip = circuits.tripped().expect("tripped");
    assert!(trip.tokens_refused);
    assert!(
        trip.to_string()
            .starts_with("fcm: most device tokens were refused")
    );
}

#[test]
fn a_refused_token_among_successes_is_dead() {
    let circuits = Circuits::new();
    for id in 0..5 {
        circuits.judge(answer(id, false, T0), delivered());
    }
    let judged = circuits.judge(answer(9, false, T0), not_for_topic());
    assert_eq!(
        judged,
        Judged::Proceed(Outcome::TokenGone {
            reason: "DeviceTokenNotForTopic".into()
        })
    );
    assert_eq!(circuits.state(Provider::Fcm), CircuitState::Closed);
}

#[test]
fn an_undecided_refusal_on_the_last_attempt_is_a_dead_token() {
    let circuits = Circuits::new();
    let last = Answer {
        last_attempt: true,
        ..answer(1, false, T0)
    };
    assert_eq!(
        circuits.judge(last, not_for_topic()),
        Judged::Proceed(Outcome::TokenGone {
            reason: "DeviceTokenNotForTopic".into()
        })
    );
}
