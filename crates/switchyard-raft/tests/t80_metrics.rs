//! What a Raft node measures, read from each node's metrics registry in the text exposition:
//! the Raft core's state, commit latency on the leader, forwarded writes on followers, and
//! leader changes seen by every node.

mod common;

use common::{Cluster, WAIT, eventually, sample_commands};
use switchyard_raft::NodeHandle;

/// The value of `name` with exactly the labels `labels` (beyond `node` and `site`), if exported.
fn value(node: &NodeHandle, name: &str, labels: &str) -> Option<f64> {
    let text = node.metrics_registry().encode_text();
    let own = format!("node=\"{}\",site=\"{}\"", node.node_id(), node.site());
    let series = if labels.is_empty() {
        format!("{name}{{{own}}} ")
    } else {
        format!("{name}{{{own},{labels}}} ")
    };
    text.lines()
        .find_map(|line| line.strip_prefix(series.as_str()))
        .map(|value| value.parse().expect("a number"))
}

fn required(node: &NodeHandle, name: &str, labels: &str) -> f64 {
    value(node, name, labels).unwrap_or_else(|| {
        panic!(
            "node {} exports no {name}{{{labels}}}:\n{}",
            node.node_id(),
            node.metrics_registry().encode_text()
        )
    })
}

/// In a three-node cluster, every node has seen one leader take over and says which; exactly
/// one reports itself leader; writes through a follower are forwarded (counted `ok` there) and
/// timed on the leader, one observation each at least; the gauges follow the Raft core (term,
/// applied index, no apply lag once converged, the leader's per-peer replication lag). A planned
/// transfer raises every node's leader-change count and moves `is_leader`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raft_metrics_follow_the_cluster() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let follower = *cluster
        .running()
        .iter()
        .find(|id| **id != leader)
        .expect("a follower");
    for id in cluster.running() {
        let node = cluster.node(id);
        assert!(required(node, "switchyard_raft_leader_changes_total", "") >= 1.0);
        assert_eq!(
            required(node, "switchyard_raft_leader_id", ""),
            leader as f64,
            "node {id} names the leader"
        );
        assert_eq!(
            required(node, "switchyard_raft_is_leader", ""),
            f64::from(u8::from(id == leader))
        );
        let role = if id == leader { "leader" } else { "follower" };
        assert_eq!(
            required(node, "switchyard_raft_role", &format!("role=\"{role}\"")),
            1.0
        );
        assert_eq!(
            required(node, "switchyard_raft_term", ""),
            node.metrics().current_term as f64
        );
        assert_eq!(required(node, "switchyard_node_serving", ""), 1.0);
    }

    let commits = |cluster: &Cluster| -> f64 {
        cluster
            .running()
            .into_iter()
            .map(|id| {
                required(
                    cluster.node(id),
                    "switchyard_commit_latency_seconds_count",
                    "",
                )
            })
            .sum()
    };
    let commits_before = commits(&cluster);
    let commands = sample_commands(200, 3);
    let written = commands.len();
    let answers = cluster.write_all(follower, commands).await;
    let last = answers.last().expect("answers").revision;
    cluster.converged(&cluster.running(), last).await;

    // Answered by another leader means forwarded (an election under load may move the leader
    // now and then; the count follows the answers).
    let forwarded = answers
        .iter()
        .filter(|answer| answer.leader != follower)
        .count();
    assert!(forwarded > 0, "the follower forwarded");
    assert_eq!(
        required(
            cluster.node(follower),
            "switchyard_forwarded_writes_total",
            "result=\"ok\""
        ),
        forwarded as f64,
        "every write the follower forwarded was counted once"
    );
    let timed = commits(&cluster) - commits_before;
    assert!(
        timed >= written as f64,
        "{written} writes, {timed} commits timed"
    );
    for id in cluster.running() {
        let node = cluster.node(id);
        assert!(required(node, "switchyard_raft_applied_index", "") >= last as f64);
        assert!(required(node, "switchyard_apply_duration_seconds_count", "") >= written as f64);
        assert!(
            required(
                node,
                "switchyard_flush_duration_seconds_count",
                "disk=\"log\""
            ) > 0.0
        );
    }
    eventually("no apply lag once converged", WAIT, || {
        let caught_up = cluster
            .running()
            .into_iter()
            .all(|id| required(cluster.node(id), "switchyard_raft_apply_lag_entries", "") == 0.0);
        async move { caught_up }
    })
    .await;
    for id in cluster.running().into_iter().filter(|id| *id != leader) {
        let lag = value(
            cluster.node(leader),
            "switchyard_raft_replication_lag_entries",
            &format!("peer=\"{id}\""),
        );
        assert!(
            lag.is_some(),
            "the leader reports peer {id}'s replication lag"
        );
        assert_eq!(
            value(
                cluster.node(id),
                "switchyard_raft_replication_lag_entries",
                &format!("peer=\"{leader}\"")
            ),
            None,
            "only the leader reports replication lag"
        );
    }

    let changes_before: Vec<f64> = cluster
        .running()
        .into_iter()
        .map(|id| required(cluster.node(id), "switchyard_raft_leader_changes_total", ""))
        .collect();
    cluster
        .node(leader)
        .transfer_leadership(follower)
        .await
        .expect("the transfer succeeds");
    assert_eq!(cluster.leader().await, follower);
    eventually("every node counts the new leader", WAIT, || {
        let counted = cluster
            .running()
            .into_iter()
            .zip(&changes_before)
            .all(|(id, before)| {
                required(cluster.node(id), "switchyard_raft_leader_changes_total", "") > *before
            });
        async move { counted }
    })
    .await;
    assert_eq!(
        required(cluster.node(follower), "switchyard_raft_is_leader", ""),
        1.0
    );
    assert_eq!(
        required(cluster.node(leader), "switchyard_raft_is_leader", ""),
        0.0
    );
    cluster.shutdown().await;
}
