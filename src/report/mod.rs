//! Feedback analytics: what was sent, what people did with it, and what it
//! earned.
//!
//! ```text
//!   store ─► attribution (last touch: click window, else view window)
//!         ─► recipients page by page ─► groups (campaign × run × variant ×
//!            segment × channel) ─► rates (Wilson), variant z-tests, lift
//!            against the holdout ─► JSON │ CSV │ HTML with SVG charts
//!   store ─► exposures page by page with later outcomes ─► training CSV
//! ```
//!
//! Everything is computed when asked (nothing derived is stored) and is
//! deterministic: the same database gives the same report byte for byte,
//! with no wall-clock time in it.

pub mod aggregate;
pub mod attribution;
pub mod build;
pub mod compare;
pub mod html;
pub mod model;
pub mod output;
pub mod stats;
mod svg;
pub mod training;

pub use attribution::{Attribution, Conversion, Windows, attribute};
pub use build::{ReportOptions, build};
pub use model::Report;

use crate::store::StoreError;

/// Why a report or an export could not be made; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No campaign has this id.
    #[error("no campaign {0}: `herald campaign list` shows the ids")]
    UnknownCampaign(i64),
    /// A store error.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("cannot write {what}: {source}")]
    Write {
        /// What was being written.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTML template failed to render.
    #[error("cannot render the HTML report: {0}")]
    Render(String),
}

impl ReportError {
    /// An I/O error while writing `what`.
    pub(crate) fn write(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Write { what, source }
    }
}
