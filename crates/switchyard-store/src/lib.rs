//! Switchyard's replicated store: the Raft log and the state machine on sled.
//!
//! This crate knows nothing of the network. It gives openraft what it needs to persist and apply
//! the log — [`LogStore`] (`RaftLogStorage`) and [`StateMachine`] (`RaftStateMachine`) — and the
//! rest of the node a way to read the applied state.
//!
//! How the files divide the work:
//!
//! - `types.rs`: the openraft type configuration, sites and nodes, what an entry carries;
//! - `disk.rs`: the sled database, made durable with our own `fdatasync`, timed for stalls;
//! - `log_store.rs`: the log and Raft metadata trees;
//! - `state_machine.rs`: the record trees, applying domain decisions, snapshots built and
//!   installed by generation;
//! - `snapshot.rs`: the snapshot file format and its chunked transfer;
//! - `audit.rs`: the node-local audit log of facility look-ups;
//! - `metrics.rs`: what the store measures (syncs, stalls, applies) on the node's registry;
//! - `codec.rs`, `error.rs`: encoding and errors.

mod audit;
mod codec;
mod disk;
mod error;
mod log_store;
mod metrics;
mod snapshot;
mod state_machine;
mod types;

use std::sync::Arc;

pub use audit::{LookupAudit, LookupAuditLog};
pub use disk::{DiskHealth, Durability, Health, StoreConfig};
pub use error::StoreError;
pub use log_store::{LogStore, READ_ENTRIES_MAX, SYNC_QUEUE_MAX};
pub use snapshot::{SNAPSHOT_BYTES_MAX, SNAPSHOT_CHUNK_BYTES_MAX, SnapshotFile, SnapshotSink};
pub use state_machine::{
    EVENT_REVISIONS_RETAINED, SledView, SnapshotContents, StateMachine, read_snapshot_contents,
    rewrite_snapshot_membership,
};
pub use types::{ClusterNode, Site, StoreRequest, StoreResponse, TypeConfig, alias};

/// One node's store: the log, the state machine, the look-up audit, and the disks' health.
///
/// On disk: `log/` (a sled database: the Raft log and metadata), `state/` (a sled database: the
/// state machine and the look-up audit) and `snapshots/` (snapshot files).
#[derive(Debug, Clone)]
pub struct Store {
    pub log: LogStore,
    pub state_machine: StateMachine,
    pub audit: LookupAuditLog,
    health: Health,
    #[cfg(feature = "fault-injection")]
    disks: [Arc<disk::Disk>; 2],
}

/// The log's share of the page cache: it is read mostly near its end.
const LOG_CACHE_SHARE_DIVISOR: u64 = 4;

impl Store {
    /// Opens (or creates) the store in `config.path`, its measurements exposed nowhere (offline
    /// tools, tests).
    pub fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        Store::open_measured(config, &switchyard_metrics::Registry::unexposed())
    }

    /// Opens (or creates) the store in `config.path`, measuring its syncs, stalls and applies on
    /// `registry` (the node's).
    pub fn open_measured(
        config: &StoreConfig,
        registry: &switchyard_metrics::Registry,
    ) -> Result<Store, StoreError> {
        let health = Health::new();
        let metrics = metrics::StoreMetrics::register(registry, health.clone());
        let log_cache = config.cache_capacity_bytes / LOG_CACHE_SHARE_DIVISOR;
        let log_disk = disk::Disk::open(
            config,
            config.path.join("log"),
            log_cache,
            health.clone(),
            metrics.disk(metrics::LOG_DISK),
        )?;
        let state_disk = disk::Disk::open(
            config,
            config.path.join("state"),
            config.cache_capacity_bytes - log_cache,
            health.clone(),
            metrics.disk(metrics::STATE_DISK),
        )?;
        Ok(Store {
            log: LogStore::open(Arc::clone(&log_disk))?,
            state_machine: StateMachine::open(
                Arc::clone(&state_disk),
                config.event_revisions_retained,
                config.path.join("snapshots"),
                metrics.apply_duration.clone(),
            )?,
            audit: LookupAuditLog::open(&state_disk)?,
            health,
            #[cfg(feature = "fault-injection")]
            disks: [log_disk, state_disk],
        })
    }

    /// The disks' health; a stalled disk must stop the node from leading and serving reads.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Holds every disk sync until [`Store::release_stall`]: the 2022 failure, on purpose.
    #[cfg(feature = "fault-injection")]
    pub fn inject_stall(&self) {
        for disk in &self.disks {
            disk.inject_stall();
        }
    }

    /// Lets held disk syncs proceed.
    #[cfg(feature = "fault-injection")]
    pub fn release_stall(&self) {
        for disk in &self.disks {
            disk.release_stall();
        }
    }
}
