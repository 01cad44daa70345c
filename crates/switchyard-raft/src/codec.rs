//! The payload encoding of the internal Raft contract: serde_json bytes of openraft structures
//! and domain values, as `proto/switchyard/raft/v1/raft.proto` specifies.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::NodeError;

/// Encodes `value` as JSON. Our own types and openraft's always serialize; a failure is a bug.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>, NodeError> {
    serde_json::to_vec(value)
        .map_err(|error| NodeError::Malformed(format!("cannot encode {what}: {error}")))
}

/// Decodes a `T` from JSON bytes a peer sent; a failure names what was being decoded.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, NodeError> {
    serde_json::from_slice(bytes)
        .map_err(|error| NodeError::Malformed(format!("cannot decode {what}: {error}")))
}

/// The number of bytes `value` takes as JSON, without keeping the bytes.
pub(crate) fn encoded_len<T: Serialize + ?Sized>(value: &T) -> Result<usize, NodeError> {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value)
        .map_err(|error| NodeError::Malformed(format!("cannot encode: {error}")))?;
    Ok(counter.0)
}
