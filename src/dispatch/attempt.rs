//! One claimed row, start to finish: read its address and content, pick
//! the provider, wait for the provider's limits, send within the lease's
//! deadline, decide the row's new state from the classified outcome
//! (ARCHITECTURE rule 5: the adapters classify, this decides) into the
//! attempt record the step's recorder writes. A row that cannot be read
//! or has no configured provider fails with a detail saying why, and a
//! row whose claim went past `max_attempts` (earlier attempts left no
//! result: a crash, a lost lease) fails without a send; nothing here
//! panics on row content.

use std::time::{Duration, Instant};

use crate::channels::{Address, Channel, OutboundMessage, Outcome, RenderedMessage};
use crate::store::{AttemptRecord, OutboxRow, OutboxUpdate};

use super::DispatchError;
use super::backoff::millis;
use super::channels::Provider;
use super::fallback::TokenGoneContext;
use super::lease::StepLease;
use super::worker::Worker;

/// What became of one claimed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// Sent.
    Delivered,
    /// Scheduled again.
    Retried,
    /// Given up.
    Failed,
    /// Moved to another device.
    Redirected,
    /// Replaced by a row on another channel.
    FellBack,
    /// The lease was lost: nothing was sent, or the result was only
    /// logged (the row is another worker's).
    Lost,
    /// Kept pending, attempt not counted: the provider's circuit is open.
    Held,
    /// Not sent: the user or device changed after planning.
    Skipped,
}

/// What one attempt leaves for the step to record.
pub(super) enum Attempted {
    /// The attempt and the row's new state, to record if the lease holds.
    Record(Box<AttemptRecord>),
    /// The lease ran out before the send; nothing was sent or recorded.
    Lost,
}

impl Fate {
    /// The fate an update stands for.
    pub(super) fn of(update: &OutboxUpdate) -> Self {
        match update {
            OutboxUpdate::Sent => Fate::Delivered,
            OutboxUpdate::Retry { .. } => Fate::Retried,
            OutboxUpdate::Failed => Fate::Failed,
            OutboxUpdate::Redirect { .. } => Fate::Redirected,
            OutboxUpdate::Fallback { .. } => Fate::FellBack,
            OutboxUpdate::Hold { .. } => Fate::Held,
            OutboxUpdate::Skipped => Fate::Skipped,
        }
    }
}

/// The step's time: the `now` it was given, moved on by the monotonic
/// time spent since, so attempts get real start and finish instants
/// without the step reading the wall clock.
pub(super) struct StepClock {
    /// The step's `now` (ms).
    now: i64,
    /// When the step began.
    began: Instant,
}

impl StepClock {
    /// A clock reading `now` at this instant.
    pub(super) fn start(now: i64) -> Self {
        Self {
            now,
            began: Instant::now(),
        }
    }

    /// Milliseconds since the step began.
    fn elapsed(&self) -> i64 {
        millis(self.began.elapsed())
    }

    /// Now (ms).
    pub(super) fn at(&self) -> i64 {
        self.now.saturating_add(self.elapsed())
    }
}

impl Worker {
    /// Attempts one row; returns what to record and whether it was rate
    /// limited.
    pub(super) async fn attempt(
        &self,
        row: &OutboxRow,
        clock: &StepClock,
        lease: &StepLease,
    ) -> Result<(Attempted, bool), DispatchError> {
        if u32::try_from(row.attempts).unwrap_or(0) > self.retry.max_attempts {
            return Ok((self.exhausted(row, clock), false));
        }
        let message = match outbound(row) {
            Ok(message) => message,
            Err(detail) => return Ok((self.give_up(row, clock, detail), false)),
        };
        let provider = Provider::for_address(&message.address);
        let Some(channel) = self.channels.get(provider) else {
            let detail =
                format!("the {provider} provider is not configured (fill in [{provider}])");
            return Ok((self.give_up(row, clock, detail), false));
        };
        // Circuit hook (circuit/gate.rs): an open circuit holds the row.
        let probe = match self.admit(row, provider, clock.at()) {
            Ok(probe) => probe,
            Err(held) => return Ok((Attempted::Record(held), false)),
        };
        let pass = self.limits.enter(provider).await;
        let Some(deadline) = lease.deadline(clock.at()) else {
            tracing::warn!(
                outbox_id = row.outbox_id,
                owner = %self.owner,
                "dispatch lease ran out before the send; left for the next claim"
            );
            return Ok((Attempted::Lost, pass.throttled));
        };
        let started_at = clock.at();
        let outcome = send_within(channel.as_ref(), &message, deadline).await;
        let finished_at = clock.at();
        let throttled = pass.throttled;
        drop(pass);
        // Circuit hook: the answer feeds the circuit, which may hold the row.
        let times = [started_at, finished_at];
        let outcome = match self.settle(row, provider, outcome, probe, times) {
            Ok(outcome) => outcome,
            Err(held) => return Ok((Attempted::Record(held), throttled)),
        };
        let record = self.decide(row, outcome, started_at, finished_at).await?;
        Ok((Attempted::Record(Box::new(record)), throttled))
    }

    /// The attempt record for a classified outcome, with the row's new state.
    async fn decide(
        &self,
        row: &OutboxRow,
        outcome: Outcome,
        started_at: i64,
        finished_at: i64,
    ) -> Result<AttemptRecord, DispatchError> {
        let mut record = self.record(row, outcome.kind(), started_at, finished_at);
        match outcome {
            Outcome::Delivered { provider_id } => {
                record.provider_message_id = provider_id;
                record.update = OutboxUpdate::Sent;
            }
            Outcome::Retry { after, reason } => {
                record.retry_after_ms = after.map(millis);
                let attempt = u32::try_from(row.attempts).unwrap_or(1).max(1);
                let delay = self.retry.next_delay(attempt, after, &mut rand::rng());
                record.detail = Some(match delay {
                    Some(delay) => {
                        let next_attempt_at = finished_at.saturating_add(millis(delay));
                        record.update = OutboxUpdate::Retry { next_attempt_at };
                        reason
                    }
                    None => format!(
                        "attempts exhausted ({attempt} of {}): {reason}",
                        self.retry.max_attempts
                    ),
                });
            }
            Outcome::Permanent { reason } => record.detail = Some(reason),
            Outcome::TokenGone { reason } => {
                let after = self.token_gone().resolve(row, &reason, finished_at).await?;
                record.update = after.update;
                record.deactivate_device = after.deactivate;
                record.detail = Some(after.detail);
            }
            // `settle` holds or converts these first; should one get here,
            // it is kept pending rather than failed.
            Outcome::Credentials { reason, .. } | Outcome::TokenRejected { reason, .. } => {
                record.update = OutboxUpdate::Hold {
                    next_attempt_at: finished_at,
                };
                record.detail = Some(reason);
            }
        }
        Ok(record)
    }

    /// What resolving a dead token consults.
    fn token_gone(&self) -> TokenGoneContext<'_> {
        TokenGoneContext {
            store: &self.store,
            channels: &self.channels,
            fallback: self.fallback.as_deref(),
        }
    }

    /// Fails a row that cannot be sent at all, without sending.
    fn give_up(&self, row: &OutboxRow, clock: &StepClock, detail: String) -> Attempted {
        let now = clock.at();
        let mut record = self.record(row, "permanent", now, now);
        record.detail = Some(detail);
        Attempted::Record(Box::new(record))
    }

    /// Fails a row whose claim counted one attempt more than allowed:
    /// every allowed attempt was made and none left a result (a crash or
    /// a lost lease each time). Nothing is sent; the record carries the
    /// count of attempts made.
    fn exhausted(&self, row: &OutboxRow, clock: &StepClock) -> Attempted {
        let now = clock.at();
        let mut record = self.record(row, "retry", now, now);
        record.attempt = row.attempts.saturating_sub(1);
        record.detail = Some(format!(
            "attempts exhausted ({} of {}) before a result was recorded; not sent again",
            record.attempt, self.retry.max_attempts
        ));
        Attempted::Record(Box::new(record))
    }

    /// A failed-by-default record of an attempt on `row`.
    fn record(&self, row: &OutboxRow, outcome: &str, started: i64, finished: i64) -> AttemptRecord {
        AttemptRecord {
            outbox_id: row.outbox_id,
            owner: self.owner.clone(),
            attempt: row.attempts,
            outcome: outcome.to_owned(),
            detail: None,
            provider_message_id: None,
            retry_after_ms: None,
            started_at: started,
            finished_at: finished,
            deactivate_device: None,
            update: OutboxUpdate::Failed,
        }
    }
}

/// Sends `message` through `channel`, giving up after `deadline`: no
/// answer in time is a transient failure, and an ambiguous one (the
/// provider may have taken the message), so the retry keeps the message's
/// id for the provider or the recipient to recognise the repeat.
async fn send_within(
    channel: &dyn Channel,
    message: &OutboundMessage,
    deadline: Duration,
) -> Outcome {
    match tokio::time::timeout(deadline, channel.send(message)).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Retry {
            after: None,
            reason: format!(
                "no answer within {} ms, before the dispatch lease deadline; the message may \
                 have arrived (a retry keeps its id)",
                deadline.as_millis()
            ),
        },
    }
}

/// The message a row describes, or why it cannot be read.
fn outbound(row: &OutboxRow) -> Result<OutboundMessage, String> {
    let address: Address = serde_json::from_str(&row.address)
        .map_err(|e| format!("unreadable outbox address (expected Address JSON): {e}"))?;
    let content: RenderedMessage = serde_json::from_str(&row.payload)
        .map_err(|e| format!("unreadable outbox payload (expected RenderedMessage JSON): {e}"))?;
    Ok(OutboundMessage {
        id: row.dedup_key.clone(),
        address,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::{PushMessage, SmsMessage};
    use crate::domain::Platform;

    fn row(address: &str, payload: &str) -> OutboxRow {
        OutboxRow {
            outbox_id: 1,
            run_id: 1,
            user_id: "u1".into(),
            channel: "push".into(),
            device_id: Some(3),
            address: address.into(),
            variant: "A".into(),
            payload: payload.into(),
            dedup_key: "6f1c7a52-0d7e-4c1e-9a53-000000000001".into(),
            status: "pending".into(),
            attempts: 1,
            next_attempt_at: 0,
        }
    }

    #[test]
    fn a_row_becomes_a_message_keyed_by_its_dedup_key() {
        let address = Address::Device {
            platform: Platform::Ios,
            token: "ab".repeat(32),
        };
        let content = RenderedMessage::Push(PushMessage::default());
        let row = row(
            &serde_json::to_string(&address).unwrap(),
            &serde_json::to_string(&content).unwrap(),
        );
        let message = outbound(&row).unwrap();
        assert_eq!(message.id, row.dedup_key);
        assert_eq!(message.address, address);
        assert_eq!(message.content, content);
    }

    #[test]
    fn an_unreadable_address_or_payload_is_named_in_the_error() {
        let sms = serde_json::to_string(&RenderedMessage::Sms(SmsMessage::default())).unwrap();
        let err = outbound(&row("+15550001111", &sms)).unwrap_err();
        assert!(err.contains("outbox address"), "{err}");
        let err = outbound(&row(r#"{"Phone":"+15550001111"}"#, "{}")).unwrap_err();
        assert!(err.contains("outbox payload"), "{err}");
    }
}
