//! openraft's storage conformance suite, run against the sled store on real directories: proves
//! the log store and state machine keep every promise openraft relies on (ordering, truncation,
//! purging, votes, snapshots, membership).

use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::{ErrorSubject, ErrorVerb};
use switchyard_store::{LogStore, StateMachine, Store, StoreConfig, TypeConfig};

struct SledBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for SledBuilder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<TypeConfig>> {
        let directory = tempfile::tempdir().map_err(|error| {
            StorageError::from_io_error(ErrorSubject::Store, ErrorVerb::Write, error)
        })?;
        let store = Store::open(&StoreConfig::new(directory.path())).map_err(|error| {
            StorageError::from_io_error(
                ErrorSubject::Store,
                ErrorVerb::Read,
                std::io::Error::other(error.to_string()),
            )
        })?;
        Ok((directory, store.log, store.state_machine))
    }
}

/// Every test of openraft's suite passes on the sled store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openraft_storage_suite() {
    Suite::test_all(SledBuilder)
        .await
        .expect("the storage suite passes");
}
