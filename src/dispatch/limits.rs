//! How hard each provider may be driven: a semaphore bounds the sends in
//! flight and, when `[dispatch.<provider>] rate` is set, a governor GCRA
//! limiter paces them to that many per second (with a burst of one
//! second's worth). Both are per worker; run one worker per process to
//! make the rate a per-process figure, as `[dispatch]` documents it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::channels::Provider;
use crate::config::{ChannelLimits, DispatchSettings};

/// One provider's gate.
struct Gate {
    /// Sends in flight.
    concurrency: Arc<Semaphore>,
    /// Sends per second, when limited.
    rate: Option<DefaultDirectRateLimiter>,
}

impl Gate {
    /// A gate for `limits`.
    fn new(limits: ChannelLimits) -> Self {
        let permits = usize::try_from(limits.concurrency.get()).unwrap_or(usize::MAX);
        Self {
            concurrency: Arc::new(Semaphore::new(permits)),
            rate: limits
                .rate_limit()
                .map(|rate: NonZeroU32| RateLimiter::direct(Quota::per_second(rate))),
        }
    }
}

/// A slot to send one message; dropping it frees the concurrency slot.
#[derive(Debug)]
pub struct Pass {
    /// The concurrency slot.
    _permit: OwnedSemaphorePermit,
    /// Whether the rate limiter made this send wait.
    pub throttled: bool,
}

/// The gates of every provider.
pub struct Limits {
    /// Per provider.
    gates: HashMap<Provider, Gate>,
}

impl Limits {
    /// Gates from the `[dispatch.<provider>]` tables.
    pub fn new(settings: &DispatchSettings) -> Self {
        let gates = Provider::ALL
            .into_iter()
            .map(|p| (p, Gate::new(limits_of(settings, p))))
            .collect();
        Self { gates }
    }

    /// Waits for a concurrency slot, then for the rate limiter, and
    /// returns the pass to send one message to `provider`.
    pub async fn enter(&self, provider: Provider) -> Pass {
        let gate = &self.gates[&provider];
        let permit = Arc::clone(&gate.concurrency)
            .acquire_owned()
            .await
            .expect("dispatch semaphores are never closed");
        let mut throttled = false;
        if let Some(rate) = &gate.rate
            && rate.check().is_err()
        {
            throttled = true;
            rate.until_ready().await;
        }
        Pass {
            _permit: permit,
            throttled,
        }
    }
}

/// The limits of one provider.
fn limits_of(settings: &DispatchSettings, provider: Provider) -> ChannelLimits {
    match provider {
        Provider::Apns => settings.apns,
        Provider::Fcm => settings.fcm,
        Provider::Email => settings.email,
        Provider::Sms => settings.sms,
        Provider::Webhook => settings.webhook,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    fn settings(rate: u32, concurrency: u32) -> DispatchSettings {
        let limits = ChannelLimits {
            concurrency: NonZeroU32::new(concurrency).unwrap(),
            rate,
        };
        DispatchSettings {
            sms: limits,
            ..DispatchSettings::default()
        }
    }

    #[tokio::test]
    async fn sends_past_the_burst_wait_for_the_rate_limiter() {
        let limits = Limits::new(&settings(50, 8));
        let mut throttled = 0;
        for _ in 0..60 {
            throttled += usize::from(limits.enter(Provider::Sms).await.throttled);
        }
        assert!(throttled >= 1, "60 sends at 50/s never waited");
    }

    #[tokio::test]
    async fn an_unlimited_provider_never_waits_for_a_rate() {
        let limits = Limits::new(&settings(0, 8));
        for _ in 0..100 {
            assert!(!limits.enter(Provider::Sms).await.throttled);
        }
    }

    #[tokio::test]
    async fn concurrency_is_bounded_by_the_semaphore() {
        let limits = Limits::new(&settings(0, 2));
        let first = limits.enter(Provider::Sms).await;
        let _second = limits.enter(Provider::Sms).await;
        let third = limits.enter(Provider::Sms).now_or_never();
        assert!(third.is_none(), "a third send got a slot");
        drop(first);
        let _third = limits.enter(Provider::Sms).await;
    }
}
