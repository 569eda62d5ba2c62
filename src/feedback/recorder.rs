//! Group commit for feedback events. Tracking requests hand their event to
//! one writer task and wait for it to be committed; the writer takes every
//! event waiting (up to [`MAX_BATCH`]) and inserts them in one statement.
//! Each request still answers only after its row is durable, but a burst
//! of clicks costs one commit instead of one each, and SQLite's single
//! writer is never contended by the HTTP handlers (no busy-wait backoff).
//!
//! Events of users the store does not hold are dropped before the insert:
//! an old link of an erased user records nothing (its token still names
//! the user id, which must not come back into the database), and the
//! request is answered as if it had been recorded.

use tokio::sync::{mpsc, oneshot};

use crate::store::{NewFeedback, Store, StoreError};

/// Most events inserted in one commit.
pub const MAX_BATCH: usize = 512;

/// Events that may wait for the writer before senders wait too.
const QUEUE: usize = 4 * MAX_BATCH;

/// An event waiting to be written, with whom to tell.
struct Pending {
    /// The row.
    event: NewFeedback,
    /// Told the outcome (the error as text: store errors do not clone).
    done: oneshot::Sender<Result<(), String>>,
}

/// Hands events to the writer task; cheap to clone. The task ends when
/// the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Recorder {
    /// The writer's queue.
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("event", &self.event)
            .finish()
    }
}

impl Recorder {
    /// Starts the writer on `store` (inside a Tokio runtime).
    pub fn start(store: Store) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(store, rx));
        Self { queue }
    }

    /// Records `event`; returns once it is committed.
    pub async fn record(&self, event: NewFeedback) -> Result<(), StoreError> {
        let (done, outcome) = oneshot::channel();
        let lost = |what: &str| StoreError::Query {
            what: "record feedback",
            source: sea_orm::DbErr::Custom(what.to_owned()),
        };
        self.queue
            .send(Pending { event, done })
            .await
            .map_err(|_| lost("the feedback writer has stopped"))?;
        outcome
            .await
            .map_err(|_| lost("the feedback writer has stopped"))?
            .map_err(|e| lost(&e))
    }
}

/// Writes batches until every [`Recorder`] is gone.
async fn write_loop(store: Store, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (events, waiting): (Vec<NewFeedback>, Vec<_>) =
            batch.drain(..).map(|p| (p.event, p.done)).unzip();
        let outcome = write_known(&store, events).await.map_err(|e| e.to_string());
        for done in waiting {
            let _ = done.send(outcome.clone());
        }
    }
}

/// Inserts the events whose user the store holds; drops the rest.
async fn write_known(store: &Store, mut events: Vec<NewFeedback>) -> Result<(), StoreError> {
    let ids: Vec<&str> = events.iter().map(|e| e.user_id.as_str()).collect();
    let known = store.existing_users(&ids).await?;
    let before = events.len();
    events.retain(|e| known.contains(&e.user_id));
    if events.len() < before {
        tracing::debug!(
            dropped = before - events.len(),
            "feedback of unknown (e.g. erased) users not recorded"
        );
    }
    store.record_feedback_batch(&events).await
}
