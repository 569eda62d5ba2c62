//! herald's integration tests: one binary, black-box, each test on a fresh
//! database. Store tests run on SQLite always and on PostgreSQL too when
//! `HERALD_TEST_DATABASE_URL` names a server (`.ci/run` sets it).

mod api;
mod api_drafts;
mod api_more;
mod bench;
mod campaign;
mod campaign_cli;
mod channels;
mod cli;
mod crash;
mod dashboard;
mod demo;
mod dispatch;
mod helpers;
mod hostile;
mod import;
mod metrics;
mod migrations;
mod movielens;
mod outbox;
mod privacy;
mod rank;
mod render;
mod report;
mod retrain;
mod scale;
mod scheduler;
mod segment;
mod send_time;
mod synth;
mod tracking;
