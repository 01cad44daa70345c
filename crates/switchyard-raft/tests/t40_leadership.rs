//! Planned leadership transfer and linearizable read barriers.

mod common;

use common::{Cluster, sample_commands};
use switchyard_raft::{NodeError, Site};

/// In the five-node layout, leadership moves to a named caught-up voter at the other site; the
/// new leader serves writes and linearizable reads, and the old one follows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_moves_to_a_named_node() {
    let cluster = Cluster::start(5).await;
    let leader = cluster.leader().await;
    let commands = sample_commands(1_000, 41);
    let (first, rest) = commands.split_at(commands.len() / 2);
    let answers = cluster.write_all(leader, first.to_vec()).await;
    cluster
        .converged(&cluster.running(), answers.last().unwrap().revision)
        .await;

    let leader_site = cluster.node(leader).site();
    let target = cluster
        .running()
        .into_iter()
        .find(|id| {
            let site = cluster.node(*id).site();
            *id != leader && site != leader_site && site != Site::Witness
        })
        .expect("a voter at another site");
    let term_before = cluster.node(leader).metrics().current_term;
    cluster
        .node(leader)
        .transfer_leadership(target)
        .await
        .expect("the transfer succeeds");
    assert_eq!(cluster.leader().await, target);
    assert!(cluster.node(target).metrics().current_term > term_before);

    // Writes through the old leader now reach the new one.
    let answers = cluster.write_all(leader, rest.to_vec()).await;
    assert!(answers.iter().all(|answer| answer.leader == target));
    let index = cluster
        .node(target)
        .ensure_linearizable()
        .await
        .expect("the new leader confirms its leadership");
    assert!(index >= answers.last().unwrap().revision);
    cluster
        .converged(&cluster.running(), answers.last().unwrap().revision)
        .await;
    cluster.shutdown().await;
}

/// A transfer is refused, without disturbing the leader, when asked of a follower, for a node
/// outside the cluster, or for a learner; a follower's read barrier names the leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_and_read_barriers_are_refused_where_they_cannot_work() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let follower = cluster
        .running()
        .into_iter()
        .find(|id| *id != leader)
        .unwrap();

    match cluster.node(follower).transfer_leadership(follower).await {
        Err(NodeError::NotLeader { leader: Some(info) }) => assert_eq!(info.node_id, leader),
        other => panic!("a follower cannot transfer: {other:?}"),
    }
    match cluster.node(follower).ensure_linearizable().await {
        Err(NodeError::NotLeader { leader: Some(info) }) => {
            assert_eq!(info.node_id, leader);
            assert_eq!(info.raft_address, cluster.node(leader).advertised_address());
        }
        other => panic!("a follower cannot confirm leadership: {other:?}"),
    }
    assert!(matches!(
        cluster.node(leader).transfer_leadership(42).await,
        Err(NodeError::UnknownNode { node_id: 42 })
    ));

    cluster
        .start_node(4, switchyard_raft::Bootstrap::Join)
        .await;
    let entry = cluster.node(4).cluster_node("");
    cluster
        .node(leader)
        .add_learner(4, entry)
        .await
        .expect("the learner joins");
    assert!(matches!(
        cluster.node(leader).transfer_leadership(4).await,
        Err(NodeError::NotVoter { node_id: 4 })
    ));
    assert_eq!(cluster.leader().await, leader, "the leader is undisturbed");
    cluster.shutdown().await;
}
