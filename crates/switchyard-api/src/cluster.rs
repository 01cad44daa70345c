//! The cluster operations of the admin API that this release serves: the cluster status as the
//! answering node sees it, and planned leadership transfer.
//!
//! Each node reports itself fully (role, term, log positions, health); the leader adds what it
//! knows of every other node (how far each has matched its log, when each last answered).
//! A client that wants every node's own word asks every node (`swctl status` does).

use std::time::Duration;

use switchyard_proto::admin::v1 as admin;
use switchyard_raft::RaftInstant as _;
use switchyard_raft::{NodeHandle, NodeId, NotServingReason, RaftMetrics, ServerState, Site};
use tonic::Status;

use crate::status;

/// A node that has not answered the leader for this many heartbeat intervals is unreachable.
const UNREACHABLE_AFTER_HEARTBEATS: u64 = 5;

pub(crate) fn site_to_wire(site: Site) -> admin::Site {
    match site {
        Site::Tokyo => admin::Site::Tokyo,
        Site::Osaka => admin::Site::Osaka,
        Site::Witness => admin::Site::Witness,
    }
}

pub(crate) fn site_from_wire(value: i32) -> Result<Site, Status> {
    match admin::Site::try_from(value) {
        Ok(admin::Site::Tokyo) => Ok(Site::Tokyo),
        Ok(admin::Site::Osaka) => Ok(Site::Osaka),
        Ok(admin::Site::Witness) => Ok(Site::Witness),
        _ => Err(status::invalid(
            "site",
            format!("{value} is not tokyo (1), osaka (2) or witness (3)"),
        )),
    }
}

fn role_of(metrics: &RaftMetrics) -> admin::NodeRole {
    match metrics.state {
        ServerState::Leader => admin::NodeRole::Leader,
        ServerState::Follower => admin::NodeRole::Follower,
        ServerState::Candidate => admin::NodeRole::Candidate,
        ServerState::Learner => admin::NodeRole::Learner,
        ServerState::Shutdown => admin::NodeRole::Shutdown,
    }
}

/// The cluster as `node` sees it.
pub(crate) fn cluster_status(node: &NodeHandle) -> admin::GetClusterStatusResponse {
    let metrics = node.metrics();
    let me = node.node_id();
    let leads = metrics.current_leader == Some(me) && metrics.state.is_leader();
    let membership = metrics.membership_config.membership();
    let voters: Vec<NodeId> = membership.voter_ids().collect();
    let heartbeat = Duration::from_millis(node.settings().heartbeat_interval_ms);
    let lag_bound = node.settings().caught_up_lag_entries_max;
    let index = |log_id: Option<u64>| log_id.unwrap_or(0);
    let mut nodes: Vec<admin::NodeStatus> = membership
        .nodes()
        .map(|(node_id, cluster_node)| {
            let voter = voters.contains(node_id);
            let mut status = admin::NodeStatus {
                node_id: *node_id,
                name: String::new(),
                site: site_to_wire(cluster_node.site) as i32,
                raft_address: cluster_node.raft_address.clone(),
                public_address: cluster_node.api_address.clone(),
                role: admin::NodeRole::Unspecified as i32,
                voter,
                ..Default::default()
            };
            if *node_id == me {
                status.role = role_of(&metrics) as i32;
                status.term = metrics.current_term;
                status.last_log_index = index(metrics.last_log_index);
                status.last_applied_index = index(metrics.last_applied.map(|id| id.index()));
                status.committed_index = index(metrics.cluster_committed.map(|id| id.index()));
                let (health, detail) = match node.not_serving_reason() {
                    None => (admin::NodeHealth::Healthy, String::new()),
                    Some(NotServingReason::DiskStalled) => (
                        admin::NodeHealth::StorageStalled,
                        "a disk sync exceeded its bound".to_owned(),
                    ),
                    Some(reason) => (admin::NodeHealth::Unreachable, reason.to_string()),
                };
                status.health = health as i32;
                status.health_detail = detail;
            } else if leads {
                status.role = if voter {
                    admin::NodeRole::Follower as i32
                } else {
                    admin::NodeRole::Learner as i32
                };
                let matched = metrics
                    .replication
                    .as_ref()
                    .and_then(|replication| replication.get(node_id))
                    .and_then(|matched| matched.as_ref().map(|log_id| log_id.index()));
                status.last_log_index = index(matched);
                let acked = metrics
                    .heartbeat
                    .as_ref()
                    .and_then(|heartbeat| heartbeat.get(node_id))
                    .and_then(|acked| acked.as_ref().map(|at| at.elapsed()));
                status.since_last_acknowledgement_ms =
                    acked.map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
                let leader_last = index(metrics.last_log_index);
                let (health, detail) = match acked {
                    Some(elapsed) if elapsed <= heartbeat * UNREACHABLE_AFTER_HEARTBEATS as u32 => {
                        let lag = leader_last.saturating_sub(index(matched));
                        if lag > lag_bound {
                            (
                                admin::NodeHealth::Lagging,
                                format!("{lag} entries behind the leader"),
                            )
                        } else {
                            (admin::NodeHealth::Healthy, String::new())
                        }
                    }
                    Some(elapsed) => (
                        admin::NodeHealth::Unreachable,
                        format!("no answer for {} ms", elapsed.as_millis()),
                    ),
                    None => (
                        admin::NodeHealth::Unreachable,
                        "never answered this leader".to_owned(),
                    ),
                };
                status.health = health as i32;
                status.health_detail = detail;
            } else if metrics.current_leader == Some(*node_id) {
                status.role = admin::NodeRole::Leader as i32;
            }
            status
        })
        .collect();
    // Voters first, then learners, each by node id.
    nodes.sort_by_key(|status| (!status.voter, status.node_id));
    admin::GetClusterStatusResponse {
        answering_node_id: me,
        leader_node_id: metrics.current_leader,
        term: metrics.current_term,
        cluster_epoch: node.cluster_epoch(),
        preferred_site: node
            .settings()
            .preferred_leader_site
            .map_or(admin::Site::Unspecified, site_to_wire) as i32,
        nodes,
    }
}

/// Where a transfer should go.
pub(crate) enum TransferTarget {
    Node(NodeId),
    Site(Site),
}

impl TransferTarget {
    pub(crate) fn from_wire(
        target: Option<admin::transfer_leadership_request::Target>,
    ) -> Result<TransferTarget, Status> {
        use admin::transfer_leadership_request::Target;
        match target {
            Some(Target::NodeId(0)) => Err(status::invalid("node_id", "0 is not a node id")),
            Some(Target::NodeId(node_id)) => Ok(TransferTarget::Node(node_id)),
            Some(Target::Site(site)) => Ok(TransferTarget::Site(site_from_wire(site)?)),
            None => Err(status::invalid(
                "target",
                "is missing: give node_id or site",
            )),
        }
    }
}

/// The node leadership goes to: the named voter, or the most caught-up voter of the site
/// (the current leader itself when it already is at that site).
pub(crate) fn choose_target(node: &NodeHandle, target: &TransferTarget) -> Result<NodeId, Status> {
    let metrics = node.metrics();
    let membership = metrics.membership_config.membership();
    let voters: Vec<NodeId> = membership.voter_ids().collect();
    match target {
        TransferTarget::Node(node_id) => {
            if voters.contains(node_id) {
                Ok(*node_id)
            } else {
                Err(status::failed_precondition(
                    "membership",
                    format!("node {node_id} is not a voter of the cluster"),
                ))
            }
        }
        TransferTarget::Site(site) => {
            let at_site: Vec<NodeId> = membership
                .nodes()
                .filter(|(node_id, cluster_node)| {
                    cluster_node.site == *site && voters.contains(node_id)
                })
                .map(|(node_id, _)| *node_id)
                .collect();
            if at_site.contains(&node.node_id()) {
                return Ok(node.node_id());
            }
            let matched = |node_id: &NodeId| {
                metrics
                    .replication
                    .as_ref()
                    .and_then(|replication| replication.get(node_id))
                    .and_then(|matched| matched.as_ref().map(|log_id| log_id.index()))
            };
            at_site
                .iter()
                .max_by_key(|node_id| (matched(node_id), std::cmp::Reverse(**node_id)))
                .copied()
                .ok_or_else(|| {
                    status::failed_precondition("membership", format!("no voter at site {site}"))
                })
        }
    }
}
