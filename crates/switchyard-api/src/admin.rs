//! `switchyard.admin.v1.AdminService`: operators only.
//!
//! The business side — notices, participants, the policy — goes through Raft like every write.
//! The cluster side: status and planned leadership transfer (`cluster.rs`), membership (a
//! learner catches up before it may be promoted, joint consensus, node ids never reused),
//! snapshots and backup downloads (`backup.rs`) and the contacts export (`export.rs`). Cluster
//! operations are remembered by request id on the node that ran them, so a retry gets the first
//! answer. The forced disaster cutover is an offline procedure on the survivors
//! (`switchyard dr-promote`, see docs/RUNBOOK.md) and answers `UNIMPLEMENTED` here.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use switchyard_domain::Accepted;
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::admin::v1::admin_service_server::AdminService;
use switchyard_proto::convert::{Consistency, IncomingWrite};
use tonic::{Request, Response, Status};

use std::time::Duration;

use switchyard_proto::limits::{
    TRANSFER_LEADERSHIP_TIMEOUT_DEFAULT_MS, TRANSFER_LEADERSHIP_TIMEOUT_MAX_MS,
};

use crate::auth::Caller;
use crate::cluster::{TransferTarget, choose_target, site_from_wire};
use crate::context::{Context, answer};
use crate::status;

/// Cluster operations remembered per node, so that a retry with the same request id gets the
/// first answer (while it is remembered: the last [`OPERATIONS_REMEMBERED`] on this node).
const OPERATIONS_REMEMBERED: usize = 256;

/// A remembered cluster operation: the caller, its request id, what it asked, and the first
/// answer (the encoded response message).
#[derive(Debug)]
struct Remembered {
    party: String,
    request_id: String,
    asked: String,
    answer: Vec<u8>,
}

/// The admin service of one node.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    context: Arc<Context>,
    operations: Arc<Mutex<VecDeque<Remembered>>>,
}

impl Admin {
    pub(crate) fn new(context: Arc<Context>) -> Admin {
        Admin {
            context,
            operations: Arc::default(),
        }
    }

    /// The first answer to this caller's request id, if remembered; refuses the id reused for
    /// another operation.
    fn remembered<M: prost::Message + Default>(
        &self,
        caller: &Caller,
        request_id: &str,
        asked: &str,
    ) -> Result<Option<M>, Status> {
        let operations = self.operations.lock().expect("operations lock");
        let party = caller.party.to_string();
        match operations
            .iter()
            .find(|first| first.party == party && first.request_id == request_id)
        {
            Some(first) if first.asked == asked => M::decode(first.answer.as_slice())
                .map(Some)
                .map_err(|error| status::internal(format!("a remembered answer: {error}"))),
            Some(first) => Err(status::already_exists(
                "request_id_reused",
                format!(
                    "request id {request_id} was already used for another operation ({})",
                    first.asked
                ),
            )),
            None => Ok(None),
        }
    }

    fn remember<M: prost::Message>(
        &self,
        caller: &Caller,
        request_id: &str,
        asked: &str,
        answer: &M,
    ) {
        let mut operations = self.operations.lock().expect("operations lock");
        if operations.len() == OPERATIONS_REMEMBERED {
            operations.pop_front();
        }
        operations.push_back(Remembered {
            party: caller.party.to_string(),
            request_id: request_id.to_owned(),
            asked: asked.to_owned(),
            answer: answer.encode_to_vec(),
        });
    }

    fn operator<T>(&self, request: &Request<T>, what: &str) -> Result<Caller, Status> {
        let caller = self.context.admit(request)?;
        caller.require_operator(what)?;
        Ok(caller)
    }

    /// Refuses unless this node leads, pointing at the leader.
    fn ensure_leader(&self) -> Result<(), Status> {
        let node = &self.context.node;
        let leader = node.leader();
        if leader.as_ref().map(|leader| leader.node_id) == Some(node.node_id()) {
            return Ok(());
        }
        Err(status::not_leader(
            leader
                .as_ref()
                .map(|leader| leader.api_address.as_str())
                .filter(|address| !address.is_empty()),
        ))
    }
}

/// Checks `host:port`.
fn address(field: &str, value: &str) -> Result<String, Status> {
    let Some((host, port)) = value.rsplit_once(':') else {
        return Err(status::invalid(
            field,
            format!("{value:?} is not host:port"),
        ));
    };
    if host.is_empty() || host.len() > 253 || port.parse::<u16>().map_or(true, |port| port == 0) {
        return Err(status::invalid(
            field,
            format!("{value:?} is not host:port"),
        ));
    }
    Ok(value.to_owned())
}

/// Checks a node's name: 1..=32 characters of a-z 0-9 -.
fn node_name(value: &str) -> Result<String, Status> {
    let valid = (1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if valid {
        Ok(value.to_owned())
    } else {
        Err(status::invalid(
            "name",
            format!("{value:?} is not 1..=32 characters of a-z 0-9 -"),
        ))
    }
}

fn node_id(value: u64) -> Result<u64, Status> {
    if value == 0 {
        Err(status::invalid("node_id", "0 is not a node id"))
    } else {
        Ok(value)
    }
}

fn unexpected(accepted: &Accepted) -> Status {
    status::internal(format!("unexpected answer {accepted:?}"))
}

type ExportStream = std::pin::Pin<
    Box<dyn futures::Stream<Item = Result<admin::ExportContactsResponse, Status>> + Send + 'static>,
>;

#[tonic::async_trait]
impl AdminService for Admin {
    async fn get_cluster_status(
        &self,
        request: Request<admin::GetClusterStatusRequest>,
    ) -> Result<Response<admin::GetClusterStatusResponse>, Status> {
        self.operator(&request, "the cluster status")?;
        Ok(Response::new(crate::cluster::cluster_status(
            &self.context.node,
        )))
    }

    async fn transfer_leadership(
        &self,
        request: Request<admin::TransferLeadershipRequest>,
    ) -> Result<Response<admin::TransferLeadershipResponse>, Status> {
        let caller = self.operator(&request, "a leadership transfer")?;
        let wire = request.into_inner();
        switchyard_proto::convert::request_id_from_wire(&wire.request_id)?;
        let timeout = match wire.timeout_ms {
            0 => Duration::from_millis(u64::from(TRANSFER_LEADERSHIP_TIMEOUT_DEFAULT_MS)),
            ms if ms <= TRANSFER_LEADERSHIP_TIMEOUT_MAX_MS => Duration::from_millis(u64::from(ms)),
            ms => {
                return Err(status::invalid(
                    "timeout_ms",
                    format!("{ms} is more than {TRANSFER_LEADERSHIP_TIMEOUT_MAX_MS}"),
                ));
            }
        };
        let asked = format!("transfer to {:?}", wire.target);
        let target = TransferTarget::from_wire(wire.target)?;
        if let Some(first) = self.remembered(&caller, &wire.request_id, &asked)? {
            return Ok(answer(true, first));
        }
        self.ensure_leader()?;
        let node = &self.context.node;
        let to = choose_target(node, &target)?;
        tracing::info!(operator = %caller.party, from = node.node_id(), to, request_id = %wire.request_id, "planned leadership transfer");
        if to != node.node_id() {
            match tokio::time::timeout(timeout, node.transfer_leadership(to)).await {
                Err(_) => {
                    return Err(status::deadline(format!(
                        "node {to} was not confirmed as leader within {} ms",
                        timeout.as_millis()
                    )));
                }
                Ok(Err(switchyard_raft::NodeError::Timeout { waited_ms, .. })) => {
                    return Err(status::deadline(format!(
                        "node {to} was not confirmed as leader within {waited_ms} ms"
                    )));
                }
                Ok(Err(error)) => return Err(status::node_error(&error)),
                Ok(Ok(())) => {}
            }
        }
        let term = node.leader().map_or(0, |leader| leader.term);
        let response = admin::TransferLeadershipResponse {
            new_leader_node_id: to,
            term,
        };
        self.remember(&caller, &wire.request_id, &asked, &response);
        Ok(Response::new(response))
    }

    async fn add_learner(
        &self,
        request: Request<admin::AddLearnerRequest>,
    ) -> Result<Response<admin::AddLearnerResponse>, Status> {
        let caller = self.operator(&request, "adding a learner")?;
        let wire = request.into_inner();
        switchyard_proto::convert::request_id_from_wire(&wire.request_id)?;
        let node_id = node_id(wire.node_id)?;
        let name = node_name(&wire.name)?;
        let site = site_from_wire(wire.site)?;
        let raft_address = address("raft_address", &wire.raft_address)?;
        let api_address = address("public_address", &wire.public_address)?;
        let asked = format!("add learner {node_id} {name} {site} {raft_address} {api_address}");
        if let Some(first) = self.remembered(&caller, &wire.request_id, &asked)? {
            return Ok(answer(true, first));
        }
        self.ensure_leader()?;
        tracing::info!(operator = %caller.party, learner = node_id, %name, %site, request_id = %wire.request_id, "adding a learner");
        let member = switchyard_raft::ClusterNode {
            site,
            raft_address,
            api_address,
        };
        let node = &self.context.node;
        let change = if wire.wait_for_catch_up {
            node.add_learner(node_id, member).await
        } else {
            node.start_learner(node_id, member).await
        }
        .map_err(|error| status::node_error(&error))?;
        let response = admin::AddLearnerResponse {
            revision: change.revision,
            caught_up: change.caught_up,
        };
        self.remember(&caller, &wire.request_id, &asked, &response);
        Ok(Response::new(response))
    }

    async fn promote_learner(
        &self,
        request: Request<admin::PromoteLearnerRequest>,
    ) -> Result<Response<admin::PromoteLearnerResponse>, Status> {
        let caller = self.operator(&request, "promoting a learner")?;
        let wire = request.into_inner();
        switchyard_proto::convert::request_id_from_wire(&wire.request_id)?;
        let node_id = node_id(wire.node_id)?;
        let asked = format!("promote {node_id}");
        if let Some(first) = self.remembered(&caller, &wire.request_id, &asked)? {
            return Ok(answer(true, first));
        }
        self.ensure_leader()?;
        tracing::info!(operator = %caller.party, learner = node_id, request_id = %wire.request_id, "promoting a learner");
        let change = self
            .context
            .node
            .promote_learner(node_id)
            .await
            .map_err(|error| status::node_error(&error))?;
        let response = admin::PromoteLearnerResponse {
            revision: change.revision,
        };
        self.remember(&caller, &wire.request_id, &asked, &response);
        Ok(Response::new(response))
    }

    async fn remove_node(
        &self,
        request: Request<admin::RemoveNodeRequest>,
    ) -> Result<Response<admin::RemoveNodeResponse>, Status> {
        let caller = self.operator(&request, "removing a node")?;
        let wire = request.into_inner();
        switchyard_proto::convert::request_id_from_wire(&wire.request_id)?;
        let node_id = node_id(wire.node_id)?;
        let asked = format!("remove {node_id}");
        if let Some(first) = self.remembered(&caller, &wire.request_id, &asked)? {
            return Ok(answer(true, first));
        }
        self.ensure_leader()?;
        tracing::info!(operator = %caller.party, removed = node_id, request_id = %wire.request_id, "removing a node");
        let change = self
            .context
            .node
            .remove_node(node_id)
            .await
            .map_err(|error| status::node_error(&error))?;
        let response = admin::RemoveNodeResponse {
            revision: change.revision,
        };
        self.remember(&caller, &wire.request_id, &asked, &response);
        Ok(Response::new(response))
    }

    async fn create_snapshot(
        &self,
        request: Request<admin::CreateSnapshotRequest>,
    ) -> Result<Response<admin::CreateSnapshotResponse>, Status> {
        let caller = self.operator(&request, "a snapshot")?;
        let wire = request.into_inner();
        switchyard_proto::convert::request_id_from_wire(&wire.request_id)?;
        let asked = "create snapshot";
        if let Some(first) = self.remembered(&caller, &wire.request_id, asked)? {
            return Ok(answer(true, first));
        }
        tracing::info!(operator = %caller.party, request_id = %wire.request_id, "snapshot asked for");
        let snapshot = crate::backup::create_snapshot(&self.context.node).await?;
        let response = admin::CreateSnapshotResponse {
            snapshot: Some(snapshot),
        };
        self.remember(&caller, &wire.request_id, asked, &response);
        Ok(Response::new(response))
    }

    type DownloadBackupStream = crate::backup::BackupStream;

    async fn download_backup(
        &self,
        request: Request<admin::DownloadBackupRequest>,
    ) -> Result<Response<Self::DownloadBackupStream>, Status> {
        let caller = self.operator(&request, "a backup")?;
        let wire = request.into_inner();
        tracing::info!(operator = %caller.party, snapshot = %wire.snapshot_id, "backup download");
        let stream = crate::backup::download(&self.context.node, &wire.snapshot_id).await?;
        Ok(Response::new(stream))
    }

    async fn force_disaster_cutover(
        &self,
        request: Request<admin::ForceDisasterCutoverRequest>,
    ) -> Result<Response<admin::ForceDisasterCutoverResponse>, Status> {
        self.operator(&request, "a disaster cutover")?;
        Err(status::unimplemented(
            "ForceDisasterCutover over the API (run `switchyard dr-promote` on each surviving node, as docs/RUNBOOK.md describes)",
        ))
    }

    async fn publish_notice(
        &self,
        request: Request<admin::PublishNoticeRequest>,
    ) -> Result<Response<admin::PublishNoticeResponse>, Status> {
        let caller = self.operator(&request, "publishing a notice")?;
        let write = IncomingWrite::try_from(request.into_inner())?;
        match self.context.write(&caller, write).await? {
            (Accepted::NoticePublished { number }, revision, replayed) => Ok(answer(
                replayed,
                admin::PublishNoticeResponse {
                    notice_number: number.to_string(),
                    revision,
                },
            )),
            (other, _, _) => Err(unexpected(&other)),
        }
    }

    type ExportContactsStream = ExportStream;

    async fn export_contacts(
        &self,
        request: Request<admin::ExportContactsRequest>,
    ) -> Result<Response<Self::ExportContactsStream>, Status> {
        let caller = self.operator(&request, "a contact export")?;
        let wire = request.into_inner();
        let format = match admin::ContactsFormat::try_from(wire.format) {
            Ok(admin::ContactsFormat::Unspecified) | Err(_) => {
                return Err(status::invalid(
                    "format",
                    format!("{} is not csv (1) or json (2)", wire.format),
                ));
            }
            Ok(format) => format,
        };
        let consistency =
            Consistency::from_wire("consistency", wire.consistency, Consistency::Local)?;
        let served_at = self.context.prepare_read(consistency).await?;
        let participants = crate::export::participants(&self.context.node)?;
        let count = u32::try_from(participants.len()).unwrap_or(u32::MAX);
        let document = crate::export::render(format, &participants);
        tracing::info!(operator = %caller.party, participants = count, bytes = document.len(), "contacts exported");
        let mut chunks: Vec<admin::ExportContactsResponse> = document
            .chunks(crate::backup::BACKUP_CHUNK_BYTES_MAX)
            .map(|data| admin::ExportContactsResponse {
                data: data.to_vec(),
                ..admin::ExportContactsResponse::default()
            })
            .collect();
        if chunks.is_empty() {
            chunks.push(admin::ExportContactsResponse::default());
        }
        if let Some(last) = chunks.last_mut() {
            last.done = true;
            last.participant_count = count;
            last.served_at_revision = served_at;
        }
        Ok(Response::new(Box::pin(futures::stream::iter(
            chunks.into_iter().map(Ok),
        ))))
    }

    async fn save_participant(
        &self,
        request: Request<admin::SaveParticipantRequest>,
    ) -> Result<Response<admin::SaveParticipantResponse>, Status> {
        let caller = self.operator(&request, "saving a participant")?;
        let write = IncomingWrite::try_from(request.into_inner())?;
        match self.context.write(&caller, write).await? {
            (Accepted::ParticipantSaved { party }, revision, replayed) => Ok(answer(
                replayed,
                admin::SaveParticipantResponse {
                    party_id: party.to_string(),
                    revision,
                },
            )),
            (other, _, _) => Err(unexpected(&other)),
        }
    }

    async fn configure_policy(
        &self,
        request: Request<admin::ConfigurePolicyRequest>,
    ) -> Result<Response<admin::ConfigurePolicyResponse>, Status> {
        let caller = self.operator(&request, "configuring the policy")?;
        let write = IncomingWrite::try_from(request.into_inner())?;
        match self.context.write(&caller, write).await? {
            (Accepted::PolicyConfigured, revision, replayed) => Ok(answer(
                replayed,
                admin::ConfigurePolicyResponse { revision },
            )),
            (other, _, _) => Err(unexpected(&other)),
        }
    }

    async fn get_policy(
        &self,
        request: Request<admin::GetPolicyRequest>,
    ) -> Result<Response<admin::GetPolicyResponse>, Status> {
        self.operator(&request, "reading the policy")?;
        let consistency = Consistency::from_wire(
            "consistency",
            request.into_inner().consistency,
            Consistency::Linearizable,
        )?;
        self.context.prepare_read(consistency).await?;
        let (policy, served_at) = self.context.read_with_revision(|view| view.policy())?;
        Ok(Response::new(admin::GetPolicyResponse {
            policy: Some(policy.into()),
            served_at_revision: served_at,
        }))
    }
}
