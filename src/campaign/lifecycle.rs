//! A campaign's life cycle: a `draft` (editable, never sent) is
//! scheduled; a `scheduled` campaign pauses, resumes and is cancelled;
//! an `at` campaign ends `done`. The one rule for which status may take
//! which change (shared by `herald campaign` and the API), and which
//! statuses may be run. Repeating a change is accepted and changes
//! nothing; cancelling also cancels pending messages and open runs.

use super::engine::{CampaignError, Engine};

/// A status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `draft` → `scheduled`.
    Schedule,
    /// `scheduled` → `paused`.
    Pause,
    /// `paused` → `scheduled`.
    Resume,
    /// `scheduled` or `paused` → `cancelled`.
    Cancel,
}

impl Transition {
    /// The status it leads to.
    pub fn target(self) -> &'static str {
        match self {
            Transition::Schedule => "scheduled",
            Transition::Pause => "paused",
            Transition::Resume => "scheduled",
            Transition::Cancel => "cancelled",
        }
    }

    /// Whether a campaign in `status` may take it (the target status
    /// itself is accepted: repeating a change changes nothing).
    pub fn allowed_from(self, status: &str) -> bool {
        status == self.target()
            || match self {
                Transition::Schedule => status == "draft",
                Transition::Pause => status == "scheduled",
                Transition::Resume => status == "paused",
                Transition::Cancel => matches!(status, "draft" | "scheduled" | "paused"),
            }
    }

    /// What to do instead when it is not allowed.
    fn hint(self) -> &'static str {
        match self {
            Transition::Schedule => "only a draft is scheduled; a paused one is resumed",
            Transition::Pause => "only a scheduled campaign can be paused",
            Transition::Resume => "only a paused campaign can be resumed",
            Transition::Cancel => "it has already ended; nothing is left to cancel",
        }
    }
}

/// Whether a campaign in `status` may be run now (`dry_run`: planned
/// without sending); the hint says why not. A draft is only dry-run and a
/// cancelled campaign is not sent again.
pub fn runnable(status: &str, dry_run: bool) -> Result<(), &'static str> {
    match status {
        "draft" if !dry_run => Err(
            "a draft is not sent: schedule it first (`herald campaign schedule ID` or \
             POST /api/v1/campaigns/{id}/schedule), or try it with --dry-run",
        ),
        "cancelled" if !dry_run => Err("a cancelled campaign is not sent again"),
        _ => Ok(()),
    }
}

/// Whether a campaign in `status` may have its file replaced.
pub fn editable(status: &str) -> Result<(), &'static str> {
    if status == "draft" {
        Ok(())
    } else {
        Err("only a draft can be edited; create a new campaign (or a draft with --draft) instead")
    }
}

/// What a status change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChanged {
    /// The status before.
    pub previous_status: String,
    /// The status now.
    pub status: &'static str,
    /// Pending messages cancelled (cancel only).
    pub messages_cancelled: u64,
}

impl Engine {
    /// Applies `transition` to campaign `id` at `now` (ms).
    pub async fn change_status(
        &self,
        id: i64,
        transition: Transition,
        now: i64,
    ) -> Result<StatusChanged, CampaignError> {
        let store = self.store();
        let row = store
            .campaign(id)
            .await?
            .ok_or(CampaignError::UnknownCampaign(id))?;
        if !transition.allowed_from(&row.status) {
            return Err(CampaignError::Status {
                id,
                status: row.status,
                hint: transition.hint(),
            });
        }
        store
            .set_campaign_status(id, transition.target(), now)
            .await?;
        let mut messages_cancelled = 0;
        if transition == Transition::Cancel {
            messages_cancelled = store.cancel_pending(id, now).await?;
            for run in store.runs(id).await? {
                if matches!(run.status.as_str(), "planning" | "sending") {
                    store
                        .set_run_status(run.run_id, "cancelled", None, Some(now))
                        .await?;
                }
            }
        }
        Ok(StatusChanged {
            previous_status: row.status,
            status: transition.target(),
            messages_cancelled,
        })
    }
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
        assert!(Transition::Schedule.allowed_from("draft"));
        assert!(Transition::Schedule.allowed_from("scheduled"));
        assert!(!Transition::Schedule.allowed_from("paused"));
        assert!(!Transition::Pause.allowed_from("draft"));
        assert!(Transition::Cancel.allowed_from("draft"));
    }

    #[test]
    fn drafts_are_only_dry_run_and_only_drafts_are_edited() {
        assert!(super::runnable("draft", true).is_ok());
        assert!(super::runnable("draft", false).is_err());
        assert!(super::runnable("cancelled", false).is_err());
        assert!(super::runnable("scheduled", false).is_ok());
        assert!(super::runnable("paused", false).is_ok());
        assert!(super::editable("draft").is_ok());
        assert!(super::editable("scheduled").is_err());
    }
}
