//! A generated shop in a store, for `herald bench` and `herald demo`:
//! write the synthetic shop, import its four files, and train the
//! segment and ranking models, timing each stage.

use super::progress::Progress;
use crate::domain::now_millis;
use crate::ingest::import::{ImportObserver, ImportOptions, Kind, RowIssue, import_file};
use crate::ingest::synth::{GenParams, generate};
use crate::store::Store;
use anyhow::Context;
use std::path::Path;
use std::time::Instant;

/// One timed stage.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageTime {
    /// What ran.
    pub stage: String,
    /// Rows or users it handled.
    pub items: u64,
    /// Wall time.
    pub seconds: f64,
}

impl StageTime {
    /// Items per second.
    pub fn per_second(&self) -> f64 {
        self.items as f64 / self.seconds.max(1e-9)
    }
}

/// Counts rejected rows; a generated shop should have none.
struct Quiet {
    /// Rejected rows.
    issues: u64,
    /// The first one, for the error.
    first: Option<String>,
}

impl ImportObserver for Quiet {
    fn issue(&mut self, issue: &RowIssue) {
        self.issues += 1;
        self.first.get_or_insert_with(|| issue.to_string());
    }

    fn progress(&mut self, _bytes: u64) {}
}

/// Writes a shop of `params` into `dir` and imports it into `store`.
pub async fn build(
    store: &Store,
    params: &GenParams,
    dir: &Path,
) -> anyhow::Result<Vec<StageTime>> {
    let start = Instant::now();
    let summary = generate(params, dir, &|_, _| {})?;
    let mut stages = vec![StageTime {
        stage: "generate".into(),
        items: summary.users,
        seconds: start.elapsed().as_secs_f64(),
    }];
    for (kind, file) in [
        (Kind::Users, "users.csv"),
        (Kind::Items, "items.csv"),
        (Kind::Events, "events.csv"),
        (Kind::Devices, "devices.csv"),
    ] {
        stages.push(import(store, kind, &dir.join(file)).await?);
    }
    Ok(stages)
}

async fn import(store: &Store, kind: Kind, path: &Path) -> anyhow::Result<StageTime> {
    let start = Instant::now();
    let mut quiet = Quiet {
        issues: 0,
        first: None,
    };
    let report = import_file(store, kind, path, &ImportOptions::default(), &mut quiet)
        .await
        .with_context(|| format!("importing {}", path.display()))?;
    if let Some(first) = quiet.first {
        anyhow::bail!(
            "{} rows of the generated shop were rejected, e.g. {first}",
            quiet.issues
        );
    }
    Ok(StageTime {
        stage: format!("import {}", kind.as_str()),
        items: report.read,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Trains the segments (k fixed, to skip the silhouette search) and the
/// ranking model.
pub async fn train(store: &Store, k: usize, seed: u64) -> anyhow::Result<Vec<StageTime>> {
    let progress = Progress::new("training segments", 1, false);
    let start = Instant::now();
    let options = crate::segment::TrainOptions {
        k: Some(k),
        seed,
        now: now_millis(),
    };
    let segments = crate::segment::train(store, &options).await?;
    progress.finish();
    let mut stages = vec![StageTime {
        stage: "segment train".into(),
        items: segments.segments.iter().map(|s| s.2 as u64).sum(),
        seconds: start.elapsed().as_secs_f64(),
    }];
    let start = Instant::now();
    let (_, metrics) = super::rank::train_model(store, seed).await?;
    stages.push(StageTime {
        stage: "rank train".into(),
        items: metrics["users"].as_u64().unwrap_or(0),
        seconds: start.elapsed().as_secs_f64(),
    });
    Ok(stages)
}

/// Retrains the ranking model only (between campaign rounds: the blend
/// learns from campaign clicks once there are enough).
pub async fn retrain_rank(store: &Store, seed: u64) -> anyhow::Result<StageTime> {
    let start = Instant::now();
    let (_, metrics) = super::rank::train_model(store, seed).await?;
    Ok(StageTime {
        stage: format!(
            "rank retrain ({})",
            metrics["blend_source"].as_str().unwrap_or("held_out")
        ),
        items: metrics["users"].as_u64().unwrap_or(0),
        seconds: start.elapsed().as_secs_f64(),
    })
}
