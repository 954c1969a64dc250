//! A histogram recorded with atomic adds alone, rendered as a Prometheus histogram through
//! prometheus-client's encoder.
//!
//! prometheus-client's own `Histogram` takes a mutex on every observation. The request layer
//! observes one histogram per operation from every runtime thread at once, and on a busy machine a
//! thread preempted while holding that mutex makes the others wait (docs/performance.md, "What
//! the metrics cost"). Here an observation is two atomic adds: its bucket's count and the sum.
//!
//! Values are recorded as whole numbers of a small unit (nanoseconds for durations), so that the
//! sum is an integer add too: an `f64` sum would need a compare-and-swap loop, which retries
//! under contention.

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// A value a histogram records, as a whole number of units: the sum is then an integer add.
pub(crate) trait HistogramValue: Copy {
    /// How many recorded units make one of the unit the histogram is exposed in.
    const UNITS_PER_EXPOSED: f64;

    fn units(self) -> u64;
}

/// Durations are recorded in nanoseconds and exposed in seconds. 2^64 ns is 584 years: no
/// request or commit takes that long.
impl HistogramValue for Duration {
    const UNITS_PER_EXPOSED: f64 = 1e9;

    fn units(self) -> u64 {
        u64::try_from(self.as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Numbers of things (rows) are exposed as they are.
impl HistogramValue for u64 {
    const UNITS_PER_EXPOSED: f64 = 1.0;

    fn units(self) -> u64 {
        self
    }
}

/// A Prometheus histogram of `V` whose observations take no lock.
///
/// A scrape reads the buckets and the sum one after the other, without stopping observations:
/// an observation made meanwhile may be in the sum and not yet in its bucket, or the reverse. The
/// count is the buckets' total, so `_count` always equals the `+Inf` bucket; the sum catches up
/// by the next scrape. Prometheus's own Go client is exact there at the cost of more atomic
/// operations per observation; a histogram of latencies does not need it.
pub(crate) struct Histogram<V> {
    /// The finite buckets' upper bounds in recorded units, ascending, each inclusive (`le`).
    bounds: Box<[u64]>,
    /// Observations per bucket (not cumulative), one more than `bounds`: the last is the `+Inf`
    /// bucket's, for values above every bound.
    observations: Box<[AtomicU64]>,
    /// The sum of every observation, in recorded units. It wraps past 2^64 (584 years of
    /// nanoseconds: 19 years of a server answering 30,000 requests a second in 1 ms each).
    sum: AtomicU64,
    value: PhantomData<fn(V)>,
}

impl<V: HistogramValue> Histogram<V> {
    /// A histogram with these bucket bounds (in any order; `+Inf` is always added).
    pub(crate) fn new(bounds: impl IntoIterator<Item = V>) -> Self {
        let mut bounds: Vec<u64> = bounds.into_iter().map(V::units).collect();
        bounds.sort_unstable();
        bounds.dedup();
        let observations = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self { bounds: bounds.into(), observations, sum: AtomicU64::new(0), value: PhantomData }
    }

    /// Record one value.
    pub(crate) fn observe(&self, value: V) {
        let units = value.units();
        // The first bucket whose bound the value does not exceed; past the last bound, `+Inf`.
        let bucket = self.bounds.partition_point(|&bound| bound < units);
        if let Some(observations) = self.observations.get(bucket) {
            observations.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(units, Ordering::Relaxed);
    }

    /// The buckets as prometheus-client's encoder takes them: each bound in the exposed unit
    /// (`+Inf` last) with its own observations, not cumulative; then the count and the sum.
    fn snapshot(&self) -> Snapshot {
        let exposed_bounds =
            self.bounds.iter().map(|&bound| bound as f64 / V::UNITS_PER_EXPOSED).chain([f64::INFINITY]);
        let buckets: Vec<(f64, u64)> = exposed_bounds
            .zip(self.observations.iter().map(|observations| observations.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|&(_, observations)| observations).sum();
        let sum = self.sum.load(Ordering::Relaxed) as f64 / V::UNITS_PER_EXPOSED;
        Snapshot { buckets, count, sum }
    }
}

struct Snapshot {
    buckets: Vec<(f64, u64)>,
    count: u64,
    sum: f64,
}

impl<V: HistogramValue> EncodeMetric for Histogram<V> {
    fn encode(&self, mut encoder: MetricEncoder) -> fmt::Result {
        let Snapshot { buckets, count, sum } = self.snapshot();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

impl<V> fmt::Debug for Histogram<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram").field("bounds", &self.bounds).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prometheus_client::registry::{Registry, Unit};

    use super::*;

    /// The histogram's text as `GET /_momo/metrics` renders it, `# EOF` left out.
    fn rendered<V: HistogramValue + 'static>(histogram: Histogram<V>, unit: Option<Unit>) -> String {
        let mut registry = Registry::with_prefix("momo");
        match unit {
            Some(unit) => registry.register_with_unit("took", "How long", unit, histogram),
            None => registry.register("took", "How long", histogram),
        }
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn a_value_on_a_bound_is_in_that_bound_s_bucket_and_one_above_in_the_next() {
        let rows = Histogram::<u64>::new([1, 2, 4]);
        for value in [0, 1, 2, 3, 4, 5, 1_000] {
            rows.observe(value);
        }
        let per_bucket: Vec<(f64, u64)> = rows.snapshot().buckets;
        // `le` is inclusive: 0 and 1 are ≤ 1; 2 ≤ 2; 3 and 4 ≤ 4; 5 and 1,000 only ≤ +Inf.
        assert_eq!(per_bucket, [(1.0, 2), (2.0, 1), (4.0, 2), (f64::INFINITY, 2)]);
    }

    #[test]
    fn the_sum_and_count_are_of_every_observation() {
        let took = Histogram::<Duration>::new([Duration::from_millis(1)]);
        took.observe(Duration::from_micros(250));
        took.observe(Duration::from_millis(3));
        took.observe(Duration::from_nanos(1));
        let snapshot = took.snapshot();
        assert_eq!(snapshot.count, 3);
        assert_eq!(snapshot.sum, 0.003_250_001);
        assert_eq!(snapshot.buckets, [(0.001, 2), (f64::INFINITY, 1)]);
    }

    #[test]
    fn bounds_are_exposed_in_seconds_as_written() {
        // 0.25 ms doubling, as the request latency buckets: the nanosecond bounds divided back
        // are the same f64 as the seconds written in decimal.
        let took = Histogram::<Duration>::new((0..15).map(|i| Duration::from_micros(250) * (1 << i)));
        let bounds: Vec<f64> = took.snapshot().buckets.iter().map(|&(bound, _)| bound).collect();
        let written: Vec<f64> = (0..15).map(|i| 0.000_25 * f64::from(1 << i)).chain([f64::INFINITY]).collect();
        assert_eq!(bounds, written);
    }

    #[test]
    fn observations_from_several_threads_are_all_counted() {
        let rows = Arc::new(Histogram::<u64>::new([10]));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let rows = rows.clone();
                std::thread::spawn(move || (0..10_000).for_each(|i| rows.observe(i % 20)))
            })
            .collect();
        threads.into_iter().for_each(|thread| thread.join().unwrap());
        let snapshot = rows.snapshot();
        assert_eq!(snapshot.count, 40_000);
        assert_eq!(snapshot.buckets, [(10.0, 22_000), (f64::INFINITY, 18_000)]);
        assert_eq!(snapshot.sum, 4.0 * 500.0 * 190.0);
    }

    #[test]
    fn it_is_rendered_in_the_prometheus_text_format_of_a_histogram() {
        let took = Histogram::<Duration>::new([Duration::from_micros(250), Duration::from_millis(1)]);
        took.observe(Duration::from_micros(100));
        took.observe(Duration::from_micros(600));
        took.observe(Duration::from_millis(5));
        // Buckets cumulative, `+Inf` last and equal to the count, then the sum and the count.
        let expected = "\
# HELP momo_took_seconds How long.
# TYPE momo_took_seconds histogram
momo_took_seconds_bucket{le=\"0.00025\"} 1
momo_took_seconds_bucket{le=\"0.001\"} 2
momo_took_seconds_bucket{le=\"+Inf\"} 3
momo_took_seconds_sum 0.0057
momo_took_seconds_count 3
";
        assert_eq!(rendered(took, Some(Unit::Seconds)), expected);
    }

    #[test]
    fn an_empty_histogram_is_rendered_with_zeros() {
        let text = rendered(Histogram::<u64>::new([1, 2]), None);
        let samples: Vec<&str> = text.lines().filter(|line| !line.starts_with('#')).collect();
        let zeros = [r#"_bucket{le="1"} 0"#, r#"_bucket{le="2"} 0"#, r#"_bucket{le="+Inf"} 0"#, "_sum 0.0", "_count 0"];
        assert_eq!(samples, zeros.map(|sample| format!("momo_took{sample}")));
    }
}
