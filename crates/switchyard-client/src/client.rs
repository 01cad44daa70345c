//! [`Client`]: one typed async method per RPC of the Participant and TSO services, taking and
//! returning the generated messages.

use std::ops::Deref;
use std::sync::Arc;

use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_proto::v1::tso_service_client::TsoServiceClient;

use crate::call::{CallSpec, Inner};
use crate::config::{ClientConfig, ConfigError};
use crate::error::{Error, REPLAYED_METADATA_KEY, metadata_text};
use crate::watch::Watch;

/// A client of the cluster's public API, for one party. Cheap to clone; clones share the
/// connections, the preference among endpoints and the request id sequence.
///
/// Every method tries the endpoints in order of preference and retries what a retry may cure,
/// within the configured budget (see the [crate documentation](crate)). Writes take the request
/// as generated, with `request_id` left empty for a generated id or set to the caller's own; the
/// same id is sent on every attempt.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// The answer to a write, with what the client knows about how it got it.
#[derive(Debug, Clone)]
pub struct Written<T> {
    /// The response message.
    pub response: T,
    /// The request id the write was sent with (on every attempt).
    pub request_id: String,
    /// Whether the cluster had seen the request id before and answered with the first answer
    /// without applying anything (`x-switchyard-replayed: true`): the write was applied once,
    /// by an earlier attempt or an earlier call with the same id.
    pub replayed: bool,
    /// The endpoint that answered.
    pub endpoint: String,
    /// How many attempts it took.
    pub attempts: u32,
}

impl<T> Written<T> {
    /// The response message.
    pub fn into_inner(self) -> T {
        self.response
    }
}

impl<T> Deref for Written<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.response
    }
}

/// A Participant API read: `$method` of the generated client.
macro_rules! participant {
    ($method:ident) => {
        |channel, request| async move {
            ParticipantServiceClient::new(channel)
                .$method(request)
                .await
        }
    };
}

/// A TSO API call: `$method` of the generated client.
macro_rules! tso {
    ($method:ident) => {
        |channel, request| async move { TsoServiceClient::new(channel).$method(request).await }
    };
}

impl Client {
    /// A client for `config`. Nothing is connected yet: each endpoint is connected on first use,
    /// so an endpoint that is down does not stop the client from starting. Call it inside a
    /// Tokio runtime.
    pub async fn connect(config: ClientConfig) -> Result<Client, ConfigError> {
        Ok(Client {
            inner: Arc::new(Inner::new(&config)?),
        })
    }

    /// The configured endpoints' URLs, in the configured order.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner
            .pool
            .targets
            .iter()
            .map(|target| target.url.clone())
            .collect()
    }

    /// The site of the leader's endpoint, once an answer named the leader.
    pub fn leader_site(&self) -> Option<String> {
        self.inner.pool.leader_site()
    }

    /// A fresh request id from this client's sequence, for a caller that wants to record the id
    /// before sending a write (to ask for its outcome later with the same id).
    pub fn next_request_id(&self) -> String {
        self.inner.request_ids.next()
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    async fn read<Req, Resp, F, Fut>(
        &self,
        method: &'static str,
        request: Req,
        send: F,
    ) -> Result<Resp, Error>
    where
        Req: Clone,
        F: Fn(tonic::transport::Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let spec = CallSpec {
            method,
            write: false,
            streaming: false,
            request_id: None,
        };
        Ok(self.inner.call(spec, request, send).await?.message)
    }

    async fn write<Req, Resp, F, Fut>(
        &self,
        method: &'static str,
        request_id: String,
        request: Req,
        send: F,
    ) -> Result<Written<Resp>, Error>
    where
        Req: Clone,
        F: Fn(tonic::transport::Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let spec = CallSpec {
            method,
            write: true,
            streaming: false,
            request_id: Some(&request_id),
        };
        let answer = self.inner.call(spec, request, send).await?;
        Ok(Written {
            replayed: metadata_text(&answer.metadata, REPLAYED_METADATA_KEY)
                .is_some_and(|value| value.eq_ignore_ascii_case("true")),
            endpoint: self.inner.pool.targets[answer.target].url.clone(),
            attempts: answer.attempts,
            response: answer.message,
            request_id,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Participant API: look-ups.
    // -----------------------------------------------------------------------------------------

    /// `LookUpSupplyPoint`: the facility data, supply state and open work of one supply point
    /// (LOCAL consistency unless the request asks for LINEARIZABLE).
    pub async fn look_up_supply_point(
        &self,
        request: v1::LookUpSupplyPointRequest,
    ) -> Result<v1::LookUpSupplyPointResponse, Error> {
        self.read(
            "LookUpSupplyPoint",
            request,
            participant!(look_up_supply_point),
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Participant API: stop-on-behalf requests.
    // -----------------------------------------------------------------------------------------

    /// `RegisterStopOnBehalf` (a write): the new retailer asks the current retailer to end the
    /// customer's contract.
    pub async fn register_stop_on_behalf(
        &self,
        mut request: v1::RegisterStopOnBehalfRequest,
    ) -> Result<Written<v1::RegisterStopOnBehalfResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "RegisterStopOnBehalf",
            request_id,
            request,
            participant!(register_stop_on_behalf),
        )
        .await
    }

    /// `ListStopOnBehalfInbox`: one page of the requests addressed to the calling retailer.
    pub async fn list_stop_on_behalf_inbox(
        &self,
        request: v1::ListStopOnBehalfInboxRequest,
    ) -> Result<v1::ListStopOnBehalfInboxResponse, Error> {
        self.read(
            "ListStopOnBehalfInbox",
            request,
            participant!(list_stop_on_behalf_inbox),
        )
        .await
    }

    /// `JudgeStopOnBehalf` (a write): the current retailer answers OK, or NG with reasons.
    pub async fn judge_stop_on_behalf(
        &self,
        mut request: v1::JudgeStopOnBehalfRequest,
    ) -> Result<Written<v1::JudgeStopOnBehalfResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "JudgeStopOnBehalf",
            request_id,
            request,
            participant!(judge_stop_on_behalf),
        )
        .await
    }

    /// `CancelStopOnBehalf` (a write): the new retailer withdraws a request not yet judged.
    pub async fn cancel_stop_on_behalf(
        &self,
        mut request: v1::CancelStopOnBehalfRequest,
    ) -> Result<Written<v1::CancelStopOnBehalfResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "CancelStopOnBehalf",
            request_id,
            request,
            participant!(cancel_stop_on_behalf),
        )
        .await
    }

    /// `GetStopOnBehalf`: one stop-on-behalf request.
    pub async fn get_stop_on_behalf(
        &self,
        request: v1::GetStopOnBehalfRequest,
    ) -> Result<v1::GetStopOnBehalfResponse, Error> {
        self.read("GetStopOnBehalf", request, participant!(get_stop_on_behalf))
            .await
    }

    // -----------------------------------------------------------------------------------------
    // Participant API: applications.
    // -----------------------------------------------------------------------------------------

    /// `SubmitApplication` (a write, update flag 1): registers an application.
    pub async fn submit_application(
        &self,
        mut request: v1::SubmitApplicationRequest,
    ) -> Result<Written<v1::SubmitApplicationResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "SubmitApplication",
            request_id,
            request,
            participant!(submit_application),
        )
        .await
    }

    /// `AmendApplication` (a write, update flag 2): changes an application seen at a given
    /// application revision.
    pub async fn amend_application(
        &self,
        mut request: v1::AmendApplicationRequest,
    ) -> Result<Written<v1::AmendApplicationResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "AmendApplication",
            request_id,
            request,
            participant!(amend_application),
        )
        .await
    }

    /// `CancelApplication` (a write, update flag 3): withdraws an application seen at a given
    /// application revision.
    pub async fn cancel_application(
        &self,
        mut request: v1::CancelApplicationRequest,
    ) -> Result<Written<v1::CancelApplicationResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "CancelApplication",
            request_id,
            request,
            participant!(cancel_application),
        )
        .await
    }

    /// `GetApplication`: one application.
    pub async fn get_application(
        &self,
        request: v1::GetApplicationRequest,
    ) -> Result<v1::GetApplicationResponse, Error> {
        self.read("GetApplication", request, participant!(get_application))
            .await
    }

    /// `ListApplications`: one page of the applications the caller may see.
    pub async fn list_applications(
        &self,
        request: v1::ListApplicationsRequest,
    ) -> Result<v1::ListApplicationsResponse, Error> {
        self.read("ListApplications", request, participant!(list_applications))
            .await
    }

    // -----------------------------------------------------------------------------------------
    // Participant API: events, directory, notices.
    // -----------------------------------------------------------------------------------------

    /// `WatchEvents` as a [`Watch`] that resumes by itself at another endpoint when its stream
    /// breaks, from the last event it delivered: no gap, no duplicate. `request` says where to
    /// start (`start_revision` 0: live events only).
    pub fn watch(&self, request: v1::WatchEventsRequest) -> Watch {
        Watch::new(self.clone(), request)
    }

    /// `ListParticipants`: one page of the directory.
    pub async fn list_participants(
        &self,
        request: v1::ListParticipantsRequest,
    ) -> Result<v1::ListParticipantsResponse, Error> {
        self.read("ListParticipants", request, participant!(list_participants))
            .await
    }

    /// `UpdateContacts` (a write): replaces the caller's own contacts.
    pub async fn update_contacts(
        &self,
        mut request: v1::UpdateContactsRequest,
    ) -> Result<Written<v1::UpdateContactsResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "UpdateContacts",
            request_id,
            request,
            participant!(update_contacts),
        )
        .await
    }

    /// `ListNotices`: one page of the notices operators published, newest first.
    pub async fn list_notices(
        &self,
        request: v1::ListNoticesRequest,
    ) -> Result<v1::ListNoticesResponse, Error> {
        self.read("ListNotices", request, participant!(list_notices))
            .await
    }

    // -----------------------------------------------------------------------------------------
    // TSO API.
    // -----------------------------------------------------------------------------------------

    /// `ListApplicationsNeedingAction` (TSO API): one page of the applications the calling TSO
    /// must complete or reject.
    pub async fn list_applications_needing_action(
        &self,
        request: v1::ListApplicationsNeedingActionRequest,
    ) -> Result<v1::ListApplicationsNeedingActionResponse, Error> {
        self.read(
            "ListApplicationsNeedingAction",
            request,
            tso!(list_applications_needing_action),
        )
        .await
    }

    /// `CompleteApplication` (TSO API, a write): the work was carried out.
    pub async fn complete_application(
        &self,
        mut request: v1::CompleteApplicationRequest,
    ) -> Result<Written<v1::CompleteApplicationResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "CompleteApplication",
            request_id,
            request,
            tso!(complete_application),
        )
        .await
    }

    /// `RejectApplication` (TSO API, a write): the work cannot be carried out.
    pub async fn reject_application(
        &self,
        mut request: v1::RejectApplicationRequest,
    ) -> Result<Written<v1::RejectApplicationResponse>, Error> {
        let request_id = self.inner.request_ids.assign(&mut request.request_id);
        self.write(
            "RejectApplication",
            request_id,
            request,
            tso!(reject_application),
        )
        .await
    }
}
