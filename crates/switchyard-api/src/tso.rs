//! `switchyard.v1.TsoService`: the TSO's work list, completions and rejections, and the bulk
//! import of supply points.
//!
//! Only TSOs and operators may call it; the rules refuse a TSO acting outside its area.

use std::sync::Arc;

use futures::StreamExt;
use switchyard_domain::{Accepted, ApplicationNumber, ApplicationState};
use switchyard_proto::convert::{IncomingWrite, ListApplicationsNeedingActionQuery};
use switchyard_proto::limits::IMPORT_BATCHES_PER_STREAM_MAX;
use switchyard_proto::v1;
use switchyard_proto::v1::tso_service_server::TsoService;
use tonic::{Request, Response, Status, Streaming};

use crate::context::Context;
use crate::status;

/// Import progress is logged every this many batches.
const IMPORT_PROGRESS_EVERY: u32 = 100;

/// The TSO service of one node.
#[derive(Debug, Clone)]
pub(crate) struct Tso {
    context: Arc<Context>,
}

impl Tso {
    pub(crate) fn new(context: Arc<Context>) -> Tso {
        Tso { context }
    }
}

/// Prefixes a batch's status message with the batch's request id, keeping code and metadata.
fn in_batch(status: Status, request_id: &str) -> Status {
    let mut prefixed = Status::new(
        status.code(),
        format!("batch {request_id}: {}", status.message()),
    );
    *prefixed.metadata_mut() = status.metadata().clone();
    prefixed
}

#[tonic::async_trait]
impl TsoService for Tso {
    async fn list_applications_needing_action(
        &self,
        request: Request<v1::ListApplicationsNeedingActionRequest>,
    ) -> Result<Response<v1::ListApplicationsNeedingActionResponse>, Status> {
        let context = &self.context;
        let caller = context.admit(&request)?;
        caller.require_tso_or_operator("the TSO work list")?;
        let query = ListApplicationsNeedingActionQuery::try_from(request.into_inner())?;
        let after = query
            .page
            .token
            .as_deref()
            .map(|token| {
                let (date, number) = token
                    .split_once('/')
                    .ok_or_else(|| status::invalid("page_token", "not a work-list position"))?;
                let date = switchyard_domain::Date::parse(date)
                    .map_err(|error| status::invalid("page_token", error))?;
                let number = ApplicationNumber::parse(number)
                    .map_err(|error| status::invalid("page_token", error))?;
                Ok::<_, Status>((date, number))
            })
            .transpose()?;
        let served_at = context.prepare_read(query.consistency).await?;
        let mut applications = Vec::new();
        context
            .node
            .store()
            .state_machine
            .scan_applications(None, |application| {
                let wanted = matches!(
                    application.state,
                    ApplicationState::Matched | ApplicationState::Accepted
                ) && caller.oversees(&application.supply_point)
                    && query
                        .effective_until
                        .is_none_or(|until| application.effective_date <= until)
                    && after.is_none_or(|after| {
                        (application.effective_date, application.number) > after
                    });
                if wanted {
                    applications.push(application);
                }
                std::ops::ControlFlow::Continue(())
            })
            .map_err(|error| status::local_disk(&error))?;
        applications.sort_by_key(|application| (application.effective_date, application.number));
        let more = applications.len() > query.page.size;
        applications.truncate(query.page.size);
        let next_page_token = match (more, applications.last()) {
            (true, Some(last)) => format!("{}/{}", last.effective_date, last.number),
            _ => String::new(),
        };
        Ok(Response::new(v1::ListApplicationsNeedingActionResponse {
            applications: applications.into_iter().map(Into::into).collect(),
            next_page_token,
            served_at_revision: served_at,
        }))
    }

    async fn complete_application(
        &self,
        request: Request<v1::CompleteApplicationRequest>,
    ) -> Result<Response<v1::CompleteApplicationResponse>, Status> {
        let caller = self.context.admit(&request)?;
        caller.require_tso_or_operator("completing an application")?;
        self.context
            .write_answer(&caller, request.into_inner(), |result, revision| {
                v1::CompleteApplicationResponse {
                    result: Some(result),
                    revision,
                }
            })
            .await
    }

    async fn reject_application(
        &self,
        request: Request<v1::RejectApplicationRequest>,
    ) -> Result<Response<v1::RejectApplicationResponse>, Status> {
        let caller = self.context.admit(&request)?;
        caller.require_tso_or_operator("rejecting an application")?;
        self.context
            .write_answer(&caller, request.into_inner(), |result, revision| {
                v1::RejectApplicationResponse {
                    result: Some(result),
                    revision,
                }
            })
            .await
    }

    async fn import_supply_points(
        &self,
        request: Request<Streaming<v1::ImportSupplyPointsRequest>>,
    ) -> Result<Response<v1::ImportSupplyPointsResponse>, Status> {
        let caller = self.context.admit(&request)?;
        caller.require_tso_or_operator("importing supply points")?;
        let mut batches = request.into_inner();
        let mut summary = v1::ImportSupplyPointsResponse::default();
        while let Some(batch) = batches.next().await {
            let batch = batch?;
            if summary.batches_applied as usize >= IMPORT_BATCHES_PER_STREAM_MAX {
                return Err(status::invalid_request(
                    "too_many_batches",
                    format!(
                        "a stream carries at most {IMPORT_BATCHES_PER_STREAM_MAX} batches; {} were applied, split the rest over another stream",
                        summary.batches_applied
                    ),
                ));
            }
            let request_id = batch.request_id.clone();
            let write = IncomingWrite::try_from(batch)
                .map_err(|error| in_batch(error.into(), &request_id))?;
            let (accepted, revision, _replayed) = self
                .context
                .write(&caller, write)
                .await
                .map_err(|status| in_batch(status, &request_id))?;
            match accepted {
                Accepted::SupplyPointsImported { created, updated } => {
                    summary.created += u64::from(created);
                    summary.updated += u64::from(updated);
                }
                other => {
                    return Err(status::internal(format!(
                        "expected an import answer, got {other:?}"
                    )));
                }
            }
            summary.batches_applied += 1;
            summary.last_revision = revision;
            if summary
                .batches_applied
                .is_multiple_of(IMPORT_PROGRESS_EVERY)
            {
                tracing::info!(
                    party = %caller.party,
                    batches = summary.batches_applied,
                    created = summary.created,
                    updated = summary.updated,
                    revision,
                    "import in progress"
                );
            }
        }
        tracing::info!(
            party = %caller.party,
            batches = summary.batches_applied,
            created = summary.created,
            updated = summary.updated,
            "import finished"
        );
        Ok(Response::new(summary))
    }
}
