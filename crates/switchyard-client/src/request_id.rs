//! Request ids for writes: `<prefix>-<instance>-<counter>`.
//!
//! The id is the write's idempotency key on the server, scoped by the authenticated party, so two
//! different writes must never share one: the instance part (16 hexadecimal digits drawn once per
//! client from the standard library's randomly keyed hasher, mixed with the time and the process
//! id) keeps clients apart, the counter keeps one client's writes apart. Every retry of a write
//! sends the id it was given first.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::ConfigError;

/// The longest prefix: 24 + 1 + 16 + 1 + 20 (u64::MAX) = 62 characters at most, within the
/// contract's 64.
const PREFIX_CHARACTERS_MAX: usize = 24;
/// The longest request id the contract allows.
const REQUEST_ID_CHARACTERS_MAX: usize = 64;

/// Whether `byte` may appear in a request id.
pub(crate) fn allowed(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b':' | b'-')
}

pub(crate) fn validate_prefix(prefix: &str) -> Result<(), ConfigError> {
    if prefix.is_empty() || prefix.len() > PREFIX_CHARACTERS_MAX || !prefix.bytes().all(allowed) {
        return Err(ConfigError::RequestIdPrefix {
            prefix: prefix.to_owned(),
        });
    }
    Ok(())
}

/// A random 64-bit number from the process's randomly keyed hasher, the time and the process id.
pub(crate) fn random_u64() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(since_epoch.as_nanos());
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Makes one client's request ids.
#[derive(Debug)]
pub(crate) struct RequestIds {
    /// `<prefix>-<instance>-`.
    stem: String,
    next: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new(prefix: &str) -> RequestIds {
        RequestIds::with_instance(prefix, random_u64())
    }

    fn with_instance(prefix: &str, instance: u64) -> RequestIds {
        RequestIds {
            stem: format!("{prefix}-{instance:016x}-"),
            next: AtomicU64::new(1),
        }
    }

    /// A fresh id.
    pub(crate) fn next(&self) -> String {
        let counter = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{counter}", self.stem);
        debug_assert!(id.len() <= REQUEST_ID_CHARACTERS_MAX && id.bytes().all(allowed));
        id
    }

    /// The id of a write: the caller's own when it set one, otherwise a fresh one, written into
    /// the request so that every attempt sends the same.
    pub(crate) fn assign(&self, request_id: &mut String) -> String {
        if request_id.is_empty() {
            *request_id = self.next();
        }
        request_id.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(id: &str) -> bool {
        !id.is_empty() && id.len() <= REQUEST_ID_CHARACTERS_MAX && id.bytes().all(allowed)
    }

    /// Ids are valid request ids, distinct within a client and between clients, even at the
    /// longest prefix and counter.
    #[test]
    fn ids_are_valid_and_distinct() {
        let first = RequestIds::new("gateway-1");
        let second = RequestIds::new("gateway-1");
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1_000 {
            for id in [first.next(), second.next()] {
                assert!(valid(&id), "{id}");
                assert!(seen.insert(id));
            }
        }
        let longest = RequestIds::with_instance(&"p".repeat(PREFIX_CHARACTERS_MAX), u64::MAX);
        longest.next.store(u64::MAX, Ordering::Relaxed);
        let id = longest.next();
        assert!(valid(&id), "{id} ({} characters)", id.len());
    }

    /// A caller's own id is kept; an empty one is replaced, in the request too.
    #[test]
    fn assign_keeps_the_callers_id() {
        let ids = RequestIds::new("sy");
        let mut own = "mine-1".to_owned();
        assert_eq!(ids.assign(&mut own), "mine-1");
        let mut empty = String::new();
        let assigned = ids.assign(&mut empty);
        assert_eq!(assigned, empty);
        assert!(assigned.starts_with("sy-"));
    }

    /// Prefixes are refused when empty, too long or with characters a request id may not hold.
    #[test]
    fn prefixes_are_checked() {
        validate_prefix("gw.tokyo:1_a-b").unwrap();
        for bad in [
            "",
            "with space",
            "é",
            &"x".repeat(PREFIX_CHARACTERS_MAX + 1),
        ] {
            assert!(validate_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
