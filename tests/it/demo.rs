//! `herald demo`, black-box: the whole loop on a small shop prints the
//! JSON document SPEC §1 fixes, writes the HTML report with charts, and
//! the ranker retrained on round 1's clicks earns more clicks in round 2
//! (the customers read at a fixed simulated hour, so the seed repeats).

use std::process::Command;

#[test]
fn the_demo_runs_rounds_prints_the_fixed_json_shape_and_retraining_raises_the_ctr() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "demo", "--users", "5000", "--items", "500", "--rounds", "2", "--seed", "42", "--json",
        ])
        .arg("--out")
        .arg(&out)
        .env_remove("HERALD_ENV")
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run herald demo");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    let rounds = doc["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 2);
    for (i, round) in rounds.iter().enumerate() {
        assert_eq!(round["round"], i as u64 + 1);
        for key in [
            "targeted",
            "sent",
            "delivered",
            "opens",
            "clicks",
            "ctr",
            "ctr_interval",
            "suppressed",
            "conversions",
            "lift",
        ] {
            assert!(round.get(key).is_some(), "round {i} lacks {key}: {round}");
        }
        assert!(round["sent"].as_u64().unwrap() > 0, "{round}");
        assert!(round["delivered"].as_u64().unwrap() > 0, "{round}");
    }
    let (first, second) = (&rounds[0], &rounds[1]);
    assert!(
        second["clicks"].as_u64() > first["clicks"].as_u64()
            && second["ctr"].as_f64() > first["ctr"].as_f64(),
        "retraining on round 1's clicks did not raise the CTR: {first} then {second}"
    );
    assert!(
        first["suppressed"]["holdout"].as_u64().unwrap() > 0,
        "{first}"
    );
    let report = std::path::PathBuf::from(doc["report"].as_str().expect("report path"));
    let html = std::fs::read_to_string(&report).expect("the HTML report");
    assert!(html.contains("<svg"), "the report has charts");
    assert!(out.join("report.json").exists());
    nothing_left_for_a_scheduler(&out.join("demo.db"));
}

/// Opening the demo's database with `herald serve` must not send its
/// campaigns again: a scheduler tick there plans no run.
fn nothing_left_for_a_scheduler(db: &std::path::Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let url = format!("sqlite://{}", db.display());
        let store = herald::store::Store::connect(&url, 2).await.unwrap();
        let settings = std::sync::Arc::new(herald::config::Settings::default());
        let engine = herald::campaign::engine::Engine::new(store, settings);
        let mut scheduler = herald::scheduler::Scheduler::new(engine, "after-the-demo");
        let now = herald::domain::now_millis();
        let outcome = scheduler.tick(now).await.expect("a tick on the demo database");
        assert!(
            matches!(outcome, herald::scheduler::TickOutcome::Idle)
                || matches!(&outcome, herald::scheduler::TickOutcome::Ran { runs } if runs.is_empty()),
            "the scheduler sent a demo campaign again: {outcome:?}"
        );
    });
}
