//! Leadership and membership control on the leader: linearizable read barriers, planned
//! leadership transfer, adding, promoting and removing members.
//!
//! Every operation checks its preconditions against the leader's own view first (a transfer or
//! promotion only to a caught-up voter or learner; openraft's transfer to a node that is behind
//! leaves the cluster without a leader until the next election) and every wait is bounded.

use std::collections::BTreeSet;
use std::time::Duration;

use openraft::error::{LinearizableReadError, RaftError};
use openraft::{ChangeMembers, ReadPolicy};

use crate::error::NodeError;
use crate::node::{RaftMetrics, Shared, duration_ms};
use crate::write::from_client_write_error;
use crate::{ClusterNode, NodeId};

/// Fails unless this node leads and serves.
fn ensure_leading(shared: &Shared) -> Result<RaftMetrics, NodeError> {
    shared.ensure_serving()?;
    let metrics = shared.metrics();
    if shared.leads(&metrics) {
        Ok(metrics)
    } else {
        Err(NodeError::NotLeader {
            leader: shared.leader_info(&metrics),
        })
    }
}

/// The index `node_id` has matched on this leader (`None` if it matched nothing yet), or `None`
/// if this node does not replicate to it.
pub(crate) fn matched_index(metrics: &RaftMetrics, node_id: NodeId) -> Option<Option<u64>> {
    let replication = metrics.replication.as_ref()?;
    let matched = replication.get(&node_id)?;
    Some(matched.as_ref().map(|log_id| log_id.index()))
}

/// Whether `node_id` is within the caught-up lag of this leader's log.
fn caught_up(shared: &Shared, metrics: &RaftMetrics, node_id: NodeId) -> bool {
    let Some(matched) = matched_index(metrics, node_id) else {
        return false;
    };
    match (matched, metrics.last_log_index) {
        (_, None) => true,
        // A node that has matched nothing has not started to catch up.
        (None, Some(_)) => false,
        (Some(matched), Some(leader_last)) => {
            leader_last.saturating_sub(matched) <= shared.settings.caught_up_lag_entries_max
        }
    }
}

fn ensure_caught_up(
    shared: &Shared,
    metrics: &RaftMetrics,
    node_id: NodeId,
) -> Result<(), NodeError> {
    if caught_up(shared, metrics, node_id) {
        Ok(())
    } else {
        Err(NodeError::NotCaughtUp {
            node_id,
            matched_index: matched_index(metrics, node_id).flatten(),
            leader_last_index: metrics.last_log_index,
        })
    }
}

/// Confirms leadership with a quorum and waits until everything committed before is applied.
pub(crate) async fn ensure_linearizable(shared: &Shared) -> Result<u64, NodeError> {
    ensure_leading(shared)?;
    let bound = shared.settings.write_timeout();
    let confirmed = tokio::time::timeout(
        bound,
        shared.raft.ensure_linearizable(ReadPolicy::ReadIndex),
    )
    .await
    .map_err(|_elapsed| NodeError::Timeout {
        operation: "linearizable read barrier",
        waited_ms: duration_ms(bound),
    })?;
    match confirmed {
        Ok(read_log_id) => Ok(read_log_id.index()),
        Err(RaftError::Fatal(fatal)) => Err(NodeError::Fatal(fatal)),
        Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(_))) => {
            Err(NodeError::NotLeader {
                leader: shared.leader_info(&shared.metrics()),
            })
        }
        // The leader could not hear from a quorum: it may already have been replaced.
        Err(RaftError::APIError(LinearizableReadError::QuorumNotEnough(_))) => {
            Err(NodeError::NoLeader)
        }
    }
}

/// Hands leadership to `target` and waits until it leads.
pub(crate) async fn transfer_leadership(shared: &Shared, target: NodeId) -> Result<(), NodeError> {
    let metrics = match ensure_leading(shared) {
        Ok(metrics) => metrics,
        Err(NodeError::NotLeader { leader })
            if leader.as_ref().map(|l| l.node_id) == Some(target) =>
        {
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    if target == shared.node_id {
        return Ok(());
    }
    let membership = metrics.membership_config.membership();
    if membership.get_node(&target).is_none() {
        return Err(NodeError::UnknownNode { node_id: target });
    }
    if !membership.voter_ids().any(|voter| voter == target) {
        return Err(NodeError::NotVoter { node_id: target });
    }
    ensure_caught_up(shared, &metrics, target)?;
    tracing::info!(
        node_id = shared.node_id,
        term = metrics.current_term,
        target,
        "transferring leadership"
    );
    shared.raft.trigger().transfer_leader(target).await?;
    let bound = shared.settings.leader_transfer_timeout();
    shared
        .raft
        .wait(Some(bound))
        .metrics(
            |metrics| metrics.current_leader == Some(target),
            "the transfer target leads",
        )
        .await
        .map_err(|_| NodeError::Timeout {
            operation: "leadership transfer",
            waited_ms: duration_ms(bound),
        })?;
    tracing::info!(node_id = shared.node_id, target, "leadership transferred");
    Ok(())
}

/// What a membership change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipChange {
    /// The log index (revision) of the change.
    pub revision: u64,
    /// For an added learner: whether it had caught up when the call returned.
    pub caught_up: bool,
}

/// Adds a learner; with `wait_for_catch_up`, waits (bounded) until it has caught up.
///
/// A node id may join once: ids in the membership or retired by an earlier removal are refused,
/// so that a wiped node can never come back as its old self with an empty log.
pub(crate) async fn add_learner(
    shared: &Shared,
    node_id: NodeId,
    node: ClusterNode,
    wait_for_catch_up: bool,
) -> Result<MembershipChange, NodeError> {
    let metrics = ensure_leading(shared)?;
    let membership = metrics.membership_config.membership();
    if node_id == 0 {
        return Err(NodeError::NodeIdUnusable {
            node_id,
            why: "0 is not a node id",
        });
    }
    if membership.nodes().any(|(id, _node)| *id == node_id) {
        return Err(NodeError::NodeIdUnusable {
            node_id,
            why: "it is already a member",
        });
    }
    if shared
        .store
        .state_machine
        .retired_node_ids()?
        .contains(&node_id)
    {
        return Err(NodeError::NodeIdUnusable {
            node_id,
            why: "it was removed from the cluster before, and node ids are never reused; add the node under a new id",
        });
    }
    tracing::info!(
        node_id = shared.node_id,
        term = metrics.current_term,
        learner = node_id,
        site = %node.site,
        address = %node.raft_address,
        "adding a learner"
    );
    let bound = shared.settings.write_timeout();
    let added = tokio::time::timeout(bound, shared.raft.add_learner(node_id, node, false))
        .await
        .map_err(|_elapsed| NodeError::Timeout {
            operation: "add learner",
            waited_ms: duration_ms(bound),
        })?
        .map_err(from_client_write_error)?;
    // Caught up: the learner holds the log up to the entry that added it.
    let added_at = added.log_id.index;
    if !wait_for_catch_up {
        let caught_up = caught_up(shared, &shared.metrics(), node_id);
        return Ok(MembershipChange {
            revision: added_at,
            caught_up,
        });
    }
    wait_caught_up(
        shared,
        node_id,
        added_at,
        shared.settings.learner_catch_up_timeout(),
    )
    .await?;
    tracing::info!(
        node_id = shared.node_id,
        learner = node_id,
        "learner caught up"
    );
    Ok(MembershipChange {
        revision: added_at,
        caught_up: true,
    })
}

/// Waits, bounded, until `node_id` has matched at least `index` on this leader and is within
/// the caught-up lag of its log.
async fn wait_caught_up(
    shared: &Shared,
    node_id: NodeId,
    index: u64,
    bound: Duration,
) -> Result<(), NodeError> {
    shared
        .raft
        .wait(Some(bound))
        .metrics(
            |metrics| {
                let matched = matched_index(metrics, node_id).flatten();
                (matched >= Some(index) && caught_up(shared, metrics, node_id))
                    || !shared.leads(metrics)
            },
            "the learner caught up",
        )
        .await
        .map_err(|_| NodeError::Timeout {
            operation: "learner catch-up",
            waited_ms: duration_ms(bound),
        })?;
    // Leadership may have moved while waiting.
    ensure_leading(shared).map(|_| ())
}

/// Promotes a caught-up learner to voter (joint consensus).
pub(crate) async fn promote_learner(
    shared: &Shared,
    node_id: NodeId,
) -> Result<MembershipChange, NodeError> {
    let metrics = ensure_leading(shared)?;
    let membership = metrics.membership_config.membership();
    if !membership.learner_ids().any(|learner| learner == node_id) {
        return Err(NodeError::NotLearner { node_id });
    }
    ensure_caught_up(shared, &metrics, node_id)?;
    tracing::info!(
        node_id = shared.node_id,
        term = metrics.current_term,
        learner = node_id,
        "promoting a learner"
    );
    change_membership(
        shared,
        ChangeMembers::AddVoterIds(BTreeSet::from([node_id])),
        "promote learner",
    )
    .await
}

/// Removes a voter or a learner from the cluster altogether; its id is retired for good.
pub(crate) async fn remove_node(
    shared: &Shared,
    node_id: NodeId,
) -> Result<MembershipChange, NodeError> {
    let metrics = ensure_leading(shared)?;
    let membership = metrics.membership_config.membership();
    let voter = membership.voter_ids().any(|voter| voter == node_id);
    let learner = membership.learner_ids().any(|learner| learner == node_id);
    if !voter && !learner {
        return Err(NodeError::UnknownNode { node_id });
    }
    if voter && membership.voter_ids().count() == 1 {
        return Err(NodeError::NodeIdUnusable {
            node_id,
            why: "it is the last voter",
        });
    }
    tracing::info!(
        node_id = shared.node_id,
        term = metrics.current_term,
        removed = node_id,
        voter,
        "removing a node"
    );
    let ids = BTreeSet::from([node_id]);
    // A removed voter does not stay as a learner (openraft drops its node entry too).
    let change = if voter {
        ChangeMembers::RemoveVoters(ids)
    } else {
        ChangeMembers::RemoveNodes(ids)
    };
    change_membership(shared, change, "remove node").await
}

async fn change_membership(
    shared: &Shared,
    change: ChangeMembers<NodeId, ClusterNode>,
    operation: &'static str,
) -> Result<MembershipChange, NodeError> {
    let bound = shared.settings.write_timeout();
    let changed = tokio::time::timeout(bound, shared.raft.change_membership(change, false))
        .await
        .map_err(|_elapsed| NodeError::Timeout {
            operation,
            waited_ms: duration_ms(bound),
        })?
        .map_err(from_client_write_error)?;
    Ok(MembershipChange {
        revision: changed.log_id.index,
        caught_up: true,
    })
}
