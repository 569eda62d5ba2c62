//! `[feedback]`: how purchases are attributed to the messages before them.
//!
//! A purchase is credited to the user's last click on a message within
//! `click_window` of it (click-through), else to the last message delivered
//! to them within `view_window` (view-through). The report and the
//! training export read these windows; changing them re-attributes past
//! purchases the next time a report is made (attribution is computed when
//! reporting, never stored).

use serde::{Deserialize, Serialize};

use super::values::Duration;

/// `[feedback]`: the attribution windows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedbackSettings {
    /// How long after a click a purchase is credited to the clicked message.
    pub click_window: Duration,
    /// How long after a delivered message (without a click) a purchase is
    /// credited to it; `0s` turns view-through attribution off.
    pub view_window: Duration,
}

impl Default for FeedbackSettings {
    fn default() -> Self {
        Self {
            click_window: Duration::from_secs(7 * 86_400),
            view_window: Duration::from_secs(86_400),
        }
    }
}

impl FeedbackSettings {
    /// The click-through window in milliseconds.
    pub fn click_window_ms(&self) -> i64 {
        millis(self.click_window)
    }

    /// The view-through window in milliseconds.
    pub fn view_window_ms(&self) -> i64 {
        millis(self.view_window)
    }
}

/// A duration in whole milliseconds, saturating at `i64::MAX`.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.get().as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_windows_are_seven_days_after_a_click_and_one_day_after_a_view() {
        let s = FeedbackSettings::default();
        assert_eq!(s.click_window_ms(), 7 * 86_400_000);
        assert_eq!(s.view_window_ms(), 86_400_000);
        assert_eq!(s.click_window.to_string(), "7d");
    }
}
