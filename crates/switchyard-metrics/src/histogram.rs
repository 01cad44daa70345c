//! A histogram of durations that records with atomics only.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bounds (seconds) of the latency buckets: from 100 µs (a local apply, a cached sync) over
/// the ~10 ms of a Tokyo–Osaka round trip with a remote fsync, up to the 2 s stall bound and a
/// write's 10 s timeout. Everything slower lands in `+Inf`.
pub const LATENCY_BUCKETS_SECONDS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Bucket bounds in nanoseconds, in step with [`LATENCY_BUCKETS_SECONDS`].
const BUCKET_BOUNDS_NANOS: [u64; 16] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Buckets, the last one for everything above the highest bound.
const BUCKET_COUNT: usize = LATENCY_BUCKETS_SECONDS.len() + 1;

#[derive(Debug, Default)]
struct Inner {
    /// Observations per bucket (not cumulative; the exposition adds them up).
    buckets: [AtomicU64; BUCKET_COUNT],
    sum_nanos: AtomicU64,
}

/// A histogram of durations with [`LATENCY_BUCKETS_SECONDS`]. Observing is two relaxed atomic
/// adds, no lock; clones share the counts. The count is the sum of the buckets, so `_count`
/// always equals the `+Inf` bucket even while observations race a scrape.
#[derive(Debug, Clone, Default)]
pub struct DurationHistogram {
    inner: Arc<Inner>,
}

impl DurationHistogram {
    pub fn new() -> DurationHistogram {
        DurationHistogram::default()
    }

    /// Records one duration.
    pub fn observe(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BUCKET_BOUNDS_NANOS
            .iter()
            .position(|bound| nanos <= *bound)
            .unwrap_or(BUCKET_COUNT - 1);
        self.inner.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.inner.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.inner
            .buckets
            .iter()
            .map(|bucket| bucket.load(Ordering::Relaxed))
            .sum()
    }

    /// The sum of every observation.
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.inner.sum_nanos.load(Ordering::Relaxed))
    }
}

impl TypedMetric for DurationHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for DurationHistogram {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        let mut buckets = Vec::with_capacity(BUCKET_COUNT);
        for (index, bucket) in self.inner.buckets.iter().enumerate() {
            let bound = LATENCY_BUCKETS_SECONDS
                .get(index)
                .copied()
                .unwrap_or(f64::INFINITY);
            buckets.push((bound, bucket.load(Ordering::Relaxed)));
        }
        let count = buckets.iter().map(|(_, count)| count).sum();
        encoder.encode_histogram::<NoLabelSet>(self.sum().as_secs_f64(), count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nanosecond bounds are the second bounds, so what is recorded lands where the
    /// exposition says.
    #[test]
    fn bounds_agree() {
        for (seconds, nanos) in LATENCY_BUCKETS_SECONDS.iter().zip(BUCKET_BOUNDS_NANOS) {
            assert_eq!((seconds * 1e9).round() as u64, nanos);
        }
    }

    /// A duration lands in the first bucket whose bound is at least it (bounds inclusive, as
    /// Prometheus' `le` says); one above every bound lands in `+Inf`; count and sum follow.
    #[test]
    fn observations_land_in_their_bucket() {
        let histogram = DurationHistogram::new();
        histogram.observe(Duration::from_micros(100));
        histogram.observe(Duration::from_micros(101));
        histogram.observe(Duration::from_millis(12));
        histogram.observe(Duration::from_secs(11));
        let counts: Vec<u64> = histogram
            .inner
            .buckets
            .iter()
            .map(|bucket| bucket.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts[0], 1, "100 µs is within le=0.0001");
        assert_eq!(counts[1], 1, "101 µs is within le=0.00025");
        assert_eq!(counts[7], 1, "12 ms is within le=0.025");
        assert_eq!(counts[BUCKET_COUNT - 1], 1, "11 s is above every bound");
        assert_eq!(histogram.count(), 4);
        assert_eq!(
            histogram.sum(),
            Duration::from_micros(100 + 101 + 12_000 + 11_000_000)
        );
    }

    /// Clones share their counts, across threads.
    #[test]
    fn clones_share_counts() {
        let histogram = DurationHistogram::new();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let histogram = histogram.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        histogram.observe(Duration::from_millis(1));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(histogram.count(), 4000);
    }
}
