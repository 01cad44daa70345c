//! The openraft type configuration and what travels in the log.
//!
//! The type configuration lives here, beside the storage that must persist its entries and
//! votes; `switchyard-raft` re-exports it. Everything is serde-serializable because the store
//! writes it to disk and the transport sends it over the wire.

use std::fmt;

use serde::{Deserialize, Serialize};
use switchyard_domain::{Outcome, Timestamp, VersionedEnvelope};

/// Where a node runs. Every majority of the default five voters spans two sites.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Site {
    #[default]
    Tokyo,
    Osaka,
    /// The tie-breaker at a third place; a full voter that serves no one.
    Witness,
}

impl Site {
    /// The lowercase name used in config files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Site::Tokyo => "tokyo",
            Site::Osaka => "osaka",
            Site::Witness => "witness",
        }
    }

    /// Parses a lowercase site name.
    pub fn parse(text: &str) -> Option<Site> {
        match text {
            "tokyo" => Some(Site::Tokyo),
            "osaka" => Some(Site::Osaka),
            "witness" => Some(Site::Witness),
            _ => None,
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A cluster member as recorded in the replicated membership: its site and where to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    pub site: Site,
    /// `host:port` of the node's internal Raft service.
    pub raft_address: String,
    /// `host:port` of the node's public API, empty until the node serves one.
    pub api_address: String,
}

impl fmt::Display for ClusterNode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}@{}", self.site, self.raft_address)
    }
}

/// A log entry's application payload: a domain command and the time the leader stamped on it.
///
/// The timestamp is the only time the state machine ever sees, so every replica decides alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreRequest {
    pub envelope: VersionedEnvelope,
    pub timestamp: Timestamp,
}

impl fmt::Display for StoreRequest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let VersionedEnvelope::V1(envelope) = &self.envelope;
        write!(
            formatter,
            "{} by {} ({})",
            envelope.command.name(),
            envelope.actor,
            envelope.request_id
        )
    }
}

/// What applying one entry answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreResponse {
    /// The log index of the entry: the revision of every event it emitted.
    pub revision: u64,
    /// The domain's answer; `None` for blank and membership entries.
    pub outcome: Option<Outcome>,
    /// Whether the answer was the remembered first answer of a retried request id.
    pub replayed: bool,
}

openraft::declare_raft_types!(
    /// Switchyard's Raft types: domain commands in, domain outcomes out, nodes with sites.
    pub TypeConfig:
        D = StoreRequest,
        R = StoreResponse,
        NodeId = u64,
        Node = ClusterNode,
);

/// Short names for the openraft types this workspace uses.
pub mod alias {
    use super::TypeConfig;

    pub type NodeId = u64;
    pub type LogId = openraft::alias::LogIdOf<TypeConfig>;
    pub type Vote = openraft::alias::VoteOf<TypeConfig>;
    pub type Entry = openraft::alias::EntryOf<TypeConfig>;
    pub type EntryPayload = openraft::alias::EntryPayloadOf<TypeConfig>;
    pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;
    pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;
    pub type LogState = openraft::storage::LogState<TypeConfig>;
    pub type IoFlushed = openraft::storage::IOFlushed<TypeConfig>;
}
