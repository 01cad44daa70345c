//! How records are encoded on disk: postcard, a compact, fully specified serde format.

use std::io;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Encodes `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> io::Result<Vec<u8>> {
    postcard::to_stdvec(value).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

/// Decodes a `T` stored under `what`; a failure is corruption and says where.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> io::Result<T> {
    postcard::from_bytes(bytes).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot decode {what}: {error}"),
        )
    })
}

/// A sled error as an I/O error.
pub(crate) fn sled_error(error: sled::Error) -> io::Error {
    match error {
        sled::Error::Io(error) => error,
        other => io::Error::other(other),
    }
}
