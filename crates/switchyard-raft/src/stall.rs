//! Storage stalls: a node whose disk sync does not finish within the configured bound stops
//! serving and, if it leads, hands leadership to a healthy caught-up voter.
//!
//! The store marks its disk stalled ([`switchyard_store::Health`]); from that moment the node
//! reports itself not serving (reads, writes and Raft RPCs are refused with
//! `UNAVAILABLE not_serving`, so peers back off from it) until a sync completes again.
//!
//! Handing over must not wait on our own disk: the stalled sync usually belongs to a log append,
//! and openraft's core awaits that append, so the core cannot act on a transfer command until
//! the disk answers. The watcher therefore asks openraft to transfer (which helps if the core is
//! free) and also tells every other voter itself, with the TransferLeader RPC and this leader's
//! vote, that the chosen target takes over: the target then stands at once (a
//! leadership-transfer election that voters grant despite the old leader's lease), and the
//! others stop waiting for the old leader's lease. Raft's election rules alone decide who wins;
//! the message only saves the election timeout.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use openraft::Instant as _;
use openraft::raft::TransferLeaderRequest;
use switchyard_store::{DiskHealth, Site};
use tokio::sync::oneshot;

use crate::network::transfer_leader_message;
use crate::node::{RaftMetrics, Shared};
use crate::status::reason;
use crate::{NodeId, TypeConfig};

/// Targets tried, one after the other, when a stalled leader hands over.
const HANDOVER_TARGETS_MAX: usize = 2;

/// Watches the disk's health until `stopped` fires.
pub(crate) async fn watch(shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let node_id = shared.node_id;
    let mut health = shared.store.health().subscribe();
    loop {
        let changed = tokio::select! {
            _ = &mut stopped => return,
            changed = health.changed() => changed,
        };
        if changed.is_err() {
            return;
        }
        let current = *health.borrow_and_update();
        match current {
            DiskHealth::Stalled { since } => {
                tracing::error!(
                    node_id,
                    stalled_ms = since.elapsed().as_millis() as u64,
                    "disk stalled: not serving, giving up leadership if held"
                );
                tokio::select! {
                    _ = &mut stopped => return,
                    () = hand_over(&shared) => {}
                }
            }
            DiskHealth::Healthy => {
                tracing::warn!(node_id, "disk answers again: serving again");
            }
        }
    }
}

/// If this node leads, moves leadership to the best healthy caught-up voter, bounded in time.
async fn hand_over(shared: &Shared) {
    let node_id = shared.node_id;
    let metrics = shared.metrics();
    if !shared.leads(&metrics) {
        return;
    }
    let targets = handover_targets(shared, &metrics);
    let Some(first) = targets.first().copied() else {
        tracing::warn!(
            node_id,
            term = metrics.current_term,
            "disk stalled on the leader, but no healthy caught-up voter can take over"
        );
        return;
    };
    // openraft's own path: only queues a command for the core, which acts on it when it can.
    let bound = shared.settings.heartbeat_interval();
    if tokio::time::timeout(bound, shared.raft.trigger().transfer_leader(first))
        .await
        .is_err()
    {
        tracing::warn!(node_id, "the Raft core did not take the transfer command");
    }
    for (target, matched) in targets
        .into_iter()
        .take(HANDOVER_TARGETS_MAX)
        .map(|target| {
            let matched = metrics
                .replication
                .as_ref()
                .and_then(|replication| replication.get(&target).cloned().flatten());
            (target, matched)
        })
    {
        tracing::warn!(
            node_id,
            term = metrics.current_term,
            target,
            matched = ?matched,
            "stalled leader hands leadership over"
        );
        let request = TransferLeaderRequest::<TypeConfig>::new(metrics.vote, target, matched);
        if tell_voters(shared, &metrics, &request).await {
            // The target accepted and stands now. Our own core learns of the new leader when our
            // disk answers again; until then this node serves nothing anyway.
            let bound = shared.settings.leader_transfer_timeout();
            let handed = shared
                .raft
                .wait(Some(bound))
                .metrics(
                    |metrics| metrics.current_leader != Some(node_id),
                    "another node leads",
                )
                .await
                .is_ok();
            tracing::warn!(
                node_id,
                target,
                confirmed_locally = handed,
                "leadership handed over"
            );
            return;
        }
    }
    tracing::warn!(
        node_id,
        "no voter accepted the handover; the cluster elects a new leader once this one's lease expires"
    );
}

/// The voters that can take over, best first: heard from recently, caught up, at another site
/// than this node if possible (a stall can be site-wide storage), the most advanced, and never
/// the witness, which serves no clients.
fn handover_targets(shared: &Shared, metrics: &RaftMetrics) -> Vec<NodeId> {
    let Some(replication) = metrics.replication.as_ref() else {
        return Vec::new();
    };
    let membership = metrics.membership_config.membership();
    // Acknowledgement times, compared with the freshest one: the metrics of a core blocked on
    // the disk stopped moving when it blocked.
    let acknowledged = |node_id: NodeId| {
        metrics
            .heartbeat
            .as_ref()
            .and_then(|heartbeat| heartbeat.get(&node_id).cloned().flatten())
            .map(|instant| *instant)
    };
    let freshest = membership.voter_ids().filter_map(acknowledged).max();
    let recent_bound: Duration = shared.settings.election_timeout_max();
    let mut candidates: Vec<(bool, u64, NodeId)> = membership
        .voter_ids()
        .filter(|voter| *voter != shared.node_id)
        .filter_map(|voter| {
            let node = membership.get_node(&voter)?;
            if node.site == Site::Witness {
                return None;
            }
            let matched = replication.get(&voter)?.as_ref()?.index();
            let recent = match (freshest, acknowledged(voter)) {
                (Some(freshest), Some(at)) => {
                    freshest.saturating_duration_since(at) <= recent_bound
                }
                _ => false,
            };
            if !recent {
                return None;
            }
            Some((node.site != shared.site, matched, voter))
        })
        .collect();
    // Caught up: within the configured lag of the best of them. Among those, another site
    // first, then the highest matched index, then the lower id.
    let best = candidates
        .iter()
        .map(|candidate| candidate.1)
        .max()
        .unwrap_or(0);
    candidates.retain(|candidate| {
        best.saturating_sub(candidate.1) <= shared.settings.caught_up_lag_entries_max
    });
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    candidates
        .into_iter()
        .map(|candidate| candidate.2)
        .collect()
}

/// Sends the transfer to every other voter; returns whether the target accepted it.
async fn tell_voters(
    shared: &Shared,
    metrics: &RaftMetrics,
    request: &TransferLeaderRequest<TypeConfig>,
) -> bool {
    let Ok(message) = transfer_leader_message(shared.cluster_epoch, request) else {
        return false;
    };
    let target = *request.to_node_id();
    let deadline = Duration::from_millis(shared.settings.election_timeout_min_ms);
    let membership = metrics.membership_config.membership();
    let sends = membership
        .voter_ids()
        .filter(|voter| *voter != shared.node_id)
        .filter_map(|voter| {
            let address = membership.get_node(&voter)?.raft_address.clone();
            let message = message.clone();
            Some(async move {
                let mut client = shared.peers.client(&address).ok()?;
                let mut request = tonic::Request::new(message);
                request.set_timeout(deadline);
                let answer = tokio::time::timeout(deadline, client.transfer_leader(request)).await;
                let accepted = match answer {
                    Ok(Ok(_)) => true,
                    Ok(Err(status)) => {
                        let refused = status.message().starts_with(reason::TRANSFER_REFUSED);
                        tracing::debug!(node_id = shared.node_id, voter, refused, status = %status, "transfer message not taken");
                        false
                    }
                    Err(_elapsed) => false,
                };
                Some((voter, accepted))
            })
        });
    join_all(sends)
        .await
        .into_iter()
        .flatten()
        .any(|(voter, accepted)| voter == target && accepted)
}
