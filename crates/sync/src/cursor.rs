//! The backfill/catch-up cursor, stored as JSON in the mirror's `sync_cursors`.

use chrono::{DateTime, Utc};
use flexdesk_mirror::Mirror;
use serde::{Deserialize, Serialize};

/// The cursor's name in `sync_cursors`.
pub const CURSOR_NAME: &str = "orders";
/// Set when the relay no longer holds events this mirror never saw (its feed cursor fell
/// behind retention, or the relay's store was reset): the next sync lists every order again,
/// and removes it when done. The
/// value says when and why, so that a request made during a run outlives that run.
pub const RESYNC_CURSOR: &str = "full_resync_requested";

/// The non-final orders whose last re-read was refused for that order alone (a 403, a body
/// FlexDesk cannot read), as a JSON array of order keys: the next re-check reads them after
/// every other order, and their refusals alone never stop a run (see `sync_account`). The
/// status bar counts them.
pub const RECHECK_REFUSED_CURSOR: &str = "recheck_refused";

/// When the mirror's non-final orders flagged as unknown to the API ([`crate::UNKNOWN_ORDER`],
/// a 404 to the re-check's read) were last read again (RFC 3339). They are left out of the
/// re-check in between, so that orders the API truly does not know cost a request only every
/// [`crate::UNKNOWN_RECHECK_EVERY`]; one the API answered 404 for by a passing fault is found
/// again then. (A webhook's order the mirror does not have is re-read by the refresh queue.)
pub const UNKNOWN_RECHECKED_CURSOR: &str = "unknown_rechecked_at";

/// The orders whose last re-read was refused ([`RECHECK_REFUSED_CURSOR`]); an unreadable
/// value counts as none (they are then re-read like any other order).
pub fn refused_orders(mirror: &Mirror, account_id: &str) -> Result<Vec<String>, flexdesk_mirror::MirrorError> {
    Ok(mirror
        .cursor(account_id, RECHECK_REFUSED_CURSOR)?
        .and_then(|s| serde_json::from_str::<Vec<String>>(&s).ok())
        .unwrap_or_default())
}

/// Stores the orders refused in this re-check (none removes the cursor).
pub(crate) fn store_refused_orders(
    mirror: &mut Mirror,
    account_id: &str,
    keys: &[String],
) -> Result<(), flexdesk_mirror::MirrorError> {
    match mirror.cursor(account_id, RECHECK_REFUSED_CURSOR)? {
        Some(old) if keys.is_empty() => mirror.update_cursors(account_id, &[], &[(RECHECK_REFUSED_CURSOR, &old)]),
        None if keys.is_empty() => Ok(()),
        _ => {
            let value = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
            mirror.set_cursor(account_id, RECHECK_REFUSED_CURSOR, &value)
        }
    }
}

/// How far the orders sync got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillCursor {
    /// True once the first full backfill reached the last page.
    pub complete: bool,
    /// Backfill only: the next 1-based page to fetch.
    pub next_page: u32,
    /// The newest `createdOn` applied so far.
    pub watermark: Option<DateTime<Utc>>,
    /// When the last successful run finished.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The full re-listing request ([`RESYNC_CURSOR`]'s value) this backfill pass serves,
    /// set when the pass starts at page 1 for it. A request the pass does not serve (made
    /// after it began, then overwritten by the pass's next page before a crash) restarts
    /// the listing at page 1, so no page listed before the request counts for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serves: Option<String>,
}

impl BackfillCursor {
    /// Reads a stored cursor; an unreadable one restarts the backfill (safe: applies are
    /// idempotent) rather than failing the sync.
    pub fn parse(stored: Option<&str>) -> BackfillCursor {
        stored
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or(BackfillCursor { next_page: 1, ..Default::default() })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Asks the next sync to list every order again from page 1 (a full backfill; applies are
/// idempotent, so only what changed is written), and moves the feed cursor to
/// `feed_cursor`, all in one transaction: a crash leaves either the old state or both.
pub fn request_full_resync(
    mirror: &mut Mirror,
    account_id: &str,
    feed_cursor: Option<(&str, &str)>,
    reason: &str,
) -> Result<(), crate::SyncError> {
    let mut cursor = BackfillCursor::parse(mirror.cursor(account_id, CURSOR_NAME)?.as_deref());
    cursor.complete = false;
    cursor.next_page = 1;
    let request = format!("{} {reason}", Utc::now().to_rfc3339());
    let cursor = cursor.to_json();
    let mut set = vec![(CURSOR_NAME, cursor.as_str()), (RESYNC_CURSOR, request.as_str())];
    set.extend(feed_cursor);
    mirror.update_cursors(account_id, &set, &[])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_garbled_cursor_restarts_at_page_one() {
        assert_eq!(BackfillCursor::parse(None).next_page, 1);
        assert_eq!(BackfillCursor::parse(Some("{not json")).next_page, 1);
        let c = BackfillCursor {
            complete: true,
            next_page: 9,
            watermark: Some(Utc::now()),
            last_sync_at: None,
            serves: Some("2026-12-07T19:00:00Z relay".into()),
        };
        assert_eq!(BackfillCursor::parse(Some(&c.to_json())), c);
    }
}
