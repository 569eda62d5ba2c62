//! `herald rank train|eval|recommend`: fit and store the hybrid ranker,
//! compare every model offline, and (in [`recommend`]) recommend for one
//! user or, streamed batch by batch to a CSV file, for every user.

mod lists;
mod recommend;

pub(crate) use recommend::peak_rss_mib;

use super::progress::Progress;
use crate::config::Settings;
use crate::domain::now_millis;
use crate::ingest::synth::Truth;
use crate::rank::blend::{
    ClickExamples, MAX_CLICK_EXPOSURES, MIN_CLICK_EXPOSURES, MIN_CLICKS, auc, fit_blend,
};
use crate::rank::compare::{EvalOptions, EvalReport, compare};
use crate::rank::hybrid::HybridParams;
use crate::rank::load::{load_catalog, load_histories, load_users};
use crate::rank::recommend::Recommender;
use crate::rank::{Catalog, Dataset, SplitKind, Users};
use crate::store::{NewRankModel, Store};
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `herald rank`.
#[derive(Debug, Args)]
pub struct RankArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: RankAction,
    /// Print one JSON document instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The rank actions.
#[derive(Debug, Subcommand)]
pub enum RankAction {
    /// Fit the hybrid ranker on all data and make it the active model.
    Train {
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Compare every model and baseline on a hold-out split.
    Eval(EvalArgs),
    /// Recommend items for one user, or for every user into a CSV file.
    Recommend(RecommendArgs),
}

/// Arguments of `herald rank eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Cut-off of the metrics.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub k: u16,
    /// How positives are held out.
    #[arg(long, value_enum, default_value_t = SplitArg::UserTemporal)]
    pub split: SplitArg,
    /// A gen-data folder: also report NDCG@k against its hidden truth.
    #[arg(long, value_name = "DIR")]
    pub truth: Option<PathBuf>,
    /// Most users evaluated (a seeded sample above it).
    #[arg(long, default_value_t = 10_000)]
    pub max_users: usize,
    /// Random seed (split, sample, models).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// The hold-out splits.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SplitArg {
    /// Each user's newest 20% of positives.
    UserTemporal,
    /// A random 20% of each user's positives.
    Random,
}

/// Arguments of `herald rank recommend`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("who").required(true).args(["user", "all"])))]
pub struct RecommendArgs {
    /// The user to recommend for.
    #[arg(long)]
    pub user: Option<String>,
    /// Every user, written to --out as CSV.
    #[arg(long, requires = "out")]
    pub all: bool,
    /// Items per user.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub n: u16,
    /// Variety from 0 (pure relevance) to 1 (MMR).
    #[arg(long, default_value_t = 0.2)]
    pub diversity: f32,
    /// The CSV file for --all.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `herald rank`.
pub async fn run(settings: &Settings, args: RankArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let result = match args.action {
        RankAction::Train { seed } => train(&store, seed, args.json).await,
        RankAction::Eval(eval) => evaluate(&store, &eval, args.json).await,
        RankAction::Recommend(rec) => recommend::run(&store, &rec, args.json).await,
    };
    store.close().await;
    result
}

async fn load(store: &Store) -> anyhow::Result<Dataset> {
    let data = read_histories(
        store,
        load_catalog(store).await?,
        load_users(store).await?,
        None,
    )
    .await?;
    if data.interaction_count() == 0 {
        bail!(
            "no events with items to learn from: import events first (herald import events FILE)"
        );
    }
    Ok(data)
}

/// Every user's history against a given catalogue, with progress.
pub(super) async fn read_histories(
    store: &Store,
    catalog: Catalog,
    users: Users,
    since: Option<i64>,
) -> anyhow::Result<Dataset> {
    let mut progress: Option<Progress> = None;
    let data = load_histories(store, catalog, users, since, &mut |done, total| {
        progress
            .get_or_insert_with(|| Progress::new("reading events", total, false))
            .set(done);
    })
    .await?;
    if let Some(p) = progress {
        p.finish();
    }
    Ok(data)
}

/// Fits the hybrid on every user's history and saves it as the active
/// model with every user's precomputed list (what `herald rank train`
/// does); returns its id and the training metrics. The blend learns from
/// campaign clicks when the store holds enough exposures with a known
/// outcome ([`ClickExamples::enough`]), else from held-out interactions;
/// the metrics say which (`blend_source`: `clicks` or `held_out`) and
/// how many exposures and clicks there were.
pub async fn train_model(store: &Store, seed: u64) -> anyhow::Result<(i64, serde_json::Value)> {
    let data = load(store).await?;
    let params = HybridParams {
        seed,
        ..HybridParams::default()
    };
    let labelled = store.labelled_exposures(MAX_CLICK_EXPOSURES).await?;
    let clicks =
        ClickExamples::from_rows(labelled.iter().map(|r| (r.features.as_str(), r.clicked)));
    let start = Instant::now();
    let (recommender, click_auc) = fit(&data, &params, &clicks)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let mut metrics = serde_json::json!({
        "fit_seconds": fit_seconds,
        "users": data.user_count(),
        "items": data.item_count(),
        "interactions": data.interaction_count(),
        "collaborative": recommender.model.base.collab_name(),
        "validation_ndcg_at_10": recommender.model.validation_ndcg,
        "blend_source": if click_auc.is_some() { "clicks" } else { "held_out" },
        "blend_exposures": clicks.exposures(),
        "blend_clicks": clicks.clicks(),
        "blend_click_auc": click_auc,
    });
    let model = NewRankModel {
        kind: "hybrid".into(),
        params: serde_json::to_string(&params)?,
        state: recommender.to_state(),
        metrics: metrics.to_string(),
        now: now_millis(),
    };
    let id = store.save_rank_model(&model).await?;
    let lists = lists::write_lists(store, id, &recommender, &data.users.segment).await?;
    metrics["list_users"] = lists.users.into();
    metrics["list_seconds"] = lists.seconds.into();
    Ok((id, metrics))
}

/// The recommender, with the blend fitted on `clicks` when there are
/// enough (and its AUC on them), else on held-out interactions.
fn fit(
    data: &Dataset,
    params: &HybridParams,
    clicks: &ClickExamples,
) -> anyhow::Result<(Recommender, Option<f64>)> {
    if clicks.enough() {
        match fit_blend(&clicks.examples, params.blend_alpha) {
            Ok(blend) => {
                let auc = auc(&blend, &clicks.examples);
                return Ok((Recommender::fit_with_blend(data, params, blend)?, Some(auc)));
            }
            Err(error) => tracing::warn!(
                %error,
                "the blend did not fit on campaign clicks; learning it from held-out interactions"
            ),
        }
    }
    Ok((Recommender::fit(data, params)?, None))
}

/// How the blend was trained, in words.
fn blend_words(metrics: &serde_json::Value) -> String {
    let (exposures, clicks) = (&metrics["blend_exposures"], &metrics["blend_clicks"]);
    match metrics["blend_source"].as_str() {
        Some("clicks") => format!(
            "blend learned from {clicks} clicks on {exposures} campaign exposures (AUC {:.3})",
            metrics["blend_click_auc"].as_f64().unwrap_or(f64::NAN)
        ),
        _ => format!(
            "blend learned from held-out interactions (campaign feedback: {exposures} exposures, \
             {clicks} clicks; {MIN_CLICK_EXPOSURES} and {MIN_CLICKS} needed); validation NDCG@10 {:.4}",
            metrics["validation_ndcg_at_10"]
                .as_f64()
                .unwrap_or(f64::NAN)
        ),
    }
}

async fn train(store: &Store, seed: u64, json: bool) -> anyhow::Result<()> {
    let (id, metrics) = train_model(store, seed).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "model_id": id, "metrics": metrics })
        );
    } else {
        println!(
            "ranking model {id} (hybrid over {}) trained on {} users, {} items, {} interactions in {:.2} s; {}; lists for {} users stored in {:.2} s; now active",
            metrics["collaborative"].as_str().unwrap_or("?"),
            metrics["users"],
            metrics["items"],
            metrics["interactions"],
            metrics["fit_seconds"].as_f64().unwrap_or(0.0),
            blend_words(&metrics),
            metrics["list_users"],
            metrics["list_seconds"].as_f64().unwrap_or(0.0),
        );
    }
    Ok(())
}

async fn evaluate(store: &Store, args: &EvalArgs, json: bool) -> anyhow::Result<()> {
    let truth = match &args.truth {
        Some(dir) => Some(
            Truth::load(dir).with_context(|| format!("reading the truth in {}", dir.display()))?,
        ),
        None => None,
    };
    let data = load(store).await?;
    let split = match args.split {
        SplitArg::UserTemporal => SplitKind::UserTemporal,
        SplitArg::Random => SplitKind::Random,
    };
    let options = EvalOptions {
        k: usize::from(args.k),
        split,
        fraction: 0.2,
        seed: args.seed,
        max_users: args.max_users.max(1),
        params: HybridParams {
            seed: args.seed,
            ..HybridParams::default()
        },
    };
    let preference = |u: u32, i: u32| -> Option<f64> {
        let truth = truth.as_ref()?;
        truth.preference(
            data.users.ids.get(u as usize)?,
            data.items.ids.get(i as usize)?,
        )
    };
    let report = compare(
        &data,
        &options,
        truth
            .as_ref()
            .map(|_| &preference as &crate::rank::compare::Truth<'_>),
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(report: &EvalReport) {
    let k = report.k;
    println!(
        "split {} · {} users evaluated · whole catalogue minus each user's training positives",
        report.split, report.users
    );
    let truth = report.models.iter().any(|m| m.truth_ndcg.is_some());
    let extra = if truth {
        format!(" {:>10}", format!("truth@{k}"))
    } else {
        String::new()
    };
    println!(
        "{:<11} {:>7} {:>7} {:>8} {:>7} {:>8} {:>9} {:>7}{extra}",
        "model",
        format!("P@{k}"),
        format!("R@{k}"),
        format!("NDCG@{k}"),
        format!("MAP@{k}"),
        "coverage",
        "diversity",
        "fit s"
    );
    for m in &report.models {
        let Some(x) = &m.metrics else {
            println!(
                "{:<11} skipped: {}",
                m.model,
                m.skipped.as_deref().unwrap_or("")
            );
            continue;
        };
        let extra = m
            .truth_ndcg
            .map_or(String::new(), |t| format!(" {t:>10.4}"));
        println!(
            "{:<11} {:>7.4} {:>7.4} {:>8.4} {:>7.4} {:>8.3} {:>9.3} {:>7.2}{extra}",
            m.model, x.precision, x.recall, x.ndcg, x.map, x.coverage, x.diversity, m.fit_seconds
        );
        if let Some(note) = &m.note {
            println!("{:<11} {note}", "");
        }
    }
}
