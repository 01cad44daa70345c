//! The node's clock: the only place in Switchyard that reads the wall clock.
//!
//! The leader stamps each client write with a [`Timestamp`] just before proposing it; every
//! replica then decides with that stamp, never with its own clock. A stamp never goes behind
//! the applied state's clock nor behind a stamp this node already gave, so a wall clock stepped
//! back (NTP, a VM migration) does not make time run backwards in the log.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use switchyard_domain::Timestamp;

/// Hands out timestamps for log entries.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    last_stamped_ms: AtomicI64,
    /// Added to the wall clock: zero in production; tests and drills move a node's time.
    offset_ms: AtomicI64,
}

impl Clock {
    /// A stamp for a new entry: the wall clock, but never behind `applied_clock` (the state's
    /// clock) nor behind an earlier stamp of this node.
    pub(crate) fn stamp(&self, applied_clock: Option<Timestamp>) -> Timestamp {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            })
            .saturating_add(self.offset_ms.load(Ordering::SeqCst));
        let floor = applied_clock.map_or(i64::MIN, Timestamp::milliseconds);
        let candidate = now_ms.max(floor);
        let previous = self.last_stamped_ms.fetch_max(candidate, Ordering::SeqCst);
        let stamp = candidate.max(previous);
        // Paired check: the stamp is at least everything it must not go behind.
        debug_assert!(stamp >= floor && stamp >= previous);
        Timestamp(stamp)
    }
}

impl Clock {
    /// Moves this node's wall clock by `offset_ms` (replacing any earlier offset). Stamps still
    /// never go back: moving the clock back only holds them where they were.
    pub(crate) fn set_offset(&self, offset_ms: i64) {
        self.offset_ms.store(offset_ms, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state clock in the future holds the stamp there, and stamps never decrease.
    #[test]
    fn stamps_never_go_back() {
        let clock = Clock::default();
        let far_future = Timestamp(i64::MAX / 2);
        assert_eq!(clock.stamp(Some(far_future)), far_future);
        // The state clock fell back (a snapshot of an older state), the stamp does not.
        assert_eq!(clock.stamp(None), far_future);
        let fresh = Clock::default();
        let first = fresh.stamp(None);
        let second = fresh.stamp(Some(Timestamp(0)));
        assert!(second >= first);
        assert!(first.milliseconds() > 1_700_000_000_000);
    }

    /// An offset moves stamps forward; moving it back holds them where they were.
    #[test]
    fn offsets_move_time_forward_only() {
        let clock = Clock::default();
        let before = clock.stamp(None);
        clock.set_offset(86_400_000);
        let ahead = clock.stamp(None);
        assert!(ahead.milliseconds() >= before.milliseconds() + 86_400_000);
        clock.set_offset(0);
        assert!(clock.stamp(None) >= ahead);
    }
}
