//! A circuit per provider: a provider that refuses herald's credentials or
//! settings stops the channel, not each message.
//!
//! ```text
//!   closed ──credentials failure / most tokens refused──► open
//!     ▲                                                    │ next probe due
//!     │ probe accepted                                     ▼
//!     └──────────────────────────────────────────────── half-open ──probe refused──► open (interval doubled)
//! ```
//!
//! While a circuit is open its messages stay pending without burning an
//! attempt (`OutboxUpdate::Hold`), due again at the next probe. One
//! message at a time is let through as a probe, after 2 s, then 4 s, 8 s
//! ... at most 5 minutes apart; the first probe the provider accepts
//! closes the circuit and the held messages go. Only a probe's answer
//! changes an open circuit: sends already in flight when it opened do not.
//!
//! The circuits are per process (shared by the workers of one
//! `ChannelSet`); each transition is logged once (warn on open, info on
//! close) and set on the `herald_circuit_state` gauge. `campaign run`
//! reads [`Circuits::tripped`] to stop with the provider's answer and the
//! setting to fix.

mod gate;
mod window;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use crate::channels::Outcome;

use super::channels::Provider;
pub use gate::Judged;
use window::{Judgement, Window};

/// The wait before the first probe, and the hold of rows met while a
/// probe is out (ms).
pub const FIRST_PROBE_MS: i64 = 2_000;

/// The longest wait between probes (ms).
pub const MAX_PROBE_MS: i64 = 5 * 60 * 1_000;

/// A probe without an answer for this long is given up, so another one
/// may go (ms).
const PROBE_TIMEOUT_MS: i64 = 60_000;

/// A circuit's state, as `/metrics` shows it (0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Sending normally.
    Closed = 0,
    /// Holding every message until the next probe.
    Open = 1,
    /// One probe out; the rest held.
    HalfOpen = 2,
}

/// Why a circuit opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trip {
    /// The provider.
    pub provider: Provider,
    /// The provider's answer.
    pub reason: String,
    /// The setting to fix.
    pub fix: String,
    /// True when most device tokens were refused (wrong topic or
    /// endpoint), false when the credentials were.
    pub tokens_refused: bool,
}

impl fmt::Display for Trip {
    /// `fcm: the token endpoint refused the service account (invalid_grant):
    /// fix [fcm] service_account_file`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Trip {
            provider,
            reason,
            fix,
            ..
        } = self;
        if self.tokens_refused {
            write!(
                f,
                "{provider}: most device tokens were refused ({reason}): fix {fix}"
            )
        } else {
            write!(f, "{provider}: {reason}: fix {fix}")
        }
    }
}

/// What a circuit lets a message do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Send it.
    Send,
    /// Send it as the probe of an open circuit.
    Probe,
    /// Keep it pending until `until` (ms): the circuit is open.
    Hold {
        /// When it is due again.
        until: i64,
        /// Why.
        trip: Trip,
    },
}

/// An open (or half-open) circuit.
#[derive(Debug, Clone)]
struct Opened {
    /// Why.
    trip: Trip,
    /// The current wait between probes (ms).
    interval: i64,
    /// When the next probe may go (ms).
    next_probe_at: i64,
    /// When the probe out was let go, if one is.
    probing_since: Option<i64>,
}

/// One provider's circuit.
#[derive(Debug, Default)]
struct Breaker {
    /// `None` while closed.
    open: Option<Opened>,
    /// Its latest answers about tokens.
    window: Window,
}

impl Breaker {
    /// The state for the gauge.
    fn state(&self) -> CircuitState {
        match &self.open {
            None => CircuitState::Closed,
            Some(o) if o.probing_since.is_some() => CircuitState::HalfOpen,
            Some(_) => CircuitState::Open,
        }
    }
}

/// Every provider's circuit. Shared by the workers of one process.
#[derive(Debug, Default)]
pub struct Circuits {
    /// The circuits, created closed on first use.
    breakers: Mutex<HashMap<Provider, Breaker>>,
}

impl Circuits {
    /// Every circuit closed.
    pub fn new() -> Self {
        Self::default()
    }

    /// What `provider`'s circuit lets a message do at `now` (ms).
    pub fn admit(&self, provider: Provider, now: i64) -> Admission {
        self.with(provider, |breaker| {
            let Some(open) = breaker.open.as_mut() else {
                return Admission::Send;
            };
            let probe_lost = open
                .probing_since
                .is_some_and(|since| now - since >= PROBE_TIMEOUT_MS);
            if (open.probing_since.is_none() && now >= open.next_probe_at) || probe_lost {
                open.probing_since = Some(now);
                return Admission::Probe;
            }
            let until = match open.probing_since {
                Some(_) => now.saturating_add(FIRST_PROBE_MS),
                None => open.next_probe_at,
            };
            Admission::Hold {
                until,
                trip: open.trip.clone(),
            }
        })
    }

    /// The state of `provider`'s circuit.
    pub fn state(&self, provider: Provider) -> CircuitState {
        self.with(provider, |breaker| breaker.state())
    }

    /// Why the first open circuit (in [`Provider::ALL`] order) opened, if
    /// any is open.
    pub fn tripped(&self) -> Option<Trip> {
        let breakers = self.lock();
        Provider::ALL.iter().find_map(|p| {
            let open = breakers.get(p)?.open.as_ref()?;
            Some(open.trip.clone())
        })
    }

    /// Feeds an answer of `provider` to row `outbox_id` (`probe` when the
    /// send was the circuit's probe) and says what becomes of the row:
    /// a credentials failure holds it (opening the circuit), a refused
    /// token is judged against the window, anything else proceeds (a
    /// probe's acceptance closing the circuit). `last_attempt` turns an
    /// undecided refusal into a dead token instead of a retry.
    pub fn judge(&self, answer: Answer, outcome: Outcome) -> Judged {
        self.with(answer.provider, |breaker| {
            let judged = judge(breaker, &answer, outcome);
            (judged, breaker.state())
        })
        .0
    }

    /// Runs `f` on `provider`'s breaker, reporting a change of state.
    fn with<T>(&self, provider: Provider, f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut breakers = self.lock();
        let breaker = breakers.entry(provider).or_default();
        let before = breaker.state();
        let trip = breaker.open.as_ref().map(|o| o.trip.clone());
        let result = f(breaker);
        let after = breaker.state();
        if before != after {
            report(provider, before, after, breaker, trip);
        }
        result
    }

    /// The breakers, surviving a panicked holder.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Provider, Breaker>> {
        self.breakers.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Who answered, for [`Circuits::judge`].
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// The provider.
    pub provider: Provider,
    /// The row sent.
    pub outbox_id: i64,
    /// Whether the send was the circuit's probe.
    pub probe: bool,
    /// Whether the row has no attempt left after this one.
    pub last_attempt: bool,
    /// When the answer came (ms).
    pub now: i64,
}

/// The state machine's step for one answer.
fn judge(breaker: &mut Breaker, answer: &Answer, outcome: Outcome) -> Judged {
    match outcome {
        Outcome::Credentials { reason, fix } => {
            let trip = trip(answer.provider, reason, fix, false);
            Judged::Hold {
                until: open(breaker, answer, trip.clone()),
                trip,
            }
        }
        Outcome::TokenRejected { reason, fix } => refused(breaker, answer, reason, fix),
        Outcome::Retry { .. } => {
            if answer.probe
                && let Some(open) = breaker.open.as_mut()
            {
                open.probing_since = None;
                open.next_probe_at = answer.now.saturating_add(open.interval);
            }
            Judged::Proceed(outcome)
        }
        other => {
            if matches!(other, Outcome::Delivered { .. } | Outcome::TokenGone { .. }) {
                breaker.window.note(answer.outbox_id, false);
            }
            if answer.probe && breaker.open.is_some() {
                breaker.open = None;
                breaker.window.clear();
            }
            Judged::Proceed(other)
        }
    }
}

/// A refused token: held while the circuit is open, else judged on the
/// window.
fn refused(breaker: &mut Breaker, answer: &Answer, reason: String, fix: String) -> Judged {
    breaker.window.note(answer.outbox_id, true);
    let judgement = match breaker.open {
        Some(_) => Judgement::Settings,
        None => breaker.window.judge(),
    };
    match judgement {
        Judgement::Settings => {
            let trip = trip(answer.provider, reason, fix, true);
            Judged::Hold {
                until: open(breaker, answer, trip.clone()),
                trip,
            }
        }
        Judgement::DeadToken => Judged::Proceed(Outcome::TokenGone { reason }),
        Judgement::Undecided if answer.last_attempt => {
            Judged::Proceed(Outcome::TokenGone { reason })
        }
        Judgement::Undecided => Judged::Proceed(Outcome::Retry {
            after: None,
            reason: format!("{reason} (device kept until most tokens are known to be fine)"),
        }),
    }
}

/// A trip.
fn trip(provider: Provider, reason: String, fix: String, tokens_refused: bool) -> Trip {
    Trip {
        provider,
        reason,
        fix,
        tokens_refused,
    }
}

/// Opens the circuit (a closed one at the first interval, an open one
/// after a refused probe at twice its interval, capped); returns when the
/// next probe may go. A refusal met while open (not a probe) changes
/// nothing.
fn open(breaker: &mut Breaker, answer: &Answer, trip: Trip) -> i64 {
    let interval = match &breaker.open {
        None => FIRST_PROBE_MS,
        Some(open) if answer.probe => open.interval.saturating_mul(2).min(MAX_PROBE_MS),
        Some(open) => return open.next_probe_at,
    };
    let next_probe_at = answer.now.saturating_add(interval);
    breaker.open = Some(Opened {
        trip,
        interval,
        next_probe_at,
        probing_since: None,
    });
    next_probe_at
}

/// Logs a change of state once and sets the gauge.
fn report(
    provider: Provider,
    before: CircuitState,
    after: CircuitState,
    breaker: &Breaker,
    previous: Option<Trip>,
) {
    crate::api::metrics::global().set_circuit_state(provider.name(), after as i64);
    match (before, &breaker.open) {
        (CircuitState::Closed, Some(open)) => tracing::warn!(
            provider = provider.name(),
            reason = %open.trip.reason,
            fix = %open.trip.fix,
            "circuit open, messages held: {}",
            open.trip
        ),
        (_, None) => tracing::info!(
            provider = provider.name(),
            was = previous.map(|t| t.reason).unwrap_or_default(),
            "circuit closed: the provider accepts herald again"
        ),
        (_, Some(open)) => tracing::debug!(
            provider = provider.name(),
            state = ?after,
            next_probe_in_ms = open.interval,
            "circuit probe"
        ),
    }
}

#[cfg(test)]
mod tests;
