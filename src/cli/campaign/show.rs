//! What `campaign list`, `show`, `preview` and `explain` print: the
//! stored campaigns with their next run, one campaign in detail (spec
//! summary, variants, runs with counts, the next scheduled times in RFC
//! 3339 with offset), a user's exact messages, and why a user did or did
//! not get a campaign.

use crate::campaign::engine::{Engine, Loaded};
use crate::campaign::spec::{CampaignSpec, Schedule, ScheduleZone};
use crate::channels::RenderedMessage;
use crate::domain::{millis_to_rfc3339, now_millis};
use crate::scheduler::slots;
use crate::store::RunRow;
use serde_json::{Value, json};

/// How many upcoming run times `show` prints.
const UPCOMING: usize = 5;

/// The schedule in words.
fn describe_schedule(schedule: &Schedule) -> String {
    match schedule {
        Schedule::At(at) => format!("once at {}", millis_to_rfc3339(*at)),
        Schedule::Cron { cron, zone } => match zone {
            ScheduleZone::Fixed(tz) => format!("cron `{}` in {}", cron.source(), tz.name()),
            ScheduleZone::User => format!("cron `{}` in each user's timezone", cron.source()),
        },
        Schedule::Trigger {
            event,
            delay,
            window,
            condition,
        } => {
            let when = condition
                .as_ref()
                .map_or(String::new(), |c| format!(" when {c}"));
            format!("on `{event}` events, {delay} later{when}, at most once per user per {window}")
        }
        Schedule::Optimal { within } => {
            format!("once, each user at their best hour within {within}")
        }
    }
}

/// The next run times (RFC 3339 with offset) and how to read them.
fn next_runs(loaded: &Loaded, runs: &[RunRow], now: i64) -> (Vec<String>, Option<&'static str>) {
    if loaded.row.status != "scheduled" {
        return (vec![], None);
    }
    let ran = slots::ran_occurrences(runs);
    let times = slots::upcoming(&loaded.spec.schedule, &ran, now, UPCOMING);
    let note = match &loaded.spec.schedule {
        Schedule::Cron {
            zone: ScheduleZone::User,
            ..
        } => Some("per user: this wall-clock time in each user's timezone, shown here in UTC"),
        Schedule::Trigger { .. } => Some("on each trigger event"),
        Schedule::Optimal { .. } => Some("at the next scheduler tick after creation"),
        _ => None,
    };
    (times, note)
}

/// A campaign's next run for `list`: the first upcoming time, the
/// trigger event, or `None`; a stored spec that no longer loads (say an
/// attribute it names is gone) shows as `None` rather than failing the list.
async fn next_run(engine: &Engine, id: i64, now: i64) -> anyhow::Result<Option<String>> {
    let loaded = match engine.load(id).await {
        Ok(loaded) => loaded,
        Err(error) => {
            tracing::warn!(campaign_id = id, %error, "campaign does not load");
            return Ok(None);
        }
    };
    let runs = engine.store().runs(id).await?;
    let (times, note) = next_runs(&loaded, &runs, now);
    Ok(match &loaded.spec.schedule {
        Schedule::Trigger { event, .. } if note.is_some() => Some(format!("on `{event}`")),
        _ => times.first().cloned(),
    })
}

/// `campaign list`.
pub async fn list(engine: &Engine, json: bool) -> anyhow::Result<()> {
    let now = now_millis();
    let mut rows = Vec::new();
    for row in engine.store().campaigns().await? {
        let next = next_run(engine, row.campaign_id, now).await?;
        rows.push((row.campaign_id, row.name, row.status, next));
    }
    if json {
        let doc: Vec<Value> = rows
            .iter()
            .map(|(id, name, status, next)| {
                json!({"id": id, "name": name, "status": status, "next_run": next})
            })
            .collect();
        println!("{}", json!({ "campaigns": doc }));
        return Ok(());
    }
    println!("{:>4}  {:<10}  {:<25}  name", "id", "status", "next run");
    for (id, name, status, next) in rows {
        let next = next.unwrap_or_else(|| "-".into());
        println!("{id:>4}  {status:<10}  {next:<25}  {name}");
    }
    Ok(())
}

/// (decision or reason, count) of a run's plan, and (status, count) of
/// its outbox.
async fn run_counts(engine: &Engine, run: &RunRow) -> anyhow::Result<(Value, Value)> {
    let store = engine.store();
    let mut plan = serde_json::Map::new();
    for (decision, reason, n) in store.plan_counts(run.run_id).await? {
        let key = match reason {
            Some(reason) if decision != "send" => format!("{decision}:{reason}"),
            _ => decision,
        };
        let total = plan.get(&key).and_then(Value::as_i64).unwrap_or(0) + n;
        plan.insert(key, total.into());
    }
    let outbox: serde_json::Map<String, Value> = store
        .outbox_counts(run.run_id)
        .await?
        .into_iter()
        .map(|(status, n)| (status, n.into()))
        .collect();
    Ok((Value::Object(plan), Value::Object(outbox)))
}

fn spec_json(spec: &CampaignSpec) -> Value {
    let variants: Vec<Value> = spec
        .variants
        .iter()
        .map(|v| json!({"name": v.name, "weight": v.weight, "content": v.content}))
        .collect();
    json!({
        "name": spec.name,
        "channels": spec.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "audience": spec.audience,
        "schedule": describe_schedule(&spec.schedule),
        "holdout": spec.holdout,
        "recommendations": spec.recommendations,
        "policy": spec.policy,
        "variants": variants,
    })
}

/// `campaign show ID`.
pub async fn show(engine: &Engine, id: i64, json: bool) -> anyhow::Result<()> {
    let loaded = engine.load(id).await?;
    let runs = engine.store().runs(id).await?;
    let (times, note) = next_runs(&loaded, &runs, now_millis());
    let mut run_docs = Vec::new();
    for run in &runs {
        let (plan, outbox) = run_counts(engine, run).await?;
        run_docs.push(json!({"run_id": run.run_id, "occurrence": run.occurrence,
            "status": run.status, "scheduled_for": millis_to_rfc3339(run.scheduled_for),
            "plan": plan, "outbox": outbox}));
    }
    if json {
        let doc = json!({"id": id, "status": loaded.row.status,
            "created_at": millis_to_rfc3339(loaded.row.created_at),
            "spec": spec_json(&loaded.spec), "next_runs": times, "next_runs_note": note,
            "runs": run_docs});
        println!("{doc}");
        return Ok(());
    }
    print_spec(&loaded);
    print_next(&times, note);
    print_runs(&run_docs);
    Ok(())
}

fn print_spec(loaded: &Loaded) {
    let spec = &loaded.spec;
    println!("campaign {}: {}", loaded.row.campaign_id, spec.name);
    println!("status:    {}", loaded.row.status);
    println!("created:   {}", millis_to_rfc3339(loaded.row.created_at));
    let channels: Vec<&str> = spec.channels.iter().map(|c| c.as_str()).collect();
    println!("channels:  {}", channels.join(", "));
    println!(
        "audience:  {}",
        spec.audience.as_deref().unwrap_or("everyone")
    );
    println!("schedule:  {}", describe_schedule(&spec.schedule));
    println!("holdout:   {:.1}%", spec.holdout * 100.0);
    if let Some(r) = &spec.recommendations {
        println!("items:     {} per message, diversity {}", r.n, r.diversity);
    }
    println!("variants:");
    for v in &spec.variants {
        let fields: Vec<&str> = v.content.keys().map(String::as_str).collect();
        println!(
            "  {:<12} {:>5.1}%  {}",
            v.name,
            v.weight * 100.0,
            fields.join(", ")
        );
    }
}

fn print_next(times: &[String], note: Option<&str>) {
    match (times.is_empty(), note) {
        (true, Some(note)) => println!("next runs: {note}"),
        (true, None) => println!("next runs: none"),
        (false, note) => {
            let note = note.map_or(String::new(), |n| format!(" ({n})"));
            println!("next runs{note}:");
            for t in times {
                println!("  {t}");
            }
        }
    }
}

fn counts_line(value: &Value) -> String {
    let Some(map) = value.as_object().filter(|m| !m.is_empty()) else {
        return "-".into();
    };
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_runs(runs: &[Value]) {
    if runs.is_empty() {
        println!("runs: none yet");
        return;
    }
    println!("runs:");
    for r in runs {
        println!(
            "  run {} {} ({}, for {})",
            r["run_id"],
            r["occurrence"].as_str().unwrap_or(""),
            r["status"].as_str().unwrap_or(""),
            r["scheduled_for"].as_str().unwrap_or("")
        );
        println!("    plan:   {}", counts_line(&r["plan"]));
        println!("    outbox: {}", counts_line(&r["outbox"]));
    }
}

/// `campaign preview ID --user ID`.
pub async fn preview(engine: &Engine, id: i64, user: &str, json: bool) -> anyhow::Result<()> {
    let messages = engine.preview(id, user, now_millis()).await?;
    if json {
        let doc: Vec<Value> = messages
            .iter()
            .map(|(channel, message)| json!({"channel": channel.as_str(), "message": message}))
            .collect();
        println!(
            "{}",
            json!({"campaign_id": id, "user_id": user, "messages": doc})
        );
        return Ok(());
    }
    if messages.is_empty() {
        println!("user {user} cannot be reached on any channel of campaign {id}");
    }
    for (channel, message) in &messages {
        println!("== {} ==", channel.as_str());
        print_message(message);
    }
    Ok(())
}

fn print_message(message: &RenderedMessage) {
    match message {
        RenderedMessage::Push(push) => {
            println!("title: {}", push.title);
            println!("body:  {}", push.body);
            if let Some(link) = &push.deep_link {
                println!("link:  {link}");
            }
            if let Some(image) = &push.image_url {
                println!("image: {image}");
            }
            println!("data:");
            for (key, value) in &push.data {
                println!("  {key}: {value}");
            }
        }
        RenderedMessage::Email(email) => {
            println!("subject: {}", email.subject);
            println!("--- text ---\n{}", email.text.trim_end());
            println!("--- html ---\n{}", email.html.trim_end());
        }
        RenderedMessage::Sms(sms) => println!("body: {}", sms.body),
        RenderedMessage::Webhook(hook) => println!(
            "{}",
            serde_json::to_string_pretty(&hook.body).unwrap_or_default()
        ),
    }
}

/// `campaign explain ID --user ID`.
pub async fn explain(engine: &Engine, id: i64, user: &str, json: bool) -> anyhow::Result<()> {
    let explanation = engine.explain(id, user, now_millis()).await?;
    if json {
        println!("{}", serde_json::to_string(&explanation)?);
        return Ok(());
    }
    for line in &explanation.lines {
        println!("{line}");
    }
    Ok(())
}
