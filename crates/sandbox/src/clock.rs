//! The sandbox's notion of "now". Business logic only ever asks a [`Clock`]; the one
//! place that reads the wall clock is [`VirtualClock`] in running mode.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock, used only at I/O edges (webhook `x-fc-date`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Virtual time: either frozen at a start instant (tests: moves only on
/// [`VirtualClock::advance`]) or the wall clock shifted by everything advanced so far.
#[derive(Debug)]
pub struct VirtualClock {
    frozen_at: Option<DateTime<Utc>>,
    offset: Mutex<chrono::Duration>,
}

impl VirtualClock {
    /// Time stands still at `start` until advanced.
    pub fn frozen(start: DateTime<Utc>) -> VirtualClock {
        VirtualClock { frozen_at: Some(start), offset: Mutex::new(chrono::Duration::zero()) }
    }

    /// Wall time plus the advanced offset.
    pub fn running() -> VirtualClock {
        VirtualClock { frozen_at: None, offset: Mutex::new(chrono::Duration::zero()) }
    }

    /// Moves virtual time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset = offset.checked_add(&by).unwrap_or(*offset);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        let base = self.frozen_at.unwrap_or_else(Utc::now);
        base.checked_add_signed(offset).unwrap_or(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let c = VirtualClock::frozen(start);
        assert_eq!(c.now(), start);
        c.advance(Duration::from_secs(3600));
        assert_eq!(c.now(), start + chrono::Duration::hours(1));
    }
}
