//! Switchyard's Raft node: openraft over tonic, node start-up, membership and leadership
//! control, and the handling of storage stalls.
//!
//! A node is one process's member of the replicated store. This crate connects the sled store
//! (`switchyard-store`) to openraft and to the other nodes through the internal Raft contract
//! (`switchyard.raft.v1`), and gives the server a [`NodeHandle`]: client writes (stamped with
//! the leader's clock, forwarded to the leader from any node), linearizable read barriers,
//! planned leadership transfer, membership changes, metrics and a graceful shutdown. openraft's
//! types stay inside this crate and the store.
//!
//! How the files divide the work:
//!
//! - `config.rs`: [`NodeConfig`] and [`RaftSettings`] (the tunable timings with defaults for
//!   Tokyo–Osaka), validated and turned into `openraft::Config` field by field;
//! - `node.rs`: [`Node::start`] (store, Raft, internal server, one-time initialization) and
//!   [`NodeHandle`];
//! - `network/`: the client side — openraft's network factory and per-target clients over tonic
//!   (`append.rs` cuts large batches, `snapshot.rs` streams snapshots in chunks);
//! - `server/`: the server side — the tonic `RaftService` over the local Raft (`snapshot.rs`
//!   assembles and installs received snapshots);
//! - `write.rs`: client writes, leader stamping and forwarding; `clock.rs`: the one place a
//!   clock is read;
//! - `leadership.rs`: the leader's read barrier, leadership transfer, learners and voters;
//! - `read.rs`: linearizable read barriers on any node (followers ask the leader for a read
//!   index) and waits on the applied index;
//! - `metrics.rs`: commit latency, forwarded writes, leader changes, and the Raft core's state
//!   read at every scrape, on the node's metrics registry;
//! - `stall.rs`: the disk-stall watcher that stops serving and hands leadership over;
//! - `status.rs`: the one mapping between errors and gRPC status codes, both directions;
//! - `error.rs`, `codec.rs`, `limits.rs`: errors, payload encoding, every named bound.
//!
//! Invariants kept here:
//!
//! - a cluster is initialized once, by the configured initializer, on a completely fresh store;
//! - only the leader reads the clock for an entry, and never behind the applied clock;
//! - every message, chunk, batch, queue, retry and wait has a named bound;
//! - leadership moves only to a caught-up voter, and never waits on a stalled disk.

mod clock;
mod codec;
mod config;
mod error;
mod leadership;
pub mod limits;
mod metrics;
mod network;
mod node;
mod read;
pub mod recovery;
mod server;
mod stall;
mod status;
mod write;

pub use config::{Bootstrap, ConfigError, InitialMember, NodeConfig, RaftSettings};
pub use error::{
    ChangeMembershipError, Fatal, LeaderInfo, NodeError, NotServingReason, StartError,
};
pub use leadership::MembershipChange;
pub use node::{Node, NodeHandle, Raft, RaftMetrics, WriteAnswer};
/// The trait of openraft's instants in metrics (for `elapsed`).
pub use openraft::Instant as RaftInstant;
pub use openraft::ServerState;
pub use switchyard_store::{
    ClusterNode, DiskHealth, Durability, Site, StateMachine, Store, StoreConfig, StoreError,
    StoreRequest, StoreResponse, TypeConfig, alias,
};

/// A node's id. Never reused: a node that lost its data joins again under a new id.
pub type NodeId = u64;
