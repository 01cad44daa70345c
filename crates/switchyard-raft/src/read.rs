//! Reads on any node: linearizable read barriers that work on followers too, and waits on the
//! applied index for event streams.
//!
//! A linearizable read on the leader confirms leadership with a quorum (openraft's read index)
//! and waits until the leader has applied its commit index. A follower asks the leader for that
//! read index with the `ReadIndex` RPC and then waits until it has applied that index itself:
//! the read it then serves locally reflects every write acknowledged before the read began, and
//! the leader's disk and CPU are spared the read itself (the bulk of the traffic).

use std::time::Duration;

use switchyard_proto::raft::v1 as wire;
use switchyard_proto::raft::v1::read_index_response::Result as ReadIndexResult;
use tokio::time::Instant;
use tonic::Code;

use crate::error::{LeaderInfo, NodeError};
use crate::limits::READ_INDEX_ATTEMPTS_MAX;
use crate::node::{Shared, duration_ms};
use crate::write::{pause, retryable, wait_for_leader};

/// Makes the reads that follow linearizable on this node, leader or follower, within the
/// configured write timeout. Returns the log index the local state then reflects (at least).
pub(crate) async fn read_barrier(shared: &Shared) -> Result<u64, NodeError> {
    shared.ensure_serving()?;
    let bound = shared.settings.write_timeout();
    let deadline = Instant::now() + bound;
    let mut hint: Option<LeaderInfo> = None;
    let mut last_error = NodeError::NoLeader;
    for _attempt in 0..READ_INDEX_ATTEMPTS_MAX {
        if Instant::now() >= deadline {
            break;
        }
        let metrics = shared.metrics();
        if shared.leads(&metrics) {
            match crate::leadership::ensure_linearizable(shared).await {
                Ok(index) => return Ok(index),
                Err(error @ (NodeError::NotLeader { .. } | NodeError::NoLeader)) => {
                    last_error = error;
                    pause(deadline).await;
                    continue;
                }
                Err(error) => return Err(error),
            }
        }
        let leader = hint
            .take()
            .filter(|leader| !leader.raft_address.is_empty())
            .or_else(|| shared.leader_info(&metrics));
        let Some(leader) = leader.filter(|leader| leader.node_id != shared.node_id) else {
            wait_for_leader(shared, deadline).await;
            last_error = NodeError::NoLeader;
            continue;
        };
        match ask_leader(shared, &leader, deadline).await {
            Ok(index) => return wait_applied(shared, index, deadline).await,
            Err(NodeError::NotLeader { leader }) => {
                hint = leader.filter(|leader| leader.node_id != shared.node_id);
                last_error = NodeError::NoLeader;
                pause(deadline).await;
            }
            Err(error) if retryable(&error) => {
                last_error = error;
                pause(deadline).await;
            }
            Err(error) => return Err(error),
        }
    }
    if Instant::now() >= deadline {
        Err(NodeError::Timeout {
            operation: "linearizable read barrier",
            waited_ms: duration_ms(bound),
        })
    } else {
        Err(last_error)
    }
}

/// Waits until this node has applied `index`, or the deadline.
async fn wait_applied(shared: &Shared, index: u64, deadline: Instant) -> Result<u64, NodeError> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    shared
        .raft
        .wait(Some(remaining))
        .applied_index_at_least(Some(index), "read index applied")
        .await
        .map_err(|_| NodeError::Timeout {
            operation: "applying up to the read index",
            waited_ms: duration_ms(remaining),
        })?;
    Ok(index)
}

/// Waits (at most `bound`) until this node has applied an entry after `index`; returns the
/// applied index then, or the current one when the bound passed first.
pub(crate) async fn wait_applied_beyond(shared: &Shared, index: u64, bound: Duration) -> u64 {
    let waited = shared
        .raft
        .wait(Some(bound))
        .applied_index_at_least(Some(index + 1), "an entry applied")
        .await;
    let metrics = match waited {
        Ok(metrics) => metrics,
        Err(_) => shared.metrics(),
    };
    metrics.last_applied.map_or(0, |log_id| log_id.index())
}

/// The ReadIndex RPC to the node believed to lead.
async fn ask_leader(
    shared: &Shared,
    leader: &LeaderInfo,
    deadline: Instant,
) -> Result<u64, NodeError> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let address = leader.raft_address.as_str();
    let mut client = shared
        .peers
        .client(address)
        .map_err(|message| NodeError::Peer {
            address: address.to_owned(),
            code: Code::Unavailable,
            message,
        })?;
    let mut request = tonic::Request::new(wire::ReadIndexRequest {
        cluster_epoch: shared.cluster_epoch,
        from_node_id: shared.node_id,
    });
    request.set_timeout(remaining);
    let answer = tokio::time::timeout(remaining, client.read_index(request))
        .await
        .map_err(|_elapsed| NodeError::Timeout {
            operation: "read index",
            waited_ms: duration_ms(remaining),
        })?
        .map_err(|status| NodeError::Peer {
            address: address.to_owned(),
            code: status.code(),
            message: status.message().to_owned(),
        })?
        .into_inner();
    match answer.result {
        Some(ReadIndexResult::ReadIndex(index)) => Ok(index),
        Some(ReadIndexResult::NotLeader(hint)) => Err(NodeError::NotLeader {
            leader: crate::write::hint_to_leader(hint),
        }),
        None => Err(NodeError::Malformed(
            "a read index answer has neither an index nor a leader hint".to_owned(),
        )),
    }
}

/// The leader's side of the ReadIndex RPC.
pub(crate) async fn serve_read_index(
    shared: &Shared,
) -> Result<wire::ReadIndexResponse, NodeError> {
    let metrics = shared.metrics();
    if !shared.leads(&metrics) {
        return Ok(wire::ReadIndexResponse {
            result: Some(ReadIndexResult::NotLeader(crate::write::leader_to_hint(
                shared.leader_info(&metrics).as_ref(),
            ))),
        });
    }
    match crate::leadership::ensure_linearizable(shared).await {
        Ok(index) => Ok(wire::ReadIndexResponse {
            result: Some(ReadIndexResult::ReadIndex(index)),
        }),
        Err(NodeError::NotLeader { leader }) => Ok(wire::ReadIndexResponse {
            result: Some(ReadIndexResult::NotLeader(crate::write::leader_to_hint(
                leader.as_ref(),
            ))),
        }),
        Err(error) => Err(error),
    }
}
