//! Lock-free latency histograms and the counters maze reports: cache hits, misses, evictions, bytes, and the
//! latency of compiling, masking and generating.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two: values are kept to within 1/32 of their size (±3%).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
const BUCKETS: usize = 64 * SUB;

/// A histogram of durations with log-linear buckets (16 per power of two, from 1 ns to centuries), recorded with one
/// atomic add: cheap enough to record every token's mask time from many threads.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_ns: AtomicU64,
    max_ns: AtomicU64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Histogram({})", self.summary())
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

fn bucket_of(ns: u64) -> usize {
    if ns < SUB as u64 {
        return ns as usize;
    }
    let exp = ns.ilog2(); // ≥ SUB_BITS
    let sub = (ns >> (exp - SUB_BITS)) as usize & (SUB - 1);
    (exp - SUB_BITS + 1) as usize * SUB + sub
}

/// The middle of a bucket's range, in nanoseconds.
fn bucket_value(bucket: usize) -> u64 {
    if bucket < SUB {
        return bucket as u64;
    }
    let exp = (bucket / SUB) as u32 + SUB_BITS - 1;
    let sub = (bucket % SUB) as u64;
    let low = (1u64 << exp) | (sub << (exp - SUB_BITS));
    low + (1u64 << (exp - SUB_BITS)) / 2
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
            max_ns: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// Count, mean, p50/p95/p99 and max so far.
    pub fn summary(&self) -> LatencySummary {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        let max = Duration::from_nanos(self.max_ns.load(Ordering::Relaxed));
        let quantile = |q: f64| -> Duration {
            if total == 0 {
                return Duration::ZERO;
            }
            let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
            let mut seen = 0;
            for (i, &c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return Duration::from_nanos(bucket_value(i)).min(max);
                }
            }
            max
        };
        let sum = self.sum_ns.load(Ordering::Relaxed);
        LatencySummary {
            count: total,
            mean: Duration::from_nanos(sum.checked_div(total).unwrap_or(0)),
            p50: quantile(0.50),
            p95: quantile(0.95),
            p99: quantile(0.99),
            max,
        }
    }
}

/// A histogram's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencySummary {
    /// Durations recorded.
    pub count: u64,
    /// Their mean.
    pub mean: Duration,
    /// Median (to within 3%).
    pub p50: Duration,
    /// 95th percentile (to within 3%).
    pub p95: Duration,
    /// 99th percentile (to within 3%).
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
}

impl std::fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "n={} mean={:?} p50={:?} p95={:?} p99={:?} max={:?}",
            self.count, self.mean, self.p50, self.p95, self.p99, self.max
        )
    }
}

/// Latency histograms of the three costs of a constrained generation.
#[derive(Debug, Default)]
pub struct Latencies {
    /// Compiling: braid's compile of a constraint set, and building a checker on a cache miss.
    pub compile: Histogram,
    /// One token's mask (forced tokens, mask and commit), per generated token.
    pub mask: Histogram,
    /// One whole generation (prefill, decode, constraint).
    pub generation: Histogram,
}

/// A snapshot of a [`ConstraintCache`](crate::ConstraintCache)'s counters and latencies.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Lookups that found a compiled constraint.
    pub hits: u64,
    /// Lookups that did not (each one compiled, unless the build failed).
    pub misses: u64,
    /// Entries dropped to stay within the bounds (entries or bytes).
    pub evictions: u64,
    /// Entries dropped because they outlived the TTL (counted as misses too).
    pub expirations: u64,
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now (the cache's estimate of its entries' sizes).
    pub bytes: usize,
    /// Vocabulary indices built (each one a miss of the vocabulary cache).
    pub vocab_builds: u64,
    /// Compile latency.
    pub compile: LatencySummary,
    /// Mask latency per token.
    pub mask: LatencySummary,
    /// Generation latency.
    pub generation: LatencySummary,
}

impl Metrics {
    /// hits / (hits + misses); 0 before the first lookup.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 { 0.0 } else { self.hits as f64 / total as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for ns in (0..100_000u64).chain((1..60).map(|e| 1u64 << e)) {
            let b = bucket_of(ns);
            assert!(b >= last || ns < 100_000, "{ns}");
            if ns < 100_000 {
                last = b;
            }
            let v = bucket_value(b);
            let err = (v as f64 - ns as f64).abs() / (ns.max(1) as f64);
            assert!(err <= 1.0 / 32.0 + 1e-9, "{ns} -> bucket {b} value {v}");
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let h = Histogram::new();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        let s = h.summary();
        assert_eq!(s.count, 100);
        let near = |d: Duration, us: f64| (d.as_secs_f64() * 1e6 - us).abs() / us < 0.04;
        assert!(near(s.p50, 50.0) && near(s.p95, 95.0) && near(s.p99, 99.0), "{s}");
        assert_eq!(s.max, Duration::from_micros(100));
        assert!(near(s.mean, 50.5), "{s}");
        assert_eq!(Histogram::new().summary(), LatencySummary::default());
    }
}
