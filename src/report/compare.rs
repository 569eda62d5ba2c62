//! From group counts to the report's statistics: rates with Wilson
//! intervals per group, each variant of a run against the run's first
//! variant (two-proportion z-tests on CTR and conversion), and the lift of
//! treated users over the run's holdout users.
//!
//! Lift compares intent to treat: every user planned to be sent to
//! (`send` or `deferred`, whether or not the message arrived) against every
//! user held out, each converting when a purchase is credited to the run
//! (see [`super::attribution`]). The difference of the two rates has
//! Newcombe's interval, the relative lift the Katz log interval.

use super::aggregate::GroupKey;
use super::model::{Counts, Group, Lift, Rates, VariantComparison};
use super::stats::{difference, relative_lift, two_proportion_test, wilson};
use std::collections::BTreeMap;

/// A run: (campaign, run).
type RunKey = (i64, i64);

/// Rates over delivered messages.
pub fn rates(c: &Counts) -> Rates {
    Rates {
        open: wilson(c.opened, c.delivered),
        click: wilson(c.clicked, c.delivered),
        conversion: wilson(c.treated_converted, c.delivered),
    }
}

/// The report rows, in key order.
pub fn groups(counts: &BTreeMap<GroupKey, Counts>) -> Vec<Group> {
    counts
        .iter()
        .map(|(k, c)| Group {
            campaign_id: k.campaign_id,
            run_id: k.run_id,
            variant: k.variant.clone(),
            segment: k.segment,
            channel: k.channel.clone(),
            counts: c.clone(),
            rates: rates(c),
        })
        .collect()
}

/// Counts pooled per run and variant (segments and channels summed).
fn by_variant(counts: &BTreeMap<GroupKey, Counts>) -> BTreeMap<RunKey, BTreeMap<String, Counts>> {
    let mut out: BTreeMap<RunKey, BTreeMap<String, Counts>> = BTreeMap::new();
    for (k, c) in counts {
        let Some(variant) = &k.variant else { continue };
        out.entry((k.campaign_id, k.run_id))
            .or_default()
            .entry(variant.clone())
            .or_default()
            .merge(c);
    }
    out
}

/// Counts pooled per run.
fn by_run(counts: &BTreeMap<GroupKey, Counts>) -> BTreeMap<RunKey, Counts> {
    let mut out: BTreeMap<RunKey, Counts> = BTreeMap::new();
    for (k, c) in counts {
        out.entry((k.campaign_id, k.run_id)).or_default().merge(c);
    }
    out
}

/// Every treated variant of each run against the run's first one.
pub fn variants(counts: &BTreeMap<GroupKey, Counts>) -> Vec<VariantComparison> {
    let mut out = Vec::new();
    for ((campaign_id, run_id), variants) in by_variant(counts) {
        let treated: Vec<(&String, &Counts)> =
            variants.iter().filter(|(_, c)| c.treated > 0).collect();
        let Some((baseline, base)) = treated.first().copied() else {
            continue;
        };
        for (name, c) in &treated {
            let is_base = *name == baseline;
            let test = |x: fn(&Counts) -> u64| {
                (!is_base)
                    .then(|| two_proportion_test(x(c), c.delivered, x(base), base.delivered))
                    .flatten()
            };
            out.push(VariantComparison {
                campaign_id,
                run_id,
                variant: (*name).clone(),
                baseline: baseline.clone(),
                delivered: c.delivered,
                clicked: c.clicked,
                converted: c.treated_converted,
                ctr: wilson(c.clicked, c.delivered),
                conversion: wilson(c.treated_converted, c.delivered),
                ctr_test: test(|c| c.clicked),
                conversion_test: test(|c| c.treated_converted),
            });
        }
    }
    out
}

/// Treated against holdout for every run with a holdout: all variants
/// first, then each variant.
pub fn lift(counts: &BTreeMap<GroupKey, Counts>) -> Vec<Lift> {
    let variants = by_variant(counts);
    let mut out = Vec::new();
    for ((campaign_id, run_id), run) in by_run(counts) {
        if run.holdout == 0 {
            continue;
        }
        let control = (run.holdout, run.holdout_converted);
        out.push(one_lift((campaign_id, run_id), None, &run, control));
        for (name, c) in variants.get(&(campaign_id, run_id)).into_iter().flatten() {
            if c.treated > 0 {
                out.push(one_lift((campaign_id, run_id), Some(name), c, control));
            }
        }
    }
    out
}

/// The lift of `treated`'s users over a holdout of (users, converted).
fn one_lift(run: RunKey, variant: Option<&String>, treated: &Counts, holdout: (u64, u64)) -> Lift {
    let (n1, x1) = (treated.treated, treated.treated_converted);
    let (n0, x0) = holdout;
    Lift {
        campaign_id: run.0,
        run_id: run.1,
        variant: variant.cloned(),
        treated: n1,
        treated_converted: x1,
        holdout: n0,
        holdout_converted: x0,
        treated_rate: wilson(x1, n1),
        holdout_rate: wilson(x0, n0),
        difference: difference(x1, n1, x0, n0),
        relative: relative_lift(x1, n1, x0, n0),
        test: two_proportion_test(x1, n1, x0, n0),
    }
}
