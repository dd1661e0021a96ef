//! Capped exponential backoff with jitter, honouring `Retry-After`.

use rand::Rng;
use std::time::Duration;

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 = never retry).
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 4, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based). A server's `Retry-After` wins when
    /// given (capped at `max_delay`); otherwise base × 2^(retry-1), capped, with ±25 % jitter.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_delay);
        }
        let exp = self.base_delay.saturating_mul(1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max_delay);
        let jitter = rand::thread_rng().gen_range(0.75..=1.25);
        capped.mul_f64(jitter).min(self.max_delay)
    }
}

/// Parses `Retry-After` in its delta-seconds form (the HTTP-date form is ignored).
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value.and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_exponentially_and_is_capped() {
        let p =
            RetryPolicy { max_attempts: 10, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        let d1 = p.delay(1, None);
        assert!(d1 >= Duration::from_millis(75) && d1 <= Duration::from_millis(125));
        let d3 = p.delay(3, None);
        assert!(d3 >= Duration::from_millis(300) && d3 <= Duration::from_millis(500));
        assert!(p.delay(30, None) <= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(p.delay(1, Some(Duration::from_secs(999))), p.max_delay);
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
    }
}
