//! herald's integration tests: one binary, black-box, each test on a fresh
//! database. Store tests run on SQLite always and on PostgreSQL too when
//! `HERALD_TEST_DATABASE_URL` names a server (`.ci/run` sets it).

mod channels;
mod cli;
mod helpers;
mod import;
mod migrations;
mod movielens;
mod rank;
mod render;
mod segment;
mod synth;
