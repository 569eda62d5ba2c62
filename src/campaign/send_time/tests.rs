//! Send-time learning on hand-made histograms: local hours across zones
//! and daylight saving, shrinkage toward the segment, the fallback prior,
//! and slots bounded by `within` and by what the caller allows.

use super::*;

fn ms(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
}

fn quarter(s: &str) -> i64 {
    ms(s) / QUARTER_MS
}

fn tz(name: &str) -> Tz {
    name.parse().unwrap()
}

fn one_hot(hour: usize, count: f64) -> Hours {
    let mut h = [0.0; 24];
    h[hour] = count;
    h
}

#[test]
fn quarter_hours_land_in_the_users_local_hour_across_zones_and_dst() {
    assert_eq!(local_hour(ms("2026-03-10T11:00:00Z"), tz("Asia/Tokyo")), 20);
    assert_eq!(
        local_hour(ms("2026-03-10T14:45:00Z"), tz("Asia/Kathmandu")),
        20
    );
    // Berlin is UTC+1 in winter and UTC+2 in summer: 18:00Z is 19h then 20h.
    let mut hours = [0.0; 24];
    let berlin = tz("Europe/Berlin");
    add_quarters(&mut hours, &[(quarter("2026-01-15T18:00:00Z"), 2)], berlin);
    add_quarters(&mut hours, &[(quarter("2026-07-15T18:00:00Z"), 3)], berlin);
    assert_eq!((hours[19], hours[20]), (2.0, 3.0));
}

#[test]
fn many_events_outweigh_the_prior_and_one_event_does_not() {
    let prior = normalised(&one_hot(12, 1.0)).unwrap();
    let busy = posterior(&one_hot(20, 10.0), &prior, PRIOR_WEIGHT);
    assert_eq!(best_hour(&busy), 20);
    let thin = posterior(&one_hot(9, 1.0), &prior, PRIOR_WEIGHT);
    assert_eq!(best_hour(&thin), 12);
    assert!(thin[9] > 0.0, "the user's own hour keeps its weight");
    let none = posterior(&[0.0; 24], &prior, PRIOR_WEIGHT);
    assert_eq!(best_hour(&none), 12);
}

#[test]
fn the_prior_is_the_segments_then_everyones_then_the_evening_fallback() {
    let utc = tz("UTC");
    let mut hours = SegmentHours::default();
    assert_eq!(best_hour(&hours.prior(Some(1))), FALLBACK_HOUR);
    assert_eq!(best_hour(&fallback_prior()), 19);
    hours.add(Some(1), &[(quarter("2026-03-01T08:15:00Z"), 4)], utc);
    hours.add(Some(2), &[(quarter("2026-03-01T21:30:00Z"), 1)], utc);
    hours.add(None, &[(quarter("2026-03-01T13:00:00Z"), 2)], utc);
    assert_eq!(best_hour(&hours.prior(Some(1))), 8);
    assert_eq!(best_hour(&hours.prior(Some(2))), 21);
    assert_eq!(
        best_hour(&hours.prior(Some(7))),
        8,
        "unknown segment: everyone"
    );
    assert_eq!(best_hour(&hours.prior(None)), 8);
    let sum: f64 = hours.prior(None).iter().sum();
    assert!((sum - 1.0).abs() < 1e-12);
}

#[test]
fn the_slot_is_the_next_top_of_the_best_local_hour() {
    let tokyo = tz("Asia/Tokyo");
    let now = ms("2026-03-10T12:00:00Z"); // 21:00 in Tokyo
    let weights = one_hot(20, 1.0);
    let day = 24 * 3_600_000;
    assert_eq!(
        send_slot(&weights, tokyo, now, day, |_| true),
        Some(ms("2026-03-11T20:00:00+09:00"))
    );
    let at_nine = one_hot(21, 1.0);
    assert_eq!(
        send_slot(&at_nine, tokyo, now + 600_000, day, |_| true),
        Some(now + 600_000)
    );
}

#[test]
fn within_bounds_the_slot_to_the_best_hour_it_reaches() {
    let utc = tz("UTC");
    let now = ms("2026-03-10T12:10:00Z");
    let mut weights = one_hot(20, 10.0);
    weights[14] = 3.0;
    weights[13] = 2.0;
    let slot = send_slot(&weights, utc, now, 3 * 3_600_000, |_| true);
    assert_eq!(slot, Some(ms("2026-03-10T14:00:00Z")));
    let slot = send_slot(&weights, utc, now, 3_600_000, |_| true);
    assert_eq!(slot, Some(ms("2026-03-10T13:00:00Z")));
    assert_eq!(
        send_slot(&[0.0; 24], utc, now, 3_600_000, |_| true),
        Some(now)
    );
}

#[test]
fn disallowed_candidates_are_skipped_and_none_allowed_gives_none() {
    let utc = tz("UTC");
    let now = ms("2026-03-10T12:00:00Z");
    let mut weights = one_hot(23, 5.0);
    weights[21] = 1.0;
    let quiet_from_22 = |at: i64| local_hour(at, utc) < 22;
    let slot = send_slot(&weights, utc, now, 24 * 3_600_000, quiet_from_22);
    assert_eq!(slot, Some(ms("2026-03-10T21:00:00Z")));
    assert_eq!(send_slot(&weights, utc, now, 3_600_000, |_| false), None);
}

#[test]
fn a_local_hour_skipped_by_daylight_saving_is_no_candidate() {
    let berlin = tz("Europe/Berlin");
    // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin.
    let now = ms("2026-03-29T00:30:00+01:00");
    let hours: Vec<u32> = candidates(berlin, now, 4 * 3_600_000)
        .iter()
        .map(|c| c.1)
        .collect();
    assert_eq!(hours, [0, 1, 3, 4, 5]);
    let slot = send_slot(&one_hot(2, 1.0), berlin, now, 4 * 3_600_000, |_| true);
    assert_eq!(
        slot,
        Some(now),
        "no 02:00 that day: every candidate weighs 0"
    );
}
