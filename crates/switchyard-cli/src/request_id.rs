//! Request ids for writes that were given none: `swctl-<unix ms>-<16 hex digits>`.
//!
//! The id is the write's idempotency key, so two invocations must not share one by accident: the
//! time in milliseconds separates invocations in sequence, the random part separates concurrent
//! ones. The random part comes from the standard library's per-process random hash keys (seeded
//! by the operating system), mixed with the time and the process id, which is ample for telling
//! apart one operator's commands and needs no extra dependency.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh request id.
pub(crate) fn generate() -> String {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(since_epoch.as_nanos());
    hasher.write_u32(std::process::id());
    format_request_id(since_epoch.as_millis(), hasher.finish())
}

/// The id made of an instant and a random number: at most 6 + 39 + 1 + 16 = 62 characters, all
/// of them allowed in a request id.
fn format_request_id(unix_ms: u128, random: u64) -> String {
    format!("swctl-{unix_ms}-{random:016x}")
}

#[cfg(test)]
mod tests {
    use switchyard_proto::convert::request_id_from_wire;

    use super::*;

    /// Generated ids pass the contract's request-id validation, have the documented shape and
    /// differ from one another.
    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1_000 {
            let id = generate();
            request_id_from_wire(&id).unwrap();
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(parts.len(), 3, "{id}");
            assert_eq!(parts[0], "swctl");
            assert!(parts[1].bytes().all(|byte| byte.is_ascii_digit()), "{id}");
            assert_eq!(parts[2].len(), 16, "{id}");
            assert!(seen.insert(id));
        }
    }

    /// Even the longest possible instant and random part stay within 64 valid characters.
    #[test]
    fn longest_id_is_valid() {
        let id = format_request_id(u128::MAX, u64::MAX);
        assert!(id.len() <= 64, "{id}");
        request_id_from_wire(&id).unwrap();
    }
}
