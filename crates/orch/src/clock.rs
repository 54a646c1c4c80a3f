//! The clock the services read. Tests use [`ManualClock`] to move time without sleeping.
//!
//! Every clock reads in whole milliseconds, what the stores keep: a time a command prints
//! (`pick --json`, `heartbeat --json`) is the time `show` prints later, to the digit.

use jiff::{SignedDuration, Timestamp};
use std::sync::Mutex;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        millis(Timestamp::now())
    }
}

/// `t` in whole milliseconds, as the stores keep it (`Timestamp::as_millisecond`).
pub fn millis(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).expect("a timestamp's own milliseconds are in range")
}

/// A clock that moves only when told to.
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }

    pub fn set(&self, at: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        millis(*self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_read_whole_milliseconds() {
        let t: Timestamp = "2026-03-01T00:00:00.123456789Z".parse().unwrap();
        assert_eq!(ManualClock::new(t).now().to_string(), "2026-03-01T00:00:00.123Z");
        assert_eq!(SystemClock.now().subsec_nanosecond() % 1_000_000, 0);
    }
}
