//! Crash safety: a child process writes through the store — appends, votes, commits, applies —
//! and is killed with SIGKILL at random moments, again and again on the same directory. After
//! every kill the log has no hole, every acknowledged entry and vote is there, the committed index
//! is not past the log, and the state (once the missing applies are redone, as openraft does on
//! start-up) equals the reference state for the same log.
//!
//! `SWITCHYARD_CRASH_ITERATIONS` sets the number of kills (default 200); `SWITCHYARD_CRASH_SEED`
//! replays a run (the seed is printed).
#![allow(
    clippy::print_stdout,
    reason = "the child process reports acknowledgements to its parent on stdout"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogReader, RaftLogStorage, RaftStateMachine};
use switchyard_domain::generator::SplitMix64;
use switchyard_domain::{
    Actor, Command as DomainCommand, Envelope, LongText, MemoryState, OperatorId, PartyId,
    RequestId, Severity, ShortText, Timestamp, VersionedEnvelope,
};
use switchyard_store::alias::{Entry, Vote};
use switchyard_store::{Store, StoreConfig, StoreRequest, TypeConfig};

const CHILD_DIRECTORY: &str = "SWITCHYARD_CRASH_CHILD_DIRECTORY";

/// The `index`-th command: a notice, always accepted, with a deterministic timestamp.
fn envelope(index: u64) -> (Envelope, Timestamp) {
    (
        Envelope {
            actor: Actor::Party(PartyId::Operator(OperatorId::parse("crash").unwrap())),
            request_id: RequestId::parse(&format!("crash-{index}")).unwrap(),
            command: DomainCommand::PublishNotice {
                severity: Severity::Info,
                title: ShortText::parse(&format!("notice {index}")).unwrap(),
                body: LongText::parse("written before a crash").unwrap(),
            },
        },
        Timestamp(1_795_618_800_000 + index as i64),
    )
}

fn entry(index: u64) -> Entry {
    let (envelope, timestamp) = envelope(index);
    Entry::new_normal(
        openraft::testing::log_id::<TypeConfig>(1, 1, index),
        StoreRequest {
            envelope: VersionedEnvelope::from(envelope),
            timestamp,
        },
    )
}

async fn apply_up_to(store: &mut Store, last: u64) {
    let (applied, _) = store.state_machine.applied_state().await.unwrap();
    let first = applied.map_or(1, |log_id| log_id.index + 1);
    if first > last {
        return;
    }
    let entries = store.log.try_get_log_entries(first..=last).await.unwrap();
    assert_eq!(
        entries.len() as u64,
        last - first + 1,
        "entries missing below the last index"
    );
    let stream = futures::stream::iter(entries.into_iter().map(|entry| Ok((entry, None))));
    store.state_machine.apply(stream).await.unwrap();
}

/// The child's work: recover like a restarted node, then write until killed. Prints `ACK i`
/// after entry i is durable and `VOTE t` after a vote of term t is durable.
async fn child(directory: &str) {
    let mut store = Store::open(&StoreConfig::new(directory)).expect("child opens the store");
    let last = store.log.last_index().unwrap().unwrap_or(0);
    apply_up_to(&mut store, last).await;
    let mut index = last;
    loop {
        index += 1;
        store
            .log
            .append([entry(index)], IOFlushed::Noop)
            .await
            .expect("append");
        // An append is acknowledged when openraft's callback fires; the barrier waits for the
        // same sync.
        store.log.flush_barrier().await.expect("durable");
        println!("ACK {index}");
        if index.is_multiple_of(5) {
            let term = index / 5;
            store
                .log
                .save_vote(&Vote::new(term, 1))
                .await
                .expect("vote");
            println!("VOTE {term}");
        }
        store
            .log
            .save_committed(Some(openraft::testing::log_id::<TypeConfig>(1, 1, index)))
            .await
            .expect("commit");
        apply_up_to(&mut store, index).await;
    }
}

/// Entry point of the child process; does nothing in a normal test run.
#[tokio::test]
async fn crash_child() {
    if let Ok(directory) = std::env::var(CHILD_DIRECTORY) {
        child(&directory).await;
    }
}

/// Kills the writing child at random moments, and checks the directory after every kill.
#[tokio::test]
async fn survives_sigkill_at_random_moments() {
    let iterations: u64 = std::env::var("SWITCHYARD_CRASH_ITERATIONS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(200);
    let seed: u64 = std::env::var("SWITCHYARD_CRASH_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash safety: {iterations} kills, SWITCHYARD_CRASH_SEED={seed}");
    let mut random = SplitMix64::new(seed);
    let directory = tempfile::tempdir().unwrap();
    let executable = std::env::current_exe().unwrap();
    let mut acknowledged = 0u64;
    let mut voted = 0u64;
    let mut reference = MemoryState::default();
    let mut reference_last = 0u64;

    for iteration in 0..iterations {
        let kill_after_acks = 1 + random.below(20);
        let mut process = Command::new(&executable)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIRECTORY, directory.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let mut acks_this_run = 0;
        let mut killed = false;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(index) = line.strip_prefix("ACK ") {
                acknowledged = acknowledged.max(index.parse().unwrap());
                acks_this_run += 1;
            } else if let Some(term) = line.strip_prefix("VOTE ") {
                voted = voted.max(term.parse().unwrap());
            }
            if acks_this_run >= kill_after_acks && !killed {
                process.kill().unwrap(); // SIGKILL
                killed = true;
            }
        }
        // Lines printed before the kill are still read above, up to end of file.
        let status = process.wait().unwrap();
        assert!(
            killed,
            "iteration {iteration}: the child stopped by itself: {status}"
        );

        let mut store = Store::open(&StoreConfig::new(directory.path())).unwrap_or_else(|error| {
            panic!("iteration {iteration} (seed {seed}): the store does not reopen: {error}")
        });
        let log_state = store.log.get_log_state().await.unwrap();
        let last = log_state.last_log_id.map_or(0, |log_id| log_id.index);
        assert!(
            last >= acknowledged,
            "iteration {iteration} (seed {seed}): acknowledged entry {acknowledged} lost; log ends at {last}"
        );
        // The reader returns at most `READ_ENTRIES_MAX` entries a call, as openraft expects.
        let mut entries = Vec::new();
        while (entries.len() as u64) < last {
            let from = entries.len() as u64 + 1;
            let more = store.log.try_get_log_entries(from..=last).await.unwrap();
            assert!(
                !more.is_empty(),
                "iteration {iteration} (seed {seed}): no entries from {from} though the log ends at {last}"
            );
            entries.extend(more);
        }
        for (position, entry) in entries.iter().enumerate() {
            assert_eq!(
                entry.log_id.index,
                position as u64 + 1,
                "iteration {iteration} (seed {seed}): hole in the log"
            );
            assert_eq!(
                entry,
                &self::entry(position as u64 + 1),
                "entry content changed"
            );
        }
        assert_eq!(entries.len() as u64, last);
        let vote = store.log.read_vote().await.unwrap();
        let vote_term = vote.map_or(0, |vote| vote.leader_id.term);
        assert!(
            vote_term >= voted,
            "iteration {iteration} (seed {seed}): acknowledged vote of term {voted} lost; found {vote_term}"
        );
        let committed = store.log.read_committed().await.unwrap();
        assert!(committed.map_or(0, |log_id| log_id.index) <= last);
        let (applied, _) = store.state_machine.applied_state().await.unwrap();
        assert!(applied.map_or(0, |log_id| log_id.index) <= last);

        apply_up_to(&mut store, last).await;
        while reference_last < last {
            reference_last += 1;
            let (envelope, at) = envelope(reference_last);
            reference.execute(&envelope, at).unwrap();
        }
        assert_eq!(
            store.state_machine.state_hash().unwrap(),
            reference.state_hash(),
            "iteration {iteration} (seed {seed}): state differs from the reference for the same log"
        );
        drop(store);
    }
    eprintln!("crash safety: {iterations} kills survived; {acknowledged} entries acknowledged");
}
