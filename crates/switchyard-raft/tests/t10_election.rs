//! Elections: clusters form, every node carries its site, a killed leader is replaced without
//! losing anything committed, and pre-vote keeps a node that cannot win from raising the term.

mod common;

use std::time::Duration;

use common::{Cluster, sample_commands, site_of};
use switchyard_raft::{Bootstrap, InitialMember, Site};

/// A three-node cluster elects one leader that every node names, and the membership records each
/// node's site (Tokyo, Osaka, witness) and address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_elect_a_leader_and_record_sites() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let metrics = cluster.node(leader).metrics();
    let membership = metrics.membership_config.membership();
    let voters: Vec<_> = membership.voter_ids().collect();
    assert_eq!(voters, vec![1, 2, 3]);
    for id in 1..=3 {
        let node = membership.get_node(&id).expect("a member");
        assert_eq!(node.site, site_of(id, 3));
        assert_eq!(node.raft_address, cluster.node(id).advertised_address());
    }
    assert_eq!(
        membership.get_node(&3).expect("a member").site,
        Site::Witness
    );
    cluster.shutdown().await;
}

/// A five-node cluster (two Tokyo, two Osaka, one witness) elects a leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_elect_a_leader() {
    let cluster = Cluster::start(5).await;
    let leader = cluster.leader().await;
    let metrics = cluster.node(leader).metrics();
    assert_eq!(
        metrics.membership_config.membership().voter_ids().count(),
        5
    );
    cluster.shutdown().await;
}

/// When the leader is shut down after commands were committed, the survivors elect a new leader
/// within a few election timeouts, keep every committed entry, and accept new writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_shutdown_elects_a_new_leader_and_loses_nothing() {
    let mut cluster = Cluster::start(3).await;
    let old_leader = cluster.leader().await;
    let commands = sample_commands(2_000, 11);
    let (first, rest) = commands.split_at(commands.len() - 2);
    let answers = cluster.write_all(old_leader, first.to_vec()).await;
    let committed = answers.last().expect("answers").revision;
    cluster.converged(&cluster.running(), committed).await;
    let hash_before = cluster
        .node(old_leader)
        .store()
        .state_machine
        .state_hash()
        .unwrap();

    let stopped_at = std::time::Instant::now();
    cluster.stop(old_leader).await;
    let survivors = cluster.running();
    let new_leader = cluster.leader_among(&survivors).await;
    let failover = stopped_at.elapsed();
    assert_ne!(new_leader, old_leader);
    // 600 ms election timeout at most, plus a pre-vote and a vote round; generous for 2 cores.
    assert!(
        failover < Duration::from_secs(5),
        "failover took {failover:?}"
    );

    // Everything committed before is there, on both survivors.
    for id in &survivors {
        let applied = cluster
            .node(*id)
            .metrics()
            .last_applied
            .map(|log_id| log_id.index);
        assert!(applied >= Some(committed), "node {id} applied {applied:?}");
    }
    let answers = cluster.write_all(survivors[0], rest.to_vec()).await;
    let last = answers.last().unwrap().revision;
    let hash_after = cluster.converged(&survivors, last).await;
    assert_ne!(hash_before, hash_after, "the new writes changed the state");
    cluster.shutdown().await;
}

/// A node cut off from a majority does not raise its term: its pre-votes are really sent and
/// fail, so it never starts a real election (openraft's default pre-vote would grant itself a
/// quorum without asking and bump the term on every timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_vote_keeps_an_isolated_node_from_raising_its_term() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let others: Vec<_> = cluster
        .running()
        .into_iter()
        .filter(|id| *id != leader)
        .collect();
    let lonely = others[0];
    // The other follower first: while the leader lives, the lonely node stays its follower.
    cluster.stop(others[1]).await;
    cluster.stop(leader).await;
    let metrics = cluster.node(lonely).metrics();
    assert!(!metrics.state.is_leader(), "{metrics}");
    let term = metrics.current_term;
    // The observation window, not a synchronization: at least five election timeouts (at most
    // 600 ms each) pass, and on each the node would have stood without pre-vote.
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let metrics = cluster.node(lonely).metrics();
    assert_eq!(
        metrics.current_term, term,
        "an isolated node raised its term: {metrics}"
    );
    assert!(!metrics.state.is_leader(), "{metrics}");
    cluster.shutdown().await;
}

/// The initializer restarted with its bootstrap configuration unchanged does not initialize
/// again: its store holds Raft state, so it rejoins the cluster it created with its data and
/// the same membership.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_initializer_does_not_initialize_again() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let answers = cluster.write_all(leader, sample_commands(500, 12)).await;
    let last = answers.last().unwrap().revision;
    cluster.converged(&cluster.running(), last).await;
    let membership_before = *cluster.node(2).metrics().membership_config.log_id();
    let members = cluster
        .running()
        .into_iter()
        .map(|id| {
            let node = cluster.node(id);
            let member = InitialMember {
                site: node.site(),
                raft_address: node.advertised_address().to_owned(),
                api_address: String::new(),
            };
            (id, member)
        })
        .collect();

    cluster.stop(1).await;
    cluster
        .start_node(1, Bootstrap::Initialize { members })
        .await;
    cluster.converged(&cluster.running(), last).await;
    cluster.leader().await;
    for id in cluster.running() {
        assert_eq!(
            *cluster.node(id).metrics().membership_config.log_id(),
            membership_before,
            "node {id} kept the original membership"
        );
    }
    cluster.shutdown().await;
}
