//! The sled state machine against the domain's reference: applying a recorded scenario gives the
//! same state hash as `MemoryState`; the state survives a reopen; snapshots round-trip between
//! directories, read back as the same domain records, and refuse corruption; events carry their
//! revisions; reads see whole entries at the revision they name; look-ups are audited; a stalled
//! disk is reported; a batch a crash cut short is completed from its journal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use openraft::entry::RaftEntry;
use openraft::storage::{RaftLogStorage, RaftStateMachine};
use openraft::{RaftSnapshotBuilder, testing};
use switchyard_domain::scenario::{Scenario, ScenarioConfig};
use switchyard_domain::{
    Changes, EventKind, MemoryState, PartyId, SupplyPointNumber, Timestamp, VersionedEnvelope,
};
use switchyard_store::alias::Entry;
use switchyard_store::{
    DiskHealth, LookupAudit, StateMachine, Store, StoreConfig, StoreRequest, TypeConfig,
    read_snapshot_contents,
};

fn entries_for(scenario: &Scenario, first_index: u64) -> Vec<Entry> {
    scenario
        .log
        .iter()
        .enumerate()
        .map(|(offset, (envelope, at))| {
            Entry::new_normal(
                testing::log_id::<TypeConfig>(1, 1, first_index + offset as u64),
                StoreRequest {
                    envelope: VersionedEnvelope::from(envelope.clone()),
                    timestamp: *at,
                },
            )
        })
        .collect()
}

async fn apply(state_machine: &mut StateMachine, entries: Vec<Entry>) {
    let stream = futures::stream::iter(entries.into_iter().map(|entry| Ok((entry, None))));
    state_machine.apply(stream).await.expect("apply succeeds");
}

fn scenario() -> Scenario {
    Scenario::build(&ScenarioConfig::small(5))
}

/// Applying a recorded scenario through the sled state machine ends in exactly the reference
/// state (same state hash as the domain's MemoryState), with last_applied at the last entry.
#[tokio::test]
async fn applies_like_the_reference() {
    let scenario = scenario();
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
    let entries = entries_for(&scenario, 1);
    let count = entries.len() as u64;
    apply(&mut store.state_machine, entries).await;
    assert_eq!(
        store.state_machine.state_hash().unwrap(),
        scenario.state.state_hash()
    );
    let (last_applied, _) = store.state_machine.applied_state().await.unwrap();
    assert_eq!(last_applied.unwrap().index, count);

    // Reads through the view see the applied records.
    let (number, expected) = scenario.state.supply_points.iter().next().unwrap();
    let read = store
        .state_machine
        .read(|view| view.supply_point(number))
        .unwrap();
    assert_eq!(read.as_ref(), Some(expected));
}

/// Batch boundaries change nothing: the scenario applied one entry per call, in uneven chunks
/// (1, 2, 3, ... entries per call, so that a batch often holds a command together with the
/// tick that reads the due entries it just wrote), and all at once (batches of the store's
/// maximum) ends in the reference state hash every time, with the same events.
#[tokio::test]
async fn batch_boundaries_change_nothing() {
    let scenario = scenario();
    let entries = entries_for(&scenario, 1);
    let mut hashes = Vec::new();
    let mut event_logs = Vec::new();
    for split in ["one by one", "uneven chunks", "all at once"] {
        let directory = tempfile::tempdir().unwrap();
        let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
        match split {
            "one by one" => {
                for entry in entries.clone() {
                    apply(&mut store.state_machine, vec![entry]).await;
                }
            }
            "uneven chunks" => {
                let mut rest = entries.clone();
                let mut size = 1;
                while !rest.is_empty() {
                    let tail = rest.split_off(size.min(rest.len()));
                    apply(&mut store.state_machine, rest).await;
                    rest = tail;
                    size = size % 7 + 1;
                }
            }
            _ => apply(&mut store.state_machine, entries.clone()).await,
        }
        hashes.push(store.state_machine.state_hash().unwrap());
        event_logs.push(store.state_machine.events_from(0, usize::MAX).unwrap());
    }
    for (hash, split) in hashes
        .iter()
        .zip(["one by one", "uneven chunks", "all at once"])
    {
        assert_eq!(hash, &scenario.state.state_hash(), "{split}");
    }
    assert!(!event_logs[0].is_empty());
    assert_eq!(event_logs[0], event_logs[1]);
    assert_eq!(event_logs[0], event_logs[2]);
}

/// Closing and reopening the directory gives back the same state and last applied entry.
#[tokio::test]
async fn survives_reopen() {
    let scenario = scenario();
    let directory = tempfile::tempdir().unwrap();
    let hash = {
        let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
        apply(&mut store.state_machine, entries_for(&scenario, 1)).await;
        store.state_machine.state_hash().unwrap()
    };
    let mut reopened = Store::open(&StoreConfig::new(directory.path())).unwrap();
    assert_eq!(reopened.state_machine.state_hash().unwrap(), hash);
    let (last_applied, _) = reopened.state_machine.applied_state().await.unwrap();
    assert_eq!(last_applied.unwrap().index, scenario.log.len() as u64);
}

/// A crash after a batch's journal and part of its writes (the worst moments: the trees then
/// hold half a batch) loses nothing and breaks nothing: the reopened store completes the batch
/// from its journal, so `last_applied` is the batch's last entry, and applying the rest of the
/// log from there ends in the reference state.
#[tokio::test]
async fn a_batch_cut_short_is_completed_from_its_journal() {
    let scenario = scenario();
    let entries = entries_for(&scenario, 1);
    let half = entries.len() / 2;
    let batch = 10;
    for stop_after in [0, 1, 7, 25] {
        let directory = tempfile::tempdir().unwrap();
        {
            let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
            apply(&mut store.state_machine, entries[..half].to_vec()).await;
            store.state_machine.stop_after_next_journal(stop_after);
            let cut = entries[half..half + batch].to_vec();
            let stream = futures::stream::iter(cut.into_iter().map(|entry| Ok((entry, None))));
            let failed = store.state_machine.apply(stream).await;
            assert!(
                failed.is_err(),
                "the batch holds more than {stop_after} writes, so the fault point must fire"
            );
        }
        let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
        let (last_applied, _) = store.state_machine.applied_state().await.unwrap();
        assert_eq!(
            last_applied.map(|log_id| log_id.index),
            Some((half + batch) as u64),
            "after stopping {stop_after} writes into the batch, the reopened store holds all of it"
        );
        apply(&mut store.state_machine, entries[half + batch..].to_vec()).await;
        assert_eq!(
            store.state_machine.state_hash().unwrap(),
            scenario.state.state_hash(),
            "stopped {stop_after} writes into the batch"
        );
    }
}

/// A snapshot built on one node and installed on another (in another directory) reproduces the
/// state exactly, and the receiver then serves it as its own current snapshot.
#[tokio::test]
async fn snapshot_round_trip() {
    let scenario = scenario();
    let source_directory = tempfile::tempdir().unwrap();
    let mut source = Store::open(&StoreConfig::new(source_directory.path())).unwrap();
    apply(&mut source.state_machine, entries_for(&scenario, 1)).await;
    let snapshot = source.state_machine.build_snapshot().await.unwrap();
    assert!(snapshot.snapshot.bytes > 0);

    let target_directory = tempfile::tempdir().unwrap();
    let mut target = Store::open(&StoreConfig::new(target_directory.path())).unwrap();
    // The target has some other state first; the snapshot replaces it entirely.
    apply(
        &mut target.state_machine,
        entries_for(&scenario, 1)[..3].to_vec(),
    )
    .await;
    target
        .state_machine
        .install_snapshot(&snapshot.meta, snapshot.snapshot.clone())
        .await
        .unwrap();
    assert_eq!(
        target.state_machine.state_hash().unwrap(),
        scenario.state.state_hash()
    );
    let (last_applied, _) = target.state_machine.applied_state().await.unwrap();
    assert_eq!(last_applied, snapshot.meta.last_log_id);
    let current = target
        .state_machine
        .get_current_snapshot()
        .await
        .unwrap()
        .expect("the installed snapshot is current");
    assert_eq!(current.meta, snapshot.meta);

    // The installed generation survives a reopen.
    drop(target);
    let reopened = Store::open(&StoreConfig::new(target_directory.path())).unwrap();
    assert_eq!(
        reopened.state_machine.state_hash().unwrap(),
        scenario.state.state_hash()
    );
}

/// A snapshot file read back as domain records is the applied state: the records rebuild a
/// state with the reference's hash, the events are the reference's events, and the applied
/// index is the last entry's.
#[tokio::test]
async fn snapshot_contents_are_the_state() {
    let scenario = scenario();
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
    apply(&mut store.state_machine, entries_for(&scenario, 1)).await;
    let snapshot = store.state_machine.build_snapshot().await.unwrap();
    let contents = read_snapshot_contents(&snapshot.snapshot.path).unwrap();
    assert_eq!(contents.last_applied_index, scenario.log.len() as u64);
    let mut rebuilt = MemoryState::default();
    rebuilt.apply(
        &Changes {
            writes: contents.records.clone(),
            events: Vec::new(),
        },
        contents.last_applied_index,
    );
    assert_eq!(rebuilt.state_hash(), scenario.state.state_hash());
    assert_eq!(contents.events, scenario.state.events);
}

/// A read sees whole entries and names the revision it saw: while the scenario's entries are
/// applied one by one, a reader on another thread keeps reading the counters and the clock (two
/// keys every entry may rewrite together) with their revision, and every read matches the
/// reference state after exactly that revision. (Found by the chaos suite: look-ups reported a
/// revision older than the state they showed.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_see_whole_entries_at_the_revision_they_name() {
    let scenario = scenario();
    let mut reference = MemoryState::default();
    let mut expected = vec![(reference.counters, reference.clock)];
    for (envelope, at) in &scenario.log {
        let _ = reference.execute(envelope, *at);
        expected.push((reference.counters, reference.clock));
    }
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let state_machine = store.state_machine.clone();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut reads = 0usize;
            while !done.load(Ordering::SeqCst) {
                let (seen, revision) = state_machine
                    .read_with_revision(|view| (view.counters(), view.clock()))
                    .unwrap();
                assert_eq!(
                    seen, expected[revision as usize],
                    "the state read does not match the revision it names ({revision})"
                );
                reads += 1;
            }
            reads
        })
    };
    for entry in entries_for(&scenario, 1) {
        apply(&mut store.state_machine, vec![entry]).await;
    }
    done.store(true, Ordering::SeqCst);
    let reads = reader.join().expect("the reader saw consistent states");
    assert!(reads > 0);
}

/// A snapshot file with one flipped byte is refused and the receiver's state stays as it was.
#[tokio::test]
async fn corrupt_snapshot_refused() {
    let scenario = scenario();
    let source_directory = tempfile::tempdir().unwrap();
    let mut source = Store::open(&StoreConfig::new(source_directory.path())).unwrap();
    apply(&mut source.state_machine, entries_for(&scenario, 1)).await;
    let snapshot = source.state_machine.build_snapshot().await.unwrap();
    let mut bytes = std::fs::read(&snapshot.snapshot.path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let corrupt_path = source_directory.path().join("corrupt.snap");
    std::fs::write(&corrupt_path, &bytes).unwrap();

    let target_directory = tempfile::tempdir().unwrap();
    let mut target = Store::open(&StoreConfig::new(target_directory.path())).unwrap();
    apply(
        &mut target.state_machine,
        entries_for(&scenario, 1)[..3].to_vec(),
    )
    .await;
    let before = target.state_machine.state_hash().unwrap();
    let corrupt = switchyard_store::SnapshotFile {
        path: corrupt_path,
        bytes: bytes.len() as u64,
    };
    let result = target
        .state_machine
        .install_snapshot(&snapshot.meta, corrupt)
        .await;
    assert!(result.is_err(), "a corrupt snapshot was installed");
    assert_eq!(target.state_machine.state_hash().unwrap(), before);
}

/// Events are stored under the revision (log index) of the entry that emitted them, in order.
#[tokio::test]
async fn events_carry_revisions() {
    let scenario = scenario();
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
    apply(&mut store.state_machine, entries_for(&scenario, 100)).await;
    let events = store.state_machine.events_from(0, 100_000).unwrap();
    assert!(!events.is_empty());
    assert!(
        events
            .windows(2)
            .all(|pair| { (pair[0].revision, pair[0].index) < (pair[1].revision, pair[1].index) })
    );
    assert!(events.iter().all(|event| event.revision >= 100));
    assert!(
        events
            .iter()
            .any(|event| matches!(event.event.kind, EventKind::SupplierChanged { .. }))
    );
    let later = store
        .state_machine
        .events_from(events[10].revision, 5)
        .unwrap();
    assert_eq!(later[0].revision, events[10].revision);
}

/// Look-ups are recorded with the asking party and read back in time order.
#[tokio::test]
async fn lookups_are_audited() {
    let directory = tempfile::tempdir().unwrap();
    let store = Store::open(&StoreConfig::new(directory.path())).unwrap();
    let number = SupplyPointNumber::parse("0300000000000000000001").unwrap();
    for (millis, party) in [(1_000, "A0001"), (2_000, "T03"), (3_000, "A0002")] {
        store
            .audit
            .record(&LookupAudit {
                party: PartyId::parse(party).unwrap(),
                supply_point: number,
                at: Timestamp(millis),
            })
            .unwrap();
    }
    let since = store.audit.since(Timestamp(2_000), 10).unwrap();
    assert_eq!(since.len(), 2);
    assert_eq!(since[0].party, PartyId::parse("T03").unwrap());
}

/// A disk that stops answering is reported stalled once a sync exceeds the bound, and healthy
/// again when the sync completes; the vote waiting on it is saved in the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_is_reported() {
    let directory = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(directory.path());
    config.flush_stall_bound = Duration::from_millis(100);
    let store = Store::open(&config).unwrap();
    let health = store.health();
    let mut changes = health.subscribe();
    store.inject_stall();
    let mut log = store.log.clone();
    let vote = openraft::alias::VoteOf::<TypeConfig>::new(3, 1);
    let saving = tokio::spawn(async move { log.save_vote(&vote).await });
    tokio::time::timeout(
        Duration::from_secs(10),
        changes.wait_for(|health| matches!(health, DiskHealth::Stalled { .. })),
    )
    .await
    .expect("the stall was reported within 10 s")
    .unwrap();
    assert!(!health.is_healthy());
    assert!(
        !saving.is_finished(),
        "the vote was acknowledged while the disk was stalled"
    );
    store.release_stall();
    tokio::time::timeout(Duration::from_secs(10), saving)
        .await
        .expect("the vote was saved after the stall")
        .unwrap()
        .unwrap();
    assert!(health.is_healthy());
}

/// `SnapshotFile::verify` accepts a good file (counting its records) and refuses a damaged one,
/// so a receiver can refuse a bad transfer before installing anything.
#[tokio::test]
async fn snapshot_verification() {
    let scenario = scenario();
    let directory = tempfile::tempdir().unwrap();
    let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap();
    apply(&mut store.state_machine, entries_for(&scenario, 1)).await;
    let snapshot = store.state_machine.build_snapshot().await.unwrap();
    assert!(snapshot.snapshot.verify().unwrap() > 2_000);
    let mut bytes = std::fs::read(&snapshot.snapshot.path).unwrap();
    bytes.truncate(bytes.len() - 10);
    let damaged = directory.path().join("damaged.snap");
    std::fs::write(&damaged, &bytes).unwrap();
    let damaged = switchyard_store::SnapshotFile {
        path: damaged,
        bytes: bytes.len() as u64,
    };
    assert!(damaged.verify().is_err());
}
