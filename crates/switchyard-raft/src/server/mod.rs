//! The server side of the Raft transport: the tonic `RaftService`, holding the local Raft.
//!
//! Each RPC checks the sender's cluster epoch and that this node serves, decodes openraft's
//! message, hands it to the local Raft (`append_entries`, `vote`, `pre_vote`,
//! `handle_transfer_leader`, `install_full_snapshot` in `snapshot.rs`) and encodes the answer.
//! ForwardWrite proposes a follower's client write here if this node leads, or answers with a
//! leader hint. Errors become status codes in `status.rs`, never a blanket `INTERNAL`.

mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};
use switchyard_domain::VersionedEnvelope;
use switchyard_proto::raft::v1 as wire;
use switchyard_proto::raft::v1::forward_write_response::Result as ForwardResult;
use switchyard_proto::raft::v1::raft_service_server::RaftService;
use tokio::time::Instant;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::TypeConfig;
use crate::codec::{decode, encode};
use crate::error::NodeError;
use crate::limits::WRITE_ENVELOPE_BYTES_MAX;
use crate::node::Shared;
use crate::status::{reason, stale_cluster_epoch, to_status};
use crate::write::{leader_to_hint, write_as_leader};

/// The internal Raft service of one node.
#[derive(Debug)]
pub(crate) struct RaftServer {
    shared: Arc<Shared>,
}

fn status(error: NodeError) -> Status {
    to_status(&error)
}

impl RaftServer {
    pub(crate) fn new(shared: Arc<Shared>) -> RaftServer {
        RaftServer { shared }
    }

    /// Lets a request in: same cluster epoch, and this node serves.
    fn admit(&self, cluster_epoch: u64) -> Result<(), Status> {
        let ours = self.shared.cluster_epoch;
        if cluster_epoch < ours {
            return Err(stale_cluster_epoch(ours, cluster_epoch));
        }
        if cluster_epoch > ours {
            // A peer belongs to a newer cluster: this node was left behind by a cutover and must
            // not take part any more.
            if !self.shared.peers.fence() {
                tracing::error!(
                    node_id = self.shared.node_id,
                    ours,
                    theirs = cluster_epoch,
                    "a peer of a newer cluster epoch called: this node stops serving"
                );
            }
            return Err(stale_cluster_epoch(ours, cluster_epoch));
        }
        self.shared.ensure_serving().map_err(status)
    }
}

#[tonic::async_trait]
impl RaftService for RaftServer {
    async fn append_entries(
        &self,
        request: Request<wire::AppendEntriesRequest>,
    ) -> Result<Response<wire::AppendEntriesResponse>, Status> {
        let message = request.into_inner();
        self.admit(message.cluster_epoch)?;
        let rpc: AppendEntriesRequest<TypeConfig> =
            decode(&message.request_bytes, "append entries request").map_err(status)?;
        if rpc.entries.len() != message.entry_count as usize {
            return Err(Status::invalid_argument(format!(
                "{}: entry_count {} but {} entries",
                reason::MALFORMED,
                message.entry_count,
                rpc.entries.len()
            )));
        }
        tracing::trace!(
            node_id = self.shared.node_id,
            term = message.term,
            leader = message.leader_node_id,
            entries = message.entry_count,
            "append entries"
        );
        let response = self
            .shared
            .raft
            .append_entries(rpc)
            .await
            .map_err(|error| status(NodeError::Fatal(error.unwrap_fatal())))?;
        // Only a leader this node accepts counts as contact (a stale one gets HigherVote; a log
        // conflict still comes from the leader).
        if !matches!(
            response,
            openraft::raft::AppendEntriesResponse::HigherVote(_)
        ) {
            self.shared.heard_from_leader();
        }
        Ok(Response::new(wire::AppendEntriesResponse {
            response_bytes: encode(&response, "append entries response")
                .map_err(status)?
                .into(),
        }))
    }

    async fn vote(
        &self,
        request: Request<wire::VoteRequest>,
    ) -> Result<Response<wire::VoteResponse>, Status> {
        let message = request.into_inner();
        self.admit(message.cluster_epoch)?;
        let rpc: VoteRequest<TypeConfig> =
            decode(&message.request_bytes, "vote request").map_err(status)?;
        let response = self
            .shared
            .raft
            .vote(rpc)
            .await
            .map_err(|error| status(NodeError::Fatal(error.unwrap_fatal())))?;
        tracing::debug!(
            node_id = self.shared.node_id,
            term = message.term,
            candidate = message.candidate_node_id,
            granted = response.vote_granted,
            "vote request"
        );
        Ok(Response::new(wire::VoteResponse {
            granted: response.vote_granted,
            response_bytes: encode(&response, "vote response").map_err(status)?.into(),
        }))
    }

    /// Answers whether this node would vote for the sender, through `Raft::pre_vote`, which
    /// neither persists a vote nor changes the term.
    async fn pre_vote(
        &self,
        request: Request<wire::PreVoteRequest>,
    ) -> Result<Response<wire::PreVoteResponse>, Status> {
        let message = request.into_inner();
        self.admit(message.cluster_epoch)?;
        let rpc: VoteRequest<TypeConfig> =
            decode(&message.request_bytes, "pre-vote request").map_err(status)?;
        let response = self
            .shared
            .raft
            .pre_vote(rpc)
            .await
            .map_err(|error| status(NodeError::Fatal(error.unwrap_fatal())))?;
        tracing::debug!(
            node_id = self.shared.node_id,
            term = message.term,
            candidate = message.candidate_node_id,
            granted = response.vote_granted,
            "pre-vote request"
        );
        Ok(Response::new(wire::PreVoteResponse {
            granted: response.vote_granted,
            response_bytes: encode(&response, "pre-vote response")
                .map_err(status)?
                .into(),
        }))
    }

    async fn install_snapshot(
        &self,
        request: Request<Streaming<wire::InstallSnapshotRequest>>,
    ) -> Result<Response<wire::InstallSnapshotResponse>, Status> {
        snapshot::receive(self, request.into_inner()).await
    }

    /// Passes the leader's transfer to `Raft::handle_transfer_leader`: the named node stands
    /// for election once its log holds the leader's, the others stop honouring the leader's
    /// lease.
    async fn transfer_leader(
        &self,
        request: Request<wire::TransferLeaderRequest>,
    ) -> Result<Response<wire::TransferLeaderResponse>, Status> {
        let message = request.into_inner();
        self.admit(message.cluster_epoch)?;
        let rpc: TransferLeaderRequest<TypeConfig> =
            decode(&message.request_bytes, "transfer leader request").map_err(status)?;
        tracing::info!(
            node_id = self.shared.node_id,
            term = message.term,
            from = message.from_node_id,
            to = message.to_node_id,
            "leadership transfer announced"
        );
        match self.shared.raft.handle_transfer_leader(rpc).await {
            Ok(Ok(())) => Ok(Response::new(wire::TransferLeaderResponse {})),
            Ok(Err(refusal)) => {
                let details = encode(&refusal, "transfer refusal").map_err(status)?;
                Err(Status::with_details(
                    Code::FailedPrecondition,
                    format!("{}: {refusal}", reason::TRANSFER_REFUSED),
                    details.into(),
                ))
            }
            Err(fatal) => Err(status(NodeError::Fatal(fatal))),
        }
    }

    async fn forward_write(
        &self,
        request: Request<wire::ForwardWriteRequest>,
    ) -> Result<Response<wire::ForwardWriteResponse>, Status> {
        let message = request.into_inner();
        self.admit(message.cluster_epoch)?;
        if message.envelope_bytes.len() > WRITE_ENVELOPE_BYTES_MAX {
            return Err(status(NodeError::EnvelopeTooLarge {
                bytes: message.envelope_bytes.len(),
                max: WRITE_ENVELOPE_BYTES_MAX,
            }));
        }
        let envelope: VersionedEnvelope =
            decode(&message.envelope_bytes, "envelope").map_err(status)?;
        let ours = self.shared.settings.write_timeout();
        let theirs = Duration::from_millis(u64::from(message.remaining_deadline_ms));
        let deadline = Instant::now()
            + if theirs.is_zero() {
                ours
            } else {
                theirs.min(ours)
            };
        let metrics = self.shared.metrics();
        tracing::debug!(
            node_id = self.shared.node_id,
            term = metrics.current_term,
            forwarded_by = message.forwarded_by_node_id,
            "forwarded write"
        );
        let not_leader = |leader| {
            Ok(Response::new(wire::ForwardWriteResponse {
                revision: 0,
                replayed: false,
                result: Some(ForwardResult::NotLeader(leader_to_hint(leader))),
            }))
        };
        if !self.shared.leads(&metrics) {
            // A candidate names itself as the leader it hopes to be: no hint to follow.
            let leader = self
                .shared
                .leader_info(&metrics)
                .filter(|leader| leader.node_id != self.shared.node_id);
            return not_leader(leader.as_ref());
        }
        match write_as_leader(&self.shared, envelope, deadline).await {
            Ok(response) => {
                let outcome = response.outcome.ok_or_else(|| {
                    status(NodeError::Malformed(
                        "a client write's entry answered without a domain answer".to_owned(),
                    ))
                })?;
                Ok(Response::new(wire::ForwardWriteResponse {
                    revision: response.revision,
                    replayed: response.replayed,
                    result: Some(ForwardResult::OutcomeBytes(
                        encode(&outcome, "outcome").map_err(status)?.into(),
                    )),
                }))
            }
            Err(NodeError::NotLeader { leader }) => {
                let leader = leader.or_else(|| self.shared.leader_info(&self.shared.metrics()));
                not_leader(leader.as_ref())
            }
            Err(error) => Err(status(error)),
        }
    }

    async fn read_index(
        &self,
        request: Request<wire::ReadIndexRequest>,
    ) -> Result<Response<wire::ReadIndexResponse>, Status> {
        let message = request.into_inner();
        self.admit(message.cluster_epoch)?;
        tracing::trace!(
            node_id = self.shared.node_id,
            from = message.from_node_id,
            "read index requested"
        );
        crate::read::serve_read_index(&self.shared)
            .await
            .map(Response::new)
            .map_err(status)
    }
}
