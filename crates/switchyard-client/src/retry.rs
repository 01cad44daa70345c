//! Which failures a retry may cure, and how long to wait before it.
//!
//! Retried: `UNAVAILABLE` (a node down or not serving, no leader, an outcome unknown),
//! `DEADLINE_EXCEEDED` (safe for writes only because every write carries its request id),
//! `RESOURCE_EXHAUSTED` after the advised wait, and the transport's own failures (a refused or
//! reset connection, which carry no `x-switchyard-rule`). `INTERNAL` with the reasons the error
//! table says to retry at another node (`local_disk`, `peer_failed`, `internal`) is retried too.
//! Everything else — `INVALID_ARGUMENT`, `NOT_FOUND`, `ALREADY_EXISTS`, `FAILED_PRECONDITION`,
//! `ABORTED`, `PERMISSION_DENIED`, `UNAUTHENTICATED`, `OUT_OF_RANGE`, ... — is final.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tonic::Code;

use crate::config::RetryBudget;
use crate::error::Failure;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Final: return the error.
    Final,
    /// Retry; `elsewhere` moves to the next endpoint; `advised` is the server's wait.
    Retry {
        elsewhere: bool,
        advised: Option<Duration>,
    },
}

/// `INTERNAL` reasons that the error table says to retry at another node.
const RETRY_ELSEWHERE_INTERNAL_RULES: [&str; 3] = ["local_disk", "peer_failed", "internal"];

pub(crate) fn classify(failure: &Failure) -> Verdict {
    let from_switchyard = failure.rule.is_some();
    match failure.code {
        Code::Unavailable | Code::DeadlineExceeded => Verdict::Retry {
            elsewhere: true,
            advised: failure.retry_after,
        },
        // The limit is per party and node; the node itself is fine.
        Code::ResourceExhausted if from_switchyard => Verdict::Retry {
            elsewhere: false,
            advised: failure.retry_after,
        },
        Code::Internal
            if failure
                .rule
                .as_deref()
                .is_some_and(|rule| RETRY_ELSEWHERE_INTERNAL_RULES.contains(&rule)) =>
        {
            Verdict::Retry {
                elsewhere: true,
                advised: failure.retry_after,
            }
        }
        // Without Switchyard's rule these were made by the transport: a connection reset or
        // closed mid-call (HTTP/2 errors become INTERNAL, CANCELLED or UNKNOWN).
        Code::Internal | Code::Unknown | Code::Cancelled | Code::ResourceExhausted
            if !from_switchyard =>
        {
            Verdict::Retry {
                elsewhere: true,
                advised: None,
            }
        }
        _ => Verdict::Final,
    }
}

/// Jittered waits, from a small generator of its own (SplitMix64): jitter needs spread, not
/// unpredictability.
#[derive(Debug)]
pub(crate) struct Backoff {
    budget: RetryBudget,
    state: AtomicU64,
}

impl Backoff {
    pub(crate) fn new(budget: RetryBudget, seed: u64) -> Backoff {
        Backoff {
            budget,
            state: AtomicU64::new(seed),
        }
    }

    fn random(&self) -> u64 {
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random duration in `0..=bound`.
    fn up_to(&self, bound: Duration) -> Duration {
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(self.random() % (nanos + 1))
    }

    /// The wait after the `failures`-th failure in a row (from 0): the initial backoff doubled
    /// per failure up to the maximum, of which a random half is kept ("equal jitter").
    pub(crate) fn after_failures(&self, failures: u32) -> Duration {
        let doubled = self
            .budget
            .backoff_initial
            .saturating_mul(1_u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX));
        let ceiling = doubled.min(self.budget.backoff_max);
        ceiling / 2 + self.up_to(ceiling / 2)
    }

    /// The server's advised wait, with up to a tenth more so that callers spread out.
    pub(crate) fn advised(&self, advised: Duration) -> Duration {
        advised + self.up_to(advised / 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: Code, rule: Option<&str>, retry_after_ms: Option<u64>) -> Failure {
        let mut failure = Failure::local(code, "http://a:1", "message".into());
        failure.rule = rule.map(str::to_owned);
        failure.retry_after = retry_after_ms.map(Duration::from_millis);
        failure
    }

    /// The retry rules of the error table: which codes are retried, where, after what wait.
    #[test]
    fn retry_rules() {
        let retry = |elsewhere, advised_ms: Option<u64>| Verdict::Retry {
            elsewhere,
            advised: advised_ms.map(Duration::from_millis),
        };
        assert_eq!(
            classify(&failure(Code::Unavailable, Some("not_serving"), Some(0))),
            retry(true, Some(0))
        );
        assert_eq!(
            classify(&failure(Code::Unavailable, Some("no_leader"), Some(500))),
            retry(true, Some(500))
        );
        assert_eq!(
            classify(&failure(Code::Unavailable, None, None)),
            retry(true, None)
        );
        assert_eq!(
            classify(&failure(Code::DeadlineExceeded, None, None)),
            retry(true, None)
        );
        assert_eq!(
            classify(&failure(
                Code::ResourceExhausted,
                Some("rate_limited"),
                Some(40)
            )),
            retry(false, Some(40))
        );
        assert_eq!(
            classify(&failure(Code::Internal, Some("local_disk"), None)),
            retry(true, None)
        );
        assert_eq!(
            classify(&failure(Code::Internal, None, None)),
            retry(true, None)
        );
        assert_eq!(
            classify(&failure(Code::Unknown, None, None)),
            retry(true, None)
        );
        for (code, rule) in [
            (Code::InvalidArgument, "invalid_field"),
            (Code::NotFound, "application_not_found"),
            (Code::AlreadyExists, "request_id_reused"),
            (Code::FailedPrecondition, "lead_time_not_met"),
            (Code::PermissionDenied, "permission_denied"),
            (Code::Unauthenticated, "unauthenticated"),
            (Code::Aborted, "stale_revision"),
            (Code::OutOfRange, "events_compacted"),
            (Code::Internal, "invariant_would_break"),
            (Code::Unimplemented, "not_implemented"),
        ] {
            assert_eq!(
                classify(&failure(code, Some(rule), None)),
                Verdict::Final,
                "{code:?} {rule}"
            );
        }
        assert_eq!(
            classify(&failure(Code::Unauthenticated, None, None)),
            Verdict::Final
        );
    }

    /// Backoff doubles from the initial wait up to the maximum, keeping at least half of it;
    /// advised waits are kept and stretched by at most a tenth.
    #[test]
    fn backoff_doubles_with_jitter_within_bounds() {
        let budget = RetryBudget {
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(300),
            ..RetryBudget::default()
        };
        let backoff = Backoff::new(budget, 7);
        for failures in 0..40 {
            let ceiling = (Duration::from_millis(20) * 2_u32.pow(failures.min(16)))
                .min(Duration::from_millis(300));
            for _ in 0..50 {
                let wait = backoff.after_failures(failures);
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "{failures}: {wait:?}"
                );
            }
        }
        let waits: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| backoff.after_failures(3)).collect();
        assert!(waits.len() > 10, "jitter spreads the waits: {waits:?}");
        for _ in 0..50 {
            let wait = backoff.advised(Duration::from_millis(500));
            assert!(wait >= Duration::from_millis(500) && wait <= Duration::from_millis(550));
        }
        assert_eq!(backoff.advised(Duration::ZERO), Duration::ZERO);
    }
}
