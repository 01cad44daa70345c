//! Membership changes: a learner joins and catches up, is promoted to voter, and a voter is
//! removed, while the cluster keeps its state and keeps taking writes.

mod common;

use common::{Cluster, sample_commands};
use switchyard_raft::{Bootstrap, NodeError};

/// A learner is added (the call returns once it has caught up), promoted, and a voter removed;
/// the membership says so on every node, the learner's site is recorded, writes go on, and the
/// new voter has the same state as the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_added_promoted_and_a_voter_removed() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let commands = sample_commands(2_000, 51);
    let (first, rest) = commands.split_at(commands.len() - 3);
    let answers = cluster.write_all(leader, first.to_vec()).await;
    let loaded = answers.last().unwrap().revision;

    cluster.start_node(4, Bootstrap::Join).await;
    let entry = cluster.node(4).cluster_node("10.0.0.4:7000");
    let site = entry.site;
    cluster
        .node(leader)
        .add_learner(4, entry)
        .await
        .expect("the learner is added and catches up");
    let matched = cluster
        .node(leader)
        .metrics()
        .replication
        .and_then(|replication| replication.get(&4).copied().flatten());
    assert!(
        matched.is_some_and(|log_id| log_id.index > loaded),
        "the learner held the loaded log when the call returned ({matched:?})"
    );
    let membership = cluster.node(leader).metrics().membership_config.clone();
    let recorded = membership.membership().get_node(&4).expect("recorded");
    assert_eq!(recorded.site, site);
    assert_eq!(recorded.api_address, "10.0.0.4:7000");
    assert!(membership.membership().learner_ids().any(|id| id == 4));

    // A voter cannot be promoted, and a follower cannot change the membership.
    let follower = cluster
        .running()
        .into_iter()
        .find(|id| *id != leader && *id != 4)
        .unwrap();
    assert!(matches!(
        cluster.node(leader).promote_learner(follower).await,
        Err(NodeError::NotLearner { .. })
    ));
    assert!(matches!(
        cluster.node(follower).promote_learner(4).await,
        Err(NodeError::NotLeader { .. })
    ));

    cluster
        .node(leader)
        .promote_learner(4)
        .await
        .expect("the learner is promoted");
    let voters: Vec<_> = cluster
        .node(leader)
        .metrics()
        .membership_config
        .membership()
        .voter_ids()
        .collect();
    assert_eq!(voters, vec![1, 2, 3, 4]);

    cluster
        .node(leader)
        .remove_node(follower)
        .await
        .expect("the voter is removed");
    cluster.stop(follower).await;
    let remaining = cluster.running();
    for id in &remaining {
        cluster
            .node(*id)
            .raft()
            .wait(Some(common::WAIT))
            .metrics(
                |metrics| {
                    let membership = metrics.membership_config.membership();
                    membership.voter_ids().count() == 3 && membership.get_node(&follower).is_none()
                },
                "the removal reaches every node",
            )
            .await
            .expect("every node sees the removal");
    }

    let answers = cluster.write_all(4, rest.to_vec()).await;
    cluster
        .converged(&remaining, answers.last().unwrap().revision)
        .await;
    cluster.shutdown().await;
}
