//! `switchyard.admin.v1.AdminService`: operators only.
//!
//! This release serves the business side — notices, participants, the policy. The cluster
//! operations (status, planned failover, membership, snapshots and backups, disaster cutover,
//! contact export) answer `UNIMPLEMENTED` until the operator tooling lands; the node-level
//! mechanisms they will drive already exist in `switchyard-raft`.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use switchyard_domain::Accepted;
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::admin::v1::admin_service_server::AdminService;
use switchyard_proto::convert::{Consistency, IncomingWrite};
use tonic::{Request, Response, Status};

use crate::auth::Caller;
use crate::context::{Context, answer};
use crate::status;

/// The admin service of one node.
#[derive(Debug, Clone)]
pub(crate) struct Admin {
    context: Arc<Context>,
}

impl Admin {
    pub(crate) fn new(context: Arc<Context>) -> Admin {
        Admin { context }
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
        Err(not_yet("GetClusterStatus"))
    }

    async fn transfer_leadership(
        &self,
        request: Request<admin::TransferLeadershipRequest>,
    ) -> Result<Response<admin::TransferLeadershipResponse>, Status> {
        self.operator(&request, "a leadership transfer")?;
        Err(not_yet("TransferLeadership"))
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
