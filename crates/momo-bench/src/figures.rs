//! What a measured run is asked for and gives, which driver produced it, and whether momo-bench's
//! own driver could load the baseline as well as wrk (docs/performance.md, "Which driver measured
//! what").

use std::time::Duration;

use serde::Serialize;

/// How hard and how long a driver loads a server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) connections: usize,
    /// Load before the measured run, not measured: connections open, buffers and caches warm.
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// Open loop: requests per second in all (the own driver only; wrk has no open loop).
    pub(crate) rate: Option<f64>,
}

/// A load driver: who sent the requests behind a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Driver {
    /// wrk, one thread: the faster driver, used wherever it can express the scenario.
    #[serde(rename = "wrk")]
    Wrk,
    /// momo-bench's own driver (one task per connection through reqwest): it can pace requests
    /// (`--rate`), poll the transaction it just created, spread a run over several instances
    /// and keep every acknowledged reference id, which wrk cannot.
    #[serde(rename = "momo-bench")]
    Own,
}

impl Driver {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Driver::Wrk => "wrk",
            Driver::Own => "momo-bench",
        }
    }
}

/// What one measured run gave (after its warm-up).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Figures {
    /// Requests answered (for end to end: flows, a create and its poll).
    pub(crate) requests: u64,
    /// Answers with an unexpected status, and requests that got no answer.
    pub(crate) errors: u64,
    /// Sent in all, the warm-up's too, and how many of those failed (the end-to-end scenario
    /// waits for a callback for each success).
    #[serde(skip)]
    pub(crate) sent: u64,
    #[serde(skip)]
    pub(crate) sent_errors: u64,
    pub(crate) requests_per_second: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
}

/// How far below wrk's figure on the baseline the own driver may stay and still count as loading
/// it as well: a smaller gap is within what two runs of one driver differ by on a shared machine.
pub(crate) const DRIVER_TOLERANCE: f64 = 0.10;

/// The own driver's baseline figure beside wrk's, for a scenario the own driver ran.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "wrk", rename_all = "kebab-case")]
pub(crate) enum DriverCheck {
    /// wrk loaded the baseline too, in the same run, with the same connections and duration.
    Measured {
        /// The baseline's requests/s under wrk (closed loop; for end to end, flows/s).
        wrk_baseline_requests_per_second: f64,
        /// What the own driver should reach on the baseline: wrk's figure, or `--rate` when that
        /// is lower (an open loop sends no more than asked).
        expected_requests_per_second: f64,
        /// The own driver's baseline figure over the expected one.
        reached: f64,
    },
    /// wrk is not installed: nothing says whether the own driver or the baseline was the limit.
    NotInstalled,
}

impl DriverCheck {
    /// Compare the own driver's figure on the baseline with wrk's.
    pub(crate) fn measured(own_baseline: f64, wrk_baseline: f64, rate: Option<f64>) -> DriverCheck {
        let expected = rate.map_or(wrk_baseline, |rate| rate.min(wrk_baseline));
        let reached = if expected > 0.0 { own_baseline / expected } else { 1.0 };
        DriverCheck::Measured {
            wrk_baseline_requests_per_second: wrk_baseline,
            expected_requests_per_second: expected,
            reached,
        }
    }

    /// Whether the own driver, not the baseline, set the baseline figure (so the ratio to it
    /// flatters openmomo); `None` when wrk was not there to tell.
    pub(crate) fn driver_bound(&self) -> Option<bool> {
        match self {
            DriverCheck::Measured { reached, .. } => Some(*reached < 1.0 - DRIVER_TOLERANCE),
            DriverCheck::NotInstalled => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DriverCheck;

    #[test]
    fn a_driver_that_reaches_less_than_ninety_percent_of_wrk_is_driver_bound() {
        assert_eq!(DriverCheck::measured(48_000.0, 96_000.0, None).driver_bound(), Some(true));
        assert_eq!(DriverCheck::measured(86_000.0, 96_000.0, None).driver_bound(), Some(true));
        assert_eq!(DriverCheck::measured(87_000.0, 96_000.0, None).driver_bound(), Some(false));
        assert_eq!(DriverCheck::measured(99_000.0, 96_000.0, None).driver_bound(), Some(false));
    }

    #[test]
    fn an_open_loop_is_checked_against_the_rate_it_was_asked_for() {
        // 10,000/s asked and sent: the driver did its job, though wrk reaches far more.
        let paced = DriverCheck::measured(9_990.0, 96_000.0, Some(10_000.0));
        assert_eq!(paced.driver_bound(), Some(false));
        // 80,000/s asked, 48,000/s sent, wrk reaches 96,000/s: the driver fell behind.
        assert_eq!(DriverCheck::measured(48_000.0, 96_000.0, Some(80_000.0)).driver_bound(), Some(true));
        // Asked for more than wrk can send: wrk's figure is the most to expect.
        assert_eq!(DriverCheck::measured(90_000.0, 96_000.0, Some(500_000.0)).driver_bound(), Some(false));
    }

    #[test]
    fn without_wrk_nothing_is_claimed() {
        assert_eq!(DriverCheck::NotInstalled.driver_bound(), None);
    }
}
