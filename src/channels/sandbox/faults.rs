//! Fault injection shared by every sandbox provider.
//!
//! A provider asks [`FaultInjector::decide`] once per valid request (after
//! its protocol checks, so a malformed request is still refused for what it
//! is) and answers with the [`Failure`] it gets, in its own protocol:
//!
//! | failure | APNs | FCM | SMTP (suggested) | SMS (suggested) |
//! |---|---|---|---|---|
//! | `Throttled` | 429 TooManyRequests | 429 QUOTA_EXCEEDED | 451 | 429 |
//! | `Internal` | 500 InternalServerError | 500 INTERNAL | 451 | 500 |
//! | `Unavailable` | 503 ServiceUnavailable | 503 UNAVAILABLE | 421 | 503 |
//! | `Gone` (and dead addresses) | 410 Unregistered | 404 UNREGISTERED | 550 | 400 code 21211 |
//! | `AuthExpired` | 403 ExpiredProviderToken | 401 UNAUTHENTICATED | 535 | 401 |
//! | `Custom` | status + `{"reason"}` | status + errorCode | status + text | status + code |
//!
//! The transient three carry the configured Retry-After. Decisions are, in
//! order: a dead address, then the "fail next N" queue, then the random
//! error rate (a ChaCha stream from the seed, so a run is reproducible).
//!
//! Apart from those per-request failures, [`FaultInjector::refuse_credentials`]
//! makes every provider refuse herald's credentials until it is turned
//! off, as a revoked key or a wrong password would: the FCM token endpoint
//! answers 400 `invalid_grant`, APNs 403 `InvalidProviderToken`, SMTP 535
//! at `AUTH` (530 at `MAIL` without it), the SMS API 401 code 20003.

use std::collections::{BTreeSet, VecDeque};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A provider-neutral failure a sandbox can be told to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Rate limited (429).
    Throttled,
    /// Internal error (500).
    Internal,
    /// Temporarily unavailable (503).
    Unavailable,
    /// The recipient is gone (dead token, unknown mailbox or number).
    Gone,
    /// The client's credentials expired (APNs provider token, OAuth token).
    AuthExpired,
    /// A given status and provider-specific reason or error code.
    Custom {
        /// HTTP status (or SMTP reply code).
        status: u16,
        /// The provider's reason string, e.g. `TopicDisallowed`.
        reason: String,
    },
}

impl Failure {
    /// Whether the failure is transient (and carries Retry-After).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled | Self::Internal | Self::Unavailable)
    }
}

impl FromStr for Failure {
    type Err = String;

    /// Parses `throttled`, `internal`, `unavailable`, `gone` or
    /// `auth-expired` (also `429`, `500`, `503`, `410`, `403`).
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "throttled" | "429" => Ok(Self::Throttled),
            "internal" | "500" => Ok(Self::Internal),
            "unavailable" | "503" => Ok(Self::Unavailable),
            "gone" | "410" => Ok(Self::Gone),
            "auth-expired" | "403" => Ok(Self::AuthExpired),
            _ => Err(format!(
                "unknown failure `{text}`: use throttled, internal, unavailable, gone or auth-expired"
            )),
        }
    }
}

/// Fault settings, fixed at start or replaced at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct Faults {
    /// Share of valid requests that fail at random, 0.0 to 1.0.
    pub error_rate: f64,
    /// What the random failures are.
    pub error: Failure,
    /// Seed of the random stream.
    pub seed: u64,
    /// Delay added before every answer.
    pub latency: Duration,
    /// Addresses (device tokens, emails, phone numbers) that are gone.
    pub dead: BTreeSet<String>,
    /// Retry-After sent with transient failures.
    pub retry_after: Option<Duration>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error: Failure::Unavailable,
            seed: 0,
            latency: Duration::ZERO,
            dead: BTreeSet::new(),
            retry_after: None,
        }
    }
}

/// What a provider should do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Wait this long before answering.
    pub latency: Duration,
    /// Answer with this failure, or succeed when `None`.
    pub failure: Option<Failure>,
    /// Retry-After to send with the failure.
    pub retry_after: Option<Duration>,
}

impl Decision {
    /// Sleeps for the latency, if any.
    pub async fn wait(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

/// The mutable state behind a [`FaultInjector`].
struct State {
    /// Current settings.
    faults: Faults,
    /// Failures for the next requests, in order.
    queue: VecDeque<Failure>,
    /// The error-rate stream.
    rng: ChaCha8Rng,
    /// Valid requests decided so far, counted on arrival, before the
    /// latency: what had reached the provider at a given moment.
    arrivals: u64,
    /// Every provider refuses herald's credentials.
    refuse_credentials: bool,
}

/// A shared, run-time adjustable fault plan. Cheap to clone.
#[derive(Clone)]
pub struct FaultInjector(Arc<Mutex<State>>);

impl FaultInjector {
    /// An injector with `faults`.
    pub fn new(faults: Faults) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(faults.seed);
        Self(Arc::new(Mutex::new(State {
            faults,
            queue: VecDeque::new(),
            rng,
            arrivals: 0,
            refuse_credentials: false,
        })))
    }

    /// Replaces the settings and restarts the random stream from their seed.
    pub fn configure(&self, faults: Faults) {
        let mut state = self.lock();
        state.rng = ChaCha8Rng::seed_from_u64(faults.seed);
        state.faults = faults;
    }

    /// The current settings.
    pub fn current(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Makes the next `n` valid requests fail with `failure`.
    pub fn fail_next(&self, n: usize, failure: Failure) {
        self.lock().queue.extend(std::iter::repeat_n(failure, n));
    }

    /// Marks an address as gone.
    pub fn kill(&self, address: impl Into<String>) {
        self.lock().faults.dead.insert(address.into());
    }

    /// Sets the Retry-After of transient failures.
    pub fn set_retry_after(&self, after: Option<Duration>) {
        self.lock().faults.retry_after = after;
    }

    /// Sets the latency added to every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().faults.latency = latency;
    }

    /// Makes every provider refuse herald's credentials (`true`) or accept
    /// them again (`false`).
    pub fn refuse_credentials(&self, refuse: bool) {
        self.lock().refuse_credentials = refuse;
    }

    /// Whether the providers refuse herald's credentials.
    pub fn refuses_credentials(&self) -> bool {
        self.lock().refuse_credentials
    }

    /// Decides the fate of one request to `address`.
    pub fn decide(&self, address: &str) -> Decision {
        let mut state = self.lock();
        state.arrivals += 1;
        let failure = if state.faults.dead.contains(address) {
            Some(Failure::Gone)
        } else if let Some(next) = state.queue.pop_front() {
            Some(next)
        } else {
            random_failure(&mut state)
        };
        let retry_after = failure
            .as_ref()
            .filter(|f| f.is_transient())
            .and(state.faults.retry_after);
        Decision {
            latency: state.faults.latency,
            failure,
            retry_after,
        }
    }

    /// Valid requests that have reached the providers so far (counted on
    /// arrival, before the injected latency), answered or not yet.
    pub fn arrivals(&self) -> u64 {
        self.lock().arrivals
    }

    /// The state, surviving a panicked holder.
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for FaultInjector {
    fn default() -> Self {
        Self::new(Faults::default())
    }
}

/// Draws from the error-rate stream.
fn random_failure(state: &mut State) -> Option<Failure> {
    let rate = state.faults.error_rate;
    if rate <= 0.0 {
        return None;
    }
    (state.rng.random::<f64>() < rate).then(|| state.faults.error.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_addresses_come_first_then_the_queue_then_success() {
        let faults = FaultInjector::default();
        faults.kill("dead");
        faults.fail_next(1, Failure::Internal);
        assert_eq!(faults.decide("dead").failure, Some(Failure::Gone));
        assert_eq!(faults.decide("a").failure, Some(Failure::Internal));
        assert_eq!(faults.decide("a").failure, None);
    }

    #[test]
    fn retry_after_goes_with_transient_failures_only() {
        let faults = FaultInjector::default();
        faults.set_retry_after(Some(Duration::from_secs(7)));
        faults.fail_next(1, Failure::Throttled);
        faults.fail_next(1, Failure::Gone);
        assert_eq!(faults.decide("a").retry_after, Some(Duration::from_secs(7)));
        assert_eq!(faults.decide("a").retry_after, None);
    }

    #[test]
    fn the_error_rate_is_reproducible_for_a_seed() {
        let draw = || {
            let faults = FaultInjector::new(Faults {
                error_rate: 0.3,
                seed: 42,
                ..Faults::default()
            });
            (0..1000)
                .map(|_| faults.decide("a").failure.is_some())
                .collect::<Vec<_>>()
        };
        let first = draw();
        assert_eq!(first, draw());
        let failed = first.iter().filter(|f| **f).count();
        assert!((250..350).contains(&failed), "{failed} failures");
    }

    #[test]
    fn refused_credentials_last_until_turned_off() {
        let faults = FaultInjector::default();
        assert!(!faults.refuses_credentials());
        faults.refuse_credentials(true);
        assert!(faults.refuses_credentials());
        faults.refuse_credentials(false);
        assert!(!faults.refuses_credentials());
    }

    #[test]
    fn failures_parse_from_their_names_and_codes() {
        assert_eq!("503".parse(), Ok(Failure::Unavailable));
        assert_eq!("auth-expired".parse(), Ok(Failure::AuthExpired));
        assert!("teapot".parse::<Failure>().is_err());
    }
}
