//! The files: determinism, exact headers and counts, valid field formats.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use super::*;
use crate::ingest::synth::{Stage, SynthError};

const FILES: [&str; 6] = [
    "users.csv",
    "items.csv",
    "events.csv",
    "devices.csv",
    "truth.jsonl",
    "items_truth.jsonl",
];

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
    let domain_ok = domain.contains('.')
        && domain
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
    local_ok && domain_ok && !local.starts_with('.') && !local.ends_with('.')
}

fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

fn is_base64url(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_rfc3339_utc(s: &str) -> bool {
    s.len() == 20 && s.ends_with('Z') && DateTime::parse_from_rfc3339(s).is_ok()
}

#[test]
fn the_same_seed_gives_byte_identical_files() {
    let (first, _) = generated(&small(11));
    let (second, _) = generated(&small(11));
    for name in FILES {
        let a = std::fs::read(first.path().join(name)).expect("first file");
        let b = std::fs::read(second.path().join(name)).expect("second file");
        assert!(a == b, "{name} differs between two runs with the same seed");
    }
}

#[test]
fn a_different_seed_gives_different_files() {
    let (first, _) = generated(&small(11));
    let (second, _) = generated(&small(12));
    for name in FILES {
        let a = std::fs::read(first.path().join(name)).expect("first file");
        let b = std::fs::read(second.path().join(name)).expect("second file");
        assert!(a != b, "{name} is the same for two seeds");
    }
}

#[test]
fn headers_and_row_counts_are_exact() {
    let (dir, summary) = generated(&small(3));
    let expect = [
        (
            "users.csv",
            "user_id,email,phone,timezone,locale,country,city,age,gender,signup_at,consent_push,consent_email,consent_sms,first_name",
            500,
        ),
        (
            "items.csv",
            "item_id,title,category,brand,price,currency,url,image_url,in_stock,created_at",
            200,
        ),
        ("events.csv", "user_id,item_id,event,ts,value", 20_000),
        (
            "devices.csv",
            "user_id,platform,token,app_id,created_at",
            summary.devices as usize,
        ),
    ];
    for (name, header, count) in expect {
        let (h, rows) = read_csv(dir.path(), name);
        assert_eq!(h.join(","), header, "{name} header");
        assert_eq!(rows.len(), count, "{name} rows");
        assert!(
            rows.iter().all(|r| r.len() == h.len()),
            "{name} ragged rows"
        );
    }
    assert_eq!(
        (summary.users, summary.items, summary.events),
        (500, 200, 20_000)
    );
    assert_eq!(summary.files.len(), FILES.len());
    assert!(
        summary.devices > 300 && summary.devices < 800,
        "{} devices",
        summary.devices
    );
}

#[test]
fn user_contact_details_zones_and_locales_are_valid_and_consistent() {
    let (dir, _) = generated(&small(5));
    let (_, users) = read_csv(dir.path(), "users.csv");
    let dial: HashMap<&str, &str> = crate::ingest::synth::geo::COUNTRIES
        .iter()
        .map(|c| (c.code, c.dial))
        .collect();
    let mut emails = HashSet::new();
    for (n, u) in users.iter().enumerate() {
        assert_eq!(u[0], format!("u{:03}", n + 1));
        assert!(u[1].is_empty() || is_email(&u[1]), "email {}", u[1]);
        assert!(
            u[1].is_empty() || emails.insert(u[1].clone()),
            "duplicate email {}",
            u[1]
        );
        assert!(u[2].is_empty() || is_e164(&u[2]), "phone {}", u[2]);
        assert!(
            u[2].is_empty() || u[2][1..].starts_with(dial[u[5].as_str()]),
            "phone {} in {}",
            u[2],
            u[5]
        );
        assert!(chrono_tz::Tz::from_str(&u[3]).is_ok(), "timezone {}", u[3]);
        assert!(
            u[4].ends_with(&format!("-{}", u[5])),
            "locale {} in {}",
            u[4],
            u[5]
        );
        assert!(!u[6].is_empty(), "city");
        assert!(
            u[7].is_empty() || (16..=80).contains(&u[7].parse::<u32>().expect("age")),
            "age {}",
            u[7]
        );
        assert!(
            ["f", "m", "x", ""].contains(&u[8].as_str()),
            "gender {}",
            u[8]
        );
        assert!(is_rfc3339_utc(&u[9]), "signup_at {}", u[9]);
        assert!(
            u[10..13].iter().all(|c| c == "true" || c == "false"),
            "consents"
        );
        assert!(!u[13].is_empty(), "first_name");
    }
    let share = |col: usize| users.iter().filter(|u| u[col] == "true").count() as f64 / 500.0;
    assert!(
        (0.6..0.8).contains(&share(10)),
        "push consent {}",
        share(10)
    );
    assert!(
        (0.5..0.7).contains(&share(11)),
        "email consent {}",
        share(11)
    );
    assert!(
        (0.15..0.35).contains(&share(12)),
        "sms consent {}",
        share(12)
    );
    let zones: HashSet<&str> = users.iter().map(|u| u[3].as_str()).collect();
    assert!(zones.len() >= 12, "only {} zones", zones.len());
}

#[test]
fn device_tokens_have_their_platform_formats_and_are_unique() {
    let (dir, _) = generated(&small(8));
    let (_, devices) = read_csv(dir.path(), "devices.csv");
    let mut tokens = HashSet::new();
    for d in &devices {
        assert!(tokens.insert(d[2].clone()), "duplicate token");
        assert!(is_rfc3339_utc(&d[4]), "created_at {}", d[4]);
        match d[1].as_str() {
            "ios" => {
                assert_eq!(d[2].len(), 64);
                assert!(
                    d[2].bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                );
                assert_eq!(d[3], "com.example.shop");
            }
            "android" => {
                let (head, tail) = d[2].split_once(":APA91b").expect("FCM token shape");
                assert!(
                    head.len() == 11
                        && is_base64url(head)
                        && tail.len() == 134
                        && is_base64url(tail)
                );
                assert_eq!(d[3], "com.example.shop");
            }
            "web" => {
                assert!(
                    d[2].starts_with("https://") && d[2].len() > 100,
                    "web endpoint {}",
                    d[2]
                );
                assert_eq!(d[3], "web");
            }
            other => panic!("unknown platform {other}"),
        }
    }
    let platforms: HashSet<&str> = devices.iter().map(|d| d[1].as_str()).collect();
    assert!(platforms.contains("ios") && platforms.contains("android"));
}

#[test]
fn items_have_shelf_prices_urls_and_stock_flags() {
    let (dir, _) = generated(&small(4));
    let (_, items) = read_csv(dir.path(), "items.csv");
    let events_start = small(4).end - chrono::Duration::days(180);
    for (n, i) in items.iter().enumerate() {
        assert_eq!(i[0], format!("i{:03}", n + 1));
        assert!(i[1].contains(&i[3]), "title {} names brand {}", i[1], i[3]);
        let price: f64 = i[4].parse().expect("price");
        assert!(
            price >= 0.99 && i[4].split_once('.').is_some_and(|(_, c)| c.len() == 2),
            "price {}",
            i[4]
        );
        assert_eq!(i[5], "USD");
        assert_eq!(i[6], format!("https://shop.example.com/p/{}", i[0]));
        assert!(i[7].starts_with("https://") && i[7].contains(&i[0]));
        assert!(i[8] == "true" || i[8] == "false");
        let created = DateTime::parse_from_rfc3339(&i[9]).expect("created_at");
        assert!(
            created < events_start,
            "item created after the history started"
        );
    }
    let categories: HashSet<&str> = items.iter().map(|i| i[2].as_str()).collect();
    assert!(
        categories.len() >= 15,
        "only {} categories",
        categories.len()
    );
    let in_stock = items.iter().filter(|i| i[8] == "true").count();
    assert!((170..200).contains(&in_stock), "{in_stock} in stock");
}

#[test]
fn bad_parameters_are_refused_before_touching_the_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("never");
    let cases = [
        GenParams {
            users: 0,
            ..small(1)
        },
        GenParams {
            items: 0,
            ..small(1)
        },
        GenParams {
            days: 0,
            ..small(1)
        },
        GenParams {
            end: DateTime::UNIX_EPOCH,
            ..small(1)
        },
    ];
    for params in cases {
        let err = generate(&params, &out, &|_, _| {}).expect_err("refused");
        assert!(matches!(err, SynthError::InvalidParams { .. }), "{err}");
    }
    assert!(!out.exists());
}

#[test]
fn progress_reaches_the_totals_and_zero_events_are_allowed() {
    let seen = RefCell::new(HashMap::new());
    let dir = tempfile::tempdir().expect("temp dir");
    let params = GenParams::new(5_000, 3, 0, 2);
    let summary = generate(&params, dir.path(), &|stage, n| {
        seen.borrow_mut().insert(stage, n);
    })
    .expect("generation succeeds");
    assert_eq!(summary.events, 0);
    let seen = seen.into_inner();
    assert_eq!(seen.get(&Stage::Users), Some(&5_000));
    assert_eq!(seen.get(&Stage::Items), Some(&3));
    assert_eq!(seen.get(&Stage::Events), Some(&0));
    assert_eq!(read_csv(dir.path(), "events.csv").1.len(), 0);
}

#[test]
fn unwritable_output_names_the_failing_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let err = generate(&small(1), &blocker.join("sub"), &|_, _| {}).expect_err("cannot create");
    assert!(err.to_string().contains("file"), "{err}");
}
