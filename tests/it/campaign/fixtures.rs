//! Campaign test fixtures: small shops written as CSV and imported through
//! the import API, campaign files in a temporary folder, and shortcuts to
//! open and plan a run.

use crate::helpers::{Collect, TestDb, write};
use herald::campaign::engine::{Engine, PlanReport};
use herald::campaign::occurrence::Occurrence;
use herald::config::Settings;
use herald::ingest::import::{ImportOptions, Kind, import_file};
use herald::store::{PlanRow, RunRow, Store};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 2026-03-10T12:00:00Z: 13:00 in Berlin, 21:00 in Tokyo.
pub const NOW: i64 = 1_773_144_000_000;

/// One user of a fixture shop.
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: String,
    /// Email, if any.
    pub email: bool,
    /// IANA timezone.
    pub timezone: &'static str,
    /// Country code.
    pub country: &'static str,
    /// Consent to push.
    pub push: bool,
    /// Consent to email.
    pub mail: bool,
    /// Has an iOS device.
    pub device: bool,
}

/// A reachable Berlin user with a device, consenting to push and email.
pub fn user(i: usize) -> User {
    User {
        id: format!("u{i:03}"),
        email: true,
        timezone: "Europe/Berlin",
        country: "DE",
        push: true,
        mail: true,
        device: true,
    }
}

/// `n` default users.
pub fn users(n: usize) -> Vec<User> {
    (0..n).map(user).collect()
}

/// Writes users.csv and devices.csv for `users` and imports them.
pub async fn import_users(db: &TestDb, dir: &Path, users: &[User]) {
    let mut csv = String::from(
        "user_id,email,phone,timezone,locale,country,city,age,gender,signup_at,consent_push,consent_email,consent_sms,first_name\n",
    );
    let mut devices = String::from("user_id,platform,token,app_id,created_at\n");
    for (i, u) in users.iter().enumerate() {
        let email = if u.email {
            format!("{}@example.com", u.id)
        } else {
            String::new()
        };
        let _ = writeln!(
            csv,
            "{},{email},,{},en-US,{},,30,,,{},{},false,Name{i}",
            u.id, u.timezone, u.country, u.push, u.mail
        );
        if u.device {
            let _ = writeln!(
                devices,
                "{},ios,{:064x},com.example.shop,2026-01-01T00:00:00Z",
                u.id,
                i + 1
            );
        }
    }
    import(db, Kind::Users, &write(dir, "users.csv", &csv)).await;
    import(db, Kind::Devices, &write(dir, "devices.csv", &devices)).await;
}

/// Imports one file, failing the test on any issue.
pub async fn import(db: &TestDb, kind: Kind, path: &Path) {
    let mut seen = Collect::default();
    let options = ImportOptions {
        strict: false,
        batch_rows: 500,
    };
    import_file(&db.store, kind, path, &options, &mut seen)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", db.name()));
    assert!(seen.lines.is_empty(), "{}: {:?}", db.name(), seen.lines);
}

/// An engine with default settings.
pub fn engine(db: &TestDb) -> Engine {
    Engine::new(db.store.clone(), Arc::new(Settings::default()))
}

/// A campaign file: `top` lines go before the variants, `policy` lines
/// into `[policy]`.
pub fn campaign(dir: &Path, name: &str, top: &str, policy: &str) -> PathBuf {
    let text = format!(
        r#"name = "{name}"
channels = ["push", "email"]
schedule = {{ at = "2026-03-10T12:00:00Z" }}
{top}

[[variants]]
name = "A"
weight = 0.5
title = "Hi {{{{ user.first_name }}}}"
body = "News for you"
email_subject = "News, {{{{ user.first_name }}}}"

[[variants]]
name = "B"
weight = 0.5
title = "Hello {{{{ user.first_name }}}}"
body = "Fresh picks"
email_subject = "Picks, {{{{ user.first_name }}}}"

[policy]
{policy}
"#
    );
    write(dir, &format!("{name}.toml"), &text)
}

/// Creates the campaign of `path`.
pub async fn create(engine: &Engine, path: &Path) -> i64 {
    engine
        .create(path, NOW)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", path.display()))
}

/// Opens and plans the `n`th manual (or dry) run at `now`.
pub async fn run(engine: &Engine, id: i64, n: u64, dry: bool, now: i64) -> (RunRow, PlanReport) {
    let (run, created) = engine
        .open(id, &Occurrence::manual(n, now, dry), dry, now)
        .await
        .expect("open run");
    assert!(created, "run {n} of campaign {id} is new");
    let report = engine.plan(&run, "test", now).await.expect("plan run");
    (run, report)
}

/// Every plan row of a run, in user order.
pub async fn plan(store: &Store, run_id: i64) -> Vec<PlanRow> {
    let mut rows = Vec::new();
    loop {
        let after = rows.last().map(|r: &PlanRow| r.user_id.clone());
        let page = store.plan_page(run_id, after.as_deref(), 50).await.unwrap();
        if page.is_empty() {
            return rows;
        }
        rows.extend(page);
    }
}

/// The plan row of one user.
pub fn row<'a>(rows: &'a [PlanRow], user: &str) -> &'a PlanRow {
    rows.iter()
        .find(|r| r.user_id == user)
        .unwrap_or_else(|| panic!("{user} is not in the plan"))
}

/// Number of outbox rows of a run, any status.
pub async fn outbox_total(store: &Store, run_id: i64) -> i64 {
    store
        .outbox_counts(run_id)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}
