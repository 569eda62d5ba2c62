//! Getting data in: CSV / JSON Lines import with row-level errors, and the
//! synthetic shop generator used by tests, benchmarks and the demo.

pub mod import;
pub mod movielens;
pub mod synth;
