//! The sled databases of one node, made durable, and watched for stalls.
//!
//! A node has two: `log/` holds the Raft log and metadata, `state/` the state machine. Keeping
//! them apart means a log sync writes only log pages, not the state machine's pages dirtied by
//! applies (which need no sync of their own: they are re-derived from the log after a crash).
//!
//! sled 0.34's `flush` ends in `sync_file_range`, which survives a process crash but not power
//! loss; a real `fsync` only runs in a background thread now and then. A Raft node that forgets a
//! vote or an acknowledged entry after power loss can break consensus, so [`Disk::sync`] closes
//! the gap: after sled's flush it `fdatasync`s sled's data file itself, then every blob file sled
//! wrote (sled never syncs those) and the blob directory.
//!
//! Every sync is timed. One that does not finish within the configured bound marks the disk
//! stalled in [`Health`] — the failure that took the 2022 system down — until a sync completes
//! again. With the `fault-injection` feature a test can stall syncs on purpose.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::StoreError;
use crate::metrics::DiskMetrics;

/// How hard a write is pushed to the disk before it is acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// sled's flush, then `fdatasync` of its files: survives power loss. The only setting for
    /// production.
    #[default]
    Fsync,
    /// sled's flush only (`sync_file_range`): survives a process crash, not power loss. For
    /// measuring what the extra `fdatasync` costs, never for production.
    FlushOnly,
}

/// How to open a node's store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// The node's data directory; created if missing. One process may open it at a time.
    pub path: PathBuf,
    /// sled's page cache, in bytes (sled's default is 1 GiB per database, too much for a node
    /// that also serves requests).
    pub cache_capacity_bytes: u64,
    /// A sync slower than this marks the disk stalled.
    pub flush_stall_bound: Duration,
    pub durability: Durability,
    /// Events are kept for this many revisions behind the last applied entry; a watch that asks
    /// for older ones is told they were compacted. Pruning happens at the same revisions on
    /// every node, so this must be the same on every node of a cluster.
    pub event_revisions_retained: u64,
}

impl StoreConfig {
    /// Defaults for a store at `path`: 256 MiB of cache, stalls declared after 2 s, full
    /// durability.
    pub fn new(path: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            path: path.into(),
            cache_capacity_bytes: 256 * 1024 * 1024,
            flush_stall_bound: Duration::from_secs(2),
            durability: Durability::Fsync,
            event_revisions_retained: crate::EVENT_REVISIONS_RETAINED,
        }
    }
}

/// sled segments of 8 MiB make sled store values up to 2 MiB inline (its blob threshold is a
/// quarter segment); the largest value Switchyard writes, an import batch entry, is far smaller.
const SEGMENT_BYTES: usize = 8 * 1024 * 1024;

/// The disk's health as the rest of the node sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskHealth {
    Healthy,
    /// A sync has been running longer than the bound since `since`.
    Stalled {
        since: Instant,
    },
}

/// Health reports of a store, observable through a watch channel.
#[derive(Debug, Clone)]
pub struct Health {
    sender: Arc<watch::Sender<DiskHealth>>,
}

impl Health {
    pub(crate) fn new() -> Health {
        Health {
            sender: Arc::new(watch::channel(DiskHealth::Healthy).0),
        }
    }

    /// The current state.
    pub fn current(&self) -> DiskHealth {
        *self.sender.borrow()
    }

    /// Whether the disk answers within its bound.
    pub fn is_healthy(&self) -> bool {
        self.current() == DiskHealth::Healthy
    }

    /// A receiver that sees every change.
    pub fn subscribe(&self) -> watch::Receiver<DiskHealth> {
        self.sender.subscribe()
    }

    fn set(&self, health: DiskHealth) {
        self.sender.send_if_modified(|current| {
            let changed = !matches!(
                (*current, health),
                (DiskHealth::Healthy, DiskHealth::Healthy)
                    | (DiskHealth::Stalled { .. }, DiskHealth::Stalled { .. })
            );
            if changed {
                *current = health;
            }
            changed
        });
    }
}

/// A switch that holds every sync until released; compiled only with `fault-injection`.
#[derive(Debug, Default)]
struct StallPoint {
    #[cfg(feature = "fault-injection")]
    stalled: Mutex<bool>,
    #[cfg(feature = "fault-injection")]
    released: std::sync::Condvar,
}

impl StallPoint {
    #[cfg(feature = "fault-injection")]
    fn wait_while_stalled(&self) {
        let mut stalled = self.stalled.lock().expect("stall lock");
        while *stalled {
            stalled = self.released.wait(stalled).expect("stall lock");
        }
    }

    #[cfg(not(feature = "fault-injection"))]
    fn wait_while_stalled(&self) {}

    #[cfg(feature = "fault-injection")]
    fn set(&self, stalled: bool) {
        *self.stalled.lock().expect("stall lock") = stalled;
        self.released.notify_all();
    }
}

/// One node's sled database with durable syncs.
#[derive(Debug)]
pub(crate) struct Disk {
    pub(crate) db: sled::Db,
    path: PathBuf,
    data_file: File,
    synced_blobs: Mutex<HashSet<OsString>>,
    durability: Durability,
    stall_bound: Duration,
    health: Health,
    stall: StallPoint,
    metrics: DiskMetrics,
}

impl Disk {
    /// Opens (or creates) the database in `path`, with `cache_capacity_bytes` of page cache,
    /// reporting stalls to `health` and every sync's time to `metrics`.
    pub(crate) fn open(
        config: &StoreConfig,
        path: PathBuf,
        cache_capacity_bytes: u64,
        health: Health,
        metrics: DiskMetrics,
    ) -> Result<Arc<Disk>, StoreError> {
        let config = &StoreConfig {
            path,
            cache_capacity_bytes,
            ..config.clone()
        };
        std::fs::create_dir_all(&config.path).map_err(|source| StoreError::Open {
            path: config.path.clone(),
            source: source.into(),
        })?;
        let db = sled::Config::new()
            .path(&config.path)
            .cache_capacity(config.cache_capacity_bytes)
            .segment_size(SEGMENT_BYTES)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(|source| StoreError::Open {
                path: config.path.clone(),
                source: source.into(),
            })?;
        let data_file = File::open(config.path.join("db")).map_err(|source| StoreError::Open {
            path: config.path.clone(),
            source: source.into(),
        })?;
        let disk = Disk {
            db,
            path: config.path.clone(),
            data_file,
            synced_blobs: Mutex::new(HashSet::new()),
            durability: config.durability,
            stall_bound: config.flush_stall_bound,
            health,
            stall: StallPoint::default(),
            metrics,
        };
        // The files sled just created must survive power loss too.
        disk.sync_blocking().map_err(|source| StoreError::Open {
            path: config.path.clone(),
            source: source.into(),
        })?;
        for directory in [Some(config.path.as_path()), config.path.parent()]
            .into_iter()
            .flatten()
        {
            sync_directory(directory).map_err(|source| StoreError::Open {
                path: config.path.clone(),
                source: source.into(),
            })?;
        }
        Ok(Arc::new(disk))
    }

    /// Flushes sled and makes it durable. Blocking: runs on a blocking thread via [`Disk::sync`].
    fn sync_blocking(&self) -> io::Result<()> {
        self.stall.wait_while_stalled();
        self.db.flush().map_err(io::Error::other)?;
        if self.durability == Durability::FlushOnly {
            return Ok(());
        }
        self.data_file.sync_data()?;
        self.sync_new_blobs()
    }

    fn sync_new_blobs(&self) -> io::Result<()> {
        let blob_directory = self.path.join("blobs");
        let entries = match std::fs::read_dir(&blob_directory) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        let mut synced = self.synced_blobs.lock().expect("blob set lock");
        let mut any_new = false;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if synced.contains(&name) {
                continue;
            }
            match File::open(entry.path()) {
                Ok(file) => file.sync_data()?,
                // sled removes blobs it no longer needs; a vanished one needs no sync.
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error),
            }
            synced.insert(name);
            any_new = true;
        }
        if any_new {
            sync_directory(&blob_directory)?;
        }
        Ok(())
    }

    /// Flushes and syncs on a blocking thread. A sync slower than the stall bound marks the disk
    /// stalled until one completes; the caller still waits for the outcome.
    pub(crate) async fn sync(self: &Arc<Self>) -> io::Result<()> {
        let started = Instant::now();
        let disk = Arc::clone(self);
        let mut task = tokio::task::spawn_blocking(move || disk.sync_blocking());
        let joined = match tokio::time::timeout(self.stall_bound, &mut task).await {
            Ok(joined) => joined,
            Err(_) => {
                tracing::error!(
                    path = %self.path.display(),
                    bound_ms = self.stall_bound.as_millis() as u64,
                    "disk sync stalled; marking this node unhealthy"
                );
                self.metrics.stalls.inc();
                self.health.set(DiskHealth::Stalled { since: started });
                task.await
            }
        };
        self.metrics.flush_duration.observe(started.elapsed());
        let result = joined.map_err(io::Error::other)?;
        if result.is_ok() {
            if !self.health.is_healthy() {
                tracing::warn!(
                    path = %self.path.display(),
                    stalled_ms = started.elapsed().as_millis() as u64,
                    "disk answers again; marking this node healthy"
                );
            }
            self.health.set(DiskHealth::Healthy);
        }
        tracing::trace!(
            sync_us = started.elapsed().as_micros() as u64,
            "disk synced"
        );
        result
    }

    /// Holds every sync from now on until [`Disk::release_stall`] (tests only).
    #[cfg(feature = "fault-injection")]
    pub(crate) fn inject_stall(&self) {
        self.stall.set(true);
    }

    /// Lets held syncs proceed.
    #[cfg(feature = "fault-injection")]
    pub(crate) fn release_stall(&self) {
        self.stall.set(false);
    }
}

/// fsyncs a directory so that the files created in it survive power loss.
pub(crate) fn sync_directory(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}
