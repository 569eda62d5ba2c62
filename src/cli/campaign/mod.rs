//! `herald campaign create|update|list|show|preview|run|schedule|pause|resume|cancel|explain`:
//! the campaign life cycle on the command line. Creating validates the
//! file (spec and templates) and prints the id alone (`--draft` keeps it
//! editable with `update` and unsent until `schedule`); `run` plans and
//! sends one run (see [`run`]); the status commands move a campaign
//! between `draft`, `scheduled`, `paused` and `cancelled`. Errors end with
//! exit code 1 and one line naming what to fix.

mod run;
mod show;

use crate::campaign::engine::Engine;
use crate::campaign::lifecycle::Transition;
use crate::campaign::spec::passed_at;
use crate::config::Settings;
use crate::domain::now_millis;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
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
        /// Store it as a draft: editable with `update`, never sent until `schedule`.
        #[arg(long)]
        draft: bool,
        /// Accept a `schedule.at` time that has already passed: the campaign
        /// is then sent at the scheduler's next tick (without this flag such
        /// a file is refused, so an old file is never sent by surprise).
        #[arg(long)]
        now: bool,
    },
    /// Replace a draft's file with a new one, validated like `create`.
    Update {
        /// The campaign id.
        id: i64,
        /// The new campaign file.
        file: PathBuf,
    },
    /// Schedule a draft: from now on it runs on its schedule.
    Schedule {
        /// The campaign id.
        id: i64,
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
        CampaignAction::Create { file, draft, now } => {
            create(&engine, &file, Creation { draft, now }, json).await
        }
        CampaignAction::Update { id, file } => update(&engine, id, &file, json).await,
        CampaignAction::Schedule { id } => {
            set_status(&engine, id, Transition::Schedule, json).await
        }
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

/// How `campaign create` stores a file.
#[derive(Clone, Copy)]
struct Creation {
    /// As an editable draft.
    draft: bool,
    /// Accepting a `schedule.at` that has passed.
    now: bool,
}

/// Refuses a scheduled campaign file whose `at` has passed, unless asked.
fn refuse_past_at(file: &Path, how: Creation, now: i64) -> anyhow::Result<()> {
    if how.draft || how.now {
        return Ok(());
    }
    let json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(()); // the create itself names the unreadable file
    };
    match passed_at(&text, json, now) {
        Some(at) => anyhow::bail!(
            "{}: schedule.at {} has passed: give a future time, or pass --now to accept it \
             (the campaign is then sent at the scheduler's next tick or by `herald campaign run`)",
            file.display(),
            crate::domain::millis_to_rfc3339(at)
        ),
        None => Ok(()),
    }
}

async fn create(engine: &Engine, file: &Path, how: Creation, json: bool) -> anyhow::Result<()> {
    refuse_past_at(file, how, now_millis())?;
    let id = if how.draft {
        engine.create_draft(file, now_millis()).await?
    } else {
        engine.create(file, now_millis()).await?
    };
    if json {
        println!("{}", serde_json::json!({ "campaign_id": id }));
    } else {
        println!("{id}");
    }
    Ok(())
}

async fn update(engine: &Engine, id: i64, file: &Path, json: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the file: {e}", file.display()))?;
    let is_json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let name = file.display().to_string();
    engine
        .update_from_text(id, &text, is_json, &name, now_millis())
        .await?;
    if json {
        println!(
            "{}",
            serde_json::json!({ "campaign_id": id, "updated": true })
        );
    } else {
        println!("campaign {id} updated (still a draft)");
    }
    Ok(())
}

async fn set_status(
    engine: &Engine,
    id: i64,
    transition: Transition,
    json: bool,
) -> anyhow::Result<()> {
    let changed = engine.change_status(id, transition, now_millis()).await?;
    let cancelled = changed.messages_cancelled;
    if json {
        let doc = serde_json::json!({"campaign_id": id, "status": changed.status,
            "previous_status": changed.previous_status, "messages_cancelled": cancelled});
        println!("{doc}");
    } else if transition == Transition::Cancel {
        println!("campaign {id} cancelled ({cancelled} pending messages cancelled)");
    } else {
        println!("campaign {id} is {}", transition.target());
    }
    Ok(())
}
