//! Per-participant rate limits: one token bucket per party, refilled continuously.
//!
//! A request that finds its party's bucket empty is refused with `RESOURCE_EXHAUSTED` and the
//! time until a token is available, before any work is done. Buckets live per node: a party
//! spreading its calls over five nodes gets at most five times its limit, which is what the
//! limit protects (each node's capacity).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use switchyard_domain::PartyId;

use crate::config::{ApiConfig, RateLimit};

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// The buckets of every party seen on this node.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<PartyId, Bucket>>,
}

impl RateLimiter {
    /// Takes one token of `party`'s bucket, or says how long until one is available.
    pub(crate) fn acquire(
        &self,
        config: &ApiConfig,
        party: &PartyId,
        now: Instant,
    ) -> Result<(), Duration> {
        let limit = config.limit_for(party);
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let bucket = buckets.entry(party.clone()).or_insert(Bucket {
            tokens: limit.burst,
            refilled: now,
        });
        take(bucket, limit, now)
    }
}

fn take(bucket: &mut Bucket, limit: RateLimit, now: Instant) -> Result<(), Duration> {
    let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * limit.per_second).min(limit.burst);
    bucket.refilled = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        Ok(())
    } else if limit.per_second <= 0.0 {
        Err(Duration::from_secs(3600))
    } else {
        Err(Duration::from_secs_f64(
            (1.0 - bucket.tokens) / limit.per_second,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn config(per_second: f64, burst: f64) -> ApiConfig {
        let mut config = ApiConfig::development(BTreeMap::new());
        config.rate_limit = RateLimit { per_second, burst };
        config
    }

    /// A full bucket allows a burst, then refuses until time refills it, at the configured rate.
    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::default();
        let config = config(10.0, 3.0);
        let party = PartyId::parse("A1001").unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            limiter.acquire(&config, &party, start).unwrap();
        }
        let wait = limiter.acquire(&config, &party, start).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        limiter
            .acquire(&config, &party, start + Duration::from_millis(100))
            .unwrap();
        limiter
            .acquire(&config, &party, start + Duration::from_millis(100))
            .unwrap_err();
    }

    /// Parties have separate buckets, and an override replaces the default for its party.
    #[test]
    fn separate_buckets_and_overrides() {
        let limiter = RateLimiter::default();
        let mut config = config(1.0, 1.0);
        let tso = PartyId::parse("T03").unwrap();
        config.rate_limit_overrides.insert(
            tso.clone(),
            RateLimit {
                per_second: 1000.0,
                burst: 100.0,
            },
        );
        let retailer = PartyId::parse("A1001").unwrap();
        let now = Instant::now();
        limiter.acquire(&config, &retailer, now).unwrap();
        limiter.acquire(&config, &retailer, now).unwrap_err();
        for _ in 0..100 {
            limiter.acquire(&config, &tso, now).unwrap();
        }
        limiter.acquire(&config, &tso, now).unwrap_err();
    }
}
