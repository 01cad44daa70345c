//! A latency histogram with logarithmic buckets: constant memory, cheap to record, mergeable,
//! and precise to within 1/64 (about 1.6 %) of the value at any percentile.
//!
//! Values are microseconds. Values below 64 µs get a bucket each; above that, every power of two
//! is cut into 64 equal sub-buckets (the layout HdrHistogram uses with two significant digits).
//! A percentile is reported as the highest value its bucket can hold, capped by the largest value
//! seen, so a reported p99 is never below the true one.

use std::time::Duration;

/// Linear sub-buckets per power of two, as a power of two.
const SUB_BUCKET_BITS: u32 = 6;
const SUB_BUCKETS: u64 = 1 << SUB_BUCKET_BITS;
/// Largest value recorded exactly; anything longer (over 19 hours) is clamped to it.
const VALUE_MAX_MICROSECONDS: u64 = (1 << 36) - 1;
/// Buckets needed to cover `0..=VALUE_MAX_MICROSECONDS`.
const BUCKETS: usize = bucket_index(VALUE_MAX_MICROSECONDS) + 1;

/// The bucket of `value`.
const fn bucket_index(value: u64) -> usize {
    if value < SUB_BUCKETS {
        return value as usize;
    }
    let exponent = 63 - value.leading_zeros(); // >= SUB_BUCKET_BITS
    let shift = exponent - SUB_BUCKET_BITS;
    let sub_bucket = (value >> shift) - SUB_BUCKETS; // 0..SUB_BUCKETS
    (SUB_BUCKETS + (exponent - SUB_BUCKET_BITS) as u64 * SUB_BUCKETS + sub_bucket) as usize
}

/// The highest value bucket `index` holds.
const fn bucket_high(index: usize) -> u64 {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return index;
    }
    let exponent = (index - SUB_BUCKETS) / SUB_BUCKETS + SUB_BUCKET_BITS as u64;
    let sub_bucket = (index - SUB_BUCKETS) % SUB_BUCKETS;
    let shift = exponent - SUB_BUCKET_BITS as u64;
    ((SUB_BUCKETS + sub_bucket + 1) << shift) - 1
}

/// Latencies, bucketed.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum_microseconds: u128,
    min_microseconds: u64,
    max_microseconds: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum_microseconds: 0,
            min_microseconds: u64::MAX,
            max_microseconds: 0,
        }
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let microseconds = u64::try_from(latency.as_micros())
            .map_or(VALUE_MAX_MICROSECONDS, |value| {
                value.min(VALUE_MAX_MICROSECONDS)
            });
        self.record_microseconds(microseconds);
    }

    /// Records one value in microseconds (clamped to the histogram's range).
    pub fn record_microseconds(&mut self, microseconds: u64) {
        let value = microseconds.min(VALUE_MAX_MICROSECONDS);
        self.counts[bucket_index(value)] += 1;
        self.count += 1;
        self.sum_microseconds += u128::from(value);
        self.min_microseconds = self.min_microseconds.min(value);
        self.max_microseconds = self.max_microseconds.max(value);
    }

    /// Adds everything `other` recorded.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.count += other.count;
        self.sum_microseconds += other.sum_microseconds;
        self.min_microseconds = self.min_microseconds.min(other.min_microseconds);
        self.max_microseconds = self.max_microseconds.max(other.max_microseconds);
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The `fraction` percentile (0.5 for the median, 0.99 for p99): the smallest bucket bound
    /// at or below which at least `fraction` of the values lie, capped by the maximum. Zero when
    /// empty.
    pub fn percentile(&self, fraction: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let fraction = fraction.clamp(0.0, 1.0);
        // The rank of the wanted value, 1-based: at least one value.
        let rank = ((fraction * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (index, bucket) in self.counts.iter().enumerate() {
            seen += bucket;
            if seen >= rank {
                let high = bucket_high(index).min(self.max_microseconds);
                return Duration::from_micros(high.max(self.min_microseconds));
            }
        }
        Duration::from_micros(self.max_microseconds)
    }

    /// The largest value recorded (zero when empty).
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_microseconds)
    }

    /// The smallest value recorded (zero when empty).
    pub fn min(&self) -> Duration {
        if self.count == 0 {
            Duration::ZERO
        } else {
            Duration::from_micros(self.min_microseconds)
        }
    }

    /// The mean (zero when empty).
    pub fn mean(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros((self.sum_microseconds / u128::from(self.count)) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value falls in a bucket whose bounds contain it, buckets are contiguous and ordered,
    /// and a bucket is never wider than 1/64 of the values it holds: checked on every value up to
    /// 2^16 and on powers of two and their neighbours up to the maximum.
    #[test]
    fn buckets_contain_their_values_within_the_precision() {
        let mut values: Vec<u64> = (0..65_536).collect();
        for exponent in 16..36 {
            let power = 1u64 << exponent;
            values.extend([power - 1, power, power + 1, power + power / 3]);
        }
        values.push(VALUE_MAX_MICROSECONDS);
        for value in values {
            let index = bucket_index(value);
            assert!(index < BUCKETS, "{value} is out of range");
            let high = bucket_high(index);
            let low = if index == 0 {
                0
            } else {
                bucket_high(index - 1) + 1
            };
            assert!(
                low <= value && value <= high,
                "{value} not in {low}..={high}"
            );
            assert!(
                (high - low) * SUB_BUCKETS <= value.max(1),
                "bucket {low}..={high} too wide for {value}"
            );
        }
        assert_eq!(bucket_high(BUCKETS - 1), VALUE_MAX_MICROSECONDS);
    }

    /// Percentiles of 1..=10,000 µs are the true values to within the bucket precision and never
    /// below them; the extremes are exact.
    #[test]
    fn percentiles_of_a_uniform_range() {
        let mut histogram = Histogram::new();
        for value in 1..=10_000u64 {
            histogram.record(Duration::from_micros(value));
        }
        assert_eq!(histogram.count(), 10_000);
        for (fraction, expected) in [(0.5, 5_000u64), (0.9, 9_000), (0.99, 9_900), (0.999, 9_990)] {
            let measured = histogram.percentile(fraction).as_micros() as u64;
            assert!(
                measured >= expected && measured <= expected + expected / 64,
                "p{fraction}: {measured} µs, expected about {expected}"
            );
        }
        assert_eq!(histogram.percentile(1.0), Duration::from_micros(10_000));
        assert_eq!(histogram.percentile(0.0), Duration::from_micros(1));
        assert_eq!(histogram.max(), Duration::from_micros(10_000));
        assert_eq!(histogram.min(), Duration::from_micros(1));
        assert_eq!(histogram.mean(), Duration::from_micros(5_000));
    }

    /// A tail is seen: 990 fast values and 10 slow ones give a fast median and a slow p99.9, and
    /// p99 sits exactly at the boundary (the 990th value is fast).
    #[test]
    fn a_tail_shows_in_the_high_percentiles() {
        let mut histogram = Histogram::new();
        for _ in 0..990 {
            histogram.record(Duration::from_micros(800));
        }
        for _ in 0..10 {
            histogram.record(Duration::from_millis(40));
        }
        let p50 = histogram.percentile(0.5).as_micros();
        assert!((800..=812).contains(&p50), "p50 {p50}");
        let p99 = histogram.percentile(0.99).as_micros();
        assert!((800..=812).contains(&p99), "p99 {p99}");
        assert_eq!(histogram.percentile(0.995), Duration::from_millis(40));
    }

    /// Merging two histograms gives the histogram of all their values; an empty one reports
    /// zeros.
    #[test]
    fn merge_and_empty() {
        let empty = Histogram::new();
        assert!(empty.is_empty());
        assert_eq!(empty.percentile(0.99), Duration::ZERO);
        assert_eq!(empty.min(), Duration::ZERO);
        assert_eq!(empty.mean(), Duration::ZERO);

        let mut low = Histogram::new();
        let mut high = Histogram::new();
        let mut all = Histogram::new();
        for value in 0..500u64 {
            low.record_microseconds(value * 3);
            high.record_microseconds(100_000 + value * 7);
            all.record_microseconds(value * 3);
            all.record_microseconds(100_000 + value * 7);
        }
        let mut merged = Histogram::new();
        merged.merge(&low);
        merged.merge(&high);
        merged.merge(&empty);
        assert_eq!(merged.count(), all.count());
        for fraction in [0.1, 0.5, 0.75, 0.99] {
            assert_eq!(merged.percentile(fraction), all.percentile(fraction));
        }
        assert_eq!(merged.min(), Duration::ZERO);
        assert_eq!(merged.max(), all.max());
        assert_eq!(merged.mean(), all.mean());
    }

    /// Absurdly long values are clamped, not lost.
    #[test]
    fn long_values_are_clamped() {
        let mut histogram = Histogram::new();
        histogram.record(Duration::from_secs(10 * 86_400));
        assert_eq!(histogram.count(), 1);
        assert_eq!(
            histogram.max(),
            Duration::from_micros(VALUE_MAX_MICROSECONDS)
        );
    }
}
