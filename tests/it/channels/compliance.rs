//! The compliance test every channel adapter passes against its sandbox
//! provider (ARCHITECTURE rule 6), over real sockets on 127.0.0.1:
//!
//! 1. a good message is `Delivered` with a provider id, and the sandbox
//!    recorded exactly one request, which the adapter's own check accepts;
//! 2. each injected transient failure (500, 503, 429; Retry-After set) is
//!    `Retry`, with the provider's delay when the protocol has one;
//! 3. a message to an address the sandbox calls dead is `TokenGone` (push)
//!    or `Permanent` (email, SMS, webhook);
//! 4. a bad payload is `Permanent`.
//!
//! Every case runs on a fresh [`Sandbox`], so the record holds that case's
//! requests only.
//!
//! ## Plugging in an adapter
//!
//! In `tests/it/channels/<adapter>.rs`, build a [`Compliance`] and hand it
//! to [`assert_compliance`]:
//!
//! ```ignore
//! #[tokio::test]
//! async fn the_sms_channel_passes_the_compliance_test() {
//!     assert_compliance(&Compliance {
//!         provider: herald::channels::sandbox::sms::PROVIDER,
//!         sandbox: SandboxConfig::default(),
//!         build: Box::new(|sandbox| Box::new(SmsChannel::new(sms_config(sandbox)).unwrap())),
//!         good: sms_to("+15550002222"),
//!         expect_request: Box::new(|message, received| assert_eq!(received.address.as_deref(), Some("+15550002222"))),
//!         dead: sms_to("+15550009999"),
//!         dead_address: "+15550009999".into(),
//!         dead_outcome: DeadOutcome::Permanent,
//!         bad_payload: sms_with_empty_body(),
//!         retry_after: true,
//!     })
//!     .await;
//! }
//! ```
//!
//! `dead_address` is the string the provider sees and records (device
//! token, email address, E.164 number): the harness passes it to
//! `sandbox.faults().kill(..)`. Set `retry_after: false` when the protocol
//! has no Retry-After (SMTP); the `Retry` is then checked without a delay.

use std::time::Duration;

use herald::channels::sandbox::{Failure, Received, Sandbox, SandboxConfig};
use herald::channels::{Channel, OutboundMessage, Outcome};

/// The Retry-After the transient cases inject.
const RETRY_AFTER: Duration = Duration::from_secs(17);

/// The failures the transient case injects, one sandbox each.
const TRANSIENT: [Failure; 3] = [Failure::Internal, Failure::Unavailable, Failure::Throttled];

/// Builds the adapter under test against a started sandbox.
pub type BuildChannel = Box<dyn Fn(&Sandbox) -> Box<dyn Channel>>;

/// Asserts a recorded request is the one a message should produce.
pub type ExpectRequest = Box<dyn Fn(&OutboundMessage, &Received)>;

/// What a dead address must be classified as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadOutcome {
    /// Push: deactivate the device token.
    TokenGone,
    /// Email, SMS, webhook: fail the message for good.
    Permanent,
}

/// How to put one adapter through the compliance test.
pub struct Compliance {
    /// The name the sandbox records the adapter's requests under.
    pub provider: &'static str,
    /// The sandbox's settings (each case starts a fresh one).
    pub sandbox: SandboxConfig,
    /// Builds the adapter against a started sandbox.
    pub build: BuildChannel,
    /// A message the provider accepts.
    pub good: OutboundMessage,
    /// Asserts the recorded request is exactly what `good` should produce.
    pub expect_request: ExpectRequest,
    /// A message to an address the harness kills in the sandbox.
    pub dead: OutboundMessage,
    /// The provider-side form of `dead`'s address.
    pub dead_address: String,
    /// What `dead` must come back as.
    pub dead_outcome: DeadOutcome,
    /// A message the adapter or the provider refuses as malformed.
    pub bad_payload: OutboundMessage,
    /// Whether transient failures carry the provider's Retry-After.
    pub retry_after: bool,
}

impl Compliance {
    /// A fresh sandbox and an adapter pointed at it.
    async fn start(&self) -> (Sandbox, Box<dyn Channel>) {
        let sandbox = Sandbox::start(self.sandbox.clone())
            .await
            .expect("sandbox starts on loopback");
        let channel = (self.build)(&sandbox);
        (sandbox, channel)
    }
}

/// Runs every compliance case for one adapter.
pub async fn assert_compliance(adapter: &Compliance) {
    a_good_message_is_delivered_as_exactly_one_expected_request(adapter).await;
    for failure in TRANSIENT {
        a_transient_failure_is_retried_after_the_provider_delay(adapter, failure).await;
    }
    a_dead_address_is_token_gone_or_permanent(adapter).await;
    a_bad_payload_is_permanent(adapter).await;
}

/// Case 1.
async fn a_good_message_is_delivered_as_exactly_one_expected_request(adapter: &Compliance) {
    let (sandbox, channel) = adapter.start().await;
    let outcome = channel.send(&adapter.good).await;
    let name = channel.name();
    match &outcome {
        Outcome::Delivered {
            provider_id: Some(id),
        } if !id.is_empty() => {}
        other => panic!("{name}: a good message gave {other:?}, not Delivered with an id"),
    }
    let received = sandbox.record().of(adapter.provider);
    assert_eq!(
        received.len(),
        1,
        "{name}: the sandbox should record one request"
    );
    (adapter.expect_request)(&adapter.good, &received[0]);
    sandbox.shutdown().await;
}

/// Case 2, for one failure.
async fn a_transient_failure_is_retried_after_the_provider_delay(
    adapter: &Compliance,
    failure: Failure,
) {
    let (sandbox, channel) = adapter.start().await;
    sandbox.faults().set_retry_after(Some(RETRY_AFTER));
    sandbox.faults().fail_next(1, failure.clone());
    let outcome = channel.send(&adapter.good).await;
    let name = channel.name();
    let Outcome::Retry { after, .. } = &outcome else {
        panic!("{name}: injected {failure:?} gave {outcome:?}, not Retry");
    };
    if adapter.retry_after {
        assert_eq!(
            *after,
            Some(RETRY_AFTER),
            "{name}: {failure:?} should honour Retry-After"
        );
    }
    let again = channel.send(&adapter.good).await;
    assert_eq!(
        again.kind(),
        "delivered",
        "{name}: after {failure:?} the next send should succeed"
    );
    sandbox.shutdown().await;
}

/// Case 3.
async fn a_dead_address_is_token_gone_or_permanent(adapter: &Compliance) {
    let (sandbox, channel) = adapter.start().await;
    sandbox.faults().kill(adapter.dead_address.clone());
    let outcome = channel.send(&adapter.dead).await;
    let expected = match adapter.dead_outcome {
        DeadOutcome::TokenGone => "token_gone",
        DeadOutcome::Permanent => "permanent",
    };
    assert_eq!(
        outcome.kind(),
        expected,
        "{}: dead address gave {outcome:?}",
        channel.name()
    );
    sandbox.shutdown().await;
}

/// Case 4.
async fn a_bad_payload_is_permanent(adapter: &Compliance) {
    let (sandbox, channel) = adapter.start().await;
    let outcome = channel.send(&adapter.bad_payload).await;
    assert_eq!(
        outcome.kind(),
        "permanent",
        "{}: bad payload gave {outcome:?}",
        channel.name()
    );
    sandbox.shutdown().await;
}
