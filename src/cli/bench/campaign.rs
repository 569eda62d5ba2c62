//! One benchmark campaign: created from a generated file, planned
//! (audience, rank lookup, policy, render, outbox writes) and sent to the
//! sandbox by this process or by `herald worker --drain` processes, each
//! phase timed with its own peak resident memory.
//!
//! In-process senders start with the planner and send each page as soon
//! as it is written (the outbox is the hand-off, so nothing waits for the
//! whole plan); `--sequential` plans first and sends after, which times
//! the two phases apart.

use super::memory;
use crate::campaign::engine::Engine;
use crate::config::Settings;
use crate::dispatch::{ChannelSet, Worker};
use crate::domain::now_millis;
use anyhow::{Context, bail};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// One campaign's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CampaignFigures {
    /// Users planned to be sent to.
    pub recipients: u64,
    /// Users the plan decided for (sent to, held out or suppressed).
    pub planned_users: u64,
    /// Planning (audience, rank lookup, policy, render, outbox writes).
    pub plan_seconds: f64,
    /// Users planned per second.
    pub plan_users_per_second: f64,
    /// Sending until the outbox was drained (from the start when sending
    /// overlaps planning).
    pub send_seconds: f64,
    /// Messages sent per second.
    pub send_per_second: f64,
    /// From the start of planning until the outbox was drained.
    pub seconds: f64,
    /// Recipients per second end to end.
    pub per_second: f64,
    /// Rows the providers accepted.
    pub delivered: i64,
    /// Raw provider capacity from h2load, when installed (push only).
    pub h2load_per_second: Option<f64>,
    /// The end-to-end rate as a share of h2load's (push only).
    pub share_of_h2load: Option<f64>,
    /// Peak resident memory while planning (MiB).
    pub plan_peak_rss_mib: Option<f64>,
    /// Peak resident memory while sending (MiB).
    pub send_peak_rss_mib: Option<f64>,
    /// The larger of the two: the campaign's peak (MiB).
    pub peak_rss_mib: Option<f64>,
    /// The run, for a sample of what was sent.
    pub run_id: i64,
}

/// How campaigns are sent.
pub struct Sending<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// Settings pointing at the sandbox.
    pub settings: &'a Arc<Settings>,
    /// The same settings as a file, for worker processes.
    pub settings_file: &'a Path,
    /// The database URL, for worker processes.
    pub url: &'a str,
    /// Worker processes (0 = this process sends).
    pub workers: u32,
    /// Concurrent senders in this process.
    pub senders: u32,
    /// Plan first, then send (else in-process senders start with the
    /// planner).
    pub sequential: bool,
}

impl Sending<'_> {
    /// Creates, plans and sends the campaign on `channel`.
    pub async fn campaign(
        &self,
        dir: &Path,
        channel: &str,
        items: bool,
    ) -> anyhow::Result<CampaignFigures> {
        let file = dir.join(format!("bench-{channel}.toml"));
        std::fs::write(&file, campaign_file(channel, items))?;
        let now = now_millis();
        let id = self.engine.create(&file, now).await?;
        let (run, _) = self.engine.open_by_hand(id, false, now).await?;
        let owner = format!("bench-{}", std::process::id());
        memory::reset_peak();
        let start = Instant::now();
        let (report, plan_seconds, plan_peak) = if self.sequential || self.workers > 0 {
            let report = self.engine.plan(&run, &owner, now).await?;
            let seconds = start.elapsed().as_secs_f64();
            let peak = memory::peak_rss_mib();
            memory::reset_peak();
            self.drain(run.run_id, &owner).await?;
            (report, seconds, peak)
        } else {
            let (planned, done) = tokio::sync::watch::channel(false);
            let plan = async {
                let report = self.engine.plan(&run, &owner, now).await;
                let seconds = start.elapsed().as_secs_f64();
                let _ = planned.send(true);
                report.map(|r| (r, seconds))
            };
            let (planning, sending) = tokio::join!(plan, self.follow(run.run_id, &owner, done));
            sending?;
            let (report, seconds) = planning?;
            (report, seconds, None)
        };
        let seconds = start.elapsed().as_secs_f64();
        let send_seconds = if self.sequential || self.workers > 0 {
            seconds - plan_seconds
        } else {
            seconds
        };
        let send_peak = memory::peak_rss_mib();
        self.engine
            .finish_if_drained(run.run_id, now_millis())
            .await?;
        let delivered = self.delivered(run.run_id).await?;
        let recipients = report.send + report.deferred;
        Ok(CampaignFigures {
            recipients,
            planned_users: report.targeted,
            plan_seconds,
            plan_users_per_second: report.targeted as f64 / plan_seconds.max(1e-9),
            send_seconds,
            send_per_second: delivered as f64 / send_seconds.max(1e-9),
            seconds,
            per_second: recipients as f64 / seconds.max(1e-9),
            delivered,
            h2load_per_second: None,
            share_of_h2load: None,
            plan_peak_rss_mib: plan_peak,
            send_peak_rss_mib: send_peak,
            peak_rss_mib: memory::larger(plan_peak, send_peak),
            run_id: run.run_id,
        })
    }

    /// Rows of the run the providers accepted.
    async fn delivered(&self, run_id: i64) -> anyhow::Result<i64> {
        Ok(self
            .engine
            .store()
            .outbox_counts(run_id)
            .await?
            .into_iter()
            .filter(|(s, _)| s == "sent")
            .map(|(_, n)| n)
            .sum())
    }

    /// In-process senders, each its own worker with its own connections.
    fn senders(&self, owner: &str) -> anyhow::Result<Vec<Worker>> {
        (0..self.senders.max(1))
            .map(|n| {
                let channels = ChannelSet::from_settings(self.settings)?;
                let worker = Worker::new(
                    self.engine.store().clone(),
                    channels,
                    self.settings.dispatch.clone(),
                    format!("{owner}-{n}"),
                )
                .with_fallback(self.engine.fallback());
                Ok(worker)
            })
            .collect()
    }

    /// Sends the run's rows as the planner writes them, until `planned`
    /// turns true and nothing is pending (each sender follows the run).
    async fn follow(
        &self,
        run_id: i64,
        owner: &str,
        planned: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let workers = self.senders(owner)?;
        let follows = workers.iter().map(|w| w.follow(run_id, planned.clone()));
        for followed in futures_util::future::join_all(follows).await {
            followed?;
        }
        Ok(())
    }

    async fn drain(&self, run_id: i64, owner: &str) -> anyhow::Result<()> {
        if self.workers == 0 {
            let workers = self.senders(owner)?;
            let (_stop, shutdown) = tokio::sync::watch::channel(false);
            let drains = workers
                .iter()
                .map(|w| w.drain(Some(run_id), shutdown.clone()));
            for drained in futures_util::future::join_all(drains).await {
                drained?;
            }
            return Ok(());
        }
        let exe = std::env::current_exe().context("locating the herald binary")?;
        let mut children = Vec::new();
        for _ in 0..self.workers {
            let child = tokio::process::Command::new(&exe)
                .arg("--config")
                .arg(self.settings_file)
                .arg("--database")
                .arg(self.url)
                .args(["worker", "--drain"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .context("starting a worker process")?;
            children.push(child);
        }
        for mut child in children {
            let status = child.wait().await?;
            if !status.success() {
                bail!("a worker process failed ({status})");
            }
        }
        Ok(())
    }
}

/// The name of the benchmark's campaign on one channel.
pub fn campaign_name(channel: &str) -> String {
    format!("bench {channel}")
}

/// The benchmark's campaign on one channel.
fn campaign_file(channel: &str, items: bool) -> String {
    let (recommendations, body) = if items {
        (
            "recommendations = { n = 3, diversity = 0.2 }\n",
            "{{ items[0].title }} and {{ items | length - 1 }} more picks for you",
        )
    } else {
        ("", "New picks for you")
    };
    let name = campaign_name(channel);
    format!(
        "name = \"{name}\"\nchannels = [\"{channel}\"]\nschedule = {{ at = \"2026-01-01T00:00:00Z\" }}\n{recommendations}\n\
         [[variants]]\nname = \"A\"\nweight = 1.0\ntitle = \"Hello {{{{ user.user_id }}}}\"\nbody = \"{body}\"\n\
         email_subject = \"Picks for {{{{ user.user_id }}}}\"\nemail_template = \"weekly_picks\"\n"
    )
}
