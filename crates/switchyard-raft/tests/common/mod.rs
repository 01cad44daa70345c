//! The in-process cluster the tests drive: real sled stores in temporary directories, real tonic
//! servers on 127.0.0.1:0, test timings (50 ms heartbeats, elections after 300–600 ms). Every
//! wait polls with a deadline and fails with a message saying what it waited for; nothing
//! sleeps a fixed time to synchronize.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchyard_domain::generator::{GeneratorConfig, SampleData};
use switchyard_domain::{Date, Envelope, OperatorId};
use switchyard_raft::{
    Bootstrap, InitialMember, Node, NodeConfig, NodeHandle, NodeId, RaftSettings, Site,
    StoreConfig, WriteAnswer,
};
use tempfile::TempDir;

/// The longest any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// How often a wait looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Polls `check` until it holds, failing the test after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The site of node `id` in a cluster of `size` voters: the production layout for five (two in
/// Tokyo, two in Osaka, a witness), Tokyo–Osaka–witness for three, and nodes added later
/// alternate between Tokyo and Osaka.
pub fn site_of(id: NodeId, size: usize) -> Site {
    match (size, id) {
        (3, 1) => Site::Tokyo,
        (3, 2) => Site::Osaka,
        (3, 3) => Site::Witness,
        (5, 1 | 2) => Site::Tokyo,
        (5, 3 | 4) => Site::Osaka,
        (5, 5) => Site::Witness,
        (_, id) if id % 2 == 0 => Site::Osaka,
        _ => Site::Tokyo,
    }
}

/// Sample data: the ten TSOs, twenty retailers and `supply_points` supply points.
pub fn sample_data(supply_points: usize, seed: u64) -> SampleData {
    SampleData::generate(&GeneratorConfig {
        seed,
        supply_points,
        retailers: 20,
        as_of: Date::from_ymd(2026, 11, 1).expect("a valid date"),
    })
}

/// The commands that load `data`: every participant, then the supply points imported in batches
/// of a thousand.
pub fn load_commands(data: &SampleData) -> Vec<Envelope> {
    data.commands(&OperatorId::parse("seed").expect("a valid operator id"))
}

/// The commands that load sample data with `supply_points` supply points.
pub fn sample_commands(supply_points: usize, seed: u64) -> Vec<Envelope> {
    load_commands(&sample_data(supply_points, seed))
}

/// A cluster of nodes in this process.
pub struct Cluster {
    pub nodes: BTreeMap<NodeId, NodeHandle>,
    /// The address each node bound first: a restarted node must be found where the membership
    /// says it is.
    addresses: BTreeMap<NodeId, SocketAddr>,
    pub settings: RaftSettings,
    pub flush_stall_bound: Duration,
    size: usize,
    /// Where each node runs: [`site_of`] unless a test lays the nodes out otherwise.
    layout: fn(NodeId, usize) -> Site,
    root: TempDir,
}

/// Two-site mode: three nodes in Tokyo (1, 2, 3), the rest in Osaka.
pub fn two_sites(id: NodeId, _size: usize) -> Site {
    if id <= 3 { Site::Tokyo } else { Site::Osaka }
}

impl Cluster {
    /// Starts `size` voters with the test settings and waits for a leader.
    pub async fn start(size: usize) -> Cluster {
        Cluster::start_with(size, RaftSettings::for_tests(), Duration::from_secs(2)).await
    }

    /// Starts `size` voters laid out by `layout` and waits for a leader.
    pub async fn start_laid_out(size: usize, layout: fn(NodeId, usize) -> Site) -> Cluster {
        Cluster::start_inner(
            size,
            RaftSettings::for_tests(),
            Duration::from_secs(2),
            layout,
        )
        .await
    }

    /// Starts `size` voters and waits for a leader. Nodes 2..=size start first and wait to be
    /// contacted; node 1 then initializes the cluster with their addresses.
    pub async fn start_with(
        size: usize,
        settings: RaftSettings,
        flush_stall_bound: Duration,
    ) -> Cluster {
        Cluster::start_inner(size, settings, flush_stall_bound, site_of).await
    }

    async fn start_inner(
        size: usize,
        settings: RaftSettings,
        flush_stall_bound: Duration,
        layout: fn(NodeId, usize) -> Site,
    ) -> Cluster {
        let mut cluster = Cluster {
            layout,
            nodes: BTreeMap::new(),
            addresses: BTreeMap::new(),
            settings,
            flush_stall_bound,
            size,
            root: tempfile::tempdir().expect("a temporary directory"),
        };
        for id in 2..=size as NodeId {
            cluster.start_node(id, Bootstrap::Join).await;
        }
        let mut members = BTreeMap::new();
        for (id, node) in &cluster.nodes {
            members.insert(
                *id,
                InitialMember {
                    site: node.site(),
                    raft_address: node.advertised_address().to_owned(),
                    api_address: String::new(),
                },
            );
        }
        members.insert(
            1,
            InitialMember {
                site: layout(1, size),
                raft_address: String::new(),
                api_address: String::new(),
            },
        );
        cluster
            .start_node(1, Bootstrap::Initialize { members })
            .await;
        cluster.leader().await;
        cluster
    }

    pub fn directory(&self, id: NodeId) -> PathBuf {
        self.root.path().join(format!("node-{id}"))
    }

    /// The configuration of node `id`.
    pub fn config(&self, id: NodeId, bootstrap: Bootstrap) -> NodeConfig {
        let mut store = StoreConfig::new(self.directory(id));
        store.cache_capacity_bytes = 32 * 1024 * 1024;
        store.flush_stall_bound = self.flush_stall_bound;
        let listen = self
            .addresses
            .get(&id)
            .copied()
            .unwrap_or_else(|| "127.0.0.1:0".parse().expect("an address"));
        let mut config = NodeConfig::new(id, (self.layout)(id, self.size), listen, store);
        config.raft = self.settings.clone();
        config.bootstrap = bootstrap;
        config
    }

    /// Starts node `id` on its directory (new or left by an earlier run of the node).
    pub async fn start_node(&mut self, id: NodeId, bootstrap: Bootstrap) -> &NodeHandle {
        let config = self.config(id, bootstrap);
        let node = start_when_store_free(config, self.directory(id)).await;
        self.addresses.insert(id, node.raft_address());
        self.nodes.insert(id, node);
        &self.nodes[&id]
    }

    pub fn node(&self, id: NodeId) -> &NodeHandle {
        self.nodes
            .get(&id)
            .unwrap_or_else(|| panic!("node {id} is not running"))
    }

    /// Waits until every running node names the same leader, and that leader leads.
    pub async fn leader(&self) -> NodeId {
        self.leader_among(&self.nodes.keys().copied().collect::<Vec<_>>())
            .await
    }

    /// Waits until every node of `ids` names the same leader, and that leader leads.
    pub async fn leader_among(&self, ids: &[NodeId]) -> NodeId {
        let mut found = None;
        eventually("one leader that every node names", WAIT, || {
            let named: Vec<Option<NodeId>> = ids
                .iter()
                .map(|id| self.node(*id).metrics().current_leader)
                .collect();
            found = match named.first().copied().flatten() {
                Some(leader)
                    if named.iter().all(|name| *name == Some(leader))
                        && self
                            .nodes
                            .get(&leader)
                            .is_some_and(|node| node.metrics().state.is_leader()) =>
                {
                    Some(leader)
                }
                _ => None,
            };
            let done = found.is_some();
            async move { done }
        })
        .await;
        found.expect("a leader")
    }

    /// Stops node `id` gracefully; its directory stays.
    pub async fn stop(&mut self, id: NodeId) {
        let node = self.nodes.remove(&id).expect("a running node");
        node.shutdown().await.expect("a graceful shutdown");
    }

    /// Restarts node `id` from its directory.
    pub async fn restart(&mut self, id: NodeId) {
        self.start_node(id, Bootstrap::Join).await;
    }

    /// Sends every envelope through node `via`, one after the other, and returns the answers.
    pub async fn write_all(&self, via: NodeId, envelopes: Vec<Envelope>) -> Vec<WriteAnswer> {
        let mut answers = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            let answer = self
                .node(via)
                .client_write(envelope)
                .await
                .unwrap_or_else(|error| panic!("a write through node {via} failed: {error}"));
            answers.push(answer);
        }
        answers
    }

    /// Waits until every node of `ids` has applied `index`, then checks that their state hashes
    /// agree, and returns the hash.
    pub async fn converged(&self, ids: &[NodeId], index: u64) -> String {
        for id in ids {
            let node = self.node(*id);
            node.raft()
                .wait(Some(WAIT))
                .applied_index_at_least(Some(index), format!("node {id} applies {index}"))
                .await
                .unwrap_or_else(|error| panic!("node {id} did not apply {index}: {error}"));
        }
        let hashes: BTreeMap<NodeId, String> = ids
            .iter()
            .map(|id| {
                (
                    *id,
                    self.node(*id)
                        .store()
                        .state_machine
                        .state_hash()
                        .expect("a state hash"),
                )
            })
            .collect();
        let first = hashes.values().next().expect("some node").clone();
        assert!(
            hashes.values().all(|hash| *hash == first),
            "state hashes differ: {hashes:?}"
        );
        first
    }

    /// The ids of the running nodes.
    pub fn running(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// Shuts every node down.
    pub async fn shutdown(mut self) {
        for id in self.running() {
            self.stop(id).await;
        }
    }
}

/// Starts a node, retrying while its store is still held by the node's previous run (openraft's
/// background tasks release their store handles shortly after a shutdown).
async fn start_when_store_free(config: NodeConfig, directory: PathBuf) -> NodeHandle {
    let started = Instant::now();
    loop {
        match Node::start(config.clone()).await {
            Ok(node) => return node,
            Err(switchyard_raft::StartError::Store(error))
                if started.elapsed() < WAIT && store_is_locked(&error, &directory) =>
            {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            Err(error) => panic!("node {} did not start: {error}", config.node_id),
        }
    }
}

fn store_is_locked(error: &switchyard_raft::StoreError, _directory: &Path) -> bool {
    error.to_string().contains("lock")
}
