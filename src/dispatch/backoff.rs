//! When to try a transient failure again: exponential backoff with equal
//! jitter, never sooner than the provider's Retry-After.
//!
//! The backoff for attempt `n` (1 = the first send) is
//! `min(backoff_max, backoff_base * 2^(n-1))`. Equal jitter keeps half of
//! it and draws the other half uniformly, so a retry waits at least half
//! the backoff (no hammering after a throttle) while workers that failed
//! together spread out (AWS architecture blog, "Exponential Backoff And
//! Jitter"). The provider's Retry-After wins when it is longer, even past
//! `backoff_max`: the provider knows when it will take traffic again.

use std::time::Duration;

use rand::Rng;

use crate::config::DispatchSettings;

/// The longest delay ever scheduled (a day), whatever a provider asks, so
/// a bogus Retry-After cannot park a message for years.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(24 * 3600);

/// The backoff schedule, from `[dispatch]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub base: Duration,
    /// Upper bound of the exponential part.
    pub max: Duration,
}

impl Backoff {
    /// The capped exponential backoff after attempt `attempt` (1-based),
    /// before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(63);
        let factor = 1u64 << doublings;
        let millis = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(millis.saturating_mul(factor)).min(self.max)
    }

    /// The delay before the next attempt after attempt `attempt` failed
    /// transiently: equal-jittered backoff, or `retry_after` when longer,
    /// at most [`MAX_RETRY_DELAY`]. `rng` draws the jitter (seed it in
    /// tests).
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_millis()).unwrap_or(u64::MAX);
        let jittered = half + Duration::from_millis(rng.random_range(0..=spread));
        jittered
            .max(retry_after.unwrap_or(Duration::ZERO))
            .min(MAX_RETRY_DELAY)
    }
}

/// Whether and when a transient failure is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per message, the first send included.
    pub max_attempts: u32,
    /// The delay schedule.
    pub backoff: Backoff,
}

impl RetryPolicy {
    /// The policy of `[dispatch]`.
    pub fn from_settings(settings: &DispatchSettings) -> Self {
        Self {
            max_attempts: settings.max_attempts.get(),
            backoff: Backoff {
                base: settings.backoff_base.get(),
                max: settings.backoff_max.get(),
            },
        }
    }

    /// After attempt `attempt` (1-based) failed transiently: the delay
    /// before the next one, or `None` when it was the last one allowed.
    pub fn next_delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Option<Duration> {
        (attempt < self.max_attempts).then(|| self.backoff.delay(attempt, retry_after, rng))
    }
}

/// A duration in whole milliseconds, saturating.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const SCHEDULE: Backoff = Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };

    #[test]
    fn the_ceiling_doubles_per_attempt_up_to_the_maximum() {
        let secs: Vec<u64> = (1..=8).map(|n| SCHEDULE.ceiling(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn a_huge_attempt_number_saturates_instead_of_overflowing() {
        assert_eq!(SCHEDULE.ceiling(u32::MAX), SCHEDULE.max);
        assert_eq!(SCHEDULE.ceiling(0), SCHEDULE.base);
    }

    #[test]
    fn equal_jitter_stays_between_half_and_the_whole_ceiling() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for attempt in 1..=10 {
            let ceiling = SCHEDULE.ceiling(attempt);
            for _ in 0..200 {
                let delay = SCHEDULE.delay(attempt, None, &mut rng);
                assert!(delay >= ceiling / 2 && delay <= ceiling, "{delay:?}");
            }
        }
    }

    #[test]
    fn the_jitter_is_deterministic_for_a_seed_and_actually_varies() {
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..20)
                .map(|_| SCHEDULE.delay(5, None, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        let first = draw(1);
        assert!(first.iter().any(|d| *d != first[0]));
    }

    #[test]
    fn a_longer_retry_after_wins_even_past_the_maximum() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let asked = Duration::from_secs(600);
        assert_eq!(SCHEDULE.delay(1, Some(asked), &mut rng), asked);
    }

    #[test]
    fn a_shorter_retry_after_does_not_shorten_the_backoff() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let delay = SCHEDULE.delay(6, Some(Duration::from_millis(1)), &mut rng);
        assert!(delay >= Duration::from_secs(16));
    }

    #[test]
    fn an_absurd_retry_after_is_capped_at_a_day() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let asked = Duration::from_secs(10 * 365 * 24 * 3600);
        assert_eq!(SCHEDULE.delay(1, Some(asked), &mut rng), MAX_RETRY_DELAY);
    }

    #[test]
    fn the_last_allowed_attempt_is_not_retried() {
        let policy = RetryPolicy {
            max_attempts: 3,
            backoff: SCHEDULE,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert!(policy.next_delay(1, None, &mut rng).is_some());
        assert!(policy.next_delay(2, None, &mut rng).is_some());
        assert_eq!(policy.next_delay(3, None, &mut rng), None);
    }

    #[test]
    fn a_single_attempt_policy_never_retries() {
        let policy = RetryPolicy {
            max_attempts: 1,
            backoff: SCHEDULE,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(
            policy.next_delay(1, Some(Duration::from_secs(1)), &mut rng),
            None
        );
    }

    #[test]
    fn a_zero_base_gives_immediate_retries_without_panicking() {
        let schedule = Backoff {
            base: Duration::ZERO,
            max: Duration::ZERO,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(schedule.delay(4, None, &mut rng), Duration::ZERO);
    }
}
