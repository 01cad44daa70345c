//! An in-process cluster: `size` voters in this process, each with its own sled directory and
//! its own internal gRPC server on `127.0.0.1:0`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_raft::{
    Bootstrap, Durability, InitialMember, Node, NodeConfig, NodeHandle, NodeId, RaftSettings, Site,
    StoreConfig,
};

/// Why a cluster did not come up.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("node {node_id} did not start: {message}")]
    Start { node_id: NodeId, message: String },
    #[error("no leader within {0:?}")]
    NoLeader(Duration),
}

/// The production sites for `size` voters: 2 Tokyo + 2 Osaka + witness for five, one of each for
/// three, Tokyo for one.
pub fn site_of(node_id: NodeId, size: usize) -> Site {
    match (size, node_id) {
        (5, 1 | 2) => Site::Tokyo,
        (5, 3 | 4) => Site::Osaka,
        (5, _) => Site::Witness,
        (3, 1) => Site::Tokyo,
        (3, 2) => Site::Osaka,
        (3, _) => Site::Witness,
        _ => Site::Tokyo,
    }
}

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub size: usize,
    pub settings: RaftSettings,
    pub durability: Durability,
    pub cache_capacity_bytes: u64,
    /// Where the nodes' directories go (a temporary directory under it).
    pub root: std::path::PathBuf,
}

/// A running in-process cluster. Dropping it leaves the nodes running until the runtime ends;
/// call [`Cluster::shutdown`] to stop them cleanly.
#[derive(Debug)]
pub struct Cluster {
    pub nodes: BTreeMap<NodeId, Arc<NodeHandle>>,
    _directory: tempfile::TempDir,
}

impl Cluster {
    /// Starts the voters (followers first, then node 1, which initializes the cluster with their
    /// addresses) and waits up to `leader_wait` for a leader.
    pub async fn start(
        options: &ClusterOptions,
        leader_wait: Duration,
    ) -> Result<Cluster, ClusterError> {
        std::fs::create_dir_all(&options.root).map_err(|error| ClusterError::Start {
            node_id: 0,
            message: error.to_string(),
        })?;
        let directory =
            tempfile::tempdir_in(&options.root).map_err(|error| ClusterError::Start {
                node_id: 0,
                message: error.to_string(),
            })?;
        let config = |node_id: NodeId, bootstrap: Bootstrap| {
            let mut store = StoreConfig::new(directory.path().join(format!("node-{node_id}")));
            store.durability = options.durability;
            store.cache_capacity_bytes = options.cache_capacity_bytes;
            let mut config = NodeConfig::new(
                node_id,
                site_of(node_id, options.size),
                "127.0.0.1:0".parse().expect("an address"),
                store,
            );
            config.raft = options.settings.clone();
            config.bootstrap = bootstrap;
            config
        };
        let mut nodes = BTreeMap::new();
        for node_id in 2..=options.size as NodeId {
            let handle = Node::start(config(node_id, Bootstrap::Join))
                .await
                .map_err(|error| ClusterError::Start {
                    node_id,
                    message: error.to_string(),
                })?;
            nodes.insert(node_id, Arc::new(handle));
        }
        let mut members: BTreeMap<NodeId, InitialMember> = nodes
            .iter()
            .map(|(node_id, handle)| {
                (
                    *node_id,
                    InitialMember {
                        site: handle.site(),
                        raft_address: handle.advertised_address().to_owned(),
                        api_address: String::new(),
                    },
                )
            })
            .collect();
        members.insert(
            1,
            InitialMember {
                site: site_of(1, options.size),
                raft_address: String::new(),
                api_address: String::new(),
            },
        );
        let first = Node::start(config(1, Bootstrap::Initialize { members }))
            .await
            .map_err(|error| ClusterError::Start {
                node_id: 1,
                message: error.to_string(),
            })?;
        nodes.insert(1, Arc::new(first));
        let cluster = Cluster {
            nodes,
            _directory: directory,
        };
        cluster.leader(leader_wait).await?;
        Ok(cluster)
    }

    /// The leader, once one is known to every node that answers, waiting up to `wait`.
    pub async fn leader(&self, wait: Duration) -> Result<Arc<NodeHandle>, ClusterError> {
        let started = Instant::now();
        loop {
            for handle in self.nodes.values() {
                if let Some(leader) = handle.leader()
                    && leader.node_id == handle.node_id()
                {
                    return Ok(Arc::clone(handle));
                }
            }
            if started.elapsed() > wait {
                return Err(ClusterError::NoLeader(wait));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops every node.
    pub async fn shutdown(self) {
        for handle in self.nodes.values() {
            if let Err(error) = handle.shutdown().await {
                tracing::warn!(node_id = handle.node_id(), error = %error, "shutdown failed");
            }
        }
    }
}
