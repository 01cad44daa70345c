//! Offline recovery of a node's store, run while the node is stopped: seeding a fresh cluster
//! from a backup (`restore`), reading where a node's log stands (`inspect`), and the forced
//! disaster cutover of two-site mode (`disaster_cutover`).
//!
//! # Restore
//!
//! Every node of the fresh cluster is seeded from the same backup file, with the membership of
//! the new cluster written over the backup's: the snapshot is installed as the applied state,
//! the log starts empty after it (its last purged id is the snapshot's), and the node's vote is
//! for itself in the snapshot's term, so that the first election of the new cluster is in a
//! later term than any entry. The nodes then start as usual and elect a leader among themselves:
//! they hold identical states at the same log position.
//!
//! # Disaster cutover (two-site mode, the majority site lost for good)
//!
//! No quorum is left, so no Raft operation can change the membership. On every surviving node,
//! stopped: `inspect` reports its last log id; the operator picks the survivor whose last log id
//! is highest (the *base*; the tool prints the comparison). Then on every survivor:
//!
//! - the cluster epoch is raised to the new epoch and recorded in the store. Nodes of an older
//!   epoch are refused by every node of the new one, and a node that hears from a newer epoch
//!   stops serving: the lost site's nodes, if they come back, are fenced off until they are wiped
//!   and added again under new ids;
//! - on the base only, a membership entry naming the survivors as the only voters is appended
//!   after its last entry, in a term above every term in its log, under its own id. That entry
//!   is unique to the base, so the base's log is the most up-to-date of the survivors'; it wins
//!   the first election and replicates its log (the new membership included) to the other
//!   survivors, truncating whatever uncommitted tail they held that the base did not.
//!
//! Everything the base held is kept — including entries that were never committed, which the
//! new cluster commits. What may be lost are entries committed by the lost site alone: from the
//! base's last index + 1 up to the highest index any survivor knew to be committed, if that is
//! above; or unknowable beyond it. The reports say so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use openraft::storage::{RaftLogReader, RaftLogStorage, RaftStateMachine};
use openraft::vote::RaftLeaderIdExt;
use openraft::{Membership, RaftTypeConfig};
use serde::Serialize;
use switchyard_store::alias::{Entry, EntryPayload, LogId, Vote};
use switchyard_store::{Store, StoreConfig, rewrite_snapshot_membership};

use crate::{ClusterNode, NodeId, Site, TypeConfig};

/// Why an offline recovery step failed.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("cannot open the store: {0}")]
    Open(#[from] switchyard_store::StoreError),
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Refused(String),
}

/// Where a stopped node's log and state stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogPosition {
    pub node_id: NodeId,
    /// The cluster epoch recorded in the store.
    pub cluster_epoch: u64,
    /// Term, leader and index of the last log entry (or of the last purged, if the log is empty).
    pub last_log: Option<(u64, NodeId, u64)>,
    /// The highest index the node knew to be committed.
    pub committed_index: Option<u64>,
    /// The highest index the node applied.
    pub applied_index: Option<u64>,
    /// The term of the node's vote.
    pub vote_term: u64,
    /// The voters of the latest membership the node holds, with their sites.
    pub voters: BTreeMap<NodeId, Site>,
}

fn parts(log_id: &LogId) -> (u64, NodeId, u64) {
    (
        log_id.leader_id.term,
        log_id.leader_id.node_id,
        log_id.index(),
    )
}

/// The latest membership a store holds: the last membership entry of its log, or else the
/// applied state's.
async fn latest_membership(
    store: &Store,
) -> Result<Membership<NodeId, ClusterNode>, RecoveryError> {
    let mut log = store.log.clone();
    let state = log.get_log_state().await?;
    let first = state
        .last_purged_log_id
        .map_or(0, |log_id| log_id.index() + 1);
    // From the end backwards, a window at a time: the last membership entry is usually near.
    let mut to = state.last_log_id.map_or(0, |log_id| log_id.index() + 1);
    while to > first {
        let from = to.saturating_sub(512).max(first);
        let entries = log.try_get_log_entries(from..to).await?;
        let found = entries
            .into_iter()
            .rev()
            .find_map(|entry| match entry.payload {
                EntryPayload::Membership(membership) => Some(membership),
                _ => None,
            });
        if let Some(membership) = found {
            return Ok(membership);
        }
        to = from;
    }
    let mut state_machine = store.state_machine.clone();
    let (_, stored) = state_machine.applied_state().await?;
    Ok(stored.membership().clone())
}

/// Where the stopped node's log stands (opens the store read-write: the node must be stopped).
pub async fn inspect(node_id: NodeId, config: &StoreConfig) -> Result<LogPosition, RecoveryError> {
    let store = Store::open(config)?;
    let mut log = store.log.clone();
    let state = log.get_log_state().await?;
    let committed = log.read_committed().await?;
    let vote = log.read_vote().await?;
    let membership = latest_membership(&store).await?;
    let voters = membership
        .voter_ids()
        .filter_map(|id| membership.get_node(&id).map(|node| (id, node.site)))
        .collect();
    Ok(LogPosition {
        node_id,
        cluster_epoch: store.log.cluster_epoch()?,
        last_log: state.last_log_id.as_ref().map(parts),
        committed_index: committed.map(|log_id| log_id.index()),
        applied_index: store
            .state_machine
            .last_applied()?
            .map(|log_id| log_id.index()),
        vote_term: vote.map_or(0, |vote| vote.leader_id.term),
        voters,
    })
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    pub node_id: NodeId,
    /// The backup's last included entry: term, leader, index.
    pub restored_through: (u64, NodeId, u64),
    /// The voters of the restored cluster.
    pub voters: Vec<NodeId>,
    /// The state hash of the restored state (equal to the source's at that index).
    pub state_hash: String,
}

/// Seeds an empty data directory from the backup file `backup` as node `node_id` of a new
/// cluster whose voters are `members`.
pub async fn restore(
    node_id: NodeId,
    config: &StoreConfig,
    backup: &Path,
    members: BTreeMap<NodeId, ClusterNode>,
) -> Result<RestoreReport, RecoveryError> {
    if !members.contains_key(&node_id) {
        return Err(RecoveryError::Refused(format!(
            "node {node_id} is not one of the restored cluster's members {:?}",
            members.keys().collect::<Vec<_>>()
        )));
    }
    let store = Store::open(config)?;
    let mut log = store.log.clone();
    let state = log.get_log_state().await?;
    if log.read_vote().await?.is_some()
        || state.last_log_id.is_some()
        || store.state_machine.last_applied()?.is_some()
    {
        return Err(RecoveryError::Refused(format!(
            "{} is not empty: restore only seeds a fresh data directory",
            config.path.display()
        )));
    }
    let voters: BTreeSet<NodeId> = members.keys().copied().collect();
    let membership = Membership::new(vec![voters.clone()], members)
        .map_err(|error| RecoveryError::Refused(format!("the membership is invalid: {error}")))?;
    let seeded = store.state_machine.receiving_snapshot_path();
    let (meta, file) = rewrite_snapshot_membership(backup, &seeded, membership)?;
    let last = meta
        .last_log_id
        .ok_or_else(|| RecoveryError::Refused("the backup holds no applied entry".to_owned()))?;
    let mut state_machine = store.state_machine.clone();
    state_machine.install_snapshot(&meta, file.clone()).await?;
    std::fs::remove_file(&file.path)?;
    log.purge(last).await?;
    let vote = Vote::new(last.leader_id.term, node_id);
    log.save_vote(&vote).await?;
    log.flush_barrier().await?;
    let state_hash = store.state_machine.state_hash()?;
    tracing::info!(node_id, restored_through = ?last, %state_hash, "restored from a backup");
    Ok(RestoreReport {
        node_id,
        restored_through: parts(&last),
        voters: voters.into_iter().collect(),
        state_hash,
    })
}

/// What a disaster cutover did on one survivor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CutoverReport {
    pub node_id: NodeId,
    pub new_cluster_epoch: u64,
    /// The voters of the new membership (the surviving site's voters).
    pub voters: Vec<NodeId>,
    /// Whether this node is the base and carries the new membership entry.
    pub base: bool,
    /// The node's last log entry before the cutover: term, leader, index.
    pub last_log_before: Option<(u64, NodeId, u64)>,
    /// On the base, the index of the appended membership entry.
    pub membership_entry_index: Option<u64>,
}

/// The forced disaster cutover on one stopped survivor (see the module documentation): raises
/// its cluster epoch to `new_epoch`; on the `base`, appends the membership of the voters at
/// `surviving_site`.
pub async fn disaster_cutover(
    node_id: NodeId,
    config: &StoreConfig,
    surviving_site: Site,
    new_epoch: u64,
    base: bool,
) -> Result<CutoverReport, RecoveryError> {
    let store = Store::open(config)?;
    let epoch = store.log.cluster_epoch()?;
    if new_epoch <= epoch {
        return Err(RecoveryError::Refused(format!(
            "the new cluster epoch must be above this node's {epoch}; got {new_epoch}"
        )));
    }
    let membership = latest_membership(&store).await?;
    let survivors: BTreeMap<NodeId, ClusterNode> = membership
        .voter_ids()
        .filter_map(|id| membership.get_node(&id).map(|node| (id, node.clone())))
        .filter(|(_, node)| node.site == surviving_site)
        .collect();
    if !survivors.contains_key(&node_id) {
        return Err(RecoveryError::Refused(format!(
            "node {node_id} is not a voter at {surviving_site}: the survivors there are {:?}",
            survivors.keys().collect::<Vec<_>>()
        )));
    }
    let mut log = store.log.clone();
    let state = log.get_log_state().await?;
    let last_log_before = state.last_log_id.as_ref().map(parts);
    let mut membership_entry_index = None;
    if base {
        let vote_term = log.read_vote().await?.map_or(0, |vote| vote.leader_id.term);
        let last_term = state.last_log_id.map_or(0, |log_id| log_id.leader_id.term);
        let term = vote_term.max(last_term) + 1;
        let index = state.last_log_id.map_or(0, |log_id| log_id.index() + 1);
        let voters: BTreeSet<NodeId> = survivors.keys().copied().collect();
        let entry = Entry {
            log_id: LogId::new(
                <TypeConfig as RaftTypeConfig>::LeaderId::new_committed(term, node_id),
                index,
            ),
            payload: EntryPayload::Membership(
                Membership::new(vec![voters], survivors.clone()).map_err(|error| {
                    RecoveryError::Refused(format!("the membership is invalid: {error}"))
                })?,
            ),
        };
        log.save_vote(&Vote::new(term, node_id)).await?;
        store.log.append_offline(&entry).await?;
        membership_entry_index = Some(index);
    }
    store.log.raise_cluster_epoch(new_epoch).await?;
    tracing::warn!(
        node_id,
        new_epoch,
        base,
        voters = ?survivors.keys().collect::<Vec<_>>(),
        "disaster cutover recorded"
    );
    Ok(CutoverReport {
        node_id,
        new_cluster_epoch: new_epoch,
        voters: survivors.into_keys().collect(),
        base,
        last_log_before,
        membership_entry_index,
    })
}
