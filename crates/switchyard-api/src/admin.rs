//! `switchyard.admin.v1.AdminService`: operators only.
//!
//! This release serves the business side — notices, participants, the policy — the cluster
//! status and planned leadership transfer (`cluster.rs`). The other cluster operations
//! (membership, snapshots and backups, disaster cutover, contact export) answer
//! `UNIMPLEMENTED` until the operator tooling lands; the node-level mechanisms they will drive
//! already exist in `switchyard-raft`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::Stream;
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
use crate::cluster::{TransferTarget, choose_target};
use crate::context::{Context, answer};
use crate::status;

/// Leadership transfers remembered per node, so that a retry with the same request id gets the
/// first answer (while it is remembered: the last [`TRANSFERS_REMEMBERED`] on this node).
const TRANSFERS_REMEMBERED: usize = 256;

/// A remembered transfer: the caller, its request id, what it asked, what it got.
type RememberedTransfer = (String, String, String, admin::TransferLeadershipResponse);

/// The admin service of one node.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    context: Arc<Context>,
    transfers: Arc<Mutex<VecDeque<RememberedTransfer>>>,
}

impl Admin {
    pub(crate) fn new(context: Arc<Context>) -> Admin {
        Admin {
            context,
            transfers: Arc::default(),
        }
    }

    /// The first answer to this caller's request id, if remembered; refuses the id reused for
    /// another target.
    fn remembered_transfer(
        &self,
        caller: &Caller,
        request_id: &str,
        target: &str,
    ) -> Result<Option<admin::TransferLeadershipResponse>, Status> {
        let transfers = self.transfers.lock().expect("transfers lock");
        let party = caller.party.to_string();
        match transfers
            .iter()
            .find(|(who, id, _, _)| *who == party && id == request_id)
        {
            Some((_, _, asked, answer)) if asked == target => Ok(Some(*answer)),
            Some(_) => Err(status::already_exists(
                "request_id_reused",
                format!("request id {request_id} was already used for another transfer"),
            )),
            None => Ok(None),
        }
    }

    fn remember_transfer(
        &self,
        caller: &Caller,
        request_id: &str,
        target: &str,
        answer: &admin::TransferLeadershipResponse,
    ) {
        let mut transfers = self.transfers.lock().expect("transfers lock");
        if transfers.len() == TRANSFERS_REMEMBERED {
            transfers.pop_front();
        }
        transfers.push_back((
            caller.party.to_string(),
            request_id.to_owned(),
            target.to_owned(),
            *answer,
        ));
    }

    fn operator<T>(&self, request: &Request<T>, what: &str) -> Result<Caller, Status> {
        let caller = self.context.admit(request)?;
        caller.require_operator(what)?;
        Ok(caller)
    }
}

fn not_yet(what: &str) -> Status {
    status::unimplemented(what)
}

fn unexpected(accepted: &Accepted) -> Status {
    status::internal(format!("unexpected answer {accepted:?}"))
}

type ByteStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

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
        let asked = format!("{:?}", wire.target);
        let target = TransferTarget::from_wire(wire.target)?;
        if let Some(first) = self.remembered_transfer(&caller, &wire.request_id, &asked)? {
            return Ok(answer(true, first));
        }
        let node = &self.context.node;
        let leader = node.leader();
        if leader.as_ref().map(|leader| leader.node_id) != Some(node.node_id()) {
            return Err(status::not_leader(
                leader
                    .as_ref()
                    .map(|leader| leader.api_address.as_str())
                    .filter(|address| !address.is_empty()),
            ));
        }
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
        self.remember_transfer(&caller, &wire.request_id, &asked, &response);
        Ok(Response::new(response))
    }

    async fn add_learner(
        &self,
        request: Request<admin::AddLearnerRequest>,
    ) -> Result<Response<admin::AddLearnerResponse>, Status> {
        self.operator(&request, "adding a learner")?;
        Err(not_yet("AddLearner"))
    }

    async fn promote_learner(
        &self,
        request: Request<admin::PromoteLearnerRequest>,
    ) -> Result<Response<admin::PromoteLearnerResponse>, Status> {
        self.operator(&request, "promoting a learner")?;
        Err(not_yet("PromoteLearner"))
    }

    async fn remove_node(
        &self,
        request: Request<admin::RemoveNodeRequest>,
    ) -> Result<Response<admin::RemoveNodeResponse>, Status> {
        self.operator(&request, "removing a node")?;
        Err(not_yet("RemoveNode"))
    }

    async fn create_snapshot(
        &self,
        request: Request<admin::CreateSnapshotRequest>,
    ) -> Result<Response<admin::CreateSnapshotResponse>, Status> {
        self.operator(&request, "a snapshot")?;
        Err(not_yet("CreateSnapshot"))
    }

    type DownloadBackupStream = ByteStream<admin::DownloadBackupResponse>;

    async fn download_backup(
        &self,
        request: Request<admin::DownloadBackupRequest>,
    ) -> Result<Response<Self::DownloadBackupStream>, Status> {
        self.operator(&request, "a backup")?;
        Err(not_yet("DownloadBackup"))
    }

    async fn force_disaster_cutover(
        &self,
        request: Request<admin::ForceDisasterCutoverRequest>,
    ) -> Result<Response<admin::ForceDisasterCutoverResponse>, Status> {
        self.operator(&request, "a disaster cutover")?;
        Err(not_yet("ForceDisasterCutover"))
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

    type ExportContactsStream = ByteStream<admin::ExportContactsResponse>;

    async fn export_contacts(
        &self,
        request: Request<admin::ExportContactsRequest>,
    ) -> Result<Response<Self::ExportContactsStream>, Status> {
        self.operator(&request, "a contact export")?;
        Err(not_yet("ExportContacts"))
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
        let served_at = self.context.prepare_read(consistency).await?;
        let policy = self.context.read(|view| view.policy())?;
        Ok(Response::new(admin::GetPolicyResponse {
            policy: Some(policy.into()),
            served_at_revision: served_at,
        }))
    }
}
