//! herald: a push-notification campaign orchestrator.
//!
//! ```text
//!   import / event API ──► store ◄──────────────────────────── feedback
//!   (users, items, events,   │  (sea-orm: SQLite default, PostgreSQL)   ▲
//!    devices)                ▼                                          │
//!   scheduler tick ──► campaign run: audience → rank → plan → render → dispatch
//! ```
//!
//! Modules are declared in data-flow order. Imports run one way, from the
//! edges (`cli`) down to the validated `domain` types, which do no I/O.

pub mod domain;
pub mod config;
pub mod store;
pub mod ingest;
pub mod segment;
pub mod rank;
pub mod campaign;
pub mod render;
pub mod channels;
pub mod dispatch;
pub mod feedback;
pub mod api;
pub mod scheduler;
pub mod report;
pub mod cli;
