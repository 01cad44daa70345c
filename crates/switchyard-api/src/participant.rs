//! `switchyard.v1.ParticipantService`: facility look-ups, stop-on-behalf requests,
//! applications, the event stream, the directory and notices.
//!
//! Every method authenticates and rate-limits first, validates the request into domain values
//! (a malformed field is `INVALID_ARGUMENT` naming it), then reads or writes. Writes go through
//! Raft with the caller as actor (the rules check what the caller may do); reads filter what the
//! caller may see (`auth.rs`).

use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use switchyard_domain::{
    ApplicationNumber, NoticeNumber, PartyId, StopOnBehalfNumber, StopOnBehalfState,
};
use switchyard_proto::convert::{
    Consistency, GetApplicationQuery, GetStopOnBehalfQuery, IncomingWrite, ListApplicationsQuery,
    LookUpSupplyPointQuery, PageRequest, WatchEventsQuery,
};
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_server::ParticipantService;
use switchyard_store::LookupAudit;
use tonic::{Request, Response, Status};

use crate::context::{Context, answer, now};
use crate::status;

/// How far back `include_decided` reaches in an inbox: answer deadlines up to this many days
/// ago.
const INBOX_DECIDED_DAYS: i32 = 30;

/// The participant service of one node.
#[derive(Debug, Clone)]
pub(crate) struct Participant {
    context: Arc<Context>,
}

impl Participant {
    pub(crate) fn new(context: Arc<Context>) -> Participant {
        Participant { context }
    }
}

/// A page token that cannot be parsed.
fn bad_token(detail: impl std::fmt::Display) -> Status {
    status::invalid(
        "page_token",
        format!("{detail}; pass the next_page_token of the previous page unchanged"),
    )
}

/// Collects up to `page.size` items from a scan, and the token of the next page when there is
/// one.
pub(crate) struct Pager<T> {
    size: usize,
    pub(crate) items: Vec<T>,
    pub(crate) more: bool,
}

impl<T> Pager<T> {
    pub(crate) fn new(page: &PageRequest) -> Pager<T> {
        Pager {
            size: page.size,
            items: Vec::with_capacity(page.size.min(64)),
            more: false,
        }
    }

    /// Adds a matching item; breaks once one more than a page was seen.
    pub(crate) fn push(&mut self, item: T) -> ControlFlow<()> {
        if self.items.len() == self.size {
            self.more = true;
            return ControlFlow::Break(());
        }
        self.items.push(item);
        ControlFlow::Continue(())
    }

    /// The next page token: the key of the last item, when more follow.
    pub(crate) fn next_token(&self, key: impl Fn(&T) -> String) -> String {
        match (self.more, self.items.last()) {
            (true, Some(last)) => key(last),
            _ => String::new(),
        }
    }
}

#[tonic::async_trait]
impl ParticipantService for Participant {
    async fn look_up_supply_point(
        &self,
        request: Request<v1::LookUpSupplyPointRequest>,
    ) -> Result<Response<v1::LookUpSupplyPointResponse>, Status> {
        let context = &self.context;
        let caller = context.admit(&request)?;
        let query = LookUpSupplyPointQuery::try_from(request.into_inner())?;
        context.prepare_read(query.consistency).await?;
        let (found, served_at) = context.read_with_revision(|view| {
            view.supply_point(&query.supply_point).map(|point| {
                let applications: Vec<_> = point
                    .open_applications
                    .iter()
                    .filter_map(|number| view.application(*number))
                    .collect();
                (point, applications)
            })
        })?;
        let at = now();
        context
            .node
            .store()
            .audit
            .record(&LookupAudit {
                party: caller.party.clone(),
                supply_point: query.supply_point,
                at,
            })
            .map_err(|error| status::local_disk(&error))?;
        tracing::debug!(party = %caller.party, supply_point = %query.supply_point, "facility look-up");
        let Some((point, applications)) = found else {
            return Err(status::not_found(
                "supply_point_not_found",
                format!("supply point {} does not exist", query.supply_point),
            ));
        };
        let next_reading_date = at
            .jst_date()
            .next_day_of_month(point.facility.reading_day)
            .to_string();
        let sees_supplier = caller.sees_supplier_of(&point);
        let mut supply_point = v1::SupplyPoint::from(point);
        if !sees_supplier {
            supply_point.hide_supplier_identity();
        }
        Ok(Response::new(v1::LookUpSupplyPointResponse {
            supply_point: Some(supply_point),
            next_reading_date,
            applications_in_progress: applications.iter().map(Into::into).collect(),
            served_at_revision: served_at,
        }))
    }

    async fn register_stop_on_behalf(
        &self,
        request: Request<v1::RegisterStopOnBehalfRequest>,
    ) -> Result<Response<v1::RegisterStopOnBehalfResponse>, Status> {
        let caller = self.context.admit(&request)?;
        self.context
            .write_answer(&caller, request.into_inner(), |result, revision| {
                v1::RegisterStopOnBehalfResponse {
                    result: Some(result),
                    revision,
                }
            })
            .await
    }

    async fn list_stop_on_behalf_inbox(
        &self,
        request: Request<v1::ListStopOnBehalfInboxRequest>,
    ) -> Result<Response<v1::ListStopOnBehalfInboxResponse>, Status> {
        let context = &self.context;
        let caller = context.admit(&request)?;
        let Some(retailer) = caller.retailer() else {
            return Err(status::permission_denied(format!(
                "only retailers have a stop-on-behalf inbox; {} is not a retailer",
                caller.party
            )));
        };
        let wire = request.into_inner();
        let page = PageRequest::from_wire(wire.page_size, &wire.page_token)?;
        let consistency =
            Consistency::from_wire("consistency", wire.consistency, Consistency::Linearizable)?;
        let after = page
            .token
            .as_deref()
            .map(|token| {
                let (date, number) = token
                    .split_once('/')
                    .ok_or_else(|| bad_token("not an inbox position"))?;
                let date = switchyard_domain::Date::parse(date).map_err(bad_token)?;
                let number = StopOnBehalfNumber::parse(number).map_err(bad_token)?;
                Ok::<_, Status>((date, number))
            })
            .transpose()?;
        let served_at = context.prepare_read(consistency).await?;
        let oldest_deadline = now().jst_date().add_days(-INBOX_DECIDED_DAYS);
        let mut requests = Vec::new();
        context
            .node
            .store()
            .state_machine
            .scan_stop_on_behalf(None, |request| {
                let wanted = request.addressee == retailer
                    && if wire.include_decided {
                        request.answer_deadline >= oldest_deadline
                    } else {
                        matches!(request.state, StopOnBehalfState::Registered)
                    }
                    && after.is_none_or(|after| (request.answer_deadline, request.number) > after);
                if wanted {
                    requests.push(request);
                }
                ControlFlow::Continue(())
            })
            .map_err(|error| status::local_disk(&error))?;
        requests.sort_by_key(|request| (request.answer_deadline, request.number));
        let more = requests.len() > page.size;
        requests.truncate(page.size);
        let next_page_token = match (more, requests.last()) {
            (true, Some(last)) => format!("{}/{}", last.answer_deadline, last.number),
            _ => String::new(),
        };
        Ok(Response::new(v1::ListStopOnBehalfInboxResponse {
            requests: requests.into_iter().map(Into::into).collect(),
            next_page_token,
            served_at_revision: served_at,
        }))
    }

    async fn judge_stop_on_behalf(
        &self,
        request: Request<v1::JudgeStopOnBehalfRequest>,
    ) -> Result<Response<v1::JudgeStopOnBehalfResponse>, Status> {
        let caller = self.context.admit(&request)?;
        self.context
            .write_answer(&caller, request.into_inner(), |result, revision| {
                v1::JudgeStopOnBehalfResponse {
                    result: Some(result),
                    revision,
                }
            })
            .await
    }

    async fn cancel_stop_on_behalf(
        &self,
        request: Request<v1::CancelStopOnBehalfRequest>,
    ) -> Result<Response<v1::CancelStopOnBehalfResponse>, Status> {
        let caller = self.context.admit(&request)?;
        self.context
            .write_answer(&caller, request.into_inner(), |result, revision| {
                v1::CancelStopOnBehalfResponse {
                    result: Some(result),
                    revision,
                }
            })
            .await
    }

    async fn get_stop_on_behalf(
        &self,
        request: Request<v1::GetStopOnBehalfRequest>,
    ) -> Result<Response<v1::GetStopOnBehalfResponse>, Status> {
        let context = &self.context;
        let caller = context.admit(&request)?;
        let query = GetStopOnBehalfQuery::try_from(request.into_inner())?;
        context.prepare_read(query.consistency).await?;
        let (found, served_at) =
            context.read_with_revision(|view| view.stop_on_behalf(query.number))?;
        // A request the caller may not see is reported as absent: its existence is not the
        // caller's business either.
        match found.filter(|request| caller.sees_stop_on_behalf(request)) {
            Some(request) => Ok(Response::new(v1::GetStopOnBehalfResponse {
                request: Some(request.into()),
                served_at_revision: served_at,
            })),
            None => Err(status::not_found(
                "stop_on_behalf_not_found",
                format!(
                    "stop-on-behalf request {} does not exist or is not visible to {}",
                    query.number, caller.party
                ),
            )),
        }
    }

    async fn submit_application(
        &self,
        request: Request<v1::SubmitApplicationRequest>,
    ) -> Result<Response<v1::SubmitApplicationResponse>, Status> {
        let caller = self.context.admit(&request)?;
        self.context
            .write_answer(&caller, request.into_inner(), |result, revision| {
                v1::SubmitApplicationResponse {
                    result: Some(result),
                    revision,
                }
            })
            .await
    }

    async fn amend_application(
        &self,
        request: Request<v1::AmendApplicationRequest>,
    ) -> Result<Response<v1::AmendApplicationResponse>, Status> {
        let caller = self.context.admit(&request)?;
        self.context
            .write_answer(&caller, request.into_inner(), |result, revision| {
                v1::AmendApplicationResponse {
                    result: Some(result),
                    revision,
                }
            })
            .await
    }

    async fn cancel_application(
        &self,
        request: Request<v1::CancelApplicationRequest>,
    ) -> Result<Response<v1::CancelApplicationResponse>, Status> {
        let caller = self.context.admit(&request)?;
        self.context
            .write_answer(&caller, request.into_inner(), |result, revision| {
                v1::CancelApplicationResponse {
                    result: Some(result),
                    revision,
                }
            })
            .await
    }

    async fn get_application(
        &self,
        request: Request<v1::GetApplicationRequest>,
    ) -> Result<Response<v1::GetApplicationResponse>, Status> {
        let context = &self.context;
        let caller = context.admit(&request)?;
        let query = GetApplicationQuery::try_from(request.into_inner())?;
        context.prepare_read(query.consistency).await?;
        let (found, served_at) =
            context.read_with_revision(|view| view.application(query.number))?;
        match found.filter(|application| caller.sees_application(application)) {
            Some(application) => Ok(Response::new(v1::GetApplicationResponse {
                application: Some(application.into()),
                served_at_revision: served_at,
            })),
            None => Err(status::not_found(
                "application_not_found",
                format!(
                    "application {} does not exist or is not visible to {}",
                    query.number, caller.party
                ),
            )),
        }
    }

    async fn list_applications(
        &self,
        request: Request<v1::ListApplicationsRequest>,
    ) -> Result<Response<v1::ListApplicationsResponse>, Status> {
        let context = &self.context;
        let caller = context.admit(&request)?;
        let query = ListApplicationsQuery::try_from(request.into_inner())?;
        let after = query
            .page
            .token
            .as_deref()
            .map(|token| ApplicationNumber::parse(token).map_err(bad_token))
            .transpose()?;
        let served_at = context.prepare_read(query.consistency).await?;
        let mut pager = Pager::new(&query.page);
        context
            .node
            .store()
            .state_machine
            .scan_applications(after, |application| {
                if caller.sees_application(&application) && query.filter.matches(&application) {
                    pager.push(application)
                } else {
                    ControlFlow::Continue(())
                }
            })
            .map_err(|error| status::local_disk(&error))?;
        let next_page_token = pager.next_token(|application| application.number.to_string());
        Ok(Response::new(v1::ListApplicationsResponse {
            applications: pager.items.into_iter().map(Into::into).collect(),
            next_page_token,
            served_at_revision: served_at,
        }))
    }

    type WatchEventsStream =
        Pin<Box<dyn Stream<Item = Result<v1::WatchEventsResponse, Status>> + Send + 'static>>;

    async fn watch_events(
        &self,
        request: Request<v1::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        let caller = self.context.admit(&request)?;
        let query = WatchEventsQuery::try_from(request.into_inner())?;
        let stream = crate::watch::watch(Arc::clone(&self.context), caller, query)?;
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list_participants(
        &self,
        request: Request<v1::ListParticipantsRequest>,
    ) -> Result<Response<v1::ListParticipantsResponse>, Status> {
        let context = &self.context;
        context.admit(&request)?;
        let wire = request.into_inner();
        let page = PageRequest::from_wire(wire.page_size, &wire.page_token)?;
        let consistency =
            Consistency::from_wire("consistency", wire.consistency, Consistency::Linearizable)?;
        let kind = v1::PartyKind::try_from(wire.kind).map_err(|_| {
            status::invalid("kind", format!("has unknown enum value {}", wire.kind))
        })?;
        let after = page
            .token
            .as_deref()
            .map(|token| PartyId::parse(token).map_err(bad_token))
            .transpose()?;
        let served_at = context.prepare_read(consistency).await?;
        let mut pager = Pager::new(&page);
        context
            .node
            .store()
            .state_machine
            .scan_participants(after.as_ref(), |participant| {
                let wanted = match kind {
                    v1::PartyKind::Unspecified => true,
                    v1::PartyKind::Retailer => matches!(participant.party, PartyId::Retailer(_)),
                    v1::PartyKind::Tso => matches!(participant.party, PartyId::Tso(_)),
                    v1::PartyKind::Operator => matches!(participant.party, PartyId::Operator(_)),
                };
                if wanted {
                    pager.push(participant)
                } else {
                    ControlFlow::Continue(())
                }
            })
            .map_err(|error| status::local_disk(&error))?;
        let next_page_token = pager.next_token(|participant| participant.party.to_string());
        Ok(Response::new(v1::ListParticipantsResponse {
            participants: pager.items.into_iter().map(Into::into).collect(),
            next_page_token,
            served_at_revision: served_at,
        }))
    }

    async fn update_contacts(
        &self,
        request: Request<v1::UpdateContactsRequest>,
    ) -> Result<Response<v1::UpdateContactsResponse>, Status> {
        let caller = self.context.admit(&request)?;
        let write = IncomingWrite::try_from(request.into_inner())?;
        let (accepted, revision, replayed) = self.context.write(&caller, write).await?;
        match accepted {
            switchyard_domain::Accepted::ContactsUpdated { party } => Ok(answer(
                replayed,
                v1::UpdateContactsResponse {
                    party_id: party.to_string(),
                    revision,
                },
            )),
            other => Err(status::internal(format!(
                "expected a contacts answer, got {other:?}"
            ))),
        }
    }

    async fn list_notices(
        &self,
        request: Request<v1::ListNoticesRequest>,
    ) -> Result<Response<v1::ListNoticesResponse>, Status> {
        let context = &self.context;
        context.admit(&request)?;
        let wire = request.into_inner();
        let page = PageRequest::from_wire(wire.page_size, &wire.page_token)?;
        let consistency =
            Consistency::from_wire("consistency", wire.consistency, Consistency::Linearizable)?;
        let before = page
            .token
            .as_deref()
            .map(|token| NoticeNumber::parse(token).map_err(bad_token))
            .transpose()?;
        let served_at = context.prepare_read(consistency).await?;
        let mut pager = Pager::new(&page);
        context
            .node
            .store()
            .state_machine
            .scan_notices_newest_first(before, |notice| pager.push(notice))
            .map_err(|error| status::local_disk(&error))?;
        let next_page_token = pager.next_token(|notice| notice.number.to_string());
        Ok(Response::new(v1::ListNoticesResponse {
            notices: pager.items.into_iter().map(Into::into).collect(),
            next_page_token,
            served_at_revision: served_at,
        }))
    }
}
