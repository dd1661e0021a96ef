//! The Webhooks screen's data, webhook replay, orders CSV export and saved views.

use chrono::{DateTime, Local, Utc};
use flexdesk_mirror::{OrderEvent, OrderFilter};
use flexfactor_wire::{minor_unit_digits as digits, Cents};

use crate::action_dto::{DriftDto, ExportResult, RejectedWebhookDto, SavedViewDto, WebhookEventDto, WebhookLog};
use crate::dto::OrderQuery;
use crate::workflows::csv_cell;
use crate::{AppCore, CoreError};

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Merges two newest-first lists into one of at most `limit`, by `at` (RFC 3339 in UTC sorts
/// as text), keeping each list's own order.
fn merge_newest_first(
    a: Vec<WebhookEventDto>,
    b: impl IntoIterator<Item = WebhookEventDto>,
    limit: usize,
) -> Vec<WebhookEventDto> {
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    let mut merged = Vec::new();
    while merged.len() < limit {
        let take_b = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => y.at > x.at,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        match if take_b { b.next() } else { a.next() } {
            Some(e) => merged.push(e),
            None => break,
        }
    }
    merged
}

impl AppCore {
    /// Webhooks received (verified), deliveries the relay refused, and the drift list.
    pub async fn webhook_log(&self, limit: u32) -> Result<WebhookLog, CoreError> {
        let account = self.active_account_id()?;
        let limit = u64::from(limit.clamp(1, 1000));
        let (events, drift, unreadable) = self.with_reader(|r| {
            let received = r
                .recent_webhooks(&account, limit)?
                .into_iter()
                .map(|w| WebhookEventDto {
                    id: w.id,
                    order_session_key: Some(w.order_session_key),
                    replayable: true,
                    at: rfc(w.at),
                    event: w.kind.trim_start_matches("webhook:").to_string(),
                    summary: w.summary,
                    payload: w.payload,
                    signature: "verified".into(),
                })
                .collect::<Vec<_>>();
            // Webhooks without an order (payouts) go in between, by time; each list keeps
            // its own order (order webhooks as received, newest first).
            let payouts = r.recent_account_webhooks(&account, limit)?.into_iter().map(|w| WebhookEventDto {
                id: -w.id,
                order_session_key: None,
                replayable: false,
                at: rfc(w.received_at),
                summary: format!("{}: no order", w.event),
                event: w.event,
                payload: Some(w.payload),
                signature: "verified".into(),
            });
            let events = merge_newest_first(received, payouts, limit as usize);
            let drift = r
                .drift(&account)?
                .into_iter()
                .map(|d| DriftDto {
                    order_session_key: d.order_session_key,
                    kind: d.kind,
                    detected_at: rfc(d.detected_at),
                    detail: d.detail,
                })
                .collect::<Vec<_>>();
            // Accepted by the relay (signed by FlexFactor), but this FlexDesk could not read
            // them: listed with the refused deliveries, newest first, with what went wrong.
            let unreadable = r
                .unreadable_events(&account, limit)?
                .into_iter()
                .map(|u| RejectedWebhookDto {
                    received_at: rfc(u.received_at),
                    status: 200,
                    reason: match &u.order_session_key {
                        Some(order) => format!(
                            "accepted by the relay (feed event {}), but this FlexDesk could not read it: {}. It was \
                             skipped and kept here; its order {order} was queued to be re-read from FlexFactor",
                            u.seq, u.error
                        ),
                        None => format!(
                            "accepted by the relay (feed event {}), but this FlexDesk could not read it: {}. It was \
                             skipped and kept here; it names no order",
                            u.seq, u.error
                        ),
                    },
                    body: u.body,
                })
                .collect::<Vec<_>>();
            Ok((events, drift, unreadable))
        })?;
        let (rejected, relay_error) = match self.feed_config().await {
            None => (Vec::new(), Some("No webhook relay is configured for this account.".to_string())),
            Some((url, token)) => match flexdesk_sync::FeedClient::new(&url, &token)?.rejected(limit as usize).await {
                Ok(list) => (
                    list.into_iter()
                        .map(|d| RejectedWebhookDto {
                            received_at: rfc(d.received_at),
                            status: d.status,
                            reason: d.reason,
                            body: d.body,
                        })
                        .collect(),
                    None,
                ),
                Err(e) => (Vec::new(), Some(e.to_string())),
            },
        };
        let mut rejected: Vec<RejectedWebhookDto> = unreadable.into_iter().chain(rejected).collect();
        // Newest first across both lists (RFC 3339 in UTC sorts as text).
        rejected.sort_by(|a, b| b.received_at.cmp(&a.received_at));
        rejected.truncate(limit as usize);
        Ok(WebhookLog { events, rejected, drift, relay_error })
    }

    /// Applies a stored webhook again (a no-op for the ledger if it was applied) and
    /// re-reads its order from FlexFactor; the replay is recorded in the timeline.
    pub async fn replay_webhook(&self, id: i64) -> Result<(), CoreError> {
        let (account, client) = self.session_parts().await?;
        let mut m = self.writer()?;
        let record = m
            .webhook_record(&account, id)?
            .ok_or_else(|| CoreError::InvalidInput(format!("There is no stored webhook {id}.")))?;
        if let Some(body) = &record.payload {
            flexdesk_sync::apply_webhook(&mut m, &account, body, record.at, None)?;
        }
        let order = client.get_order(&record.order_session_key).await?;
        m.apply_orders(&account, std::slice::from_ref(&order), None)?;
        m.apply_event(
            &account,
            &OrderEvent {
                event_key: format!("action:replay:{id}:{}", Utc::now().timestamp_micros()),
                order_session_key: record.order_session_key.clone(),
                at: Utc::now(),
                kind: "action:replay".into(),
                summary: format!("{} replayed by {} and the order re-read", record.kind, self.operator()),
                payload: None,
                state_hint: None,
            },
            None,
        )?;
        self.changed();
        Ok(())
    }

    /// Writes exactly the filtered orders to a CSV file: times in the local time zone,
    /// amounts in major units with their currency. Reports progress through the status.
    pub fn export_orders_csv(&self, query: &OrderQuery, path: &std::path::Path) -> Result<ExportResult, CoreError> {
        let account = self.active_account_id()?;
        let query = OrderQuery { offset: 0, limit: 1000, ..query.clone() };
        let (base, total) = self.with_reader(|r| {
            let base: OrderFilter = crate::core::order_filter(&query, r, &account)?;
            let total = r.count_orders(&account, &base)?;
            Ok((base, total))
        })?;
        let mut out = String::from(
            "FlexFactor order id,Merchant order id,Created (local),Placed (local),State,Type,Amount,Captured,Refunded,Currency,\
             Customer,Email,Card,Decline code,Site\n",
        );
        let local =
            |t: Option<DateTime<Utc>>| t.map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S %:z").to_string());
        let mut written = 0u64;
        let mut after: Option<flexdesk_mirror::OrderCursor> = None;
        self.set_job(Some(("export", 0, total)));
        loop {
            // Page by keyset cursor: each page is an index range scan, however deep.
            let window = OrderFilter { offset: 0, limit: 1000, after: after.clone(), ..base.clone() };
            let rows = self.with_reader(|r| Ok(r.order_window(&account, &window)?))?;
            if rows.is_empty() {
                break;
            }
            for o in &rows {
                let cells = [
                    o.order_session_key.clone(),
                    o.merchant_order_id.clone().unwrap_or_default(),
                    local(o.created_at).unwrap_or_default(),
                    local(o.placed_at).unwrap_or_default(),
                    o.state.as_str().to_string(),
                    if o.is_mit { "MIT" } else { "CIT" }.to_string(),
                    Cents(o.amount_cents).to_major_units_in(digits(&o.currency)),
                    Cents(o.captured_cents).to_major_units_in(digits(&o.currency)),
                    Cents(o.refunded_cents).to_major_units_in(digits(&o.currency)),
                    o.currency.clone(),
                    o.customer_name.clone().unwrap_or_default(),
                    o.email.clone().unwrap_or_default(),
                    o.card_last4.as_deref().map(|l| format!("•••• {l}")).unwrap_or_default(),
                    o.decline_code.clone().unwrap_or_default(),
                    o.site_id.clone().unwrap_or_default(),
                ];
                out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
            written += rows.len() as u64;
            after = rows.last().map(|o| flexdesk_mirror::OrderCursor::after(base.sort, o));
            self.set_job(Some(("export", written, total)));
        }
        self.set_job(None);
        std::fs::write(path, out).map_err(|e| {
            CoreError::InvalidInput(format!("Cannot write {}: {e}. Choose another folder.", path.display()))
        })?;
        let mut w = self.writer()?;
        w.append_audit(&flexdesk_mirror::AuditDraft {
            account_id: Some(account),
            operator: self.operator(),
            action: "export".into(),
            target: Some(path.display().to_string()),
            detail: format!("orders CSV, {written} rows"),
        })?;
        Ok(ExportResult { path: path.display().to_string(), rows: written })
    }

    pub fn save_view(&self, name: &str, query: &OrderQuery, columns: &[String]) -> Result<SavedViewDto, CoreError> {
        if name.trim().is_empty() {
            return Err(CoreError::InvalidInput("A view needs a name.".into()));
        }
        let account = self.active_account_id()?;
        let view_query = OrderQuery { offset: 0, limit: 0, after: None, ..query.clone() };
        let query_json = serde_json::to_string(&view_query).map_err(|e| CoreError::Internal(e.to_string()))?;
        let columns_json = serde_json::to_string(columns).map_err(|e| CoreError::Internal(e.to_string()))?;
        let id = self.with_reader(|r| Ok(r.save_view(&account, name.trim(), &query_json, &columns_json)?))?;
        Ok(SavedViewDto { id, name: name.trim().to_string(), query: view_query, columns: columns.to_vec() })
    }

    pub fn list_views(&self) -> Result<Vec<SavedViewDto>, CoreError> {
        let account = self.active_account_id()?;
        self.with_reader(|r| {
            Ok(r.views(&account)?
                .into_iter()
                .filter_map(|v| {
                    Some(SavedViewDto {
                        id: v.id,
                        name: v.name,
                        query: serde_json::from_str(&v.query_json).ok()?,
                        columns: serde_json::from_str(&v.columns_json).unwrap_or_default(),
                    })
                })
                .collect())
        })
    }

    pub fn delete_view(&self, id: i64) -> Result<(), CoreError> {
        let account = self.active_account_id()?;
        self.with_reader(|r| Ok(r.delete_view(&account, id)?))
    }
}

/// Where an export goes when the user did not pick a file: the Downloads folder, else the
/// data directory's `exports/`.
fn default_export_path(core: &AppCore, stem: &str) -> std::path::PathBuf {
    let dir = std::env::var_os("FLEXDESK_EXPORT_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join("Downloads")).filter(|d| d.is_dir())
        })
        .unwrap_or_else(|| core.data_dir().join("exports"));
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{stem}-{}.csv", Local::now().format("%Y%m%d-%H%M%S")))
}

impl AppCore {
    /// [`AppCore::export_orders_csv`] to `path`, or to a dated file in the Downloads folder.
    pub fn export_orders_csv_to(&self, query: &OrderQuery, path: Option<&str>) -> Result<ExportResult, CoreError> {
        let path = path.filter(|p| !p.trim().is_empty()).map(std::path::PathBuf::from);
        let path = path.unwrap_or_else(|| default_export_path(self, "flexdesk-orders"));
        self.export_orders_csv(query, &path)
    }

    /// [`AppCore::export_audit_csv`] to `path`, or to a dated file in the Downloads folder.
    pub fn export_audit_csv_to(&self, path: Option<&str>) -> Result<ExportResult, CoreError> {
        let path = path.filter(|p| !p.trim().is_empty()).map(std::path::PathBuf::from);
        let path = path.unwrap_or_else(|| default_export_path(self, "flexdesk-audit"));
        let rows = self.export_audit_csv(&path)?;
        Ok(ExportResult { path: path.display().to_string(), rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, at: &str) -> WebhookEventDto {
        WebhookEventDto {
            id,
            order_session_key: None,
            replayable: id > 0,
            at: format!("2026-12-07T10:00:{at}Z"),
            event: "e".into(),
            summary: String::new(),
            payload: None,
            signature: "verified".into(),
        }
    }

    #[test]
    fn payouts_go_in_between_by_time_and_order_webhooks_keep_the_order_they_were_received_in() {
        // Newest received first; the second carries an old timestamp (a late resend).
        let received = vec![event(3, "09"), event(2, "01"), event(1, "05")];
        let payouts = vec![event(-1, "03")];
        let ids = |v: Vec<WebhookEventDto>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(ids(merge_newest_first(received.clone(), payouts.clone(), 10)), [3, -1, 2, 1]);
        assert_eq!(ids(merge_newest_first(received.clone(), payouts, 2)), [3, -1]);
        assert_eq!(ids(merge_newest_first(received, Vec::new(), 10)), [3, 2, 1]);
    }
}
