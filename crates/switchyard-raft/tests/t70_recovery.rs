//! Offline recovery: a backup restored into a fresh cluster (same state hash, new ids, takes
//! writes), and the forced disaster cutover of two-site mode (Tokyo's three nodes lost, the two
//! Osaka survivors cut over to a new epoch keep everything they held and take writes, a Tokyo
//! node that comes back is fenced off).

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Cluster, WAIT, eventually, sample_commands, two_sites};
use switchyard_raft::recovery::{self, RecoveryError};
use switchyard_raft::{
    Bootstrap, ClusterNode, Node, NodeConfig, NodeHandle, NotServingReason, Site, StoreConfig,
};

/// A free port on loopback, for a node whose address must be known before it starts.
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").to_string()
}

async fn leader_of(nodes: &[&NodeHandle]) -> u64 {
    let started = Instant::now();
    loop {
        let named: Vec<Option<u64>> = nodes
            .iter()
            .map(|node| node.metrics().current_leader)
            .collect();
        if let Some(leader) = named[0]
            && named.iter().all(|name| *name == Some(leader))
            && nodes
                .iter()
                .any(|node| node.node_id() == leader && node.metrics().state.is_leader())
        {
            return leader;
        }
        assert!(
            started.elapsed() < WAIT,
            "the restored nodes elected no leader: they name {named:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A snapshot of a three-node cluster, restored into three fresh directories under new ids,
/// gives the source's state hash on every node; the new cluster elects a leader, takes writes
/// and stays identical. Restoring over a used directory is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_into_a_fresh_cluster_with_the_same_state() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.leader().await;
    let commands = sample_commands(1_500, 71);
    let (load, later) = commands.split_at(commands.len() - 2);
    let answers = cluster.write_all(leader, load.to_vec()).await;
    let through = answers.last().unwrap().revision;
    let source_hash = cluster.converged(&cluster.running(), through).await;
    let node = cluster.node(leader);
    node.raft()
        .trigger()
        .snapshot()
        .await
        .expect("a snapshot is asked for");
    node.raft()
        .wait(Some(WAIT))
        .metrics(
            |metrics| {
                metrics
                    .snapshot
                    .is_some_and(|log_id| log_id.index >= through)
            },
            "the snapshot is built",
        )
        .await
        .expect("the snapshot is built");
    let (_, snapshot) = node
        .store()
        .state_machine
        .current_snapshot()
        .expect("the store answers")
        .expect("a snapshot");
    let backup = tempfile::tempdir().unwrap();
    let backup_file = backup.path().join("backup.snap");
    std::fs::copy(&snapshot.path, &backup_file).unwrap();
    cluster.shutdown().await;

    let root = tempfile::tempdir().unwrap();
    let layout = [(11, Site::Tokyo), (12, Site::Osaka), (13, Site::Witness)];
    let addresses: BTreeMap<u64, String> =
        layout.iter().map(|(id, _)| (*id, free_address())).collect();
    let members: BTreeMap<u64, ClusterNode> = layout
        .iter()
        .map(|(id, site)| {
            (
                *id,
                ClusterNode {
                    site: *site,
                    raft_address: addresses[id].clone(),
                    api_address: String::new(),
                },
            )
        })
        .collect();
    let store = |id: u64| StoreConfig::new(root.path().join(format!("node-{id}")));
    for (id, _) in layout {
        let report = recovery::restore(id, &store(id), &backup_file, members.clone())
            .await
            .unwrap_or_else(|error| panic!("node {id} is not restored: {error}"));
        assert_eq!(
            report.state_hash, source_hash,
            "node {id} restored another state"
        );
        assert_eq!(report.restored_through.2, through);
        assert_eq!(report.voters, vec![11, 12, 13]);
    }
    let again = recovery::restore(11, &store(11), &backup_file, members.clone()).await;
    assert!(
        matches!(again, Err(RecoveryError::Refused(ref why)) if why.contains("not empty")),
        "a restore over a used directory is not refused: {again:?}"
    );

    let mut nodes = Vec::new();
    for (id, site) in layout {
        let mut config = NodeConfig::new(id, site, addresses[&id].parse().unwrap(), store(id));
        config.raft = switchyard_raft::RaftSettings::for_tests();
        config.bootstrap = Bootstrap::Join;
        nodes.push(Node::start(config).await.expect("a restored node starts"));
    }
    let refs: Vec<&NodeHandle> = nodes.iter().collect();
    let new_leader = leader_of(&refs).await;
    let leader = nodes
        .iter()
        .find(|node| node.node_id() == new_leader)
        .unwrap();
    let mut last = 0;
    for envelope in later {
        last = leader
            .client_write(envelope.clone())
            .await
            .expect("the restored cluster takes writes")
            .revision;
    }
    assert!(last > through);
    let mut hashes = Vec::new();
    for node in &nodes {
        node.wait_applied_beyond(last - 1, WAIT).await;
        assert!(
            node.applied_index() >= last,
            "node {} did not apply {last}",
            node.node_id()
        );
        hashes.push(node.store().state_machine.state_hash().unwrap());
    }
    assert!(
        hashes.iter().all(|hash| *hash == hashes[0]),
        "restored nodes diverge: {hashes:?}"
    );
    assert_ne!(
        hashes[0], source_hash,
        "the writes after the restore changed nothing"
    );
    for node in nodes {
        node.shutdown().await.expect("a graceful shutdown");
    }
}

/// Two-site mode, 3 + 2: Tokyo's three nodes are lost; the two Osaka survivors are cut over
/// offline (the one furthest ahead carries the new membership), come back as a two-voter cluster
/// of epoch 1 with every entry they held, and take writes. A Tokyo node restarted on its old
/// data is refused and stops serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disaster_cutover_brings_writes_back_from_the_survivors_and_fences_the_old_site() {
    let mut cluster = Cluster::start_laid_out(5, two_sites).await;
    let leader = cluster.leader().await;
    let commands = sample_commands(1_000, 72);
    let (load, later) = commands.split_at(commands.len() - 2);
    let answers = cluster.write_all(leader, load.to_vec()).await;
    let acknowledged = answers.last().unwrap().revision;
    let before = cluster.converged(&[4, 5], acknowledged).await;

    for id in [1, 2, 3, 4, 5] {
        cluster.stop(id).await;
    }
    let positions = [
        recovery::inspect(4, &cluster.config(4, Bootstrap::Join).store)
            .await
            .unwrap(),
        recovery::inspect(5, &cluster.config(5, Bootstrap::Join).store)
            .await
            .unwrap(),
    ];
    for position in &positions {
        assert!(position.last_log.unwrap().2 >= acknowledged, "{position:?}");
        assert_eq!(position.voters.len(), 5);
    }
    let base = positions
        .iter()
        .max_by_key(|position| position.last_log.map(|(term, _, index)| (term, index)))
        .unwrap()
        .node_id;
    for id in [4, 5] {
        let report = recovery::disaster_cutover(
            id,
            &cluster.config(id, Bootstrap::Join).store,
            Site::Osaka,
            1,
            id == base,
        )
        .await
        .unwrap_or_else(|error| panic!("the cutover of node {id} fails: {error}"));
        assert_eq!(report.voters, vec![4, 5]);
        assert_eq!(report.membership_entry_index.is_some(), id == base);
    }
    // The same epoch again is refused: epochs only go up.
    let again = recovery::disaster_cutover(
        4,
        &cluster.config(4, Bootstrap::Join).store,
        Site::Osaka,
        1,
        false,
    )
    .await;
    assert!(matches!(again, Err(RecoveryError::Refused(_))), "{again:?}");

    cluster.restart(4).await;
    cluster.restart(5).await;
    let new_leader = cluster.leader_among(&[4, 5]).await;
    assert_eq!(cluster.node(new_leader).cluster_epoch(), 1);
    let voters: Vec<u64> = cluster
        .node(new_leader)
        .metrics()
        .membership_config
        .membership()
        .voter_ids()
        .collect();
    assert_eq!(voters, vec![4, 5]);
    // Nothing the survivors held is lost: the domain state is the one before the cutover.
    assert_eq!(
        cluster
            .node(new_leader)
            .store()
            .state_machine
            .state_hash()
            .unwrap(),
        before,
        "the cutover changed the state"
    );
    let mut last = 0;
    for envelope in later {
        last = cluster
            .node(new_leader)
            .client_write(envelope.clone())
            .await
            .expect("the survivors take writes after the cutover")
            .revision;
    }
    cluster.converged(&[4, 5], last).await;

    // A Tokyo node comes back with its old data: it is refused and stops serving.
    cluster.restart(1).await;
    eventually("the returning Tokyo node is fenced", WAIT, || {
        let fenced =
            cluster.node(1).not_serving_reason() == Some(NotServingReason::StaleClusterEpoch);
        async move { fenced }
    })
    .await;
    assert!(
        cluster
            .node(1)
            .client_write(later[0].clone())
            .await
            .is_err(),
        "the fenced node took a write"
    );
    cluster.shutdown().await;
}
