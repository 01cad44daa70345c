//! The Raft log and Raft metadata on sled: openraft's `RaftLogStorage` and `RaftLogReader`.
//!
//! Two trees: `raft_log` (entries keyed by their index, big-endian, so iteration is index order)
//! and `raft_meta` (the vote, the last committed log id, the last purged log id). A vote, an
//! append, a truncation and a purge are synced to the disk ([`crate::disk::Disk::sync`]) before
//! they are acknowledged.
//!
//! Group commit: `append` writes its entries into sled and returns at once; a single syncer task
//! makes them durable and only then fires openraft's callback. Everything waiting when a sync
//! starts rides on that one sync, so a busy leader pays one `fdatasync` for many appends, and the
//! Raft core never waits on the disk (it replicates while its own sync runs). Votes,
//! truncations and purges go through the same queue as barriers, so every acknowledgement comes
//! in submission order.
//!
//! No `sled::Batch` and no sled transaction, here or anywhere in the store: sled 0.34 guards
//! both with one lock global to the process, and once either has been used every later sled
//! operation of the process (reads, inserts, flushes, on every database) takes that lock too,
//! so a batch waits for every flush in flight and every read waits for the batch. Entries are
//! inserted one by one in index order instead; sled recovers writes made in order as a prefix
//! of them (its own crash tests check exactly that), so a crash never leaves a hole.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::OptionalSend;
use openraft::entry::RaftEntry;
use openraft::storage::{RaftLogReader, RaftLogStorage};

use crate::codec::{decode, encode, sled_error};
use crate::disk::Disk;
use crate::types::TypeConfig;
use crate::types::alias::{Entry, IoFlushed, LogId, LogState, Vote};

const VOTE: &[u8] = b"vote";
const COMMITTED: &[u8] = b"committed";
const LAST_PURGED: &[u8] = b"last_purged";
/// The cluster epoch this node belongs to, raised by a disaster cutover (see the raft crate).
const CLUSTER_EPOCH: &[u8] = b"cluster_epoch";

/// Most entries one read returns; openraft asks again for the rest.
pub const READ_ENTRIES_MAX: usize = 4096;
/// Most appends and barriers waiting for the syncer; a full queue makes `append` wait.
pub const SYNC_QUEUE_MAX: usize = 4096;

/// What waits for a durable sync.
enum Pending {
    /// An append's callback.
    Append(IoFlushed),
    /// Someone awaiting durability of everything written before it.
    Barrier(tokio::sync::oneshot::Sender<io::Result<()>>),
}

/// The queue to the syncer task, started on first use (it needs a runtime).
#[derive(Debug, Default)]
struct Syncer {
    queue: std::sync::OnceLock<tokio::sync::mpsc::Sender<Pending>>,
}

impl Syncer {
    fn queue(&self, disk: &Arc<Disk>) -> &tokio::sync::mpsc::Sender<Pending> {
        self.queue.get_or_init(|| {
            let (sender, receiver) = tokio::sync::mpsc::channel(SYNC_QUEUE_MAX);
            tokio::spawn(run_syncer(Arc::clone(disk), receiver));
            sender
        })
    }
}

/// Syncs for everything queued, in order: take what waits, one sync, answer all of it.
async fn run_syncer(disk: Arc<Disk>, mut receiver: tokio::sync::mpsc::Receiver<Pending>) {
    let mut group = Vec::new();
    while receiver.recv_many(&mut group, SYNC_QUEUE_MAX).await > 0 {
        let result = disk.sync().await;
        if let Err(error) = &result {
            tracing::error!(error = %error, "log sync failed; the node must stop");
        }
        for pending in group.drain(..) {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
            };
            match pending {
                Pending::Append(callback) => callback.io_completed(answer),
                Pending::Barrier(waiter) => {
                    let _ = waiter.send(answer);
                }
            }
        }
    }
}

/// The log store of one node. Cheap to clone; clones share the database.
#[derive(Debug, Clone)]
pub struct LogStore {
    disk: Arc<Disk>,
    log: sled::Tree,
    meta: sled::Tree,
    syncer: Arc<Syncer>,
}

fn index_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

impl LogStore {
    pub(crate) fn open(disk: Arc<Disk>) -> io::Result<LogStore> {
        let log = disk.db.open_tree("raft_log").map_err(sled_error)?;
        let meta = disk.db.open_tree("raft_meta").map_err(sled_error)?;
        Ok(LogStore {
            disk,
            log,
            meta,
            syncer: Arc::new(Syncer::default()),
        })
    }

    fn read_meta<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> io::Result<Option<T>> {
        match self.meta.get(key).map_err(sled_error)? {
            Some(bytes) => {
                decode(&bytes, std::str::from_utf8(key).unwrap_or("raft meta")).map(Some)
            }
            None => Ok(None),
        }
    }

    fn write_meta<T: serde::Serialize>(&self, key: &[u8], value: &T) -> io::Result<()> {
        let bytes = encode(value)?;
        self.meta
            .insert(key, bytes.as_slice())
            .map_err(sled_error)?;
        // Paired check: what was written reads back the same.
        debug_assert_eq!(
            self.meta.get(key).ok().flatten().as_deref(),
            Some(bytes.as_slice())
        );
        Ok(())
    }

    fn last_purged(&self) -> io::Result<Option<LogId>> {
        Ok(self.read_meta::<Option<LogId>>(LAST_PURGED)?.flatten())
    }

    /// Returns once everything written before the call is durable: after every append queued
    /// before it has been synced.
    pub async fn flush_barrier(&self) -> io::Result<()> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        self.syncer
            .queue(&self.disk)
            .send(Pending::Barrier(sender))
            .await
            .map_err(|_| io::Error::other("the log syncer stopped"))?;
        receiver
            .await
            .map_err(|_| io::Error::other("the log syncer stopped"))?
    }

    /// The cluster epoch recorded in this store (0 when none was).
    pub fn cluster_epoch(&self) -> io::Result<u64> {
        Ok(self.read_meta::<u64>(CLUSTER_EPOCH)?.unwrap_or(0))
    }

    /// Records the cluster epoch durably. Only ever raised: a lower epoch is refused.
    pub async fn raise_cluster_epoch(&self, epoch: u64) -> io::Result<()> {
        let current = self.cluster_epoch()?;
        if epoch < current {
            return Err(io::Error::other(format!(
                "the store is in cluster epoch {current}; it cannot go back to {epoch}"
            )));
        }
        self.write_meta(CLUSTER_EPOCH, &epoch)?;
        self.flush_barrier().await
    }

    /// Appends `entry` after the last one and waits until it is durable: for offline recovery
    /// tools only, never while a Raft core uses this store.
    pub async fn append_offline(&self, entry: &Entry) -> io::Result<()> {
        let index = entry.index();
        let expected = match self.last_index()? {
            Some(last) => last + 1,
            None => self.last_purged()?.map_or(0, |log_id| log_id.index() + 1),
        };
        if index != expected {
            return Err(io::Error::other(format!(
                "offline append of entry {index} where {expected} is next"
            )));
        }
        self.log
            .insert(index_key(index), encode(entry)?)
            .map_err(sled_error)?;
        self.flush_barrier().await
    }

    /// Index of the last entry in the log, if any (for tests and status).
    pub fn last_index(&self) -> io::Result<Option<u64>> {
        Ok(self
            .log
            .last()
            .map_err(sled_error)?
            .map(|(key, _)| u64::from_be_bytes(key.as_ref().try_into().expect("8-byte keys"))))
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        let start = match range.start_bound() {
            Bound::Included(index) => *index,
            Bound::Excluded(index) => index.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(index) => Bound::Included(index_key(*index)),
            Bound::Excluded(index) => Bound::Excluded(index_key(*index)),
            Bound::Unbounded => Bound::Unbounded,
        };
        let mut entries = Vec::new();
        for item in self.log.range((Bound::Included(index_key(start)), end)) {
            let (key, value) = item.map_err(sled_error)?;
            let entry: Entry = decode(&value, "log entry")?;
            // Paired check: an entry is stored under its own index.
            debug_assert_eq!(key.as_ref(), index_key(entry.index()));
            entries.push(entry);
            if entries.len() >= READ_ENTRIES_MAX {
                break;
            }
        }
        Ok(entries)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.read_meta(VOTE)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState, io::Error> {
        let last_purged_log_id = self.last_purged()?;
        let last_log_id = match self.log.last().map_err(sled_error)? {
            Some((_, value)) => Some(decode::<Entry>(&value, "log entry")?.log_id),
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.write_meta(VOTE, vote)?;
        self.flush_barrier().await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // Not synced on its own: losing the latest committed id only makes a restarted node
        // learn it again from the leader. The next vote or append syncs it anyway.
        self.write_meta(COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.read_meta::<Option<LogId>>(COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: IoFlushed) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // Encoded and checked first, then inserted one by one in index order: sled recovers a
        // prefix of the writes it was given in order, so a crash mid-append leaves the log
        // without a hole (see the module doc on why there is no `sled::Batch` here).
        let mut encoded = Vec::new();
        let mut previous: Option<u64> = self.last_index()?;
        for entry in entries {
            let index = entry.index();
            // The log never has a hole: each entry follows the previous one.
            if let Some(previous) = previous
                && index != previous + 1
            {
                return Err(io::Error::other(format!(
                    "append of entry {index} after {previous} would leave a hole"
                )));
            }
            previous = Some(index);
            encoded.push((index_key(index), encode(&entry)?));
        }
        for (key, value) in encoded {
            self.log.insert(key, value).map_err(sled_error)?;
        }
        self.syncer
            .queue(&self.disk)
            .send(Pending::Append(callback))
            .await
            .map_err(|_| io::Error::other("the log syncer stopped"))
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let from = last_log_id.map_or(0, |log_id| log_id.index() + 1);
        // Newest first: a crash part way leaves a shorter log, never one with a hole.
        let doomed = self
            .log
            .range(index_key(from)..)
            .keys()
            .collect::<Result<Vec<_>, _>>()
            .map_err(sled_error)?;
        for key in doomed.into_iter().rev() {
            self.log.remove(key).map_err(sled_error)?;
        }
        self.flush_barrier().await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        // Record the purge point durably first: a node restarted between the two steps must find
        // it, or it could never start.
        self.write_meta(LAST_PURGED, &Some(log_id))?;
        self.flush_barrier().await?;
        // Oldest first: a crash part way leaves entries at or below the purge point, which
        // nothing reads and the next purge removes.
        for key in self.log.range(..=index_key(log_id.index())).keys() {
            self.log
                .remove(key.map_err(sled_error)?)
                .map_err(sled_error)?;
        }
        Ok(())
    }
}
