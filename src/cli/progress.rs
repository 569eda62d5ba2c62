//! Progress for long work: a bar on a terminal, plain log lines (every
//! tenth of the way) otherwise, so CI logs stay readable.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Progress over a known number of units (bytes, rows).
pub struct Progress {
    /// The bar, hidden when stderr is not a terminal.
    bar: ProgressBar,
    /// What is being done, for log lines.
    label: String,
    /// The total, for log lines.
    total: u64,
    /// The last tenth logged.
    logged_tenth: u64,
    /// Whether a bar is drawn.
    interactive: bool,
}

impl Progress {
    /// Starts progress over `total` units of `unit` ("bytes" or "rows").
    pub fn new(label: &str, total: u64, bytes: bool) -> Self {
        let interactive = std::io::stderr().is_terminal();
        let bar = if interactive {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        let template = if bytes {
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})"
        } else {
            "{msg} [{bar:30}] {pos}/{len} ({eta})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_owned());
        Self {
            bar,
            label: label.to_owned(),
            total,
            logged_tenth: 0,
            interactive,
        }
    }

    /// Moves to `position` units done.
    pub fn set(&mut self, position: u64) {
        self.bar.set_position(position);
        if self.interactive || self.total == 0 {
            return;
        }
        let tenth = position.saturating_mul(10) / self.total;
        if tenth > self.logged_tenth && tenth < 10 {
            self.logged_tenth = tenth;
            tracing::info!("{}: {}% done", self.label, tenth * 10);
        }
    }

    /// Changes the total (work found while it is being done).
    pub fn set_total(&mut self, total: u64) {
        self.total = total;
        self.bar.set_length(total);
    }

    /// Ends the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
