//! Campaigns: the campaign file, schedules and triggers, and (with the
//! campaign engine) planning under the contact policy. So far: cron
//! expressions as crontab users write them, correct across DST changes.

pub mod cron;
pub mod spec;
