//! Simulated customers for `herald demo`: for every message a run sent,
//! the recipient opens and clicks with the probabilities of the synthetic
//! shop's hidden truth (open propensity at the local hour of a fixed
//! simulated reading time, click
//! propensity times item affinity), through the real signed links over
//! HTTP, and some clickers buy the item. The app reports a push open by
//! requesting the push's signed `open_url`. Everyone targeted also buys now and then on
//! their own, holdout included, so the lift against the holdout measures
//! what the messages added.

use crate::channels::RenderedMessage;
use crate::domain::{EventKind, EventRecord, ItemId, UserId};
use crate::feedback::{LinkKind, Linker};
use crate::ingest::synth::Truth;
use crate::store::{OutboxRow, Store};
use anyhow::Context;
use chrono::Timelike;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// Sent rows read per query.
const PAGE: u64 = 1000;

/// Chance that a click ends in buying the item: a base for anyone who
/// clicked, plus more the better the item matches them.
const BUY_AFTER_CLICK: (f64, f64) = (0.3, 0.5);

/// Chance that a targeted user buys something on their own in a round.
const ORGANIC_BUY: f64 = 0.01;

/// The simulated instant people read their messages at, for their local
/// hour (Tuesday 2026-01-06 18:00 UTC): fixed, not the wall clock, so
/// every round meets the same hours and a seed repeats its figures.
const READ_AT: i64 = 1_767_722_400_000;

/// What the simulated customers did in one round.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Behaviour {
    /// Messages opened.
    pub opens: u64,
    /// Links clicked.
    pub clicks: u64,
    /// Purchases after a click.
    pub purchases: u64,
    /// Purchases on their own.
    pub organic: u64,
}

/// The customers of one demo shop.
pub struct Customers<'a> {
    /// The store.
    pub store: &'a Store,
    /// Reads the signed links.
    pub links: &'a Linker,
    /// The hidden preferences.
    pub truth: &'a Truth,
    /// Item prices, for purchases.
    pub prices: HashMap<String, f64>,
    /// An HTTP client that does not follow redirects.
    pub http: reqwest::Client,
    /// The simulation's randomness.
    pub rng: ChaCha8Rng,
}

impl<'a> Customers<'a> {
    /// Customers of `store` behaving as `truth` says, seeded.
    pub async fn new(
        store: &'a Store,
        links: &'a Linker,
        truth: &'a Truth,
        seed: u64,
    ) -> anyhow::Result<Self> {
        crate::channels::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the simulation's HTTP client")?;
        let ids: Vec<String> = truth.items().map(|i| i.item_id.clone()).collect();
        let prices = store
            .items_by_id(&ids)
            .await?
            .into_iter()
            .filter_map(|(id, item)| item.price.map(|p| (id, p)))
            .collect();
        Ok(Self {
            store,
            links,
            truth,
            prices,
            http,
            rng: ChaCha8Rng::seed_from_u64(seed),
        })
    }

    /// Reacts to every message of `run_id` at `now`; purchases are stamped
    /// a minute later.
    pub async fn react(&mut self, run_id: i64, now: i64) -> anyhow::Result<Behaviour> {
        let mut behaviour = Behaviour::default();
        let mut purchases = Vec::new();
        let mut after = 0;
        loop {
            let rows = self.store.sent_page(run_id, after, PAGE).await?;
            let Some(last) = rows.last() else { break };
            after = last.outbox_id;
            for row in &rows {
                self.react_to(row, now, &mut behaviour, &mut purchases)
                    .await?;
            }
        }
        behaviour.organic = self.buy_on_their_own(run_id, now, &mut purchases).await?;
        self.record_purchases(&purchases).await?;
        Ok(behaviour)
    }

    async fn react_to(
        &mut self,
        row: &OutboxRow,
        now: i64,
        behaviour: &mut Behaviour,
        purchases: &mut Vec<EventRecord>,
    ) -> anyhow::Result<()> {
        let Ok(message) = serde_json::from_str::<RenderedMessage>(&row.payload) else {
            return Ok(());
        };
        let hour = self.local_hour(&row.user_id, READ_AT).await?;
        let p_open = self
            .truth
            .open_probability(&row.user_id, hour)
            .unwrap_or(0.0);
        if !self.rng.random_bool(p_open.clamp(0.0, 1.0)) {
            return Ok(());
        }
        behaviour.opens += 1;
        let clicks = match &message {
            RenderedMessage::Push(push) => {
                if let Some(open) = push.data.get("open_url") {
                    self.get(open).await?;
                }
                push.deep_link.iter().cloned().collect()
            }
            RenderedMessage::Email(email) => {
                if let Some(pixel) = find_links(&email.html, self.links.base(), "/t/o/").first() {
                    self.get(pixel).await?;
                }
                find_links(&email.html, self.links.base(), "/t/c/")
            }
            _ => Vec::new(),
        };
        for url in clicks {
            self.maybe_click(&row.user_id, &url, now, behaviour, purchases)
                .await?;
        }
        Ok(())
    }

    /// Clicks `url` with the truth's probability for its item; may buy.
    async fn maybe_click(
        &mut self,
        user: &str,
        url: &str,
        now: i64,
        behaviour: &mut Behaviour,
        purchases: &mut Vec<EventRecord>,
    ) -> anyhow::Result<()> {
        let token = url.rsplit('/').next().unwrap_or_default();
        let Ok(link) = self.links.key().verify(token, LinkKind::Click) else {
            return Ok(());
        };
        let Some(item) = link.item_id else {
            return Ok(());
        };
        let p_click = self.truth.click_probability(user, &item).unwrap_or(0.0);
        if !self.rng.random_bool(p_click.clamp(0.0, 1.0)) {
            return Ok(());
        }
        self.get(url).await?;
        behaviour.clicks += 1;
        let affinity = self.truth.preference(user, &item).unwrap_or(0.0);
        let p_buy = BUY_AFTER_CLICK.0 + BUY_AFTER_CLICK.1 * affinity;
        if self.rng.random_bool(p_buy.clamp(0.0, 1.0)) {
            behaviour.purchases += 1;
            purchases.push(self.purchase(user, &item, now + 60_000)?);
        }
        Ok(())
    }

    /// Targeted users (holdout too) who buy something they like anyway.
    async fn buy_on_their_own(
        &mut self,
        run_id: i64,
        now: i64,
        purchases: &mut Vec<EventRecord>,
    ) -> anyhow::Result<u64> {
        let mut bought = 0;
        let mut after: Option<String> = None;
        let items: Vec<String> = self.prices.keys().cloned().collect();
        loop {
            let plan = self.store.plan_page(run_id, after.as_deref(), PAGE).await?;
            let Some(last) = plan.last() else { break };
            after = Some(last.user_id.clone());
            for row in &plan {
                if items.is_empty() || !self.rng.random_bool(ORGANIC_BUY) {
                    continue;
                }
                let item = items[self.rng.random_range(0..items.len())].clone();
                purchases.push(self.purchase(&row.user_id, &item, now + 120_000)?);
                bought += 1;
            }
        }
        Ok(bought)
    }

    fn purchase(&self, user: &str, item: &str, ts: i64) -> anyhow::Result<EventRecord> {
        Ok(EventRecord {
            user_id: UserId::parse(user)?,
            item_id: Some(ItemId::parse(item)?),
            event: EventKind::parse("purchase")?,
            ts,
            value: self.prices.get(item).copied(),
        })
    }

    async fn record_purchases(&self, purchases: &[EventRecord]) -> anyhow::Result<()> {
        let txn = self.store.begin_import().await?;
        for chunk in purchases.chunks(1000) {
            txn.insert_events(chunk).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The user's local hour at `now` (UTC when unknown).
    async fn local_hour(&self, user: &str, now: i64) -> anyhow::Result<u32> {
        let zone = self
            .store
            .user(user)
            .await?
            .and_then(|u| u.timezone)
            .and_then(|t| t.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(chrono_tz::UTC);
        let at = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
        Ok(at.with_timezone(&zone).hour())
    }

    async fn get(&self, url: &str) -> anyhow::Result<()> {
        let response = self.http.get(url).send().await?;
        anyhow::ensure!(
            response.status().is_success() || response.status().is_redirection(),
            "{url} answered {}",
            response.status()
        );
        Ok(())
    }
}

/// Every distinct URL in `html` starting with `base` + `path`, in order.
fn find_links(html: &str, base: &str, path: &str) -> Vec<String> {
    let prefix = format!("{base}{path}");
    let mut found: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&prefix) {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c == '"' || c == '\'' || c == '<' || c.is_whitespace())
            .unwrap_or(tail.len());
        let url = tail[..end].to_owned();
        if !found.contains(&url) {
            found.push(url);
        }
        rest = &tail[end..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_once_each_in_order() {
        let html = r#"<a href="http://h/t/c/AA">x</a><img src="http://h/t/o/BB"><a href='http://h/t/c/CC'>y</a><a href="http://h/t/c/AA">"#;
        assert_eq!(
            find_links(html, "http://h", "/t/c/"),
            vec!["http://h/t/c/AA", "http://h/t/c/CC"]
        );
        assert_eq!(
            find_links(html, "http://h", "/t/o/"),
            vec!["http://h/t/o/BB"]
        );
    }
}
