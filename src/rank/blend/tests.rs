//! The blend learned from labelled feature rows (campaign clicks): the
//! feature that predicts clicks gets the weight, rows round-trip through
//! the exposure JSON, the thresholds decide when clicks are enough, and
//! the listwise search scores its trials like the blend it stands for.

use super::*;
use crate::rank::models::popularity::splitmix;

/// A deterministic value in [0, 1) for (row, column).
fn unit(row: usize, column: usize) -> f32 {
    (splitmix((row as u64) << 8 | column as u64) >> 40) as f32 / (1u64 << 24) as f32
}

/// Rows whose label follows feature `KNN` (index 2) with some noise.
fn clicks(n: usize) -> Vec<BlendExample> {
    (0..n)
        .map(|r| {
            let features: Vec<f32> = (0..F).map(|c| unit(r, c)).collect();
            let label = features[2] + 0.3 * unit(r, 99) > 0.95;
            BlendExample { features, label }
        })
        .collect()
}

#[test]
fn the_blend_fitted_on_clicks_weights_the_feature_that_predicts_them() {
    let examples = clicks(1500);
    let positives = examples.iter().filter(|e| e.label).count();
    assert!((50..700).contains(&positives), "{positives} positives");
    let blend = fit_blend(&examples, 1.0).unwrap();
    let top = (0..F)
        .max_by(|&a, &b| blend.weights[a].total_cmp(&blend.weights[b]))
        .unwrap();
    assert_eq!(top, 2, "weights {:?}", blend.weights);
    assert!(auc(&blend, &examples) > 0.9, "{}", auc(&blend, &examples));
    let flat = Blend::single(F, 0);
    assert!(auc(&flat, &examples) < 0.65);
}

#[test]
fn feature_rows_round_trip_through_the_exposure_json() {
    let row: [f32; F] = std::array::from_fn(|i| i as f32 / 7.0);
    let json = features_json(&row);
    assert!(
        json.starts_with("{\"collab\":0,\"collab_recent\":0.14285715,"),
        "{json}"
    );
    assert_eq!(parse_features(&json).unwrap(), row.to_vec());
    let mut odd = row;
    odd[3] = f32::NAN;
    assert_eq!(parse_features(&features_json(&odd)).unwrap()[3], 0.0);
    assert_eq!(parse_features("{}"), None);
    assert_eq!(parse_features("not json"), None);
}

#[test]
fn compact_feature_rows_round_trip_and_export_by_name() {
    let row: [f32; F] = std::array::from_fn(|i| i as f32 / 7.0);
    let compact = features_compact(&row);
    assert!(compact.starts_with("[0,0.14285715,"), "{compact}");
    assert!(
        compact.len() * 2 < features_json(&row).len() + 40,
        "{compact}"
    );
    assert_eq!(parse_features(&compact).unwrap(), row.to_vec());
    assert_eq!(features_named(&compact), features_json(&row));
    assert_eq!(parse_features("[1,2]"), None, "a row of another model");
    assert_eq!(features_named("[1,2]"), "[1,2]");
    assert_eq!(features_named("{}"), "{}");
}

#[test]
fn clicks_are_enough_with_500_usable_exposures_and_20_clicks() {
    let json = features_json(&[0.5; F]);
    let rows = |n: usize, clicked: usize| {
        let mut v: Vec<(&str, bool)> = (0..n).map(|i| (json.as_str(), i < clicked)).collect();
        v.push(("{}", true));
        ClickExamples::from_rows(v)
    };
    let set = rows(500, 20);
    assert_eq!((set.exposures(), set.clicks(), set.skipped), (500, 20, 1));
    assert!(set.enough());
    assert!(!rows(499, 20).enough());
    assert!(!rows(800, 19).enough());
}

#[test]
fn auc_counts_ties_as_half_and_is_nan_without_both_classes() {
    let blend = Blend::single(1, 0);
    let ex = |x: f32, label: bool| BlendExample {
        features: vec![x],
        label,
    };
    let perfect = [ex(0.1, false), ex(0.2, false), ex(0.9, true)];
    assert_eq!(auc(&blend, &perfect), 1.0);
    let tied = [ex(0.5, false), ex(0.5, true)];
    assert_eq!(auc(&blend, &tied), 0.5);
    assert!(auc(&blend, &[ex(0.3, true)]).is_nan());
}

/// Groups of 30 rows over [`clicks`], labels included.
fn groups() -> Vec<BlendGroup> {
    clicks(600)
        .chunks(30)
        .map(|rows| BlendGroup {
            rows: rows.iter().map(|e| e.features.clone()).collect(),
            labels: rows.iter().map(|e| e.label).collect(),
            relevant: rows.iter().filter(|e| e.label).count(),
        })
        .collect()
}

#[test]
fn a_listwise_trial_scores_like_the_blend_with_the_stepped_weight() {
    let groups = groups();
    let blend = Blend::single(F, 0);
    let scores: Vec<Vec<f32>> = (groups.iter())
        .map(|g| g.rows.iter().map(|r| blend.score(r)).collect())
        .collect();
    let mut stepped = blend.clone();
    stepped.weights[2] += 0.2;
    let trial = stepped_ndcg(&groups, &scores, (2, 0.2), 10);
    assert!((trial - groups_ndcg(&stepped, &groups, 10)).abs() < 1e-9);
    assert!(trial > groups_ndcg(&blend, &groups, 10));
}

#[test]
fn the_listwise_search_moves_towards_the_predictive_feature() {
    let groups = groups();
    let start = Blend::single(F, 0);
    let refined = refine_listwise(&start, &groups, 10, 1);
    assert!(groups_ndcg(&refined, &groups, 10) > groups_ndcg(&start, &groups, 10));
    assert!(refined.weights[2] > 0.0, "{:?}", refined.weights);
}
