//! The wall clock adapters read, passed in rather than read inside
//! (ARCHITECTURE rule 7): provider tokens expire, TTLs are relative and a
//! Retry-After may be a date, and tests must move time without waiting.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of "now" in Unix seconds. Cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        }))
    }

    /// A clock that always says `unix_seconds`, for snapshots.
    pub fn fixed(unix_seconds: i64) -> Self {
        Self(Arc::new(move || unix_seconds))
    }

    /// A clock driven by a function, for tests that move time.
    pub fn from_fn(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// Now, in seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock(now = {})", self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_is_after_2024_and_fixed_clocks_do_not_move() {
        assert!(Clock::system().now() > 1_700_000_000);
        assert_eq!(Clock::fixed(42).now(), 42);
    }
}
