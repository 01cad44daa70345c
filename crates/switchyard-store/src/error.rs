//! Errors of the store that are not openraft's.

use std::path::PathBuf;

/// A store could not be opened or is not what it should be.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the store is corrupt: {what}")]
    Corrupt { what: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
