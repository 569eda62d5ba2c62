//! Channel wrappers for the dispatch tests: one counts the sends that
//! leave per address (what a provider may have received, even when the
//! answer never comes back), the other holds the sends to chosen
//! addresses until the test opens it, and says when one is held.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use herald::channels::{Address, Channel, OutboundMessage, Outcome};
use tokio::sync::{mpsc, watch};

/// The text an address is keyed by: the token, email or phone number.
pub fn address_key(address: &Address) -> String {
    match address {
        Address::Device { token, .. } => token.clone(),
        Address::Email(to) | Address::Phone(to) => to.clone(),
        Address::Webhook => "webhook".to_owned(),
    }
}

/// Counts every send that leaves, by address, then sends it.
pub struct Counting {
    /// The adapter sent through.
    inner: Arc<dyn Channel>,
    /// Sends per address.
    sends: Mutex<HashMap<String, usize>>,
}

impl Counting {
    /// A counter around `inner`.
    pub fn new(inner: Arc<dyn Channel>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            sends: Mutex::new(HashMap::new()),
        })
    }

    /// Sends per address so far.
    pub fn sends(&self) -> HashMap<String, usize> {
        self.sends.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Channel for Counting {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn send(&self, message: &OutboundMessage) -> Outcome {
        *(self.sends.lock().unwrap())
            .entry(address_key(&message.address))
            .or_default() += 1;
        self.inner.send(message).await
    }
}

/// Holds sends to some addresses until opened; the others pass.
pub struct Gate {
    /// The adapter sent through.
    inner: Arc<dyn Channel>,
    /// The addresses held.
    held: HashSet<String>,
    /// Says which address was just held.
    entered: mpsc::UnboundedSender<String>,
    /// Turns true when the gate opens.
    open: watch::Receiver<bool>,
}

/// The test's side of a [`Gate`].
pub struct GateControl {
    /// The addresses held, as they arrive.
    pub entered: mpsc::UnboundedReceiver<String>,
    /// Open with `send(true)`.
    pub open: watch::Sender<bool>,
}

impl Gate {
    /// A gate around `inner` holding sends to `held`.
    pub fn new(inner: Arc<dyn Channel>, held: &[&str]) -> (Arc<Self>, GateControl) {
        let (entered, entered_rx) = mpsc::unbounded_channel();
        let (open_tx, open) = watch::channel(false);
        let gate = Self {
            inner,
            held: held.iter().map(|h| h.to_string()).collect(),
            entered,
            open,
        };
        let control = GateControl {
            entered: entered_rx,
            open: open_tx,
        };
        (Arc::new(gate), control)
    }
}

#[async_trait::async_trait]
impl Channel for Gate {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn send(&self, message: &OutboundMessage) -> Outcome {
        let key = address_key(&message.address);
        if self.held.contains(&key) {
            let _ = self.entered.send(key);
            let mut open = self.open.clone();
            let _ = open.wait_for(|open| *open).await;
        }
        self.inner.send(message).await
    }
}
