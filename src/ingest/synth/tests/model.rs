//! The latent model showing through the events: time order, the funnel,
//! category, price and hour preferences, and the heavy-tailed activity.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, Timelike};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};

use super::*;
use crate::ingest::synth::Truth;

/// Mean over users with at least 10 events of the share of their events
/// whose item lies in the user's top latent category.
fn top_category_share(events: &[EventRow], truth: &Truth) -> f64 {
    let mut per_user: HashMap<&str, (u32, u32)> = HashMap::new();
    for e in events {
        let user = truth.user(&e.user).expect("user truth");
        let top = user
            .category_prefs
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(c, _)| c);
        let hit = top == Some(&truth.item(&e.item).expect("item truth").category);
        let entry = per_user.entry(&e.user).or_default();
        entry.0 += u32::from(hit);
        entry.1 += 1;
    }
    let shares: Vec<f64> = per_user
        .values()
        .filter(|(_, n)| *n >= 10)
        .map(|(hit, n)| f64::from(*hit) / f64::from(*n))
        .collect();
    shares.iter().sum::<f64>() / shares.len() as f64
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0.0), |(s, n), v| (s + v, n + 1.0));
    sum / n
}

#[test]
fn events_are_rfc3339_in_the_window_grouped_by_user_and_ordered_in_time() {
    let params = small(21);
    let (dir, _) = generated(&params);
    let (_, raw) = read_csv(dir.path(), "events.csv");
    assert!(raw.iter().all(|r| r[3].len() == 20 && r[3].ends_with('Z')));
    let (_, users) = read_csv(dir.path(), "users.csv");
    let signup: HashMap<String, DateTime<Utc>> = users
        .iter()
        .map(|u| (u[0].clone(), u[9].parse().expect("signup_at")))
        .collect();
    let prices: HashMap<String, String> = read_csv(dir.path(), "items.csv")
        .1
        .into_iter()
        .map(|i| (i[0].clone(), i[4].clone()))
        .collect();
    let start = params.end - Duration::days(i64::from(params.days));
    let events = read_events(dir.path());
    let mut finished: HashSet<&str> = HashSet::new();
    for (i, e) in events.iter().enumerate() {
        assert!(
            e.ts >= start && e.ts < params.end,
            "ts {} outside the window",
            e.ts
        );
        match events.get(i.wrapping_sub(1)).filter(|p| p.user == e.user) {
            Some(previous) => assert!(previous.ts <= e.ts, "{} goes back in time", e.user),
            None => {
                assert!(finished.insert(&e.user), "{} is split in the file", e.user);
                assert!(
                    signup[&e.user] < e.ts,
                    "{} signed up after its first event",
                    e.user
                );
                assert!(i == 0 || events[i - 1].user < e.user, "users out of order");
            }
        }
        let expected_value = if e.kind == "view" {
            ""
        } else {
            prices[&e.item].as_str()
        };
        assert_eq!(e.value, expected_value, "{} value", e.kind);
    }
}

#[test]
fn every_purchase_follows_a_view_and_a_cart_of_the_same_item() {
    let (dir, _) = generated(&small(22));
    let events = read_events(dir.path());
    let mut viewed: HashMap<(&str, &str), DateTime<Utc>> = HashMap::new();
    let mut carted: HashSet<(&str, &str)> = HashSet::new();
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for e in &events {
        let key = (e.user.as_str(), e.item.as_str());
        *kinds.entry(e.kind.as_str()).or_default() += 1;
        match e.kind.as_str() {
            "view" => {
                viewed.insert(key, e.ts);
            }
            "cart" => {
                assert!(viewed.contains_key(&key), "cart without a view");
                carted.insert(key);
            }
            "purchase" => {
                assert!(carted.contains(&key), "purchase without a cart");
                assert!(viewed[&key] <= e.ts, "purchase before its view");
            }
            other => panic!("unexpected event {other}"),
        }
    }
    let share = |k: &str| kinds.get(k).copied().unwrap_or(0) as f64 / events.len() as f64;
    assert!(share("view") > 0.7, "views {}", share("view"));
    assert!(
        (0.02..0.12).contains(&share("purchase")),
        "purchases {}",
        share("purchase")
    );
}

#[test]
fn events_concentrate_in_each_users_top_latent_category() {
    let (dir, _) = generated(&small(23));
    let truth = Truth::load(dir.path()).expect("truth loads");
    let mut events = read_events(dir.path());
    let share = top_category_share(&events, &truth);
    assert!(share > 0.5, "top-category share {share}");
    // The same measure on uniformly random items stays near 1/categories,
    // so the assertion above cannot pass on unstructured data.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let ids: Vec<String> = truth.items().map(|i| i.item_id.clone()).collect();
    for e in &mut events {
        e.item = ids[rng.random_range(0..ids.len())].clone();
    }
    let uniform = top_category_share(&events, &truth);
    assert!(uniform < 0.2, "uniform top-category share {uniform}");
}

#[test]
fn purchases_favour_preferred_categories_and_price_levels() {
    let (dir, _) = generated(&small(24));
    let truth = Truth::load(dir.path()).expect("truth loads");
    let events = read_events(dir.path());
    let of_kind = |kind: &'static str| events.iter().filter(move |e| e.kind == kind);
    let preference = |e: &EventRow| truth.preference(&e.user, &e.item).expect("known ids");
    let price_gap = |e: &EventRow| {
        let level = truth.user(&e.user).expect("user").price_level;
        (truth.item(&e.item).expect("item").price_percentile - level).abs()
    };
    let bought = mean(of_kind("purchase").map(preference));
    let viewed = mean(of_kind("view").map(preference));
    let users: Vec<&str> = truth.users().map(|u| u.user_id.as_str()).collect();
    let random = mean(users.iter().flat_map(|u| {
        truth
            .items()
            .map(|i| truth.preference(u, &i.item_id).unwrap_or(0.0))
    }));
    assert!(
        bought > viewed && viewed > 3.0 * random,
        "bought {bought}, viewed {viewed}, random {random}"
    );
    let bought_gap = mean(of_kind("purchase").map(price_gap));
    assert!(
        bought_gap < 0.2,
        "purchases are {bought_gap} percentiles from the user's price level"
    );
    let purchases: Vec<&EventRow> = of_kind("purchase").collect();
    assert!(top_category_share_of(&purchases, &truth) > 0.5);
}

/// Share of these events in their user's top category (pooled).
fn top_category_share_of(events: &[&EventRow], truth: &Truth) -> f64 {
    let hits = events.iter().filter(|e| {
        let user = truth.user(&e.user).expect("user");
        let top = user
            .category_prefs
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(c, _)| c.clone());
        top == truth.item(&e.item).map(|i| i.category.clone())
    });
    hits.count() as f64 / events.len() as f64
}

#[test]
fn activity_is_heavy_tailed() {
    let (dir, _) = generated(&small(25));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for e in read_events(dir.path()) {
        *counts.entry(e.user).or_default() += 1;
    }
    let mut sorted: Vec<usize> = (1..=500)
        .map(|n| counts.get(&format!("u{n:03}")).copied().unwrap_or(0))
        .collect();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let top_tenth: usize = sorted[..50].iter().sum();
    assert!(
        top_tenth as f64 > 0.3 * 20_000.0,
        "top 10% hold {top_tenth} events"
    );
    assert!(
        sorted[250] < 40,
        "median user has {} events (mean 40)",
        sorted[250]
    );
}

#[test]
fn the_truth_loads_and_describes_every_user_and_item() {
    let (dir, _) = generated(&small(26));
    let truth = Truth::load(dir.path()).expect("truth loads");
    assert_eq!(truth.users().count(), 500);
    assert_eq!(truth.items().count(), 200);
    let mut concentrated = 0;
    for u in truth.users() {
        let sum: f64 = u.category_prefs.values().sum();
        assert!((sum - 1.0).abs() < 1e-5 && (1..=5).contains(&u.category_prefs.len()));
        let brands: f64 = u.brand_prefs.values().sum();
        assert!((brands - 1.0).abs() < 1e-5 && u.brand_prefs.len() <= 3);
        assert!((0.0..1.0).contains(&u.price_level) && u.best_hour < 24 && u.activity >= 0.0);
        assert!(
            (0.0..1.0).contains(&u.open_propensity) && (0.0..1.0).contains(&u.click_propensity)
        );
        concentrated += usize::from(u.category_prefs.values().filter(|&&w| w > 0.1).count() <= 3);
    }
    assert!(
        concentrated > 400,
        "only {concentrated} users have at most 3 dominant categories"
    );
    let popularity: f64 = truth.items().map(|i| i.popularity).sum();
    assert!((popularity - 1.0).abs() < 1e-9);
    let (user, item) = ("u001", "i001");
    for p in [
        truth.preference(user, item),
        truth.click_probability(user, item),
        truth.open_probability(user, 9),
    ] {
        assert!(p.is_some_and(|p| (0.0..=1.0).contains(&p)));
    }
    assert_eq!(truth.preference("nobody", item), None);
}

#[test]
fn events_cluster_around_each_users_best_local_hour() {
    let (dir, _) = generated(&small(27));
    let truth = Truth::load(dir.path()).expect("truth loads");
    let zones: HashMap<String, Tz> = read_csv(dir.path(), "users.csv")
        .1
        .into_iter()
        .map(|u| (u[0].clone(), u[3].parse().expect("tz")))
        .collect();
    let events = read_events(dir.path());
    let near = events.iter().map(|e| {
        let best = i64::from(truth.user(&e.user).expect("user").best_hour);
        let local = i64::from(e.ts.with_timezone(&zones[&e.user]).hour());
        let d = (best - local).rem_euclid(24);
        f64::from(u8::from(d.min(24 - d) <= 2))
    });
    let share = mean(near);
    assert!(
        share > 0.4,
        "{share} of events within 2 hours of the best hour (uniform: 0.21)"
    );
}
