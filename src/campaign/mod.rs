//! Campaigns: the campaign file (`spec`), schedules (`cron`: crontab
//! expressions on wall-clock time, correct across DST changes) and the
//! contact policy that decides, per user, send or not and why (`policy`),
//! and each user's best hour for optimal schedules (`send_time`).
//! Planning runs into the outbox arrives with the campaign engine.

pub mod cron;
pub mod engine;
pub mod lifecycle;
pub mod occurrence;
pub mod plan;
pub mod policy;
pub mod send_time;
pub mod spec;
