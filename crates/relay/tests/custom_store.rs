#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! The relay serves from any `EventStore`, not only SQLite: here a minimal in-memory store
//! (what a PostgreSQL backend would implement) behind the real HTTP relay.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use flexdesk_relay::{
    Appended, EventStore, FeedPage, IncomingEvent, MaintenancePlan, MaintenanceReport, RejectedDelivery, Relay,
    RelayConfig, RelayError, StoreStats, StoredEvent,
};
use flexfactor_wire::webhook::{format_date, sign};

const KEY: &[u8] = b"custom-store-subscriber-key-0123456789abcdef0123456789abcdef";
const TOKEN: &str = "custom-store-feed-token";

#[derive(Default)]
struct MemoryStore {
    events: Mutex<Vec<(String, StoredEvent)>>,
    rejected: Mutex<Vec<RejectedDelivery>>,
    made: chrono::DateTime<Utc>,
}

impl EventStore for MemoryStore {
    fn append(&self, e: &IncomingEvent) -> Result<Appended, RelayError> {
        let mut events = self.events.lock().unwrap();
        if let Some((_, found)) = events.iter().find(|(key, _)| key == &e.dedupe_key) {
            return Ok(Appended { seq: found.seq, duplicate: true });
        }
        let seq = events.len() as i64 + 1;
        events.push((
            e.dedupe_key.clone(),
            StoredEvent {
                seq,
                event: e.event.clone(),
                order_id: e.order_id.clone(),
                external_order_id: e.external_order_id.clone(),
                confirmation_id: e.confirmation_id.clone(),
                received_at: e.received_at,
                body: e.body.clone(),
            },
        ));
        Ok(Appended { seq, duplicate: false })
    }

    fn read_after(&self, after: i64, limit: usize) -> Result<FeedPage, RelayError> {
        let events = self.events.lock().unwrap();
        let page: Vec<StoredEvent> =
            events.iter().map(|(_, e)| e.clone()).filter(|e| e.seq > after).take(limit).collect();
        let latest = events.len() as i64;
        Ok(FeedPage {
            next_after: page.last().map(|e| e.seq).unwrap_or(after.max(0)),
            events: page,
            oldest_seq: 1,
            latest_seq: latest,
        })
    }

    fn latest_seq(&self) -> Result<i64, RelayError> {
        Ok(self.events.lock().unwrap().len() as i64)
    }

    fn store_id(&self) -> Result<String, RelayError> {
        // Its events live as long as this value: one id per store made.
        Ok(format!("memory-{:p}-{}", self, self.made.timestamp_nanos_opt().unwrap_or_default()))
    }

    fn reject(&self, rejected: &RejectedDelivery, keep: u64) -> Result<(), RelayError> {
        let mut kept = self.rejected.lock().unwrap();
        kept.push(rejected.clone());
        let over = kept.len().saturating_sub(keep as usize);
        kept.drain(..over);
        Ok(())
    }

    fn rejected(&self, limit: usize) -> Result<Vec<RejectedDelivery>, RelayError> {
        Ok(self.rejected.lock().unwrap().iter().rev().take(limit).cloned().collect())
    }

    fn maintain(&self, _plan: &MaintenancePlan) -> Result<MaintenanceReport, RelayError> {
        Ok(MaintenanceReport::default())
    }

    fn stats(&self) -> Result<StoreStats, RelayError> {
        let latest = self.latest_seq()?;
        Ok(StoreStats { retained_events: latest as u64, oldest_seq: 1, latest_seq: latest, ..Default::default() })
    }

    fn close(&self) -> Result<(), RelayError> {
        Ok(())
    }
}

async fn deliver(r: &Relay, body: &str, key: &[u8]) -> u16 {
    let headers = sign(
        key,
        &r.local_addr().to_string(),
        "0123456789abcdef0123456789abcdef",
        &format_date(Utc::now()),
        body.as_bytes(),
    );
    let mut req = reqwest::Client::new().post(format!("{}/webhooks", r.base_url())).body(body.to_string());
    for (name, value) in headers.pairs() {
        req = req.header(name, value);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_relay_stores_dedupes_serves_and_rejects_through_another_event_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryStore::default());
    let config = RelayConfig::new(dir.path().join("unused.sqlite3"), KEY.to_vec(), TOKEN);
    let r = Relay::start_with_store(config, store.clone()).await.unwrap();
    let body = r#"{"Event":"order.completed","TimeStamp":"2026-11-23T10:00:00.000000Z","OrderId":"o-1","ConfirmationId":"C1","IsTestMode":true,"IsResent":false}"#;
    assert_eq!(deliver(&r, body, KEY).await, 200);
    assert_eq!(deliver(&r, body, KEY).await, 200, "a retry is answered too");
    assert_eq!(deliver(&r, body, b"not the subscriber key").await, 401);

    let page: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/feed?after=0", r.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 1, "stored once: {page}");
    assert_eq!(page["events"][0]["body"], body);
    assert_eq!(store.events.lock().unwrap().len(), 1);
    assert_eq!(store.rejected.lock().unwrap().len(), 1, "the forged delivery was kept for inspection");
    assert!(!dir.path().join("unused.sqlite3").exists(), "no SQLite file was opened");
    r.shutdown().await;
}
