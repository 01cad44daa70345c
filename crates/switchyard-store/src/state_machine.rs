//! The replicated state on sled: openraft's `RaftStateMachine`, applying domain decisions.
//!
//! One tree per kind of record (supply points, applications, stop-on-behalf requests,
//! participants, notices, request ids, due entries, events) plus a `meta` tree (last applied log
//! id, membership, policy, counters, clock). Records are keyed by their canonical text keys
//! ([`switchyard_domain::keys`]), so trees iterate in the order the state hash expects.
//!
//! The trees belong to a *generation*, named `sm.<generation>.<tree>`. Installing a snapshot loads
//! it into the next generation and then flips the active generation in one write, so a crash
//! mid-install leaves the old state intact.
//!
//! Applying an entry runs the domain's `decide` against the current trees and writes its changes,
//! its events, `last_applied` and any membership atomically, then answers the waiting client.
//! Applies are not synced on their own: after a crash the state machine resumes from its last
//! applied entry and re-applies the durable log.
//!
//! Atomic without a sled transaction: sled 0.34 guards transactions and batches with a lock
//! global to the process that, once used, every later sled operation takes too (see the log
//! store's module doc). A batch of applied entries is therefore written as a *journal*: first
//! all its writes in one value under one key (a single insert, atomic in sled), then each write
//! to its tree with a plain insert or remove. sled recovers writes made in order as a prefix of
//! them, so after a crash the trees hold every batch before the last journal and part of the
//! last one at most; opening the store writes the last journal's writes again (they are plain
//! puts and removes, so writing them twice changes nothing) and the trees hold whole batches
//! only, with the `last_applied` of the last one.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::ops::{Bound, ControlFlow};
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, RwLock};

use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchyard_domain::{
    Application, ApplicationNumber, Counters, Date, DueEntry, Event, Notice, NoticeNumber,
    Participant, PartyId, Policy, RequestKey, RequestRecord, StateHasher, StateView,
    StopOnBehalfNumber, StopOnBehalfRequest, StoredEvent, SupplyPoint, SupplyPointNumber,
    Timestamp, Write, decide, keys,
};

use crate::codec::{decode, encode, sled_error};
use crate::disk::{Disk, sync_directory};
use crate::snapshot::{SnapshotFile, SnapshotReader, SnapshotWriter};
use crate::types::alias::{Entry, LogId, SnapshotMeta, StoredMembership};
use crate::types::{StoreResponse, TypeConfig};

/// The record trees, in snapshot and hash order. `meta` is last.
const TREE_NAMES: [&str; 10] = [
    "supply_points",
    "applications",
    "stop_on_behalf",
    "participants",
    "notices",
    "requests",
    "due",
    "events",
    "meta",
    "reserved",
];
const SUPPLY_POINTS: usize = 0;
const APPLICATIONS: usize = 1;
const STOP_ON_BEHALF: usize = 2;
const PARTICIPANTS: usize = 3;
const NOTICES: usize = 4;
const REQUESTS: usize = 5;
const DUE: usize = 6;
const EVENTS: usize = 7;
const META: usize = 8;
/// Trees a generation uses (the last name is kept free for a future record kind).
const TREE_COUNT: usize = 9;

const META_LAST_APPLIED: &[u8] = b"last_applied";
const META_MEMBERSHIP: &[u8] = b"membership";
const META_POLICY: &[u8] = b"policy";
const META_COUNTERS: &[u8] = b"counters";
const META_CLOCK: &[u8] = b"clock";
/// Node ids that were members once and are no longer: never to be used again.
const META_RETIRED_NODES: &[u8] = b"retired_nodes";

const STORE_GENERATION: &[u8] = b"generation";
const STORE_SNAPSHOT: &[u8] = b"snapshot";
/// The writes of the last applied batch, written before them (see the module doc).
const STORE_JOURNAL: &[u8] = b"journal";
/// The fault point's "off" (see `StateMachine::stop_after_next_journal`).
const NO_FAULT: usize = usize::MAX;
/// Most bytes of writes one batch collects before they are written: a journal stays far below
/// sled's inline value limit (a quarter of a segment) and a batch's writes hold the readers
/// back only briefly.
const APPLY_BATCH_BYTES_MAX: usize = 512 * 1024;

/// Events older than this many revisions behind the last applied entry are pruned; a watch
/// asking for older revisions gets a "compacted" answer.
pub const EVENT_REVISIONS_RETAINED: u64 = 1_000_000;
/// Pruning runs every this many applied entries (or every `retained` entries, if fewer).
const EVENT_PRUNE_EVERY: u64 = 4096;
/// Most entries applied in one batch. A batch is decided entry by entry against the state the
/// entries before it left, then written at once: the journal and the keys every entry rewrites
/// (`last_applied`, the counters, the clock) are written once per batch instead of once per
/// entry.
const APPLY_BATCH_ENTRIES_MAX: usize = 256;

/// When events are pruned: every `every` revisions, everything more than `retained` revisions
/// old. The same on every node.
#[derive(Debug, Clone, Copy)]
struct EventRetention {
    retained: u64,
    every: u64,
}

impl EventRetention {
    fn new(retained: u64) -> EventRetention {
        let retained = retained.max(1);
        EventRetention {
            retained,
            every: EVENT_PRUNE_EVERY.min(retained),
        }
    }

    /// Whether applying `revision` prunes the events more than `retained` revisions old.
    fn prunes_at(self, revision: u64) -> bool {
        revision.is_multiple_of(self.every) && revision > self.retained
    }

    /// The oldest revision still complete once `applied` has been applied.
    fn available_from(self, applied: u64) -> u64 {
        let last_prune = applied - applied % self.every;
        last_prune.saturating_sub(self.retained)
    }
}

/// One generation of the state machine's trees.
#[derive(Debug)]
pub(crate) struct StateTrees {
    generation: u64,
    trees: Vec<sled::Tree>,
    /// The store's own metadata tree, which holds the journal.
    store_meta: sled::Tree,
}

/// The writes of one applied batch, as the journal holds them.
#[derive(Serialize)]
struct JournalRef<'a> {
    generation: u64,
    by_tree: &'a [BTreeMap<Vec<u8>, Option<Vec<u8>>>],
}

/// [`JournalRef`], read back.
#[derive(serde::Deserialize)]
struct Journal {
    generation: u64,
    by_tree: Vec<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl StateTrees {
    fn open(db: &sled::Db, generation: u64) -> io::Result<StateTrees> {
        let trees = TREE_NAMES[..TREE_COUNT]
            .iter()
            .map(|name| {
                db.open_tree(format!("sm.{generation}.{name}"))
                    .map_err(sled_error)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let store_meta = db.open_tree("store_meta").map_err(sled_error)?;
        Ok(StateTrees {
            generation,
            trees,
            store_meta,
        })
    }

    /// Writes the last journal of this generation again, and the event pruning the last
    /// applied entry implies: after a crash, the trees hold whole batches only. Writing a
    /// journal twice changes nothing, so this runs at every start. Returns how many writes the
    /// journal held.
    fn recover(&self, retention: EventRetention) -> io::Result<usize> {
        let mut rewritten = 0;
        if let Some(bytes) = self.store_meta.get(STORE_JOURNAL).map_err(sled_error)? {
            let journal: Journal = decode(&bytes, "journal")?;
            if journal.generation == self.generation {
                if journal.by_tree.len() != TREE_COUNT {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "the journal holds writes for {} trees, not {TREE_COUNT}",
                            journal.by_tree.len()
                        ),
                    ));
                }
                self.write_all(&journal.by_tree, NO_FAULT)?;
                rewritten = journal.by_tree.iter().map(BTreeMap::len).sum();
            }
        }
        if let Some(applied) = self.last_applied()? {
            let revision = applied.index();
            let last_prune = revision - revision % retention.every;
            if retention.prunes_at(last_prune) {
                StateMachine::prune_events(self, retention, last_prune)?;
            }
        }
        Ok(rewritten)
    }

    /// Writes a batch's effects: the journal first, then every write to its tree, in tree and
    /// key order. Not atomic by itself: [`StateTrees::recover`] completes a batch a crash cut
    /// short.
    fn commit(&self, pending: &PendingWrites, stop_after_journal: &AtomicUsize) -> io::Result<()> {
        let journal = encode(&JournalRef {
            generation: self.generation,
            by_tree: &pending.by_tree,
        })?;
        self.store_meta
            .insert(STORE_JOURNAL, journal)
            .map_err(sled_error)?;
        // Set only by tests (`StateMachine::stop_after_next_journal`): a crash at the worst
        // moments, after the journal and part of the writes.
        let stop_after = stop_after_journal.swap(NO_FAULT, std::sync::atomic::Ordering::SeqCst);
        self.write_all(&pending.by_tree, stop_after)
    }

    /// Writes `by_tree`, or only the first `stop_after` writes and then fails.
    fn write_all(
        &self,
        by_tree: &[BTreeMap<Vec<u8>, Option<Vec<u8>>>],
        stop_after: usize,
    ) -> io::Result<()> {
        let mut written = 0;
        for (tree, writes) in self.trees.iter().zip(by_tree) {
            for (key, value) in writes {
                if written == stop_after {
                    return Err(io::Error::other(format!(
                        "fault injected: stopped after the journal and {written} of its writes"
                    )));
                }
                written += 1;
                match value {
                    Some(value) => tree.insert(key.as_slice(), value.as_slice()),
                    None => tree.remove(key.as_slice()),
                }
                .map_err(sled_error)?;
            }
        }
        Ok(())
    }

    fn drop_from(db: &sled::Db, generation: u64) -> io::Result<()> {
        for name in &TREE_NAMES[..TREE_COUNT] {
            db.drop_tree(format!("sm.{generation}.{name}"))
                .map_err(sled_error)?;
        }
        Ok(())
    }

    fn get<T: DeserializeOwned>(
        &self,
        tree: usize,
        key: &[u8],
        what: &str,
    ) -> io::Result<Option<T>> {
        match self.trees[tree].get(key).map_err(sled_error)? {
            Some(bytes) => decode(&bytes, what).map(Some),
            None => Ok(None),
        }
    }

    fn last_applied(&self) -> io::Result<Option<LogId>> {
        Ok(self
            .get::<Option<LogId>>(META, META_LAST_APPLIED, "last applied")?
            .flatten())
    }

    fn membership(&self) -> io::Result<StoredMembership> {
        Ok(self
            .get(META, META_MEMBERSHIP, "membership")?
            .unwrap_or_default())
    }

    fn retired_nodes(&self) -> io::Result<BTreeSet<u64>> {
        Ok(self
            .get(META, META_RETIRED_NODES, "retired node ids")?
            .unwrap_or_default())
    }
}

/// Copies the snapshot file `source` to `destination` with its membership replaced by
/// `membership` (at the snapshot's own last log id), and with the new members' ids no longer
/// retired: the seed of a restored or cut-over cluster. Verifies `source` on the way (a damaged
/// file fails before anything is used). Returns the metadata to install the copy with.
pub fn rewrite_snapshot_membership(
    source: &std::path::Path,
    destination: &std::path::Path,
    membership: openraft::Membership<u64, crate::types::ClusterNode>,
) -> io::Result<(SnapshotMeta, SnapshotFile)> {
    let mut reader = SnapshotReader::open(source)?;
    let mut writer = SnapshotWriter::create(destination)?;
    let meta_tree = u8::try_from(META).expect("few trees");
    let mut last_applied: Option<LogId> = None;
    let members: BTreeSet<u64> = membership.nodes().map(|(id, _node)| *id).collect();
    let mut stored = None;
    while let Some(record) = reader.next_record()? {
        if record.tree != meta_tree {
            writer.record(record.tree, &record.key, &record.value)?;
            continue;
        }
        match record.key.as_slice() {
            META_LAST_APPLIED => {
                last_applied = decode::<Option<LogId>>(&record.value, "last applied")?;
                writer.record(record.tree, &record.key, &record.value)?;
            }
            META_MEMBERSHIP => {
                let new = StoredMembership::new(last_applied, membership.clone());
                writer.record(record.tree, &record.key, &encode(&new)?)?;
                stored = Some(new);
            }
            META_RETIRED_NODES => {
                let mut retired: BTreeSet<u64> = decode(&record.value, "retired node ids")?;
                retired.retain(|id| !members.contains(id));
                writer.record(record.tree, &record.key, &encode(&retired)?)?;
            }
            _ => writer.record(record.tree, &record.key, &record.value)?,
        }
    }
    let Some(stored) = stored else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the snapshot holds no membership: it is not a state machine snapshot",
        ));
    };
    if last_applied.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the snapshot holds no applied entry",
        ));
    }
    let file = writer.finish()?;
    Ok((
        SnapshotMeta {
            last_log_id: last_applied,
            last_membership: stored,
        },
        file,
    ))
}

/// What a snapshot file holds, as domain records: what a backup or a replica's state contains,
/// readable without opening a store (the chaos suite compares replicas this way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotContents {
    /// The index of the last entry the snapshot includes (0 when it includes none).
    pub last_applied_index: u64,
    /// Every record: supply points, applications, stop-on-behalf requests, participants,
    /// notices, request records, due entries, then policy, counters and clock.
    pub records: Vec<Write>,
    /// The retained events, oldest first.
    pub events: Vec<StoredEvent>,
}

/// Reads the snapshot file at `path` (verifying it on the way) into domain records.
pub fn read_snapshot_contents(path: &std::path::Path) -> io::Result<SnapshotContents> {
    let mut reader = SnapshotReader::open(path)?;
    let mut contents = SnapshotContents {
        last_applied_index: 0,
        records: Vec::new(),
        events: Vec::new(),
    };
    let mut meta_records = Vec::new();
    while let Some(record) = reader.next_record()? {
        let value = record.value.as_slice();
        let write = match usize::from(record.tree) {
            SUPPLY_POINTS => Write::SupplyPoint(decode(value, "supply point")?),
            APPLICATIONS => Write::Application(decode(value, "application")?),
            STOP_ON_BEHALF => Write::StopOnBehalf(decode(value, "stop-on-behalf request")?),
            PARTICIPANTS => Write::Participant(decode(value, "participant")?),
            NOTICES => Write::Notice(decode(value, "notice")?),
            REQUESTS => Write::Request(decode(value, "request record")?),
            DUE => Write::Due(decode(value, "due entry")?),
            EVENTS => {
                let key = record.key.as_slice();
                if key.len() != 12 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "an event key is not 12 bytes",
                    ));
                }
                contents.events.push(StoredEvent {
                    revision: u64::from_be_bytes(key[..8].try_into().expect("12-byte keys")),
                    index: u32::from_be_bytes(key[8..].try_into().expect("12-byte keys")),
                    event: decode(value, "event")?,
                });
                continue;
            }
            META => {
                match record.key.as_slice() {
                    META_LAST_APPLIED => {
                        contents.last_applied_index =
                            decode::<Option<LogId>>(value, "last applied")?
                                .map_or(0, |log_id| log_id.index());
                    }
                    META_POLICY => meta_records.push((0, Write::Policy(decode(value, "policy")?))),
                    META_COUNTERS => {
                        meta_records.push((1, Write::Counters(decode(value, "counters")?)));
                    }
                    META_CLOCK => meta_records.push((2, Write::Clock(decode(value, "clock")?))),
                    _ => {}
                }
                continue;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "snapshot names an unknown tree",
                ));
            }
        };
        contents.records.push(write);
    }
    meta_records.sort_by_key(|(order, _)| *order);
    contents
        .records
        .extend(meta_records.into_iter().map(|(_, write)| write));
    Ok(contents)
}

/// Every node id a membership names, voters and learners.
fn member_ids(membership: &StoredMembership) -> BTreeSet<u64> {
    membership.nodes().map(|(id, _node)| *id).collect()
}

/// Reads the domain state from a generation's trees, for `decide` and for queries. A record that
/// cannot be decoded is corruption: the view remembers the first such error, and the apply that
/// used the view fails with it (a storage error stops the node).
///
/// While a batch of entries is applied, the view reads through the batch's [`PendingWrites`]
/// first: each entry sees what the entries before it in the batch wrote, exactly as if every
/// entry had been committed on its own.
pub struct SledView<'a> {
    trees: &'a StateTrees,
    pending: Option<&'a PendingWrites>,
    error: RefCell<Option<io::Error>>,
}

/// The writes of the entries applied so far in one batch, not yet in sled: the last value of
/// each key (`None`: removed). Written together, through the journal, at the end of the batch.
#[derive(Debug, Default)]
struct PendingWrites {
    by_tree: Vec<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    /// Bytes of keys and values recorded (rewrites of a key counted each time).
    bytes: usize,
}

impl PendingWrites {
    fn new() -> PendingWrites {
        PendingWrites {
            by_tree: (0..TREE_COUNT).map(|_| BTreeMap::new()).collect(),
            bytes: 0,
        }
    }

    /// What the batch wrote under `key`: `Some(None)` if it removed it, `None` if it did not
    /// touch it.
    fn get(&self, tree: usize, key: &[u8]) -> Option<Option<&[u8]>> {
        self.by_tree[tree].get(key).map(|value| value.as_deref())
    }

    fn record(&mut self, write: EncodedWrite) {
        self.bytes += write.key.len() + write.value.as_ref().map_or(0, Vec::len);
        self.by_tree[write.tree].insert(write.key, write.value);
    }

    fn writes(&self) -> usize {
        self.by_tree.iter().map(BTreeMap::len).sum()
    }
}

impl std::fmt::Debug for SledView<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SledView")
            .field("generation", &self.trees.generation)
            .finish()
    }
}

impl<'a> SledView<'a> {
    fn new(trees: &'a StateTrees) -> SledView<'a> {
        SledView {
            trees,
            pending: None,
            error: RefCell::new(None),
        }
    }

    /// The trees as a batch has changed them so far.
    fn with_pending(trees: &'a StateTrees, pending: &'a PendingWrites) -> SledView<'a> {
        SledView {
            trees,
            pending: Some(pending),
            error: RefCell::new(None),
        }
    }

    fn read<T: DeserializeOwned>(&self, tree: usize, key: &[u8], what: &str) -> Option<T> {
        let read = match self.pending.and_then(|pending| pending.get(tree, key)) {
            Some(Some(bytes)) => decode(bytes, what).map(Some),
            Some(None) => Ok(None),
            None => self.trees.get(tree, key, what),
        };
        match read {
            Ok(value) => value,
            Err(error) => {
                self.error.borrow_mut().get_or_insert(error);
                None
            }
        }
    }

    fn take_error(&self) -> Option<io::Error> {
        self.error.borrow_mut().take()
    }
}

impl StateView for SledView<'_> {
    fn supply_point(&self, number: &SupplyPointNumber) -> Option<SupplyPoint> {
        self.read(
            SUPPLY_POINTS,
            keys::supply_point(number).as_bytes(),
            "supply point",
        )
    }
    fn application(&self, number: ApplicationNumber) -> Option<Application> {
        self.read(
            APPLICATIONS,
            keys::application(number).as_bytes(),
            "application",
        )
    }
    fn stop_on_behalf(&self, number: StopOnBehalfNumber) -> Option<StopOnBehalfRequest> {
        self.read(
            STOP_ON_BEHALF,
            keys::stop_on_behalf(number).as_bytes(),
            "stop-on-behalf request",
        )
    }
    fn participant(&self, party: &PartyId) -> Option<Participant> {
        self.read(
            PARTICIPANTS,
            keys::participant(party).as_bytes(),
            "participant",
        )
    }
    fn request(&self, key: &RequestKey) -> Option<RequestRecord> {
        self.read(REQUESTS, keys::request(key).as_bytes(), "request record")
    }
    fn policy(&self) -> Policy {
        self.read(META, META_POLICY, "policy").unwrap_or_default()
    }
    fn counters(&self) -> Counters {
        self.read(META, META_COUNTERS, "counters")
            .unwrap_or_default()
    }
    fn clock(&self) -> Option<Timestamp> {
        self.read(META, META_CLOCK, "clock")
    }
    fn due_before(&self, date: Date, limit: usize) -> Vec<DueEntry> {
        let bound = keys::due_bound(date);
        let bound = bound.as_bytes();
        let empty = BTreeMap::new();
        let pending = self.pending.map_or(&empty, |pending| &pending.by_tree[DUE]);
        // The stored entries and the batch's, merged in key order; the batch's win.
        let mut stored = self.trees.trees[DUE].range(..bound).peekable();
        let mut batch = pending
            .range::<[u8], _>((Bound::Unbounded, Bound::Excluded(bound)))
            .peekable();
        let mut entries = Vec::new();
        while entries.len() < limit {
            let next_stored = match stored.peek() {
                Some(Ok((key, _))) => Some(key.to_vec()),
                Some(Err(_)) => {
                    if let Some(Err(error)) = stored.next() {
                        self.error.borrow_mut().get_or_insert(sled_error(error));
                    }
                    break;
                }
                None => None,
            };
            let next_batch = batch.peek().map(|(key, _)| key.to_vec());
            let value = match (next_stored, next_batch) {
                (None, None) => break,
                (Some(stored_key), Some(batch_key)) if batch_key <= stored_key => {
                    if batch_key == stored_key {
                        stored.next();
                    }
                    batch.next().and_then(|(_, value)| value.clone())
                }
                (Some(_), _) => stored
                    .next()
                    .and_then(Result::ok)
                    .map(|(_, value)| value.to_vec()),
                (None, Some(_)) => batch.next().and_then(|(_, value)| value.clone()),
            };
            let Some(value) = value else {
                // Removed by the batch.
                continue;
            };
            match decode::<DueEntry>(&value, "due entry") {
                Ok(entry) => entries.push(entry),
                Err(error) => {
                    self.error.borrow_mut().get_or_insert(error);
                    break;
                }
            }
        }
        entries
    }
}

/// One write, encoded, ready for the journal and its tree.
struct EncodedWrite {
    tree: usize,
    key: Vec<u8>,
    value: Option<Vec<u8>>,
}

fn put<T: Serialize>(tree: usize, key: impl Into<Vec<u8>>, value: &T) -> io::Result<EncodedWrite> {
    Ok(EncodedWrite {
        tree,
        key: key.into(),
        value: Some(encode(value)?),
    })
}

fn encode_write(write: &Write) -> io::Result<EncodedWrite> {
    match write {
        Write::SupplyPoint(record) => {
            put(SUPPLY_POINTS, keys::supply_point(&record.number), record)
        }
        Write::Application(record) => put(APPLICATIONS, keys::application(record.number), record),
        Write::StopOnBehalf(record) => {
            put(STOP_ON_BEHALF, keys::stop_on_behalf(record.number), record)
        }
        Write::Participant(record) => put(PARTICIPANTS, keys::participant(&record.party), record),
        Write::Notice(record) => put(NOTICES, keys::notice(record.number), record),
        Write::Request(record) => put(REQUESTS, keys::request(&record.key), record),
        Write::DeleteRequest(key) => Ok(EncodedWrite {
            tree: REQUESTS,
            key: keys::request(key).into_bytes(),
            value: None,
        }),
        Write::Due(entry) => put(DUE, keys::due(entry), entry),
        Write::DeleteDue(entry) => Ok(EncodedWrite {
            tree: DUE,
            key: keys::due(entry).into_bytes(),
            value: None,
        }),
        Write::Policy(policy) => put(META, META_POLICY, policy),
        Write::Counters(counters) => put(META, META_COUNTERS, counters),
        Write::Clock(clock) => put(META, META_CLOCK, clock),
    }
}

fn event_key(revision: u64, index: u32) -> Vec<u8> {
    let mut key = revision.to_be_bytes().to_vec();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The state machine of one node. Cheap to clone; clones share the trees.
#[derive(Debug, Clone)]
pub struct StateMachine {
    disk: Arc<Disk>,
    store_meta: sled::Tree,
    trees: Arc<RwLock<Arc<StateTrees>>>,
    /// Held while applying, building a snapshot or installing one: a snapshot is a consistent
    /// copy because nothing applies while it is taken (sled has no point-in-time iterator).
    apply_lock: Arc<tokio::sync::Mutex<()>>,
    /// Held shared by [`StateMachine::read`] for the whole read and exclusively by each entry's
    /// commit (and by the flip to an installed snapshot): sled reads each key atomically but a
    /// read of several keys is no snapshot, so without it a read could see half of what an entry
    /// changed, and could not say which revision it saw.
    read_lock: Arc<std::sync::RwLock<()>>,
    snapshot_directory: PathBuf,
    retention: EventRetention,
    /// Time to apply each entry (`switchyard_apply_duration_seconds`).
    apply_duration: switchyard_metrics::DurationHistogram,
    /// A fault point for tests: the next batch stops after its journal and this many of its
    /// writes, as a crash would ([`NO_FAULT`]: never).
    stop_after_journal: Arc<AtomicUsize>,
}

/// Where the current snapshot is, as recorded in the store's own metadata.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct CurrentSnapshot {
    meta: SnapshotMeta,
    file_name: String,
    bytes: u64,
}

impl StateMachine {
    pub(crate) fn open(
        disk: Arc<Disk>,
        event_revisions_retained: u64,
        snapshot_directory: PathBuf,
        apply_duration: switchyard_metrics::DurationHistogram,
    ) -> io::Result<StateMachine> {
        let store_meta = disk.db.open_tree("store_meta").map_err(sled_error)?;
        let generation = match store_meta.get(STORE_GENERATION).map_err(sled_error)? {
            Some(bytes) => decode::<u64>(&bytes, "generation")?,
            None => 0,
        };
        // Drop the trees of any other generation: leftovers of an install that did not finish,
        // or of one that finished but crashed before dropping its predecessor.
        for name in disk.db.tree_names() {
            let name = String::from_utf8_lossy(&name).into_owned();
            if let Some(rest) = name.strip_prefix("sm.") {
                let other: Option<u64> = rest.split('.').next().and_then(|text| text.parse().ok());
                if let Some(other) = other.filter(|other| *other != generation) {
                    disk.db.drop_tree(name.as_bytes()).map_err(sled_error)?;
                    tracing::info!(generation = other, tree = %name, "dropped a stale state tree");
                }
            }
        }
        let trees = StateTrees::open(&disk.db, generation)?;
        let retention = EventRetention::new(event_revisions_retained);
        let rewritten = trees.recover(retention)?;
        tracing::debug!(generation, rewritten, "wrote the last applied batch again");
        std::fs::create_dir_all(&snapshot_directory)?;
        // Snapshots half received before a restart are useless now.
        for entry in std::fs::read_dir(&snapshot_directory)? {
            let entry = entry?;
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("receiving-")
            {
                std::fs::remove_file(entry.path())?;
            }
        }
        if let Some(parent) = snapshot_directory.parent() {
            sync_directory(parent)?;
        }
        Ok(StateMachine {
            disk,
            store_meta,
            trees: Arc::new(RwLock::new(Arc::new(trees))),
            apply_lock: Arc::new(tokio::sync::Mutex::new(())),
            read_lock: Arc::new(std::sync::RwLock::new(())),
            snapshot_directory,
            retention,
            apply_duration,
            stop_after_journal: Arc::new(AtomicUsize::new(NO_FAULT)),
        })
    }

    fn current(&self) -> Arc<StateTrees> {
        Arc::clone(&self.trees.read().expect("state trees lock"))
    }

    /// Runs `read` against the current state. Reads see every applied entry, and only whole
    /// entries.
    pub fn read<T>(&self, read: impl FnOnce(&dyn StateView) -> T) -> io::Result<T> {
        self.read_with_revision(read).map(|(result, _)| result)
    }

    /// Like [`StateMachine::read`], and also returns the revision of the state it read: the
    /// index of the last entry applied (0 before the first). No entry commits while `read` runs,
    /// so what it saw is exactly the state after that entry.
    pub fn read_with_revision<T>(
        &self,
        read: impl FnOnce(&dyn StateView) -> T,
    ) -> io::Result<(T, u64)> {
        let _reading = self
            .read_lock
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let trees = self.current();
        let revision = trees.last_applied()?.map_or(0, |log_id| log_id.index());
        let view = SledView::new(&trees);
        let result = read(&view);
        match view.take_error() {
            Some(error) => Err(error),
            None => Ok((result, revision)),
        }
    }

    /// Makes the next batch of applied entries fail after writing its journal and `writes` of
    /// the writes it holds, as if the node crashed there (tests only).
    #[cfg(feature = "fault-injection")]
    pub fn stop_after_next_journal(&self, writes: usize) {
        self.stop_after_journal
            .store(writes, std::sync::atomic::Ordering::SeqCst);
    }

    /// The last applied log id.
    pub fn last_applied(&self) -> io::Result<Option<LogId>> {
        self.current().last_applied()
    }

    /// The current snapshot (the last built or installed), if its file is still there.
    pub fn current_snapshot(&self) -> io::Result<Option<(SnapshotMeta, SnapshotFile)>> {
        let Some(record) = self.current_snapshot_record()? else {
            return Ok(None);
        };
        let path = self.snapshot_directory.join(&record.file_name);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some((
            record.meta,
            SnapshotFile {
                path,
                bytes: record.bytes,
            },
        )))
    }

    /// Node ids that have left the membership: none of them may join again.
    pub fn retired_node_ids(&self) -> io::Result<BTreeSet<u64>> {
        self.current().retired_nodes()
    }

    /// Events from `revision` on (inclusive), at most `limit`. Whole batches of applied entries
    /// only: an entry's events are never seen in part.
    pub fn events_from(&self, revision: u64, limit: usize) -> io::Result<Vec<StoredEvent>> {
        let _reading = self
            .read_lock
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let trees = self.current();
        let mut events = Vec::new();
        for item in trees.trees[EVENTS]
            .range(event_key(revision, 0)..)
            .take(limit)
        {
            let (key, value) = item.map_err(sled_error)?;
            let event: Event = decode(&value, "event")?;
            let revision = u64::from_be_bytes(key[..8].try_into().expect("12-byte keys"));
            let index = u32::from_be_bytes(key[8..12].try_into().expect("12-byte keys"));
            events.push(StoredEvent {
                revision,
                index,
                event,
            });
        }
        Ok(events)
    }

    /// The oldest revision whose events are all still stored: a watch may start there or
    /// later. Pruning happens at the same revisions on every node (and snapshots carry the
    /// events), so every node that applied the same entries gives the same answer.
    pub fn events_available_from(&self) -> io::Result<u64> {
        let applied = self.last_applied()?.map_or(0, |log_id| log_id.index());
        Ok(self.retention.available_from(applied))
    }

    /// The revision of the oldest event still retained, or `None` when no event is stored.
    pub fn oldest_event_revision(&self) -> io::Result<Option<u64>> {
        let trees = self.current();
        match trees.trees[EVENTS].first().map_err(sled_error)? {
            Some((key, _)) => Ok(Some(u64::from_be_bytes(
                key[..8].try_into().expect("12-byte keys"),
            ))),
            None => Ok(None),
        }
    }

    /// Visits applications in number order, starting after `after`, until `visit` breaks.
    pub fn scan_applications(
        &self,
        after: Option<ApplicationNumber>,
        visit: impl FnMut(Application) -> ControlFlow<()>,
    ) -> io::Result<()> {
        let start = after.map(keys::application);
        self.scan(APPLICATIONS, start.as_deref(), false, "application", visit)
    }

    /// Visits stop-on-behalf requests in number order, starting after `after`, until `visit`
    /// breaks.
    pub fn scan_stop_on_behalf(
        &self,
        after: Option<StopOnBehalfNumber>,
        visit: impl FnMut(StopOnBehalfRequest) -> ControlFlow<()>,
    ) -> io::Result<()> {
        let start = after.map(keys::stop_on_behalf);
        self.scan(
            STOP_ON_BEHALF,
            start.as_deref(),
            false,
            "stop-on-behalf request",
            visit,
        )
    }

    /// Visits participants in party id order, starting after `after`, until `visit` breaks.
    pub fn scan_participants(
        &self,
        after: Option<&PartyId>,
        visit: impl FnMut(Participant) -> ControlFlow<()>,
    ) -> io::Result<()> {
        let start = after.map(keys::participant);
        self.scan(PARTICIPANTS, start.as_deref(), false, "participant", visit)
    }

    /// Visits notices newest first, starting before `before`, until `visit` breaks.
    pub fn scan_notices_newest_first(
        &self,
        before: Option<NoticeNumber>,
        visit: impl FnMut(Notice) -> ControlFlow<()>,
    ) -> io::Result<()> {
        let start = before.map(keys::notice);
        self.scan(NOTICES, start.as_deref(), true, "notice", visit)
    }

    /// Visits the records of `tree` in key order (or reverse order), strictly after (before)
    /// `start`, until `visit` breaks. Reads one generation throughout.
    fn scan<T: DeserializeOwned>(
        &self,
        tree: usize,
        start: Option<&str>,
        reverse: bool,
        what: &str,
        mut visit: impl FnMut(T) -> ControlFlow<()>,
    ) -> io::Result<()> {
        use std::ops::Bound;
        let trees = self.current();
        let tree = &trees.trees[tree];
        let mut each = |item: sled::Result<(sled::IVec, sled::IVec)>| -> io::Result<bool> {
            let (_, value) = item.map_err(sled_error)?;
            Ok(visit(decode(&value, what)?).is_break())
        };
        match (start, reverse) {
            (None, false) => {
                for item in tree.iter() {
                    if each(item)? {
                        break;
                    }
                }
            }
            (None, true) => {
                for item in tree.iter().rev() {
                    if each(item)? {
                        break;
                    }
                }
            }
            (Some(start), false) => {
                let range = (Bound::Excluded(start.as_bytes()), Bound::Unbounded);
                for item in tree.range::<&[u8], _>(range) {
                    if each(item)? {
                        break;
                    }
                }
            }
            (Some(start), true) => {
                for item in tree.range(..start.as_bytes()).rev() {
                    if each(item)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// The state hash, computed exactly as [`switchyard_domain::MemoryState::state_hash`] does.
    pub fn state_hash(&self) -> io::Result<String> {
        let trees = self.current();
        let mut hasher = StateHasher::new();
        fn tree<T: DeserializeOwned + Serialize>(
            hasher: &mut StateHasher,
            trees: &StateTrees,
            index: usize,
        ) -> io::Result<()> {
            for item in trees.trees[index].iter() {
                let (key, value) = item.map_err(sled_error)?;
                let record: T = decode(&value, TREE_NAMES[index])?;
                let json = serde_json::to_vec(&record).map_err(io::Error::other)?;
                hasher.add(TREE_NAMES[index], &key, &json);
            }
            Ok(())
        }
        tree::<SupplyPoint>(&mut hasher, &trees, SUPPLY_POINTS)?;
        tree::<Application>(&mut hasher, &trees, APPLICATIONS)?;
        tree::<StopOnBehalfRequest>(&mut hasher, &trees, STOP_ON_BEHALF)?;
        tree::<Participant>(&mut hasher, &trees, PARTICIPANTS)?;
        tree::<Notice>(&mut hasher, &trees, NOTICES)?;
        tree::<RequestRecord>(&mut hasher, &trees, REQUESTS)?;
        tree::<DueEntry>(&mut hasher, &trees, DUE)?;
        let view = SledView::new(&trees);
        let policy: Option<Policy> = view.read(META, META_POLICY, "policy");
        hasher.add_json("policy", &policy);
        hasher.add_json("counters", &view.counters());
        hasher.add_json("clock", &view.clock());
        if let Some(error) = view.take_error() {
            return Err(error);
        }
        Ok(hasher.finish())
    }

    /// Applies `entries` (consecutive, committed) to `trees` as one batch: each entry is decided
    /// against the state the entries before it left, and their effects are written together at
    /// the end (or earlier, each time they reach [`APPLY_BATCH_BYTES_MAX`]) with the
    /// `last_applied` of the last entry they cover; events are pruned afterwards where a pruning
    /// point fell inside the batch. The result is the same as applying the entries one by one,
    /// on every node, whatever the batch boundaries. Returns each entry's answer, in order.
    /// Blocking.
    fn apply_batch(
        trees: &StateTrees,
        read_lock: &std::sync::RwLock<()>,
        stop_after_journal: &AtomicUsize,
        retention: EventRetention,
        entries: Vec<Entry>,
    ) -> io::Result<Vec<StoreResponse>> {
        let mut pending = PendingWrites::new();
        let mut answers = Vec::with_capacity(entries.len());
        let mut unwritten = None;
        let mut prune_at = None;
        for entry in entries {
            let log_id = entry.log_id;
            let revision = log_id.index();
            let mut response = StoreResponse {
                revision,
                outcome: None,
                replayed: false,
            };
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(request) => {
                    let envelope = request.envelope.into_current();
                    let view = SledView::with_pending(trees, &pending);
                    let decision = decide(&view, &envelope, request.timestamp);
                    if let Some(error) = view.take_error() {
                        tracing::error!(revision, error = %error, "state unreadable while applying");
                        return Err(error);
                    }
                    for write in &decision.changes.writes {
                        pending.record(encode_write(write)?);
                    }
                    for (index, event) in decision.changes.events.iter().enumerate() {
                        let index = u32::try_from(index).map_err(io::Error::other)?;
                        pending.record(put(EVENTS, event_key(revision, index), event)?);
                    }
                    response.outcome = Some(decision.outcome);
                    response.replayed = decision.replayed;
                }
                EntryPayload::Membership(new_membership) => {
                    let new_membership = StoredMembership::new(Some(log_id), new_membership);
                    let view = SledView::with_pending(trees, &pending);
                    let old_membership: StoredMembership = view
                        .read(META, META_MEMBERSHIP, "membership")
                        .unwrap_or_default();
                    let mut retired: BTreeSet<u64> = view
                        .read(META, META_RETIRED_NODES, "retired node ids")
                        .unwrap_or_default();
                    if let Some(error) = view.take_error() {
                        return Err(error);
                    }
                    // A node that leaves the membership retires its id for good: a wiped node
                    // must come back under a new id, never as its old self with an empty log.
                    let current = member_ids(&new_membership);
                    retired.extend(
                        member_ids(&old_membership)
                            .into_iter()
                            .filter(|id| !current.contains(id)),
                    );
                    pending.record(put(META, META_MEMBERSHIP, &new_membership)?);
                    pending.record(put(META, META_RETIRED_NODES, &retired)?);
                }
            }
            if retention.prunes_at(revision) {
                prune_at = Some(revision);
            }
            unwritten = Some(log_id);
            answers.push(response);
            if pending.bytes >= APPLY_BATCH_BYTES_MAX {
                Self::write_batch(trees, read_lock, stop_after_journal, &mut pending, log_id)?;
                unwritten = None;
            }
        }
        if let Some(last_log_id) = unwritten {
            Self::write_batch(
                trees,
                read_lock,
                stop_after_journal,
                &mut pending,
                last_log_id,
            )?;
        }
        if let Some(revision) = prune_at {
            Self::prune_events(trees, retention, revision)?;
        }
        Ok(answers)
    }

    /// Writes `pending` with `last_applied` = `last_log_id` and empties it.
    fn write_batch(
        trees: &StateTrees,
        read_lock: &std::sync::RwLock<()>,
        stop_after_journal: &AtomicUsize,
        pending: &mut PendingWrites,
        last_log_id: LogId,
    ) -> io::Result<()> {
        pending.record(put(META, META_LAST_APPLIED, &Some(last_log_id))?);
        tracing::trace!(
            writes = pending.writes(),
            bytes = pending.bytes,
            "writing applied entries"
        );
        // Reads wait while the writes go in: they see all of them or none of them.
        let _committing = read_lock
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        trees.commit(pending, stop_after_journal)?;
        *pending = PendingWrites::new();
        Ok(())
    }

    fn prune_events(
        trees: &StateTrees,
        retention: EventRetention,
        revision: u64,
    ) -> io::Result<()> {
        if !retention.prunes_at(revision) {
            return Ok(());
        }
        // Oldest first, one by one: a crash part way leaves the newest of them, which the next
        // start prunes again (`StateTrees::recover`).
        let oldest_kept = event_key(revision - retention.retained, 0);
        let events = &trees.trees[EVENTS];
        for key in events.range(..oldest_kept).keys() {
            events
                .remove(key.map_err(sled_error)?)
                .map_err(sled_error)?;
        }
        Ok(())
    }

    fn current_snapshot_record(&self) -> io::Result<Option<CurrentSnapshot>> {
        match self.store_meta.get(STORE_SNAPSHOT).map_err(sled_error)? {
            Some(bytes) => decode(&bytes, "current snapshot").map(Some),
            None => Ok(None),
        }
    }

    /// Records `file` as the current snapshot and removes older snapshot files.
    async fn set_current_snapshot(
        &self,
        meta: &SnapshotMeta,
        file: &SnapshotFile,
    ) -> io::Result<()> {
        let file_name = file
            .path
            .file_name()
            .and_then(|name| name.to_str())
            .ok_or_else(|| io::Error::other("snapshot file without a name"))?
            .to_owned();
        let record = CurrentSnapshot {
            meta: meta.clone(),
            file_name: file_name.clone(),
            bytes: file.bytes,
        };
        self.store_meta
            .insert(STORE_SNAPSHOT, encode(&record)?)
            .map_err(sled_error)?;
        self.disk.sync().await?;
        for entry in std::fs::read_dir(&self.snapshot_directory)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ours = name.starts_with("built-") || name.starts_with("installed-");
            if ours && name.ends_with(".snap") && name != file_name {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    /// A file name for a new snapshot at `log_id`, unique within this node.
    fn snapshot_path(&self, log_id: Option<&LogId>, purpose: &str) -> PathBuf {
        let (term, index) = log_id.map_or((0, 0), |log_id| (log_id.leader_id.term, log_id.index()));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        self.snapshot_directory
            .join(format!("{purpose}-{term}-{index}-{nanos}.snap"))
    }

    /// A file to receive a snapshot from a peer into.
    pub fn receiving_snapshot_path(&self) -> PathBuf {
        self.snapshot_path(None, "receiving")
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotFile;
    type SnapshotBuilder = StateMachine;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let trees = self.current();
        Ok((trees.last_applied()?, trees.membership()?))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let _applying = self.apply_lock.lock().await;
        let trees = self.current();
        let retention = self.retention;
        let mut batch: Vec<Entry> = Vec::new();
        let mut responders = Vec::new();
        loop {
            let next = entries.try_next().await?;
            let end = next.is_none();
            if let Some((entry, responder)) = next {
                batch.push(entry);
                responders.push(responder);
            }
            if batch.len() >= APPLY_BATCH_ENTRIES_MAX || (end && !batch.is_empty()) {
                // sled blocks: deciding and writing run off the async threads, so that the
                // node's network and API tasks go on meanwhile.
                let entries = std::mem::take(&mut batch);
                let trees = Arc::clone(&trees);
                let read_lock = Arc::clone(&self.read_lock);
                let stop_after_journal = Arc::clone(&self.stop_after_journal);
                let started = std::time::Instant::now();
                let answers = tokio::task::spawn_blocking(move || {
                    Self::apply_batch(&trees, &read_lock, &stop_after_journal, retention, entries)
                })
                .await
                .map_err(io::Error::other)??;
                // Every entry of the batch took as long as its batch to be applied.
                let took = started.elapsed();
                for _ in 0..answers.len() {
                    self.apply_duration.observe(took);
                }
                for (responder, answer) in responders.drain(..).zip(answers) {
                    if let Some(responder) = responder {
                        responder.send(answer);
                    }
                }
            }
            if end {
                return Ok(());
            }
        }
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotFile,
    ) -> Result<(), io::Error> {
        let _applying = self.apply_lock.lock().await;
        let old = self.current();
        let generation = old.generation + 1;
        let db = self.disk.db.clone();
        let file = snapshot.clone();
        let expected_last_applied = meta.last_log_id;
        let loaded = tokio::task::spawn_blocking(move || -> io::Result<StateTrees> {
            StateTrees::drop_from(&db, generation)?;
            let trees = StateTrees::open(&db, generation)?;
            let mut reader = SnapshotReader::open(&file.path)?;
            // Plain inserts: nothing reads this generation before the flip below, and a crash
            // before it drops the generation at the next start.
            while let Some(record) = reader.next_record()? {
                let (tree, key, value) = (usize::from(record.tree), record.key, record.value);
                let Some(tree) = trees.trees.get(tree) else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "snapshot names an unknown tree",
                    ));
                };
                tree.insert(key, value).map_err(sled_error)?;
            }
            if trees.last_applied()? != expected_last_applied {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "snapshot content does not match its metadata",
                ));
            }
            Ok(trees)
        })
        .await
        .map_err(io::Error::other)??;
        self.disk.sync().await?;
        // The flip: from here on the new generation is the state.
        self.store_meta
            .insert(STORE_GENERATION, encode(&generation)?)
            .map_err(sled_error)?;
        self.disk.sync().await?;
        {
            let _flipping = self
                .read_lock
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *self.trees.write().expect("state trees lock") = Arc::new(loaded);
            StateTrees::drop_from(&self.disk.db, old.generation).map_err(io::Error::other)?;
        }
        // Keep a copy of the installed file as the current snapshot, under a name of our own
        // (a hard link where possible); the caller's file is left as it was.
        let kept = self.snapshot_path(meta.last_log_id.as_ref(), "installed");
        if std::fs::hard_link(&snapshot.path, &kept).is_err() {
            std::fs::copy(&snapshot.path, &kept)?;
        }
        sync_directory(&self.snapshot_directory)?;
        let kept = SnapshotFile {
            path: kept,
            bytes: snapshot.bytes,
        };
        self.set_current_snapshot(meta, &kept).await?;
        tracing::info!(
            generation,
            last_log_id = ?meta.last_log_id,
            bytes = snapshot.bytes,
            "installed a snapshot"
        );
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<openraft::alias::SnapshotOf<TypeConfig, SnapshotFile>>, io::Error> {
        Ok(self
            .current_snapshot()?
            .map(|(meta, snapshot)| openraft::storage::Snapshot { meta, snapshot }))
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotFile;

    async fn build_snapshot(
        &mut self,
    ) -> Result<openraft::alias::SnapshotOf<TypeConfig, SnapshotFile>, io::Error> {
        let applying = self.apply_lock.lock().await;
        let trees = self.current();
        let last_applied = trees.last_applied()?;
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: trees.membership()?,
        };
        let path = self.snapshot_path(last_applied.as_ref(), "built");
        let written = {
            let trees = Arc::clone(&trees);
            let path = path.clone();
            tokio::task::spawn_blocking(move || -> io::Result<SnapshotFile> {
                let mut writer = SnapshotWriter::create(&path)?;
                for (index, tree) in trees.trees.iter().enumerate() {
                    let index = u8::try_from(index).expect("few trees");
                    for item in tree.iter() {
                        let (key, value) = item.map_err(sled_error)?;
                        writer.record(index, &key, &value)?;
                    }
                }
                writer.finish()
            })
            .await
            .map_err(io::Error::other)??
        };
        // The state machine is synced lazily (the log replays it), but from now on the log may
        // be purged up to this snapshot: the applied state must be durable at least this far.
        self.disk.sync().await?;
        drop(applying);
        sync_directory(&self.snapshot_directory)?;
        self.set_current_snapshot(&meta, &written).await?;
        tracing::info!(last_log_id = ?last_applied, bytes = written.bytes, "built a snapshot");
        Ok(openraft::storage::Snapshot {
            meta,
            snapshot: written,
        })
    }
}
