//! What changed after planning is honoured at send time. A claimed batch
//! is re-checked once (see `Store::stale_claims`) before anything is
//! sent: a row whose user was erased, unsubscribed or withdrew consent
//! for its channel, or whose push device was deactivated, is not sent but
//! `skipped`, with the reason (`consent_withdrawn_after_planning`, ...)
//! that `campaign explain` shows. Paused and cancelled campaigns are not
//! claimed at all (see the claim).

use crate::store::{AttemptRecord, OutboxRow, OutboxUpdate};

use super::DispatchError;
use super::worker::{Tally, Worker};

impl Worker {
    /// The claimed `rows` still to send; the others are recorded as
    /// skipped at `now` (counted in `tally`).
    pub(super) async fn skip_stale(
        &self,
        rows: Vec<OutboxRow>,
        now: i64,
        tally: &mut Tally,
    ) -> Result<Vec<OutboxRow>, DispatchError> {
        let stale = self.store.stale_claims(&rows).await?;
        if stale.is_empty() {
            return Ok(rows);
        }
        let (skipped, keep): (Vec<OutboxRow>, Vec<OutboxRow>) = rows
            .into_iter()
            .partition(|r| stale.contains_key(&r.outbox_id));
        let records: Vec<AttemptRecord> = skipped
            .iter()
            .map(|row| {
                let why = stale.get(&row.outbox_id).map(|s| s.code());
                skip_record(row, &self.owner, why.unwrap_or_default(), now)
            })
            .collect();
        let applied = self.store.finish_attempts(&records).await?;
        tally.skipped += applied.iter().filter(|a| **a).count() as u64;
        tracing::debug!(owner = %self.owner, skipped = records.len(), "rows changed after planning");
        Ok(keep)
    }
}

/// The record of a row not sent because of `reason`.
fn skip_record(row: &OutboxRow, owner: &str, reason: &str, now: i64) -> AttemptRecord {
    AttemptRecord {
        outbox_id: row.outbox_id,
        owner: owner.to_owned(),
        attempt: row.attempts,
        outcome: "skipped".to_owned(),
        detail: Some(reason.to_owned()),
        provider_message_id: None,
        retry_after_ms: None,
        started_at: now,
        finished_at: now,
        deactivate_device: None,
        update: OutboxUpdate::Skipped,
    }
}
