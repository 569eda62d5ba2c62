//! Criterion benchmark of planning: one push campaign with three
//! recommendations per user planned over a generated shop (4,000 users,
//! 400 items, 40,000 events, segments and the ranker trained once), each
//! iteration a new run: audience pages, rank lookup, policy, render, and
//! the plan, outbox and exposure writes on SQLite. Throughput is in
//! users planned.
//!
//! ```sh
//! cargo bench --bench plan
//! ```

use std::path::Path;
use std::sync::Arc;

use clap::Parser;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use herald::campaign::engine::Engine;
use herald::campaign::occurrence::Occurrence;
use herald::cli::Cli;
use herald::config::{self, LoadOptions};
use herald::store::Store;

/// Users in the shop (each is planned once per iteration).
const USERS: u64 = 4_000;

/// Policy without caps or quiet hours, so every user is decided alike.
const SETTINGS: &str = "[policy]\nfrequency_cap = \"\"\nquiet_hours = \"\"\n";

/// The bench's push campaign (as `herald bench` sends it).
const CAMPAIGN: &str = "name = \"plan bench\"\nchannels = [\"push\"]\n\
    schedule = { at = \"2026-01-01T00:00:00Z\" }\n\
    recommendations = { n = 3, diversity = 0.2 }\n\n\
    [[variants]]\nname = \"A\"\nweight = 1.0\ntitle = \"Hello {{ user.user_id }}\"\n\
    body = \"{{ items[0].title }} and {{ items | length - 1 }} more picks for you\"\n";

/// Runs one `herald` command in this process.
async fn herald(url: &str, args: &[&str]) {
    let mut argv = vec!["herald", "--database", url];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("valid arguments");
    herald::cli::run(cli).await.expect("command succeeds");
}

/// A generated shop with trained segments and ranker in `dir`.
async fn shop(dir: &Path, url: &str) {
    let data = dir.join("shop");
    let data = data.to_str().expect("utf-8 path");
    let users = USERS.to_string();
    let events = (USERS * 10).to_string();
    herald(url, &["migrate"]).await;
    herald(
        url,
        &[
            "gen-data", "--users", &users, "--items", "400", "--events", &events, "--out", data,
        ],
    )
    .await;
    for kind in ["users", "items", "events", "devices"] {
        let file = format!("{data}/{kind}.csv");
        herald(url, &["import", kind, &file]).await;
    }
    herald(url, &["segment", "train", "--k", "4"]).await;
    herald(url, &["rank", "train"]).await;
}

fn plan(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("plan.db").display());
    let settings_file = dir.path().join("settings.toml");
    std::fs::write(&settings_file, SETTINGS).expect("settings");
    let campaign_file = dir.path().join("push.toml");
    std::fs::write(&campaign_file, CAMPAIGN).expect("campaign");
    let engine = runtime.block_on(async {
        shop(dir.path(), &url).await;
        let options = LoadOptions::from_process(Some(settings_file), Some(url.clone()));
        let settings = Arc::new(config::load(&options).expect("settings load"));
        let store = Store::connect(&url, settings.database.max_connections.get())
            .await
            .expect("store");
        Engine::new(store, settings)
    });
    let now = herald::domain::now_millis();
    let id = runtime
        .block_on(engine.create(&campaign_file, now))
        .expect("campaign");
    let mut n = 0;
    let mut group = c.benchmark_group("plan");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(USERS));
    group.bench_function("push with 3 recommendations, 4,000 users", |b| {
        b.iter(|| {
            n += 1;
            runtime.block_on(async {
                let (run, _) = engine
                    .open(id, &Occurrence::manual(n, now, false), false, now)
                    .await
                    .expect("run");
                engine.plan(&run, "bench", now).await.expect("plan")
            })
        })
    });
    group.finish();
}

criterion_group!(benches, plan);
criterion_main!(benches);
