//! The record of everything the sandbox providers received, for tests and
//! for `herald sandbox` to show: each request's headers, body, recipient,
//! the status answered and the time, plus per-provider request and
//! connection counts. Past `limit` kept requests only the counts grow, so a
//! long benchmark does not fill memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// One request as a sandbox provider received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The provider (`apns`, `fcm`, `fcm-oauth`, ...).
    pub provider: &'static str,
    /// HTTP method (or SMTP command).
    pub method: String,
    /// Request path.
    pub path: String,
    /// Headers, names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received.
    pub body: Vec<u8>,
    /// The recipient (device token, email address, phone number).
    pub address: Option<String>,
    /// The status the sandbox answered with.
    pub status: u16,
    /// When it arrived.
    pub at: SystemTime,
}

impl Received {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Converts HTTP headers for a [`Received`].
pub fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// What the record holds.
#[derive(Default)]
struct Inner {
    /// Requests kept, oldest first.
    kept: Vec<Received>,
    /// How many requests to keep.
    limit: usize,
    /// Requests per provider, kept or not.
    requests: BTreeMap<&'static str, usize>,
    /// Connections accepted per provider.
    connections: BTreeMap<&'static str, usize>,
}

/// A shared record. Cheap to clone.
#[derive(Clone)]
pub struct Record(Arc<Mutex<Inner>>);

impl Record {
    /// A record keeping at most `limit` requests.
    pub fn new(limit: usize) -> Self {
        Self(Arc::new(Mutex::new(Inner {
            limit,
            ..Inner::default()
        })))
    }

    /// Adds a request.
    pub fn push(&self, received: Received) {
        let mut inner = self.lock();
        *inner.requests.entry(received.provider).or_default() += 1;
        if inner.kept.len() < inner.limit {
            inner.kept.push(received);
        }
    }

    /// Counts a connection accepted by `provider`.
    pub fn connection_opened(&self, provider: &'static str) {
        *self.lock().connections.entry(provider).or_default() += 1;
    }

    /// Every kept request, oldest first.
    pub fn all(&self) -> Vec<Received> {
        self.lock().kept.clone()
    }

    /// The kept requests of one provider, oldest first.
    pub fn of(&self, provider: &str) -> Vec<Received> {
        let inner = self.lock();
        inner
            .kept
            .iter()
            .filter(|r| r.provider == provider)
            .cloned()
            .collect()
    }

    /// How many requests `provider` received, kept or not.
    pub fn count(&self, provider: &str) -> usize {
        self.lock().requests.get(provider).copied().unwrap_or(0)
    }

    /// How many connections `provider` accepted.
    pub fn connections(&self, provider: &str) -> usize {
        self.lock().connections.get(provider).copied().unwrap_or(0)
    }

    /// Forgets every request and count.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.kept.clear();
        inner.requests.clear();
        inner.connections.clear();
    }

    /// The record, surviving a panicked holder.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(provider: &'static str) -> Received {
        Received {
            provider,
            method: "POST".into(),
            path: "/".into(),
            headers: vec![("Apns-Topic".into(), "t".into())],
            body: b"{}".to_vec(),
            address: None,
            status: 200,
            at: SystemTime::now(),
        }
    }

    #[test]
    fn past_the_limit_only_the_counts_grow() {
        let record = Record::new(1);
        record.push(received("apns"));
        record.push(received("apns"));
        record.push(received("fcm"));
        assert_eq!(record.all().len(), 1);
        assert_eq!(record.count("apns"), 2);
        assert_eq!(record.count("fcm"), 1);
        assert_eq!(record.of("apns")[0].header("apns-topic"), Some("t"));
    }
}
