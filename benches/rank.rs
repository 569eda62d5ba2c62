//! Criterion benchmark of the ranking hybrid: fitting it (base models,
//! validation split, blend) and one user's top-10 lookup from the fitted
//! model (pool, features, blend, MMR, reasons).
//!
//! The data is MovieLens-100k when `HERALD_ML100K_DIR` points at it (the
//! figure the README quotes), else a small generated shop (2,000 users,
//! 500 items, 40,000 events), both imported into a temporary SQLite store
//! and read back as `herald rank train` reads them.
//!
//! ```sh
//! HERALD_ML100K_DIR=target/ml-100k cargo bench --bench rank
//! ```

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use herald::ingest::import::{ImportObserver, ImportOptions, Kind, RowIssue, import_file};
use herald::ingest::synth::{GenParams, generate};
use herald::rank::Dataset;
use herald::rank::features::Scratch;
use herald::rank::hybrid::HybridParams;
use herald::rank::load::load_dataset;
use herald::rank::recommend::{RecommendOptions, Recommender, UserInput};
use herald::store::Store;

/// Ignores import progress; a generated shop has no bad rows.
struct Quiet;

impl ImportObserver for Quiet {
    fn issue(&mut self, issue: &RowIssue) {
        panic!("the generated shop has a bad row: {issue}");
    }

    fn progress(&mut self, _bytes: u64) {}
}

/// The benchmark's data and a name for it.
fn dataset() -> (Dataset, &'static str) {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    runtime.block_on(async {
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("rank.db").display());
        let store = Store::connect(&url, 2).await.expect("open SQLite");
        store.migrate().await.expect("migrate");
        let name = match std::env::var_os("HERALD_ML100K_DIR") {
            Some(ml) => {
                herald::ingest::movielens::import_dir(&store, Path::new(&ml), 0)
                    .await
                    .expect("import ML-100k");
                "ml-100k"
            }
            None => {
                shop(&store, dir.path()).await;
                "shop-2k"
            }
        };
        let data = load_dataset(&store, &mut |_, _| {}).await.expect("load");
        store.close().await;
        (data, name)
    })
}

/// Generates and imports the small synthetic shop.
async fn shop(store: &Store, dir: &Path) {
    let out = dir.join("shop");
    generate(&GenParams::new(2_000, 500, 40_000, 7), &out, &|_, _| {}).expect("generate");
    for (kind, file) in [
        (Kind::Items, "items.csv"),
        (Kind::Users, "users.csv"),
        (Kind::Events, "events.csv"),
    ] {
        import_file(
            store,
            kind,
            &out.join(file),
            &ImportOptions::default(),
            &mut Quiet,
        )
        .await
        .expect("import");
    }
}

fn rank(c: &mut Criterion) {
    let (data, name) = dataset();
    let params = HybridParams::default();
    let mut group = c.benchmark_group("rank");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    group.bench_function(format!("fit hybrid ({name})"), |b| {
        b.iter(|| black_box(Recommender::fit(&data, &params).expect("fit")))
    });
    let recommender = Recommender::fit(&data, &params).expect("fit");
    let user = (0..data.user_count() as u32)
        .max_by_key(|&u| (data.history(u).len().min(100), u))
        .unwrap_or(0);
    let input = UserInput {
        history: data.history(user).to_vec(),
        segment: data
            .users
            .segment
            .get(user as usize)
            .copied()
            .unwrap_or(u32::MAX),
    };
    let options = RecommendOptions::default();
    let mut scratch = Scratch::default();
    group
        .sample_size(100)
        .measurement_time(Duration::from_secs(5));
    group.bench_function(format!("top-10 for one user ({name})"), |b| {
        b.iter(|| {
            let view = recommender.view(user, &input);
            black_box(recommender.recommend(&view, &options, &mut scratch))
        })
    });
    group.finish();
}

criterion_group!(benches, rank);
criterion_main!(benches);
