//! The payload encoding of the internal Raft contract: postcard bytes of openraft structures
//! and domain values, as `proto/switchyard/raft/v1/raft.proto` specifies.
//!
//! postcard rather than JSON: every entry is encoded once per follower and decoded on each, and
//! JSON spent measurable CPU on it (see docs/BENCHMARKS.md); the store already keeps the same
//! structures in postcard on disk.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::NodeError;

/// Encodes `value`. Our own types and openraft's always serialize; a failure is a bug.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>, NodeError> {
    postcard::to_stdvec(value)
        .map_err(|error| NodeError::Malformed(format!("cannot encode {what}: {error}")))
}

/// Decodes a `T` from bytes a peer sent; a failure names what was being decoded.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, NodeError> {
    postcard::from_bytes(bytes)
        .map_err(|error| NodeError::Malformed(format!("cannot decode {what}: {error}")))
}

/// The number of bytes `value` takes encoded, without keeping the bytes.
pub(crate) fn encoded_len<T: Serialize + ?Sized>(value: &T) -> Result<usize, NodeError> {
    postcard::experimental::serialized_size(value)
        .map_err(|error| NodeError::Malformed(format!("cannot encode: {error}")))
}
