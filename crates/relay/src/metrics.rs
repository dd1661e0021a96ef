//! Counters and gauges, served as Prometheus text on `GET /metrics`.
//!
//! Feed clients: a client is identified by the `client=<name>` query parameter of `/feed`
//! when given, otherwise by its TCP connection (peer address and port). It counts as
//! connected while it has read the feed within the last [`CLIENT_TTL`]. Lag is the latest
//! sequence number minus the smallest cursor (`after`) among connected clients, 0 when no
//! client is connected.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::StoreStats;

/// A feed client not seen for this long is no longer counted as connected (a long-poll
/// waits at most 60 s).
pub const CLIENT_TTL: Duration = Duration::from_secs(90);

/// Why a delivery was refused (the `reason` label of `flexdesk_relay_webhooks_rejected_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// A required `x-fc-*` header is absent.
    MissingSignature,
    /// The signature or content hash does not match, or a header is malformed.
    BadSignature,
    /// `x-fc-date` is not a date.
    BadDate,
    /// `x-fc-date` is outside the replay window.
    StaleDate,
    /// The body is over `max_body_bytes`.
    TooLarge,
    /// The body is not UTF-8 JSON of a webhook payload.
    BadJson,
    /// No `Host` header to verify against (and no `public_host` configured).
    NoHost,
    /// The body could not be read (the client went away mid-body).
    UnreadableBody,
}

impl RejectReason {
    pub const ALL: [RejectReason; 8] = [
        RejectReason::MissingSignature,
        RejectReason::BadSignature,
        RejectReason::BadDate,
        RejectReason::StaleDate,
        RejectReason::TooLarge,
        RejectReason::BadJson,
        RejectReason::NoHost,
        RejectReason::UnreadableBody,
    ];

    pub fn label(self) -> &'static str {
        match self {
            RejectReason::MissingSignature => "missing_signature",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::BadDate => "bad_date",
            RejectReason::StaleDate => "stale_date",
            RejectReason::TooLarge => "too_large",
            RejectReason::BadJson => "bad_json",
            RejectReason::NoHost => "no_host",
            RejectReason::UnreadableBody => "unreadable_body",
        }
    }

    fn index(self) -> usize {
        RejectReason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy)]
struct ClientSeen {
    cursor: i64,
    at: Instant,
}

/// What maintenance did last (for the metrics).
#[derive(Debug, Default)]
pub struct MaintenanceCounters {
    pub runs: AtomicU64,
    pub failures: AtomicU64,
    pub pruned_by_age: AtomicU64,
    pub pruned_by_size: AtomicU64,
    pub last_run_unix: AtomicI64,
}

/// The relay's counters. Handlers update them; `/metrics` and `/healthz` read them.
#[derive(Debug, Default)]
pub struct Metrics {
    pub received: AtomicU64,
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    rejected_by: [AtomicU64; 8],
    pub store_errors: AtomicU64,
    pub feed_reads: AtomicU64,
    pub feed_too_old: AtomicU64,
    pub feed_waiting: AtomicI64,
    pub maintenance: MaintenanceCounters,
    clients: Mutex<HashMap<String, ClientSeen>>,
}

impl Metrics {
    pub fn reject(&self, reason: RejectReason) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        self.rejected_by[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn rejected_for(&self, reason: RejectReason) -> u64 {
        self.rejected_by[reason.index()].load(Ordering::Relaxed)
    }

    /// Records that `client` read the feed from cursor `after`.
    pub fn saw_client(&self, client: String, after: i64) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        clients.retain(|_, c| now.duration_since(c.at) < CLIENT_TTL);
        clients.insert(client, ClientSeen { cursor: after, at: now });
    }

    /// (connected clients, smallest cursor among them).
    pub fn clients(&self) -> (usize, Option<i64>) {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let live: Vec<i64> =
            clients.values().filter(|c| now.duration_since(c.at) < CLIENT_TTL).map(|c| c.cursor).collect();
        (live.len(), live.iter().copied().min())
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, stats: Option<&StoreStats>, latest_seq: i64) -> String {
        let mut out = String::new();
        let c = |v: &AtomicU64| v.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let one = |v: u64| vec![(String::new(), v.to_string())];
        metric(
            "flexdesk_relay_build_info",
            "gauge",
            "The relay's version.",
            &[(format!("{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")), "1".into())],
        );
        metric(
            "flexdesk_relay_webhooks_received_total",
            "counter",
            "Webhook deliveries received (accepted, duplicate or rejected).",
            &one(c(&self.received)),
        );
        metric(
            "flexdesk_relay_webhooks_accepted_total",
            "counter",
            "New events stored and acknowledged.",
            &one(c(&self.accepted)),
        );
        metric(
            "flexdesk_relay_webhooks_duplicate_total",
            "counter",
            "Retries of an already stored event (acknowledged, not stored again).",
            &one(c(&self.duplicates)),
        );
        let by_reason: Vec<(String, String)> = RejectReason::ALL
            .iter()
            .map(|r| (format!("{{reason=\"{}\"}}", r.label()), self.rejected_for(*r).to_string()))
            .collect();
        metric("flexdesk_relay_webhooks_rejected_total", "counter", "Deliveries refused, by reason.", &by_reason);
        metric(
            "flexdesk_relay_webhook_store_errors_total",
            "counter",
            "Verified deliveries answered 503 because storage failed (the sender retries).",
            &one(c(&self.store_errors)),
        );
        metric("flexdesk_relay_feed_reads_total", "counter", "Feed pages served.", &one(c(&self.feed_reads)));
        metric(
            "flexdesk_relay_feed_cursor_too_old_total",
            "counter",
            "Feed requests answered 410 cursor_too_old (the dashboard must backfill).",
            &one(c(&self.feed_too_old)),
        );
        let (clients, min_cursor) = self.clients();
        metric(
            "flexdesk_relay_feed_clients",
            "gauge",
            "Feed clients that read the feed in the last 90 s.",
            &one(clients as u64),
        );
        metric(
            "flexdesk_relay_feed_waiting",
            "gauge",
            "Long-poll feed requests currently held open.",
            &[(String::new(), self.feed_waiting.load(Ordering::Relaxed).max(0).to_string())],
        );
        let lag = min_cursor.map(|m| (latest_seq - m).max(0)).unwrap_or(0);
        metric(
            "flexdesk_relay_feed_lag_events",
            "gauge",
            "Latest sequence number minus the slowest connected client's cursor (0 with no client).",
            &one(lag as u64),
        );
        metric("flexdesk_relay_latest_seq", "gauge", "The last sequence number given out.", &one(latest_seq as u64));
        if let Some(s) = stats {
            metric(
                "flexdesk_relay_storage_bytes",
                "gauge",
                "Size on disk of the database, by file.",
                &[("{file=\"db\"}".into(), s.db_bytes.to_string()), ("{file=\"wal\"}".into(), s.wal_bytes.to_string())],
            );
            metric("flexdesk_relay_retained_events", "gauge", "Events kept for the feed.", &one(s.retained_events));
            metric(
                "flexdesk_relay_oldest_retained_seq",
                "gauge",
                "The oldest sequence number still served (latest + 1 when none is kept).",
                &one(s.oldest_seq.max(0) as u64),
            );
            metric("flexdesk_relay_dedupe_keys", "gauge", "Dedupe ids kept.", &one(s.dedupe_keys));
            metric(
                "flexdesk_relay_rejected_kept",
                "gauge",
                "Refused deliveries kept for inspection.",
                &one(s.rejected_kept),
            );
        }
        let m = &self.maintenance;
        metric("flexdesk_relay_maintenance_runs_total", "counter", "Maintenance runs.", &one(c(&m.runs)));
        metric(
            "flexdesk_relay_maintenance_failures_total",
            "counter",
            "Maintenance runs that failed.",
            &one(c(&m.failures)),
        );
        metric(
            "flexdesk_relay_pruned_events_total",
            "counter",
            "Events dropped by retention, by cause.",
            &[
                ("{cause=\"age\"}".into(), c(&m.pruned_by_age).to_string()),
                ("{cause=\"size\"}".into(), c(&m.pruned_by_size).to_string()),
            ],
        );
        metric(
            "flexdesk_relay_last_maintenance_timestamp_seconds",
            "gauge",
            "Unix time of the last successful maintenance run (0: none yet).",
            &[(String::new(), m.last_run_unix.load(Ordering::Relaxed).to_string())],
        );
        out
    }
}
