//! Catching up through snapshots: when the leader's log has been compacted away, a new or
//! far-behind node receives the state as a snapshot streamed in chunks, installs it, and ends
//! with the leader's state.
//!
//! The large test loads 100,000 supply points; set `SWITCHYARD_SLOW_TESTS=1` to load 1,000,000.

mod common;

use common::{Cluster, WAIT, load_commands, sample_data};
use switchyard_raft::limits::SNAPSHOT_CHUNK_BYTES_MAX;
use switchyard_raft::{Bootstrap, NodeHandle, NodeId};

fn large_point_count() -> usize {
    match std::env::var("SWITCHYARD_SLOW_TESTS") {
        Ok(value) if value == "1" => 1_000_000,
        _ => 100_000,
    }
}

/// Builds a snapshot on `node` covering `index` and purges the log up to it, so that only a
/// snapshot can bring a node that lacks those entries up to date. Returns the snapshot's size.
async fn compact(node: &NodeHandle, index: u64) -> u64 {
    node.raft()
        .trigger()
        .snapshot()
        .await
        .expect("a snapshot is triggered");
    node.raft()
        .wait(Some(WAIT))
        .metrics(
            |metrics| metrics.snapshot.is_some_and(|log_id| log_id.index >= index),
            "a snapshot covering the loaded data",
        )
        .await
        .expect("the snapshot is built");
    let snapshot_index = node.metrics().snapshot.expect("a snapshot").index;
    node.raft()
        .trigger()
        .purge_log(snapshot_index)
        .await
        .expect("a purge is triggered");
    node.raft()
        .wait(Some(WAIT))
        .metrics(
            |metrics| {
                metrics
                    .purged
                    .is_some_and(|log_id| log_id.index >= snapshot_index)
            },
            "the log purged up to the snapshot",
        )
        .await
        .expect("the log is purged");
    let snapshot = node
        .raft()
        .get_snapshot()
        .await
        .expect("the snapshot is readable")
        .expect("a snapshot exists");
    snapshot.snapshot.bytes
}

/// Asserts that `node` was brought up to date by installing the leader's snapshot: its own
/// snapshot is the leader's, and its log holds nothing at or below the snapshot.
async fn assert_installed_snapshot(node: &NodeHandle, leader: &NodeHandle) {
    let leader_snapshot = leader.metrics().snapshot.expect("the leader's snapshot");
    let metrics = node.metrics();
    assert_eq!(
        metrics.snapshot,
        Some(leader_snapshot),
        "node {} installed the leader's snapshot: {metrics}",
        node.node_id()
    );
    let first_entry = node
        .store()
        .log
        .clone()
        .get_log_state()
        .await
        .expect("the log state");
    assert!(
        first_entry.last_purged_log_id >= Some(leader_snapshot),
        "node {}'s log starts after the snapshot ({:?})",
        node.node_id(),
        first_entry.last_purged_log_id
    );
}

use openraft::storage::RaftLogStorage;

/// A learner added after 100,000 supply points were loaded and the leader's log compacted
/// catches up through a snapshot of several chunks, then is promoted and takes part in writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_catches_up_through_a_chunked_snapshot() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let data = sample_data(large_point_count(), 31);
    let answers = cluster.write_all(leader, load_commands(&data)).await;
    for answer in &answers {
        assert!(answer.outcome.is_ok(), "{:?}", answer.outcome);
    }
    let last = answers.last().unwrap().revision;
    let hash = cluster.converged(&cluster.running(), last).await;

    let bytes = compact(cluster.node(leader), last).await;
    assert!(
        bytes > 2 * SNAPSHOT_CHUNK_BYTES_MAX as u64,
        "the snapshot ({bytes} bytes) takes several chunks"
    );

    let new: NodeId = 4;
    cluster.start_node(new, Bootstrap::Join).await;
    let entry = cluster.node(new).cluster_node("");
    cluster
        .node(leader)
        .add_learner(new, entry)
        .await
        .expect("the learner is added and catches up");
    cluster
        .node(new)
        .raft()
        .wait(Some(WAIT))
        .applied_index_at_least(Some(last), "the learner applies the loaded data")
        .await
        .expect("the learner applied the data");
    assert_installed_snapshot(cluster.node(new), cluster.node(leader)).await;
    let learner_hash = cluster
        .node(new)
        .store()
        .state_machine
        .state_hash()
        .unwrap();
    assert_eq!(learner_hash, hash, "the learner has the leader's state");
    let (first, last_point) = (
        data.supply_points.first().unwrap(),
        data.supply_points.last().unwrap(),
    );
    let found = cluster
        .node(new)
        .store()
        .state_machine
        .read(|view| {
            view.supply_point(&first.number).is_some()
                && view.supply_point(&last_point.number).is_some()
        })
        .unwrap();
    assert!(found, "the learner reads the imported supply points");
    cluster.shutdown().await;
}

/// A follower stopped while the leader's log moves on and is compacted comes back far behind,
/// and is brought up to date by a snapshot rather than by the log it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_far_behind_node_catches_up_through_a_snapshot() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let behind = cluster
        .running()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap();
    let data = sample_data(20_000, 32);
    let commands = load_commands(&data);
    let (before, after) = commands.split_at(10);
    cluster.write_all(leader, before.to_vec()).await;
    cluster.stop(behind).await;
    let answers = cluster.write_all(leader, after.to_vec()).await;
    let last = answers.last().unwrap().revision;
    compact(cluster.node(leader), last).await;

    cluster.restart(behind).await;
    let hash = cluster.converged(&cluster.running(), last).await;
    assert_installed_snapshot(cluster.node(behind), cluster.node(leader)).await;
    assert!(!hash.is_empty());
    cluster.shutdown().await;
}
