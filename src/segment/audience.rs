//! Audiences: CEL expressions (the `cel` crate) over what herald knows of a
//! user, e.g. `segment in [2, 5] && country == "CN" && days_since_purchase < 60`.
//!
//! Variables, by bare name:
//! - profile columns: `user_id`, `email`, `phone`, `timezone`, `locale`,
//!   `country`, `city`, `age`, `gender` (missing ones are `null`);
//! - every extra attribute column (`first_name`, `tier`, ...), also under
//!   `attributes` as a map; a typed or computed name wins over an attribute
//!   of the same name;
//! - computed: `segment` (int, -1 without one), `events`, `purchases`
//!   (ints), `revenue`, `days_since_purchase`, `days_since_last_event`,
//!   `days_since_signup` (doubles; 36500 when it never happened);
//! - devices: `platforms` (list of active device platforms), `has_push`,
//!   `has_ios`, `has_android`, `has_web`;
//! - consent and reachability: `consent_push`, `consent_email`,
//!   `consent_sms` (false when unknown), `has_email`, `has_phone`.
//!
//! A bad expression is rejected when it is compiled (at campaign creation)
//! with its line, column and what is wrong; a variable that is neither
//! built in nor a known attribute is an error too.

mod compile;

use crate::store::UserFactRow;
use cel::{Context, Program, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Days reported for something that never happened.
pub const NEVER_DAYS: f64 = 36_500.0;
const MILLIS_PER_DAY: f64 = 86_400_000.0;

/// The variables computed from the user's events.
const ACTIVITY: [&str; 5] = [
    "events",
    "purchases",
    "revenue",
    "days_since_purchase",
    "days_since_last_event",
];

/// Names every audience may use, besides attribute columns.
pub const BUILT_IN: [&str; 28] = [
    "user_id",
    "email",
    "phone",
    "timezone",
    "locale",
    "country",
    "city",
    "age",
    "gender",
    "attributes",
    "segment",
    "events",
    "purchases",
    "revenue",
    "days_since_purchase",
    "days_since_last_event",
    "days_since_signup",
    "platforms",
    "has_push",
    "has_ios",
    "has_android",
    "has_web",
    "consent_push",
    "consent_email",
    "consent_sms",
    "has_email",
    "has_phone",
    "signup_at",
];

/// Why an audience is not usable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudienceError {
    /// The expression does not parse.
    #[error("audience: line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The expression names a variable herald does not know.
    #[error(
        "audience: line {line}, column {column}: unknown variable `{name}` (known: built-in facts and user attribute columns)"
    )]
    UnknownVariable {
        /// The variable.
        name: String,
        /// 1-based line of its first use.
        line: usize,
        /// 1-based column of its first use.
        column: usize,
    },
    /// The expression is over a size limit (length, nesting, operators).
    #[error("audience: line {line}, column {column}: {message}")]
    TooLarge {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Which limit, and what to do instead.
        message: String,
    },
    /// The expression calls a function CEL does not have.
    #[error(
        "audience: line {line}, column {column}: unknown function `{name}` (known: {known})",
        known = crate::segment::cel_check::FUNCTIONS.join(", ")
    )]
    UnknownFunction {
        /// The function.
        name: String,
        /// 1-based line of its first use.
        line: usize,
        /// 1-based column of its first use.
        column: usize,
    },
    /// An operator is applied to values of a kind it cannot take.
    #[error("audience: line {line}, column {column}: {message}")]
    Type {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What does not fit.
        message: String,
    },
    /// Evaluation failed for a user, or did not give a boolean.
    #[error("audience for user {user}: {message}")]
    Eval {
        /// The user.
        user: String,
        /// What went wrong.
        message: String,
    },
}

/// A compiled audience rule.
pub struct Audience {
    /// The source, for messages.
    source: String,
    /// The compiled expression.
    program: Program,
}

impl std::fmt::Debug for Audience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audience")
            .field("source", &self.source)
            .finish()
    }
}

impl Audience {
    /// Compiles `source`; `attributes` are the attribute columns users have.
    /// Refuses, with line and column, an expression over the size limits
    /// ([`cel_limits`](crate::segment::cel_limits)), a syntax error, an
    /// unknown variable or function, and an operator applied to kinds it
    /// cannot take ([`cel_check`](crate::segment::cel_check)).
    pub fn compile(source: &str, attributes: &BTreeSet<String>) -> Result<Audience, AudienceError> {
        Ok(Audience {
            source: source.to_owned(),
            program: compile::program(source, attributes)?,
        })
    }

    /// Whether the expression reads the user's activity (`events`,
    /// `purchases`, `revenue`, `days_since_purchase`,
    /// `days_since_last_event`), which takes a read of their events;
    /// without it a page of users can skip that read.
    pub fn reads_activity(&self) -> bool {
        self.program
            .references()
            .variables()
            .iter()
            .any(|v| ACTIVITY.contains(v))
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `user` is in the audience at `now` (milliseconds).
    pub fn matches(&self, user: &UserFactRow, now: i64) -> Result<bool, AudienceError> {
        let eval = |message: String| AudienceError::Eval {
            user: user.user_id.clone(),
            message,
        };
        let mut context = Context::default();
        for (name, value) in facts(user, now) {
            context.add_variable_from_value(name, value);
        }
        match self.program.execute(&context) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(eval(format!(
                "the expression gave {other:?}, not true or false"
            ))),
            Err(e) => Err(eval(e.to_string())),
        }
    }
}

fn json_to_cel(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0))),
        serde_json::Value::String(s) => Value::String(Arc::new(s.clone())),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.iter().map(json_to_cel).collect()))
        }
        serde_json::Value::Object(map) => {
            let entries: std::collections::HashMap<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), json_to_cel(v)))
                .collect();
            Value::from(entries)
        }
    }
}

fn days_since(now: i64, at: Option<i64>) -> Value {
    Value::Float(at.map_or(NEVER_DAYS, |t| (now - t) as f64 / MILLIS_PER_DAY))
}

/// Every variable of one user, attributes first so built-ins win.
fn facts(user: &UserFactRow, now: i64) -> Vec<(String, Value)> {
    let mut vars: Vec<(String, Value)> = user
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), json_to_cel(v)))
        .collect();
    vars.push((
        "attributes".into(),
        json_to_cel(&serde_json::Value::Object(user.attributes.clone())),
    ));
    for name in [
        "email",
        "phone",
        "timezone",
        "locale",
        "country",
        "city",
        "age",
        "gender",
        "signup_at",
    ] {
        vars.push((
            name.into(),
            user.profile.get(name).map_or(Value::Null, json_to_cel),
        ));
    }
    let has = |p: &str| Value::Bool(user.platforms.iter().any(|x| x == p));
    let consent = |c: &str| Value::Bool(user.consents.get(c).copied().unwrap_or(false));
    let signup = user
        .profile
        .get("signup_at")
        .and_then(serde_json::Value::as_i64);
    vars.extend([
        (
            "user_id".into(),
            Value::String(Arc::new(user.user_id.clone())),
        ),
        (
            "segment".into(),
            Value::Int(user.segment.map_or(-1, i64::from)),
        ),
        ("events".into(), Value::Int(user.events)),
        ("purchases".into(), Value::Int(user.purchases)),
        ("revenue".into(), Value::Float(user.revenue)),
        (
            "days_since_purchase".into(),
            days_since(now, user.last_purchase_at),
        ),
        (
            "days_since_last_event".into(),
            days_since(now, user.last_event_at),
        ),
        ("days_since_signup".into(), days_since(now, signup)),
        (
            "platforms".into(),
            Value::List(Arc::new(
                user.platforms
                    .iter()
                    .map(|p| Value::String(Arc::new(p.clone())))
                    .collect(),
            )),
        ),
        ("has_push".into(), Value::Bool(!user.platforms.is_empty())),
        ("has_ios".into(), has("ios")),
        ("has_android".into(), has("android")),
        ("has_web".into(), has("web")),
        ("consent_push".into(), consent("push")),
        ("consent_email".into(), consent("email")),
        ("consent_sms".into(), consent("sms")),
        (
            "has_email".into(),
            Value::Bool(user.profile.contains_key("email")),
        ),
        (
            "has_phone".into(),
            Value::Bool(user.profile.contains_key("phone")),
        ),
    ]);
    vars
}

#[cfg(test)]
mod tests;
