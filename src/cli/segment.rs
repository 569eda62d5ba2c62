//! `herald segment train|list|show`: k-means segments described in words.

use crate::config::Settings;
use crate::domain::now_millis;
use crate::segment::{self, TrainOptions};
use clap::{Args, Subcommand};

/// Arguments of `herald segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: SegmentAction,
    /// Print one JSON document instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The segment actions.
#[derive(Debug, Subcommand)]
pub enum SegmentAction {
    /// Train a new segment model on every user and make it active.
    Train {
        /// Number of segments; chosen by silhouette over 2..=8 when absent.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
        k: Option<u16>,
        /// Random seed (k-means initialisation, silhouette sample).
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// List the active model's segments with sizes and descriptions.
    List,
    /// Show one segment: description, size and centroid in raw units.
    Show {
        /// The segment id (0 = largest).
        id: i32,
    },
}

/// Runs `herald segment`.
pub async fn run(settings: &Settings, args: SegmentArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let result = match args.action {
        SegmentAction::Train { k, seed } => {
            train(&store, k.map(usize::from), seed, args.json).await
        }
        SegmentAction::List => list(&store, args.json).await,
        SegmentAction::Show { id } => show(&store, id, args.json).await,
    };
    store.close().await;
    result
}

async fn train(
    store: &crate::store::Store,
    k: Option<usize>,
    seed: u64,
    json: bool,
) -> anyhow::Result<()> {
    let options = TrainOptions {
        k,
        seed,
        now: now_millis(),
    };
    let report = segment::train(store, &options).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for (k, score) in &report.silhouette {
        println!("k = {k}: silhouette {score:.3}");
    }
    println!(
        "segment model {} with {} segments",
        report.model_id, report.k
    );
    for (id, description, size) in &report.segments {
        println!("{id:>3}  {size:>9}  {description}");
    }
    Ok(())
}

async fn list(store: &crate::store::Store, json: bool) -> anyhow::Result<()> {
    let (model_id, _) = segment::active_model(store).await?;
    let segments = store.segments(model_id).await?;
    let total: i64 = segments.iter().map(|s| s.size).sum::<i64>().max(1);
    if json {
        let rows: Vec<_> = segments
            .iter()
            .map(|s| serde_json::json!({"id": s.segment_id, "size": s.size, "description": s.description}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"model_id": model_id, "segments": rows})
        );
        return Ok(());
    }
    println!("segment model {model_id}");
    println!("{:>3}  {:>9}  {:>6}  description", "id", "users", "share");
    for s in &segments {
        let share = 100.0 * s.size as f64 / total as f64;
        println!(
            "{:>3}  {:>9}  {share:>5.1}%  {}",
            s.segment_id, s.size, s.description
        );
    }
    Ok(())
}

async fn show(store: &crate::store::Store, id: i32, json: bool) -> anyhow::Result<()> {
    let (model_id, _) = segment::active_model(store).await?;
    let segments = store.segments(model_id).await?;
    let Some(s) = segments.iter().find(|s| s.segment_id == id) else {
        let ids: Vec<String> = segments.iter().map(|s| s.segment_id.to_string()).collect();
        anyhow::bail!(
            "no segment {id} in model {model_id} (segments: {})",
            ids.join(", ")
        );
    };
    let centroid: serde_json::Value = serde_json::from_str(&s.centroid)?;
    if json {
        let doc = serde_json::json!({"model_id": model_id, "id": s.segment_id, "size": s.size,
            "description": s.description, "centroid": centroid});
        println!("{doc}");
        return Ok(());
    }
    println!(
        "segment {} of model {model_id}: {}",
        s.segment_id, s.description
    );
    println!("users: {}", s.size);
    if let serde_json::Value::Object(map) = centroid {
        for (name, value) in map {
            println!("  {name:<24} {value}");
        }
    }
    Ok(())
}
