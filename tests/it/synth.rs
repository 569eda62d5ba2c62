//! The synthetic shop feeds the importer: every file gen-data writes
//! imports without a single rejected row, on every backend.

use crate::helpers::{Collect, test_dbs};
use herald::ingest::import::{ImportOptions, Kind, import_file};
use herald::ingest::synth::{GenParams, generate};

#[tokio::test]
async fn a_generated_shop_imports_cleanly_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let params = GenParams::new(300, 80, 5_000, 7);
    let summary = generate(&params, dir.path(), &|_, _| {}).expect("generate");
    for db in test_dbs().await {
        for (kind, file, rows) in [
            (Kind::Users, "users.csv", summary.users),
            (Kind::Items, "items.csv", summary.items),
            (Kind::Events, "events.csv", summary.events),
            (Kind::Devices, "devices.csv", summary.devices),
        ] {
            let mut seen = Collect::default();
            let path = dir.path().join(file);
            let report = import_file(&db.store, kind, &path, &ImportOptions::default(), &mut seen)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", db.name()));
            assert!(
                seen.lines.is_empty(),
                "{}: {:?}",
                db.name(),
                &seen.lines[..3.min(seen.lines.len())]
            );
            assert_eq!(
                report.imported + report.unchanged,
                rows,
                "{} {file}",
                db.name()
            );
        }
        // identical events (same user, item, kind and second) collapse into one
        let stored = db.store.count("events").await.unwrap();
        assert!(
            stored <= summary.events && stored * 100 >= summary.events * 99,
            "{}: {stored}",
            db.name()
        );
    }
}
