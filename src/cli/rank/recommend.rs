//! `herald rank recommend`: one user (an index lookup of their events), or
//! every user into a CSV file. The batch run starts from the history
//! snapshot saved with the model, reads only the events that came after it,
//! scores users in parallel batches and streams the rows to the file.

use super::{RecommendArgs, read_histories};
use crate::cli::progress::Progress;
use crate::rank::Interaction;
use crate::rank::dataset::fold;
use crate::rank::load::{BATCH_USERS, HistoryReader, load_catalog, load_users};
use crate::rank::recommend::{RecommendOptions, Recommendation, Recommender, UserInput};
use crate::store::Store;
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

async fn active_recommender(store: &Store) -> anyhow::Result<Recommender> {
    let Some(row) = store.active_rank_model().await? else {
        bail!("no ranking model yet: run `herald rank train` first");
    };
    let mut recommender = Recommender::from_state(&row.params, &row.state)?;
    recommender.set_stock(&load_catalog(store).await?);
    Ok(recommender)
}

/// Runs `herald rank recommend`.
pub(super) async fn run(store: &Store, args: &RecommendArgs, json: bool) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.diversity) {
        bail!("--diversity must be between 0 and 1");
    }
    let options = RecommendOptions {
        n: usize::from(args.n),
        diversity: args.diversity,
    };
    let recommender = active_recommender(store).await?;
    match (&args.user, &args.out) {
        (Some(user), _) => recommend_one(store, &recommender, user, &options, json).await,
        (None, Some(out)) => recommend_all(store, &recommender, out, &options, json).await,
        (None, None) => bail!("give --user ID, or --all with --out FILE"),
    }
}

async fn recommend_one(
    store: &Store,
    recommender: &Recommender,
    user: &str,
    options: &RecommendOptions,
    json: bool,
) -> anyhow::Result<()> {
    if store.user(user).await?.is_none() {
        bail!("unknown user {user}: import users first or check the id");
    }
    let reader = HistoryReader::new(store, &recommender.catalog);
    let history = reader
        .histories(&[user.to_owned()])
        .await?
        .pop()
        .unwrap_or_default();
    let segment = store
        .rank_user_segment(user)
        .await?
        .map_or(crate::rank::dataset::NONE, |s| s as u32);
    let input = UserInput { history, segment };
    let recs = recommender
        .recommend_many(0, std::slice::from_ref(&input), options)
        .pop()
        .unwrap_or_default();
    let catalog = &recommender.catalog;
    if json {
        let rows: Vec<_> = recs
            .iter()
            .enumerate()
            .map(|(r, x)| serde_json::json!({"rank": r + 1, "item_id": catalog.ids[x.item as usize], "title": catalog.name(x.item), "score": x.score, "reason": x.reason.text(catalog)}))
            .collect();
        println!("{}", serde_json::json!({ "user_id": user, "items": rows }));
        return Ok(());
    }
    for (r, x) in recs.iter().enumerate() {
        let id = &catalog.ids[x.item as usize];
        println!(
            "{:>3}. {id:<10} {:<40} {:>7.3}  {}",
            r + 1,
            catalog.name(x.item),
            x.score,
            x.reason.text(catalog)
        );
    }
    Ok(())
}

async fn recommend_all(
    store: &Store,
    recommender: &Recommender,
    out: &Path,
    options: &RecommendOptions,
    json: bool,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let users = load_users(store).await?;
    let since = Some(recommender.snapshot.until_ms);
    let data = read_histories(store, recommender.catalog.clone(), users, since).await?;
    let snapshot = &recommender.snapshot;
    let known: HashMap<&str, usize> = snapshot
        .user_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(writer, "user_id,item_id,rank,score,reason")?;
    let n = data.user_count();
    let mut progress = Progress::new("recommending", n as u64, false);
    let ids = &data.users.ids;
    // Scoring (every core) and writing (one thread) overlap: each batch is
    // handed to the writer while the next one is scored.
    let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<Vec<Recommendation>>)>(1);
    let (done, rows) = std::thread::scope(|scope| -> anyhow::Result<(usize, u64)> {
        let writing = scope.spawn(move || -> anyhow::Result<u64> {
            let mut rows = 0;
            for (first, recs) in rx {
                rows += write_rows(
                    &mut writer,
                    recommender,
                    &ids[first..first + recs.len()],
                    &recs,
                )?;
            }
            writer
                .flush()
                .with_context(|| format!("writing {}", out.display()))?;
            Ok(rows)
        });
        let mut done = 0usize;
        while done < n {
            let end = (done + BATCH_USERS).min(n);
            let inputs: Vec<UserInput> = (done..end)
                .map(|u| {
                    let old = known
                        .get(ids[u].as_str())
                        .map_or(&[][..], |&i| snapshot.history(i));
                    UserInput {
                        history: merge(old, data.history(u as u32)),
                        segment: data.users.segment[u],
                    }
                })
                .collect();
            let recs = recommender.recommend_many(done as u32, &inputs, options);
            if tx.send((done, recs)).is_err() {
                break;
            }
            done = end;
            progress.set(done as u64);
        }
        drop(tx);
        let rows = writing
            .join()
            .map_err(|_| anyhow::anyhow!("the CSV writer stopped"))??;
        Ok((done, rows))
    })?;
    progress.finish();
    let seconds = start.elapsed().as_secs_f64();
    let peak = peak_rss_mib();
    if json {
        println!(
            "{}",
            serde_json::json!({"users": done, "rows": rows, "seconds": seconds, "peak_rss_mib": peak, "out": out})
        );
    } else {
        let peak = peak.map_or(String::new(), |p| format!(", peak memory {p:.0} MiB"));
        println!(
            "wrote {rows} recommendations for {done} users to {} in {seconds:.1} s{peak}",
            out.display()
        );
    }
    Ok(())
}

/// A snapshot history updated with newer interactions.
fn merge(old: &[Interaction], new: &[Interaction]) -> Vec<Interaction> {
    if new.is_empty() {
        return old.to_vec();
    }
    let mut events: Vec<_> = old
        .iter()
        .chain(new)
        .map(|e| (e.item, e.t, e.signal))
        .collect();
    fold(&mut events)
}

fn write_rows(
    writer: &mut impl Write,
    recommender: &Recommender,
    users: &[String],
    recs: &[Vec<Recommendation>],
) -> anyhow::Result<u64> {
    let catalog = &recommender.catalog;
    let mut rows = 0;
    for (user, list) in users.iter().zip(recs) {
        for (r, x) in list.iter().enumerate() {
            let reason = x.reason.text(catalog).replace('"', "\"\"");
            writeln!(
                writer,
                "{},{},{},{:.5},\"{reason}\"",
                csv_field(user),
                csv_field(&catalog.ids[x.item as usize]),
                r + 1,
                x.score
            )?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// Quotes a CSV field when it needs it.
fn csv_field(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\"")).into()
    } else {
        value.into()
    }
}

/// Peak resident memory of this process in MiB (Linux), for reports.
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
