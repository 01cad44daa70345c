//! Client writes: proposed on the leader with the leader's timestamp, forwarded there by any
//! other node, retried after a leader change.
//!
//! Every write carries its client's request id inside the envelope, and the state machine
//! answers a repeated id with the first answer; so a retry after a lost answer (a leader that
//! died after committing, a forward that timed out) is safe and is applied once.

use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use switchyard_domain::{Outcome, VersionedEnvelope};
use switchyard_proto::raft::v1 as wire;
use switchyard_proto::raft::v1::forward_write_response::Result as ForwardResult;
use switchyard_store::{DiskHealth, StoreRequest};
use tokio::time::Instant;
use tonic::Code;

use crate::codec::{decode, encode};
use crate::error::{LeaderInfo, NodeError, NotServingReason};
use crate::limits::{
    ADDRESS_BYTES_MAX, WRITE_ATTEMPTS_MAX, WRITE_ENVELOPE_BYTES_MAX, WRITE_REFUSAL_BACKOFF_MIN,
    WRITE_RETRY_PAUSE,
};
use crate::node::{Shared, WriteAnswer, duration_ms};
use crate::{NodeId, StoreResponse, TypeConfig};

/// Proposes `envelope` on this node, which must lead: stamps it with this node's clock (never
/// behind the applied clock) and waits for it to be applied, until `deadline`.
pub(crate) async fn write_as_leader(
    shared: &Shared,
    envelope: VersionedEnvelope,
    deadline: Instant,
) -> Result<StoreResponse, NodeError> {
    shared.ensure_serving()?;
    let started = Instant::now();
    let applied_clock = shared.store.state_machine.read(|view| view.clock())?;
    let timestamp = shared.clock.stamp(applied_clock);
    let request = StoreRequest {
        envelope,
        timestamp,
    };
    // A disk that stalls while we wait will not answer soon: give up at once, so that the
    // client's node retries (same request id) at the leader that takes over.
    let mut health = shared.store.health().subscribe();
    let stalled = async move {
        health
            .wait_for(|health| !matches!(health, DiskHealth::Healthy))
            .await
            .is_ok()
    };
    let written = tokio::select! {
        written = tokio::time::timeout_at(deadline, shared.raft.client_write(request)) => written,
        true = stalled => {
            return Err(NodeError::NotServing {
                reason: NotServingReason::DiskStalled,
            });
        }
    };
    match written {
        Err(_elapsed) => Err(NodeError::Timeout {
            operation: "write",
            waited_ms: duration_ms(started.elapsed()),
        }),
        Ok(Ok(response)) => {
            shared.instruments.commit_latency.observe(started.elapsed());
            Ok(response.data)
        }
        Ok(Err(error)) => Err(from_client_write_error(error)),
    }
}

/// The node error for a write or membership change openraft refused.
pub(crate) fn from_client_write_error(
    error: RaftError<TypeConfig, ClientWriteError<TypeConfig>>,
) -> NodeError {
    match error {
        RaftError::Fatal(fatal) => NodeError::Fatal(fatal),
        // Not the leader, or the entry was dropped by a leader change before it was committed:
        // the caller retries at the leader (a write with the same request id).
        RaftError::APIError(
            ClientWriteError::ForwardToLeader(forward)
            | ClientWriteError::LogEntryDiscarded(forward),
        ) => NodeError::NotLeader {
            leader: forward.leader_id.map(|node_id| {
                let node = forward.leader_node.as_ref();
                LeaderInfo {
                    node_id,
                    site: node.map(|node| node.site),
                    raft_address: node
                        .map(|node| node.raft_address.clone())
                        .unwrap_or_default(),
                    api_address: node
                        .map(|node| node.api_address.clone())
                        .unwrap_or_default(),
                    term: 0,
                }
            }),
        },
        RaftError::APIError(ClientWriteError::ChangeMembershipError(error)) => {
            NodeError::Membership(error)
        }
        RaftError::APIError(ClientWriteError::PreconditionFailed(error)) => {
            NodeError::Malformed(format!("unexpected precondition: {error}"))
        }
    }
}

/// Where the next attempt goes.
enum Target {
    Local,
    Remote { node_id: NodeId, address: String },
    Unknown,
}

/// A write from a client of this node, wherever the leader is.
pub(crate) async fn client_write(
    shared: &Shared,
    envelope: VersionedEnvelope,
) -> Result<WriteAnswer, NodeError> {
    let timeout = shared.settings.write_timeout();
    let deadline = Instant::now() + timeout;
    let envelope_bytes = encode(&envelope, "envelope")?;
    if envelope_bytes.len() > WRITE_ENVELOPE_BYTES_MAX {
        return Err(NodeError::EnvelopeTooLarge {
            bytes: envelope_bytes.len(),
            max: WRITE_ENVELOPE_BYTES_MAX,
        });
    }
    // A leader named by a refusal, fresher than this node's own metrics may be.
    let mut hint: Option<LeaderInfo> = None;
    let mut last_error = None;
    // How long the next refused attempt waits for the leadership to change.
    let mut backoff = WRITE_REFUSAL_BACKOFF_MIN;
    // Whether this attempt follows a refusal's hint without having waited.
    let mut following_hint = false;
    for attempt in 0..WRITE_ATTEMPTS_MAX {
        shared.ensure_serving()?;
        if Instant::now() >= deadline {
            break;
        }
        let seen = Leadership::of(&shared.metrics(), shared.node_id);
        let target = choose_target(shared, hint.take());
        let remote = match &target {
            Target::Remote { node_id, .. } => Some(*node_id),
            Target::Local | Target::Unknown => None,
        };
        let outcome = match target {
            Target::Local => write_as_leader(shared, envelope.clone(), deadline)
                .await
                .and_then(|response| to_answer(response, shared.node_id)),
            Target::Remote { node_id, address } => {
                let forwarded = forward(shared, node_id, &address, &envelope_bytes, deadline).await;
                shared.instruments.count_forwarded(&forwarded);
                forwarded
            }
            Target::Unknown => {
                wait_for_leader(shared, deadline).await;
                continue;
            }
        };
        match outcome {
            Ok(answer) => return Ok(answer),
            Err(NodeError::NotLeader { leader }) => {
                let refused_by = remote.unwrap_or(shared.node_id);
                // The refusing node's Raft core knows better than this node's metrics, which
                // may still call this node leader while a transfer hands leadership on. A node
                // that names itself while refusing is still campaigning: that is no hint.
                let named = leader.filter(|leader| {
                    leader.node_id != refused_by
                        && (leader.node_id == shared.node_id || !leader.raft_address.is_empty())
                });
                tracing::debug!(
                    node_id = shared.node_id,
                    attempt,
                    refused_by,
                    leader = ?named.as_ref().map(|leader| leader.node_id),
                    "write reached a node that does not lead; retrying"
                );
                last_error = Some(NodeError::NoLeader);
                if named.is_some() && !following_hint {
                    // Straight to the named leader, once; if it refuses too, leadership is
                    // still moving and the next refusal waits.
                    hint = named;
                    following_hint = true;
                    continue;
                }
                following_hint = false;
                // Leadership is moving (a transfer or an election): go on as soon as this node
                // sees it change, or after a short wait that doubles while refusals go on —
                // a planned failover then costs the vote round, not a fixed pause.
                let changed = wait_for_leadership_change(shared, seen, backoff, deadline).await;
                backoff = (backoff * 2).min(WRITE_RETRY_PAUSE);
                if !changed {
                    hint = named;
                }
            }
            Err(error) if retryable(&error) => {
                tracing::debug!(node_id = shared.node_id, attempt, error = %error, "write attempt failed; retrying");
                last_error = Some(error);
                following_hint = false;
                match remote {
                    // The leader we knew cannot take it: wait until another one is known.
                    Some(failed) => wait_for_other_leader(shared, failed, deadline).await,
                    None => pause(deadline).await,
                }
            }
            Err(error) => return Err(error),
        }
    }
    match last_error {
        Some(error) if Instant::now() < deadline => Err(error),
        _ => Err(NodeError::Timeout {
            operation: "write",
            waited_ms: duration_ms(timeout),
        }),
    }
}

fn to_answer(response: StoreResponse, leader: NodeId) -> Result<WriteAnswer, NodeError> {
    // A normal entry always carries the domain's answer; only blank and membership entries have
    // none, and those never answer a client write.
    let outcome = response.outcome.ok_or_else(|| {
        NodeError::Malformed(format!(
            "the entry at {} answered a client write without a domain answer",
            response.revision
        ))
    })?;
    Ok(WriteAnswer {
        revision: response.revision,
        outcome,
        replayed: response.replayed,
        leader,
    })
}

/// Where the next attempt goes: where a refusal's `hint` points, else where this node's metrics
/// say the leader is.
fn choose_target(shared: &Shared, hint: Option<LeaderInfo>) -> Target {
    let metrics = shared.metrics();
    if hint.is_none() && shared.leads(&metrics) {
        return Target::Local;
    }
    let leader = hint.or_else(|| shared.leader_info(&metrics));
    match leader {
        Some(leader) if leader.node_id == shared.node_id => Target::Local,
        Some(leader) if !leader.raft_address.is_empty() => Target::Remote {
            node_id: leader.node_id,
            address: leader.raft_address,
        },
        _ => Target::Unknown,
    }
}

/// Whether another attempt (at the same or another leader) may succeed.
pub(crate) fn retryable(error: &NodeError) -> bool {
    match error {
        NodeError::NoLeader | NodeError::Timeout { .. } => true,
        NodeError::Peer { code, .. } => matches!(
            code,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown
        ),
        _ => false,
    }
}

/// A short pause before the next attempt, never past `deadline`.
pub(crate) async fn pause(deadline: Instant) {
    tokio::time::sleep_until(deadline.min(Instant::now() + WRITE_RETRY_PAUSE)).await;
}

/// Waits until a leader other than `failed` is known (bounded by a couple of election
/// timeouts), or the deadline.
async fn wait_for_other_leader(shared: &Shared, failed: NodeId, deadline: Instant) {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let bound = remaining.min(shared.settings.election_timeout_max() * 2);
    let changed = shared
        .raft
        .wait(Some(bound))
        .metrics(
            |metrics| {
                metrics
                    .current_leader
                    .is_some_and(|leader| leader != failed)
            },
            "another leader is known",
        )
        .await;
    if changed.is_err() {
        // Still the same leader (perhaps it recovered): try it again after a pause.
        pause(deadline).await;
    }
}

/// What a node sees of the leadership: a write refused under one view is retried once the view
/// changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Leadership {
    leader: Option<NodeId>,
    term: u64,
    leading: bool,
}

impl Leadership {
    fn of(metrics: &crate::node::RaftMetrics, node_id: NodeId) -> Leadership {
        Leadership {
            leader: metrics.current_leader,
            term: metrics.current_term,
            leading: crate::node::leads(metrics, node_id),
        }
    }
}

/// Waits until this node's view of the leadership differs from `seen`, at most `bound` and
/// never past `deadline`. Returns whether it changed.
async fn wait_for_leadership_change(
    shared: &Shared,
    seen: Leadership,
    bound: Duration,
    deadline: Instant,
) -> bool {
    let bound = bound.min(deadline.saturating_duration_since(Instant::now()));
    let node_id = shared.node_id;
    shared
        .raft
        .wait(Some(bound))
        .metrics(
            move |metrics| Leadership::of(metrics, node_id) != seen,
            "the leadership changed",
        )
        .await
        .is_ok()
}

/// Waits until some leader is known, or the deadline.
pub(crate) async fn wait_for_leader(shared: &Shared, deadline: Instant) {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let bound = remaining.min(shared.settings.election_timeout_max() * 2);
    shared
        .raft
        .wait(Some(bound))
        .metrics(
            |metrics| metrics.current_leader.is_some(),
            "a leader is known",
        )
        .await
        .ok();
}

/// Sends the write to the leader with the ForwardWrite RPC.
async fn forward(
    shared: &Shared,
    leader: NodeId,
    address: &str,
    envelope_bytes: &[u8],
    deadline: Instant,
) -> Result<WriteAnswer, NodeError> {
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return Err(NodeError::Timeout {
            operation: "write",
            waited_ms: 0,
        });
    }
    let mut client = shared
        .peers
        .client(address)
        .map_err(|message| NodeError::Peer {
            address: address.to_owned(),
            code: Code::Unavailable,
            message,
        })?;
    let mut request = tonic::Request::new(wire::ForwardWriteRequest {
        cluster_epoch: shared.cluster_epoch,
        forwarded_by_node_id: shared.node_id,
        envelope_bytes: envelope_bytes.to_vec().into(),
        remaining_deadline_ms: u32::try_from(remaining.as_millis()).unwrap_or(u32::MAX),
    });
    request.set_timeout(remaining);
    tracing::debug!(
        node_id = shared.node_id,
        leader,
        address,
        "forwarding a write to the leader"
    );
    let answer = tokio::time::timeout(
        remaining + FORWARD_ANSWER_SLACK,
        client.forward_write(request),
    )
    .await
    .map_err(|_elapsed| NodeError::Timeout {
        operation: "forwarded write",
        waited_ms: duration_ms(remaining),
    })?
    .map_err(|status| NodeError::Peer {
        address: address.to_owned(),
        code: status.code(),
        message: status.message().to_owned(),
    })?
    .into_inner();
    match answer.result {
        Some(ForwardResult::OutcomeBytes(outcome_bytes)) => {
            let outcome: Outcome = decode(&outcome_bytes, "forwarded outcome")?;
            Ok(WriteAnswer {
                revision: answer.revision,
                outcome,
                replayed: answer.replayed,
                leader,
            })
        }
        Some(ForwardResult::NotLeader(hint)) => Err(NodeError::NotLeader {
            leader: hint_to_leader(hint),
        }),
        None => Err(NodeError::Malformed(
            "a forwarded write's answer has neither an outcome nor a leader hint".to_owned(),
        )),
    }
}

/// Time allowed beyond the client's deadline for the leader's own deadline answer to arrive.
const FORWARD_ANSWER_SLACK: Duration = Duration::from_millis(200);

pub(crate) fn hint_to_leader(hint: wire::LeaderHint) -> Option<LeaderInfo> {
    let node_id = hint.leader_node_id?;
    let bounded = |address: String| {
        if address.len() > ADDRESS_BYTES_MAX {
            String::new()
        } else {
            address
        }
    };
    Some(LeaderInfo {
        node_id,
        site: None,
        raft_address: bounded(hint.leader_raft_address),
        api_address: bounded(hint.leader_public_address),
        term: hint.term,
    })
}

/// The wire hint for a leader this node knows of (or an empty one).
pub(crate) fn leader_to_hint(leader: Option<&LeaderInfo>) -> wire::LeaderHint {
    match leader {
        Some(leader) => wire::LeaderHint {
            leader_node_id: Some(leader.node_id),
            leader_raft_address: leader.raft_address.clone(),
            leader_public_address: leader.api_address.clone(),
            term: leader.term,
        },
        None => wire::LeaderHint::default(),
    }
}
