//! The scheduler on a real store: cron slots at the same wall-clock time
//! across DST changes, one occurrence per user timezone, one-off `at`
//! slots that fire once, catch-up that runs only the latest missed slot,
//! triggers that fire once per (campaign, user, window) after their delay
//! however often their events are read, and paused campaigns that wait.

use crate::helpers::{Collect, TestDb, test_dbs, write};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use herald::campaign::cron::CronExpr;
use herald::campaign::engine::Engine;
use herald::campaign::occurrence::Occurrence;
use herald::campaign::spec::{Schedule, ScheduleZone};
use herald::config::Settings;
use herald::dispatch::Provider;
use herald::domain::Timezone;
use herald::ingest::import::{ImportOptions, Kind, import_file};
use herald::scheduler::{Scheduler, TickOutcome, slots};
use std::sync::Arc;

const USERS: &str = "\
user_id,email,timezone,country,consent_push,consent_email,first_name
u1,u1@example.com,Europe/Berlin,DE,false,true,Ana
u2,u2@example.com,America/New_York,US,false,true,Bo
u3,u3@example.com,Asia/Tokyo,JP,false,true,Chie
u4,u4@example.com,Asia/Tokyo,JP,false,true,Dai
";

fn ms(rfc3339: &str) -> i64 {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_millis()
}

fn local(ms: i64, zone: &str) -> String {
    let tz: Tz = zone.parse().unwrap();
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// A database with the users imported, an engine and a scheduler on it.
struct Fixture {
    db: TestDb,
    engine: Engine,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new(db: TestDb) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Fixture {
            engine: Engine::new(db.store.clone(), Arc::new(Settings::default())),
            db,
            dir,
        };
        fixture.import(Kind::Users, "users.csv", USERS).await;
        fixture
    }

    async fn import(&self, kind: Kind, name: &str, csv: &str) {
        let path = write(self.dir.path(), name, csv);
        let options = ImportOptions {
            strict: true,
            batch_rows: 100,
        };
        import_file(
            &self.db.store,
            kind,
            &path,
            &options,
            &mut Collect::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: import {name}: {e}", self.db.name()));
    }

    /// Creates a campaign with `schedule` (a TOML inline table) at `now`.
    async fn campaign(&self, schedule: &str, now: i64) -> i64 {
        let text = format!(
            "name = \"test\"\nchannels = [\"email\"]\nschedule = {schedule}\n\
             [[variants]]\nname = \"A\"\nweight = 1.0\nbody = \"Hello {{{{ user.first_name }}}}\"\n\
             email_subject = \"Hi {{{{ user.first_name }}}}\"\nemail_template = \"weekly_picks\"\n"
        );
        let path = write(self.dir.path(), "campaign.toml", &text);
        self.engine
            .create(&path, now)
            .await
            .unwrap_or_else(|e| panic!("{}: create: {e}", self.db.name()))
    }

    fn scheduler(&self) -> Scheduler {
        Scheduler::new(self.engine.clone(), "test-scheduler")
    }

    async fn tick(&self, scheduler: &mut Scheduler, now: i64) -> Vec<i64> {
        match scheduler.tick(now).await {
            Ok(TickOutcome::Ran { runs }) => runs,
            Ok(TickOutcome::Idle) => vec![],
            Err(e) => panic!("{}: tick: {e}", self.db.name()),
        }
    }

    /// The campaign's runs as (occurrence, scheduled_for), oldest first.
    async fn runs(&self, campaign_id: i64) -> Vec<(String, i64)> {
        let mut runs: Vec<_> = self
            .db
            .store
            .runs(campaign_id)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.occurrence, r.scheduled_for))
            .collect();
        runs.sort_by_key(|r| r.1);
        runs
    }
}

fn fixed(expr: &str, zone: &str) -> Schedule {
    Schedule::Cron {
        cron: Box::new(CronExpr::parse(expr).unwrap()),
        zone: ScheduleZone::Fixed(Timezone::parse(zone).unwrap()),
    }
}

/// Ticks a pure schedule day by day, returning the slots in local time.
fn daily_slots(schedule: &Schedule, zone: &str, created: i64, ticks: &[i64]) -> Vec<String> {
    let mut ran: Vec<Occurrence> = Vec::new();
    for now in ticks {
        ran.extend(slots::due_occurrences(schedule, created, &ran, &[], *now));
    }
    ran.iter().map(|o| local(o.at, zone)).collect()
}

#[test]
fn a_fixed_zone_cron_fires_at_the_same_wall_clock_time_across_dst_changes() {
    let berlin = fixed("0 10 * * *", "Europe/Berlin");
    let ticks = [
        ms("2026-03-28T10:00:30+01:00"),
        ms("2026-03-29T10:00:30+02:00"),
        ms("2026-03-30T10:00:30+02:00"),
    ];
    let got = daily_slots(&berlin, "Europe/Berlin", ms("2026-03-27T12:00:00Z"), &ticks);
    assert_eq!(
        got,
        ["2026-03-28 10:00", "2026-03-29 10:00", "2026-03-30 10:00"]
    );
    let new_york = fixed("0 10 * * *", "America/New_York");
    let ticks = [
        ms("2026-10-31T10:00:30-04:00"),
        ms("2026-11-01T10:00:30-05:00"),
    ];
    let created = ms("2026-10-30T12:00:00Z");
    let slots_ny = daily_slots(&new_york, "America/New_York", created, &ticks);
    assert_eq!(slots_ny, ["2026-10-31 10:00", "2026-11-01 10:00"]);
}

#[test]
fn a_tick_just_before_the_slot_finds_nothing_due() {
    let berlin = fixed("0 10 * * *", "Europe/Berlin");
    let created = ms("2026-03-27T12:00:00Z");
    let now = ms("2026-03-29T09:59:59+02:00");
    let due = slots::due_occurrences(&berlin, created, &[], &[], now);
    // the 28th's slot is due (caught up), the 29th's is not yet
    assert_eq!(due.len(), 1);
    assert_eq!(local(due[0].at, "Europe/Berlin"), "2026-03-28 10:00");
}

#[tokio::test]
async fn a_berlin_cron_campaign_runs_at_ten_local_before_and_after_the_spring_change() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let id = f
            .campaign(
                r#"{ cron = "0 10 * * *", timezone = "Europe/Berlin" }"#,
                ms("2026-03-27T12:00:00Z"),
            )
            .await;
        let mut s = f.scheduler();
        assert!(
            f.tick(&mut s, ms("2026-03-28T09:59:00+01:00"))
                .await
                .is_empty()
        );
        assert_eq!(
            f.tick(&mut s, ms("2026-03-28T10:00:05+01:00")).await.len(),
            1
        );
        assert!(
            f.tick(&mut s, ms("2026-03-28T10:00:06+01:00"))
                .await
                .is_empty()
        );
        assert_eq!(
            f.tick(&mut s, ms("2026-03-29T10:00:05+02:00")).await.len(),
            1
        );
        let runs = f.runs(id).await;
        let times: Vec<String> = runs.iter().map(|r| local(r.1, "Europe/Berlin")).collect();
        assert_eq!(
            times,
            ["2026-03-28 10:00", "2026-03-29 10:00"],
            "{}",
            f.db.name()
        );
        assert_eq!(runs[1].0, "cron:2026-03-29T08:00:00Z");
    }
}

#[tokio::test]
async fn a_user_timezone_cron_opens_one_run_per_zone_at_ten_local() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let id = f
            .campaign(
                r#"{ cron = "0 10 * * *", timezone = "user" }"#,
                ms("2026-06-01T00:00:00Z"),
            )
            .await;
        let mut s = f.scheduler();
        let planned = f.tick(&mut s, ms("2026-06-02T00:00:00Z")).await;
        assert_eq!(planned.len(), 3, "{}", f.db.name());
        let runs = f.runs(id).await;
        let mut zones: Vec<(String, String)> = runs
            .iter()
            .map(|(key, at)| {
                let zone = key.split_once('@').unwrap().1.to_owned();
                (local(*at, &zone), zone)
            })
            .collect();
        zones.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            zones,
            [
                ("2026-06-01 10:00".to_owned(), "America/New_York".to_owned()),
                ("2026-06-01 10:00".to_owned(), "Asia/Tokyo".to_owned()),
                ("2026-06-01 10:00".to_owned(), "Europe/Berlin".to_owned()),
            ],
            "{}",
            f.db.name()
        );
        assert!(f.tick(&mut s, ms("2026-06-02T00:00:10Z")).await.is_empty());
    }
}

#[tokio::test]
async fn an_at_campaign_fires_once() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let id = f
            .campaign(
                r#"{ at = "2026-07-01T09:00:00+02:00" }"#,
                ms("2026-06-01T00:00:00Z"),
            )
            .await;
        let mut s = f.scheduler();
        assert!(f.tick(&mut s, ms("2026-07-01T06:59:59Z")).await.is_empty());
        assert_eq!(f.tick(&mut s, ms("2026-07-01T07:00:01Z")).await.len(), 1);
        assert!(f.tick(&mut s, ms("2026-07-01T07:00:02Z")).await.is_empty());
        let mut again = f.scheduler();
        assert!(
            f.tick(&mut again, ms("2026-07-02T00:00:00Z"))
                .await
                .is_empty()
        );
        assert_eq!(
            f.runs(id).await,
            [(
                "at:2026-07-01T07:00:00Z".to_owned(),
                ms("2026-07-01T07:00:00Z")
            )],
            "{}",
            f.db.name()
        );
    }
}

#[tokio::test]
async fn catching_up_after_missed_slots_runs_only_the_latest() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let id = f
            .campaign(
                r#"{ cron = "0 * * * *", timezone = "UTC" }"#,
                ms("2026-05-01T00:00:30Z"),
            )
            .await;
        let mut s = f.scheduler();
        assert_eq!(f.tick(&mut s, ms("2026-05-01T05:30:00Z")).await.len(), 1);
        assert_eq!(
            f.runs(id).await,
            [(
                "cron:2026-05-01T05:00:00Z".to_owned(),
                ms("2026-05-01T05:00:00Z")
            )],
            "{}",
            f.db.name()
        );
    }
}

#[tokio::test]
async fn a_paused_campaign_does_not_run_until_resumed() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let created = ms("2026-06-01T00:00:00Z");
        let id = f
            .campaign(r#"{ at = "2026-06-01T01:00:00Z" }"#, created)
            .await;
        let store = &f.db.store;
        assert!(
            store
                .set_campaign_status(id, "paused", created)
                .await
                .unwrap()
        );
        let mut s = f.scheduler();
        assert!(f.tick(&mut s, ms("2026-06-01T02:00:00Z")).await.is_empty());
        assert!(f.runs(id).await.is_empty(), "{}", f.db.name());
        store
            .set_campaign_status(id, "scheduled", created)
            .await
            .unwrap();
        assert_eq!(f.tick(&mut s, ms("2026-06-01T02:00:01Z")).await.len(), 1);
    }
}

#[tokio::test]
async fn a_trigger_fires_once_per_user_and_window_after_its_delay() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let created = ms("2026-04-01T00:00:00Z");
        let id = f
            .campaign(
                r#"{ trigger = "cart", delay = "1h", window = "24h" }"#,
                created,
            )
            .await;
        f.import(
            Kind::Items,
            "items.csv",
            "item_id,title,category,price,currency\ni1,Lamp,home,20.00,EUR\n",
        )
        .await;
        f.import(
            Kind::Events,
            "events.csv",
            "user_id,item_id,event,ts,value\n\
             u1,i1,cart,2026-04-01T10:00:00Z,\n\
             u2,i1,cart,2026-04-01T10:05:00Z,\n\
             u1,i1,cart,2026-04-01T10:10:00Z,\n\
             u3,i1,view,2026-04-01T10:00:00Z,\n",
        )
        .await;
        let store = &f.db.store;
        let mut s = f.scheduler();
        assert!(f.tick(&mut s, ms("2026-04-01T10:30:00Z")).await.is_empty());
        let first = f.tick(&mut s, ms("2026-04-01T11:02:00Z")).await;
        assert_eq!(first.len(), 1, "{}", f.db.name());
        assert_eq!(store.run_trigger_users(first[0]).await.unwrap(), ["u1"]);
        // a restarted scheduler reads the same events again
        let mut restarted = f.scheduler();
        let second = f.tick(&mut restarted, ms("2026-04-01T12:00:00Z")).await;
        assert_eq!(second.len(), 1, "{}", f.db.name());
        assert_eq!(store.run_trigger_users(second[0]).await.unwrap(), ["u2"]);
        let mut again = f.scheduler();
        assert!(
            f.tick(&mut again, ms("2026-04-01T13:00:00Z"))
                .await
                .is_empty()
        );
        assert_eq!(f.runs(id).await.len(), 2, "{}", f.db.name());
    }
}

#[test]
fn a_trigger_window_defaults_to_a_day_and_must_be_at_least_a_second() {
    use herald::campaign::spec::CampaignSpec;
    let file = |schedule: &str| {
        format!(
            "name = \"t\"\nchannels = [\"push\"]\nschedule = {schedule}\n\
             [[variants]]\nname = \"A\"\nweight = 1.0\nbody = \"hi\"\n"
        )
    };
    let attrs = Default::default();
    let window = |schedule: &str| match CampaignSpec::parse(&file(schedule), false, &attrs) {
        Ok(spec) => match spec.schedule {
            Schedule::Trigger { window, .. } => Ok(window.get().as_secs()),
            other => panic!("not a trigger: {other:?}"),
        },
        Err((field, reason)) => Err(format!("{field}: {reason}")),
    };
    assert_eq!(window(r#"{ trigger = "cart" }"#), Ok(86_400));
    assert_eq!(window(r#"{ trigger = "cart", window = "2h" }"#), Ok(7_200));
    let err = window(r#"{ trigger = "cart", window = "0s" }"#).unwrap_err();
    assert!(err.starts_with("schedule.window"), "{err}");
}

#[tokio::test]
async fn a_one_off_campaign_sent_by_hand_is_not_sent_again_by_the_scheduler() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let created = ms("2026-01-01T00:00:00Z");
        let id = f
            .campaign(r#"{ at = "2026-01-01T00:00:00Z" }"#, created)
            .await;
        let by_hand = ms("2026-01-02T00:00:00Z");
        let (run, _) = f.engine.open_by_hand(id, false, by_hand).await.unwrap();
        f.engine.plan(&run, "by-hand", by_hand).await.unwrap();
        let mut s = f.scheduler();
        let later = by_hand + 60_000;
        assert!(f.tick(&mut s, later).await.is_empty(), "{}", f.db.name());
        let runs = f.runs(id).await;
        assert_eq!(runs.len(), 1, "{}: {runs:?}", f.db.name());
        assert_eq!(runs[0].0, "at:2026-01-01T00:00:00Z", "{}", f.db.name());
        let again = f.engine.open_by_hand(id, false, later).await.unwrap().0;
        assert_eq!(again.occurrence, "manual:2", "{}", f.db.name());
    }
}

#[tokio::test]
async fn an_event_posted_after_the_tick_it_belongs_to_still_fires_on_the_next_tick() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let created = ms("2026-04-01T00:00:00Z");
        f.campaign(
            r#"{ trigger = "cart", delay = "1h", window = "24h" }"#,
            created,
        )
        .await;
        f.import(
            Kind::Items,
            "items.csv",
            "item_id,title,category,price,currency\ni1,Lamp,home,20.00,EUR\n",
        )
        .await;
        let mut s = f.scheduler();
        assert!(f.tick(&mut s, ms("2026-04-01T10:00:01Z")).await.is_empty());
        // stamped 10:00:00, it reaches herald after the 10:00:01 tick
        f.import(
            Kind::Events,
            "late.csv",
            "user_id,item_id,event,ts,value\nu1,i1,cart,2026-04-01T10:00:00Z,\n",
        )
        .await;
        assert!(f.tick(&mut s, ms("2026-04-01T10:00:02Z")).await.is_empty());
        let due = f.tick(&mut s, ms("2026-04-01T11:00:00Z")).await;
        assert_eq!(due.len(), 1, "{}: the late event fired", f.db.name());
        let users = f.db.store.run_trigger_users(due[0]).await.unwrap();
        assert_eq!(users, ["u1"], "{}", f.db.name());
        assert!(
            f.tick(&mut s, ms("2026-04-01T11:00:01Z")).await.is_empty(),
            "{}: re-reading the overlap fires nothing twice",
            f.db.name()
        );
    }
}

#[tokio::test]
async fn a_run_for_a_channel_without_settings_fails_before_planning_and_holds_nothing() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let now = ms("2026-01-01T00:00:00Z");
        let phones = "user_id,phone,consent_sms\nu1,+15550001111,true\nu2,+15550002222,true\n";
        f.import(Kind::Users, "phones.csv", phones).await;
        let text = "name = \"sms\"\nchannels = [\"sms\"]\nschedule = { at = \"2026-01-01T00:00:00Z\" }\n\
                    [[variants]]\nname = \"A\"\nweight = 1.0\nbody = \"Hi\"\n";
        let path = write(f.dir.path(), "sms.toml", text);
        let id = f.engine.create(&path, now).await.unwrap();
        let email_only = f.engine.clone().sending_through(vec![Provider::Email]);
        let mut s = Scheduler::new(email_only, "test-scheduler");
        assert!(
            f.tick(&mut s, now + 1_000).await.is_empty(),
            "{}",
            f.db.name()
        );
        let runs = f.db.store.runs(id).await.unwrap();
        assert_eq!(runs.len(), 1, "{}", f.db.name());
        assert_eq!(runs[0].status, "failed", "{}", f.db.name());
        assert!(
            runs[0].stats.contains("[sms] is not configured"),
            "{}: {}",
            f.db.name(),
            runs[0].stats
        );
        let counts = f.db.store.outbox_counts(runs[0].run_id).await.unwrap();
        assert!(
            counts.iter().all(|(_, n)| *n == 0),
            "{}: {counts:?}",
            f.db.name()
        );
        let mut s = Scheduler::new(f.engine.clone().sending_through(vec![]), "t");
        assert!(
            f.tick(&mut s, now + 2_000).await.is_empty(),
            "not retried every tick"
        );
    }
}

#[tokio::test]
async fn an_event_older_than_delay_plus_window_never_fires_however_late_it_arrives() {
    for db in test_dbs().await {
        let f = Fixture::new(db).await;
        let created = ms("2026-04-01T00:00:00Z");
        f.campaign(
            r#"{ trigger = "cart", delay = "1h", window = "1h" }"#,
            created,
        )
        .await;
        f.import(
            Kind::Items,
            "items.csv",
            "item_id,title,category,price,currency\ni1,Lamp,home,20.00,EUR\n",
        )
        .await;
        let mut s = f.scheduler();
        assert!(f.tick(&mut s, ms("2026-04-01T10:00:00Z")).await.is_empty());
        f.import(
            Kind::Events,
            "stale.csv",
            "user_id,item_id,event,ts,value\nu1,i1,cart,2026-04-01T07:59:59Z,\n",
        )
        .await;
        assert!(f.tick(&mut s, ms("2026-04-01T10:00:01Z")).await.is_empty());
        assert!(
            f.tick(&mut s, ms("2026-04-01T12:00:00Z")).await.is_empty(),
            "{}: a stale event sends nothing",
            f.db.name()
        );
    }
}
