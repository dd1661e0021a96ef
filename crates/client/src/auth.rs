//! The bearer-token cache.

use chrono::{DateTime, Utc};
use std::time::Duration;

/// How long before `expires` a token is renewed.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct CachedToken {
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
}

impl CachedToken {
    /// True while the token may still be used at `now` (with the refresh margin).
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        let margin = chrono::Duration::from_std(REFRESH_MARGIN).unwrap_or_default();
        self.expires_at - margin > now
    }

    /// Builds the cache entry from the API's `expires` (epoch milliseconds).
    pub fn from_expires_ms(access_token: String, expires_ms: i64) -> CachedToken {
        let expires_at = DateTime::<Utc>::from_timestamp_millis(expires_ms).unwrap_or_default();
        CachedToken { access_token, expires_at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_renewed_thirty_seconds_before_expiry() {
        let now = Utc::now();
        let t = CachedToken::from_expires_ms("t".into(), (now + chrono::Duration::seconds(60)).timestamp_millis());
        assert!(t.is_fresh(now));
        assert!(!t.is_fresh(now + chrono::Duration::seconds(31)));
    }
}
