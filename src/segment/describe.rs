//! Segments in plain words. A centroid is read in standardised units: a
//! feature is distinctive when the segment's mean sits at least
//! [`DISTINCT`] standard deviations from the population's. The description
//! leads with recency and spend ("lapsed high spenders"), then names the
//! most distinctive other traits (a category, a platform, an age band, a
//! country), strongest first, e.g. "lapsed high spenders, electronics, iOS,
//! 25-34".

use super::features::Feature;
use super::pipeline::Pipeline;

/// How far (in standard deviations) a centroid must sit from the mean for
/// a feature to be mentioned.
pub const DISTINCT: f64 = 0.5;
/// How many traits follow the lead phrase.
const MAX_TRAITS: usize = 3;

/// Describes one centroid (standardised) in words.
pub fn describe(features: &[Feature], pipeline: &Pipeline, centroid: &[f64]) -> String {
    let z = |f: &Feature| {
        features
            .iter()
            .position(|x| x == f)
            .map_or(0.0, |j| pipeline.to_z(j, centroid[j]))
    };
    let mut parts = Vec::new();
    if let Some(lead) = lead_phrase(
        z(&Feature::Recency),
        z(&Feature::Monetary),
        z(&Feature::Frequency),
    ) {
        parts.push(lead);
    }
    let mut traits: Vec<(f64, String)> = features
        .iter()
        .enumerate()
        .filter_map(|(j, f)| {
            trait_words(
                f,
                pipeline.to_z(j, centroid[j]),
                pipeline.to_raw(j, centroid[j]),
            )
        })
        .collect();
    traits.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    parts.extend(traits.into_iter().take(MAX_TRAITS).map(|(_, words)| words));
    if parts.is_empty() {
        "typical customers".to_owned()
    } else {
        parts.join(", ")
    }
}

/// "lapsed high spenders", "recent frequent buyers", "new browsers", ...
fn lead_phrase(recency: f64, monetary: f64, frequency: f64) -> Option<String> {
    let when = if recency >= DISTINCT {
        Some("lapsed")
    } else if recency <= -DISTINCT {
        Some("recently active")
    } else {
        None
    };
    let who = if monetary >= DISTINCT {
        Some("high spenders")
    } else if frequency >= DISTINCT {
        Some("frequent buyers")
    } else if monetary <= -DISTINCT {
        Some("low spenders")
    } else {
        None
    };
    match (when, who) {
        (None, None) => None,
        (Some(w), None) => Some(format!("{w} customers")),
        (None, Some(s)) => Some(s.to_owned()),
        (Some(w), Some(s)) => Some(format!("{w} {s}")),
    }
}

/// Words for one distinctive non-lead feature, with its strength.
fn trait_words(feature: &Feature, z: f64, raw: f64) -> Option<(f64, String)> {
    let words = match feature {
        Feature::Recency | Feature::Monetary | Feature::Frequency => return None,
        Feature::CategoryShare(c) if z >= DISTINCT => c.clone(),
        Feature::BrandShare(b) if z >= DISTINCT => format!("{b} fans"),
        Feature::BrandLoyalty if z >= DISTINCT => "brand-loyal".to_owned(),
        Feature::Platform(p) if z >= DISTINCT => platform_name(p),
        Feature::Country(c) if z >= DISTINCT => c.clone(),
        Feature::Gender(g) if z >= DISTINCT => {
            format!("mostly {}", if g == "f" { "women" } else { "men" })
        }
        Feature::Age if z.abs() >= DISTINCT => age_band(raw),
        Feature::PriceLevel if z >= DISTINCT => "premium-minded".to_owned(),
        Feature::PriceLevel if z <= -DISTINCT => "bargain hunters".to_owned(),
        Feature::Activity if z >= DISTINCT => "heavy browsers".to_owned(),
        Feature::Activity if z <= -DISTINCT => "rarely active".to_owned(),
        Feature::Engagement(c) if z >= DISTINCT => format!("engaged on {c}"),
        Feature::Engagement(c) if z <= -DISTINCT => format!("ignores {c}"),
        _ => return None,
    };
    Some((z.abs(), words))
}

fn platform_name(platform: &str) -> String {
    match platform {
        "ios" => "iOS".to_owned(),
        "android" => "Android".to_owned(),
        other => other.to_owned(),
    }
}

/// The conventional marketing age band of an age.
pub fn age_band(age: f64) -> String {
    match age.round() as i64 {
        i64::MIN..=17 => "under 18".to_owned(),
        18..=24 => "18-24".to_owned(),
        25..=34 => "25-34".to_owned(),
        35..=44 => "35-44".to_owned(),
        45..=54 => "45-54".to_owned(),
        55..=64 => "55-64".to_owned(),
        _ => "65+".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline(n: usize) -> Pipeline {
        Pipeline {
            fill: vec![0.0; n],
            lo: vec![-1e9; n],
            hi: vec![1e9; n],
            mean: vec![30.0; n],
            std: vec![5.0; n],
            weight: vec![1.0; n],
        }
    }

    #[test]
    fn a_centroid_is_described_by_its_most_distinctive_features() {
        let features = vec![
            Feature::Recency,
            Feature::Frequency,
            Feature::Monetary,
            Feature::CategoryShare("electronics".into()),
            Feature::CategoryShare("books".into()),
            Feature::Platform("ios".into()),
            Feature::Age,
        ];
        // age z = -1.0 -> raw 25 -> "25-34"
        let centroid = [1.2, 0.3, 1.5, 2.0, -0.4, 0.9, -1.0];
        let text = describe(&features, &pipeline(features.len()), &centroid);
        assert_eq!(text, "lapsed high spenders, electronics, 25-34, iOS");
    }

    #[test]
    fn an_average_centroid_reads_as_typical_customers() {
        let features = vec![Feature::Recency, Feature::Age];
        assert_eq!(
            describe(&features, &pipeline(2), &[0.1, -0.2]),
            "typical customers"
        );
    }
}
