//! The server's notion of "now", injectable so tests can move time forward (token expiry)
//! without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

/// The system clock, plus an offset that tests may advance.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The real clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that starts at the real time and can be moved forward with [`Clock::advance`].
    pub fn manual() -> Self {
        Self { offset_ms: Some(Arc::new(AtomicI64::new(0))) }
    }

    /// Move a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(offset) = &self.offset_ms {
            let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
            offset.fetch_add(ms, Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        match &self.offset_ms {
            None => now,
            Some(offset) => now + time::Duration::milliseconds(offset.load(Ordering::SeqCst)),
        }
    }

    /// Milliseconds since the Unix epoch, the unit timestamps are stored in.
    pub fn now_ms(&self) -> i64 {
        unix_ms(self.now())
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A stored timestamp as RFC 3339, for the operator API.
pub fn rfc3339(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advances_and_system_clock_does_not() {
        let manual = Clock::manual();
        let before = manual.now_ms();
        manual.advance(Duration::from_secs(3600));
        assert!(manual.now_ms() - before >= 3_600_000);

        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert!(system.now_ms() - OffsetDateTime::now_utc().unix_timestamp() * 1000 < 60_000);
    }

    #[test]
    fn rfc3339_formats_stored_millis() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_500), "1970-01-01T00:00:01.5Z");
    }
}
