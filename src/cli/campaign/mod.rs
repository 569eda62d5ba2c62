//! `herald campaign create|list|show|preview|run|pause|resume|cancel|explain`:
//! the campaign life cycle on the command line. Creating validates the
//! file (spec and templates) and prints the id alone; `run` plans and
//! sends one run (see [`run`]); the status commands move a campaign
//! between `scheduled`, `paused` and `cancelled`. Errors end with exit
//! code 1 and one line naming what to fix.

mod run;
mod show;

use crate::campaign::engine::{CampaignError, Engine};
use crate::config::Settings;
use crate::domain::now_millis;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `herald campaign`.
#[derive(Debug, Args)]
pub struct CampaignArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: CampaignAction,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The campaign actions.
#[derive(Debug, Subcommand)]
pub enum CampaignAction {
    /// Validate a campaign file (TOML or JSON) and store it as scheduled; prints its id.
    Create {
        /// The campaign file.
        file: PathBuf,
    },
    /// List campaigns: id, name, status and next run.
    List,
    /// Show a campaign: spec summary, variants, runs with counts and next run times.
    Show {
        /// The campaign id.
        id: i64,
    },
    /// Print the exact message one user would get now, per channel.
    Preview {
        /// The campaign id.
        id: i64,
        /// The user id.
        #[arg(long)]
        user: String,
    },
    /// Plan and send a run now (resumes the unfinished run if there is one).
    ///
    /// Returns once nothing more is due: messages deferred by quiet hours
    /// stay queued for `herald worker` or `herald serve`. Ctrl-C stops
    /// sending after the current batch; running the command again resumes.
    Run(run::RunArgs),
    /// Stop scheduling and sending a campaign until it is resumed.
    Pause {
        /// The campaign id.
        id: i64,
    },
    /// Schedule a paused campaign again.
    Resume {
        /// The campaign id.
        id: i64,
    },
    /// Cancel a campaign for good: nothing more is planned or sent.
    Cancel {
        /// The campaign id.
        id: i64,
    },
    /// Say why one user did or did not get the campaign.
    Explain {
        /// The campaign id.
        id: i64,
        /// The user id.
        #[arg(long)]
        user: String,
    },
}

/// Runs `herald campaign`.
pub async fn run(settings: &Settings, args: CampaignArgs) -> anyhow::Result<()> {
    let store = super::open_store(settings).await?;
    let engine = Engine::new(store.clone(), Arc::new(settings.clone()));
    let json = args.json;
    let result = match args.action {
        CampaignAction::Create { file } => create(&engine, &file, json).await,
        CampaignAction::List => show::list(&engine, json).await,
        CampaignAction::Show { id } => show::show(&engine, id, json).await,
        CampaignAction::Preview { id, user } => show::preview(&engine, id, &user, json).await,
        CampaignAction::Explain { id, user } => show::explain(&engine, id, &user, json).await,
        CampaignAction::Run(run) => run::run(&engine, &run, json).await,
        CampaignAction::Pause { id } => set_status(&engine, id, Transition::Pause, json).await,
        CampaignAction::Resume { id } => set_status(&engine, id, Transition::Resume, json).await,
        CampaignAction::Cancel { id } => set_status(&engine, id, Transition::Cancel, json).await,
    };
    store.close().await;
    result
}

async fn create(engine: &Engine, file: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let id = engine.create(file, now_millis()).await?;
    if json {
        println!("{}", serde_json::json!({ "campaign_id": id }));
    } else {
        println!("{id}");
    }
    Ok(())
}

/// A status change asked for on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    /// `scheduled` → `paused`.
    Pause,
    /// `paused` → `scheduled`.
    Resume,
    /// `scheduled` or `paused` → `cancelled`.
    Cancel,
}

impl Transition {
    /// The status it leads to.
    fn target(self) -> &'static str {
        match self {
            Transition::Pause => "paused",
            Transition::Resume => "scheduled",
            Transition::Cancel => "cancelled",
        }
    }

    /// Whether a campaign in `status` may take it (the target status
    /// itself is accepted: repeating a command changes nothing).
    fn allowed_from(self, status: &str) -> bool {
        status == self.target()
            || match self {
                Transition::Pause => status == "scheduled",
                Transition::Resume => status == "paused",
                Transition::Cancel => matches!(status, "scheduled" | "paused"),
            }
    }

    /// What to do instead when it is not allowed.
    fn hint(self) -> &'static str {
        match self {
            Transition::Pause => "only a scheduled campaign can be paused",
            Transition::Resume => "only a paused campaign can be resumed",
            Transition::Cancel => "it has already ended; nothing is left to cancel",
        }
    }
}

async fn set_status(
    engine: &Engine,
    id: i64,
    transition: Transition,
    json: bool,
) -> anyhow::Result<()> {
    let store = engine.store();
    let row = store
        .campaign(id)
        .await?
        .ok_or(CampaignError::UnknownCampaign(id))?;
    if !transition.allowed_from(&row.status) {
        return Err(CampaignError::Status {
            id,
            status: row.status,
            hint: transition.hint(),
        }
        .into());
    }
    let now = now_millis();
    store
        .set_campaign_status(id, transition.target(), now)
        .await?;
    let mut cancelled = 0;
    if transition == Transition::Cancel {
        cancelled = store.cancel_pending(id, now).await?;
        for run in store.runs(id).await? {
            if matches!(run.status.as_str(), "planning" | "sending") {
                store
                    .set_run_status(run.run_id, "cancelled", None, Some(now))
                    .await?;
            }
        }
    }
    if json {
        let doc = serde_json::json!({"campaign_id": id, "status": transition.target(),
            "previous_status": row.status, "messages_cancelled": cancelled});
        println!("{doc}");
    } else if transition == Transition::Cancel {
        println!("campaign {id} cancelled ({cancelled} pending messages cancelled)");
    } else {
        println!("campaign {id} is {}", transition.target());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Transition;

    #[test]
    fn status_changes_follow_the_life_cycle_and_repeat_harmlessly() {
        assert!(Transition::Pause.allowed_from("scheduled"));
        assert!(Transition::Pause.allowed_from("paused"));
        assert!(!Transition::Pause.allowed_from("cancelled"));
        assert!(Transition::Resume.allowed_from("paused"));
        assert!(!Transition::Resume.allowed_from("done"));
        assert!(Transition::Cancel.allowed_from("paused"));
        assert!(!Transition::Cancel.allowed_from("done"));
    }
}
