//! The errors of this crate: starting a node, and operating it.
//!
//! Expected outcomes (not the leader, no leader yet, a target that is not caught up, a deadline
//! that passed) are kept apart from fatal ones (the Raft core stopped, the state unreadable).
//! `status.rs` is the one place that turns them into gRPC status codes.

use std::net::SocketAddr;

use switchyard_store::StoreError;

use crate::config::ConfigError;
use crate::{NodeId, Site};

/// The openraft error a stopped Raft core reports.
pub type Fatal = openraft::errors::Fatal<crate::TypeConfig>;

/// A membership change openraft refused.
pub type ChangeMembershipError = openraft::errors::ChangeMembershipError<
    openraft::alias::CommittedLeaderIdOf<crate::TypeConfig>,
    NodeId,
>;

/// A node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the Raft core failed to start: {0}")]
    Raft(#[from] Fatal),
    #[error("cannot initialize the cluster: {0}")]
    Initialize(String),
}

/// Who leads, as far as a node knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderInfo {
    pub node_id: NodeId,
    pub site: Option<Site>,
    /// `host:port` of the leader's internal Raft service; empty if unknown.
    pub raft_address: String,
    /// `host:port` of the leader's public API; empty if unknown.
    pub api_address: String,
    pub term: u64,
}

/// Why a node does not serve reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotServingReason {
    /// A disk sync did not finish within the configured bound.
    DiskStalled,
    /// A peer of a newer cluster epoch contacted this node: an operator cut the cluster over
    /// without it.
    StaleClusterEpoch,
    /// The node is shutting down.
    ShuttingDown,
}

impl std::fmt::Display for NotServingReason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            NotServingReason::DiskStalled => "disk_stalled",
            NotServingReason::StaleClusterEpoch => "stale_cluster_epoch",
            NotServingReason::ShuttingDown => "shutting_down",
        })
    }
}

/// An operation on a running node failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("this node does not serve: {reason}")]
    NotServing { reason: NotServingReason },
    #[error("this node is not the leader (leader: {leader:?})")]
    NotLeader { leader: Option<LeaderInfo> },
    #[error("no leader is known")]
    NoLeader,
    #[error("the envelope is {bytes} bytes; at most {max} are accepted")]
    EnvelopeTooLarge { bytes: usize, max: usize },
    #[error("{operation} did not finish within {waited_ms} ms")]
    Timeout {
        operation: &'static str,
        waited_ms: u64,
    },
    #[error("node {node_id} is not a member of the cluster")]
    UnknownNode { node_id: NodeId },
    #[error("node {node_id} is not a voter")]
    NotVoter { node_id: NodeId },
    #[error("node {node_id} is not a learner")]
    NotLearner { node_id: NodeId },
    #[error("node id {node_id} cannot be used: {why}")]
    NodeIdUnusable { node_id: NodeId, why: &'static str },
    #[error(
        "node {node_id} is not caught up: it has entry {matched_index:?}, the leader {leader_last_index:?}"
    )]
    NotCaughtUp {
        node_id: NodeId,
        matched_index: Option<u64>,
        leader_last_index: Option<u64>,
    },
    #[error("openraft refused the membership change: {0}")]
    Membership(#[from] ChangeMembershipError),
    #[error("peer {address} answered {code:?}: {message}")]
    Peer {
        address: String,
        code: tonic::Code,
        message: String,
    },
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("the Raft core stopped: {0}")]
    Fatal(#[from] Fatal),
    #[error("cannot read the state: {0}")]
    State(#[from] std::io::Error),
}
