//! One recorded operation over the public gRPC API: the request each [`Operation`] becomes, and
//! the [`Outcome`] each answer or error is recorded as.
//!
//! An error is `Refused` only when the service named a rule of a refusal that changed nothing —
//! the business rules' refusals and malformed requests; everything else (a timeout, a broken
//! connection, no leader, a node that does not serve, `outcome_unknown`) is `Unknown`: the write
//! may have taken effect, at any time after it was sent.

use std::time::Duration;

use switchyard_domain::{
    ApplicationNumber, ApplicationState, NgReason, NgReasons, PartyId, Procedure, RetailerCode,
    StopOnBehalfNumber, StopOnBehalfState, Verdict,
};
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_proto::v1::tso_service_client::TsoServiceClient;
use tonic::transport::Channel;
use tonic::{Code, Status};

use super::history::{
    ApplicationAnswer, ApplicationInProgress, LookUpResult, Observed, ObservedSupply, Operation,
    Outcome, ReadConsistency, Refusal, StopOnBehalfAnswer,
};
use crate::procs::{ParticipantClient, TsoClient, bearer, request};

/// The metadata key of a replayed write's answer (`switchyard-api`'s `REPLAYED_METADATA_KEY`).
const REPLAYED_METADATA_KEY: &str = "x-switchyard-replayed";
/// The metadata key naming the rule of a refusal.
const RULE_METADATA_KEY: &str = switchyard_proto::WireError::RULE_METADATA_KEY;
/// Why the workload's TSOs reject a pair (the same text on every attempt, so that a retry
/// carries the same content).
const REJECTION_REASON: &str = "meter works impossible (chaos workload)";

/// Sends `operation` as `actor` over `channel` with `deadline`, and records what came back.
pub(crate) async fn perform(
    channel: Channel,
    actor: &PartyId,
    operation: &Operation,
    deadline: Duration,
) -> Outcome {
    let answer = match operation {
        Operation::LookUp {
            supply_point,
            consistency,
        } => {
            let consistency = match consistency {
                ReadConsistency::Local => v1::ReadConsistency::Local,
                ReadConsistency::Linearizable => v1::ReadConsistency::Linearizable,
            };
            participant(channel, actor)
                .look_up_supply_point(request(
                    v1::LookUpSupplyPointRequest {
                        supply_point_number: supply_point.to_string(),
                        consistency: consistency as i32,
                    },
                    deadline,
                ))
                .await
                .map(|response| look_up_answer(response.into_inner()))
        }
        Operation::RegisterStopOnBehalf {
            request_id,
            supply_point,
            wished_date,
        } => participant(channel, actor)
            .register_stop_on_behalf(request(
                v1::RegisterStopOnBehalfRequest {
                    request_id: request_id.to_string(),
                    supply_point_number: supply_point.to_string(),
                    customer: Some(customer(actor)),
                    wished_date: wished_date.to_string(),
                },
                deadline,
            ))
            .await
            .map(|response| {
                let replayed = replayed(response.metadata());
                let body = response.into_inner();
                stop_on_behalf_answer(body.result, body.revision, replayed)
            }),
        Operation::JudgeStopOnBehalf {
            request_id,
            number,
            verdict,
            ..
        } => {
            let (verdict, reasons) = match verdict {
                Verdict::Ok => (v1::Verdict::Ok, Vec::new()),
                Verdict::Ng(reasons) => (
                    v1::Verdict::Ng,
                    reasons
                        .reasons()
                        .iter()
                        .map(|reason| v1::NgReason::from(*reason) as i32)
                        .collect(),
                ),
            };
            participant(channel, actor)
                .judge_stop_on_behalf(request(
                    v1::JudgeStopOnBehalfRequest {
                        request_id: request_id.to_string(),
                        stop_on_behalf_number: number.to_string(),
                        verdict: verdict as i32,
                        ng_reasons: reasons,
                    },
                    deadline,
                ))
                .await
                .map(|response| {
                    let replayed = replayed(response.metadata());
                    let body = response.into_inner();
                    stop_on_behalf_answer(body.result, body.revision, replayed)
                })
        }
        Operation::CancelStopOnBehalf {
            request_id, number, ..
        } => participant(channel, actor)
            .cancel_stop_on_behalf(request(
                v1::CancelStopOnBehalfRequest {
                    request_id: request_id.to_string(),
                    stop_on_behalf_number: number.to_string(),
                },
                deadline,
            ))
            .await
            .map(|response| {
                let replayed = replayed(response.metadata());
                let body = response.into_inner();
                stop_on_behalf_answer(body.result, body.revision, replayed)
            }),
        Operation::SubmitSwitchOut {
            request_id,
            supply_point,
            effective_date,
        } => {
            submit(
                channel,
                actor,
                request_id.to_string(),
                supply_point.to_string(),
                effective_date.to_string(),
                v1::procedure_request::Procedure::SwitchOut(v1::SwitchOutProcedure {}),
                deadline,
            )
            .await
        }
        Operation::SubmitSwitchIn {
            request_id,
            supply_point,
            effective_date,
            stop_on_behalf,
        } => {
            submit(
                channel,
                actor,
                request_id.to_string(),
                supply_point.to_string(),
                effective_date.to_string(),
                v1::procedure_request::Procedure::SwitchIn(v1::SwitchInProcedure {
                    stop_on_behalf_number: stop_on_behalf.to_string(),
                }),
                deadline,
            )
            .await
        }
        Operation::CancelApplication {
            request_id,
            number,
            application_revision,
            ..
        } => participant(channel, actor)
            .cancel_application(request(
                v1::CancelApplicationRequest {
                    request_id: request_id.to_string(),
                    application_number: number.to_string(),
                    application_revision: *application_revision,
                },
                deadline,
            ))
            .await
            .map(|response| {
                let replayed = replayed(response.metadata());
                let body = response.into_inner();
                application_answer(body.result, body.revision, replayed)
            }),
        Operation::CompleteApplication {
            request_id,
            number,
            actual_date,
            ..
        } => tso(channel, actor)
            .complete_application(request(
                v1::CompleteApplicationRequest {
                    request_id: request_id.to_string(),
                    application_number: number.to_string(),
                    actual_date: actual_date.to_string(),
                },
                deadline,
            ))
            .await
            .map(|response| {
                let replayed = replayed(response.metadata());
                let body = response.into_inner();
                application_answer(body.result, body.revision, replayed)
            }),
        Operation::RejectApplication {
            request_id, number, ..
        } => tso(channel, actor)
            .reject_application(request(
                v1::RejectApplicationRequest {
                    request_id: request_id.to_string(),
                    application_number: number.to_string(),
                    reason: REJECTION_REASON.to_owned(),
                },
                deadline,
            ))
            .await
            .map(|response| {
                let replayed = replayed(response.metadata());
                let body = response.into_inner();
                application_answer(body.result, body.revision, replayed)
            }),
    };
    match answer {
        Ok(Ok(observed)) => Outcome::Ok(observed),
        // The call succeeded but its answer does not parse: nothing can be said of it.
        Ok(Err(problem)) => Outcome::Unknown {
            error: format!("unreadable answer: {problem}"),
        },
        Err(status) => outcome_of_status(&status),
    }
}

fn participant(channel: Channel, actor: &PartyId) -> ParticipantClient {
    ParticipantServiceClient::with_interceptor(channel, bearer(actor))
}

fn tso(channel: Channel, actor: &PartyId) -> TsoClient {
    TsoServiceClient::with_interceptor(channel, bearer(actor))
}

async fn submit(
    channel: Channel,
    actor: &PartyId,
    request_id: String,
    supply_point_number: String,
    effective_date: String,
    procedure: v1::procedure_request::Procedure,
    deadline: Duration,
) -> Result<Result<Observed, String>, Status> {
    participant(channel, actor)
        .submit_application(request(
            v1::SubmitApplicationRequest {
                request_id,
                supply_point_number,
                effective_date,
                request: Some(v1::ProcedureRequest {
                    procedure: Some(procedure),
                }),
            },
            deadline,
        ))
        .await
        .map(|response| {
            let replayed = replayed(response.metadata());
            let body = response.into_inner();
            application_answer(body.result, body.revision, replayed)
        })
}

/// The customer a retailer names in its stop-on-behalf requests: fixed per retailer, so that a
/// retry carries the same content.
fn customer(actor: &PartyId) -> v1::CustomerIdentity {
    let party = actor.to_string();
    v1::CustomerIdentity {
        contract_number: format!("C-{party}"),
        holder_name: format!("Chaos Customer of {party}"),
        supply_address: "1-1 Chiyoda, Chiyoda-ku, Tokyo".to_owned(),
    }
}

fn replayed(metadata: &tonic::metadata::MetadataMap) -> Option<bool> {
    Some(
        metadata
            .get(REPLAYED_METADATA_KEY)
            .and_then(|value| value.to_str().ok())
            == Some("true"),
    )
}

/// How an error is recorded: a refusal by a named rule that changes nothing, or unknown.
pub(crate) fn outcome_of_status(status: &Status) -> Outcome {
    let rule = status
        .metadata()
        .get(RULE_METADATA_KEY)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let refused = match status.code() {
        Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::OutOfRange => !rule.is_empty(),
        // A rule that would break an invariant refuses the command in the state machine.
        Code::Internal => rule == "invariant_would_break",
        _ => false,
    };
    if refused {
        Outcome::Refused(Refusal {
            code: code_name(status.code()).to_owned(),
            rule,
        })
    } else {
        Outcome::Unknown {
            error: format!("{:?}: {}", status.code(), status.message()),
        }
    }
}

/// The gRPC code's canonical name, as `history::grpc_code` writes it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Internal => "INTERNAL",
        _ => "OTHER",
    }
}

fn stop_on_behalf_answer(
    result: Option<v1::StopOnBehalfWriteResult>,
    revision: u64,
    replayed: Option<bool>,
) -> Result<Observed, String> {
    let result = result.ok_or("a stop-on-behalf write answered without a result")?;
    let number = StopOnBehalfNumber::parse(&result.stop_on_behalf_number)
        .map_err(|error| format!("stop-on-behalf number: {error}"))?;
    let state = match v1::StopOnBehalfState::try_from(result.state) {
        Ok(v1::StopOnBehalfState::Registered) => StopOnBehalfState::Registered,
        Ok(v1::StopOnBehalfState::Ok) => StopOnBehalfState::Ok,
        Ok(v1::StopOnBehalfState::Cancelled) => StopOnBehalfState::Cancelled,
        Ok(v1::StopOnBehalfState::Expired) => StopOnBehalfState::Expired,
        Ok(v1::StopOnBehalfState::Ng) => {
            let reasons = result
                .ng_reasons
                .iter()
                .map(|wire| {
                    NgReason::ALL
                        .into_iter()
                        .find(|reason| v1::NgReason::from(*reason) as i32 == *wire)
                        .ok_or_else(|| format!("unknown NG reason {wire}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            StopOnBehalfState::Ng(
                NgReasons::new(reasons).map_err(|error| format!("NG reasons: {error}"))?,
            )
        }
        _ => return Err(format!("unknown stop-on-behalf state {}", result.state)),
    };
    Ok(Observed::StopOnBehalf(StopOnBehalfAnswer {
        number,
        state,
        revision: (revision > 0).then_some(revision),
        replayed,
    }))
}

/// Every application state, to map wire numbers back.
const APPLICATION_STATES: [ApplicationState; 9] = [
    ApplicationState::Received,
    ApplicationState::AwaitingMatch,
    ApplicationState::Matched,
    ApplicationState::Accepted,
    ApplicationState::Cancelled,
    ApplicationState::Unmatched,
    ApplicationState::Completed,
    ApplicationState::TsoRejected,
    ApplicationState::Rejected,
];

fn application_state(wire: i32) -> Result<ApplicationState, String> {
    APPLICATION_STATES
        .into_iter()
        .find(|state| v1::ApplicationState::from(*state) as i32 == wire)
        .ok_or_else(|| format!("unknown application state {wire}"))
}

fn procedure(wire: i32) -> Result<Procedure, String> {
    Procedure::ALL
        .into_iter()
        .find(|procedure| v1::Procedure::from(*procedure) as i32 == wire)
        .ok_or_else(|| format!("unknown procedure {wire}"))
}

fn application_number(text: &str) -> Result<ApplicationNumber, String> {
    ApplicationNumber::parse(text).map_err(|error| format!("application number {text:?}: {error}"))
}

fn application_answer(
    result: Option<v1::ApplicationWriteResult>,
    revision: u64,
    replayed: Option<bool>,
) -> Result<Observed, String> {
    let result = result.ok_or("an application write answered without a result")?;
    Ok(Observed::Application(ApplicationAnswer {
        number: application_number(&result.application_number)?,
        application_revision: result.application_revision,
        state: application_state(result.state)?,
        matched_with: result
            .matched_with_application_number
            .as_deref()
            .map(application_number)
            .transpose()?,
        revision: (revision > 0).then_some(revision),
        replayed,
    }))
}

fn look_up_answer(response: v1::LookUpSupplyPointResponse) -> Result<Observed, String> {
    let point = response
        .supply_point
        .ok_or("a look-up answered without a supply point")?;
    let supply = point
        .supply
        .ok_or("a look-up answered without a supply state")?;
    let supply = match v1::SupplyStatus::try_from(supply.status) {
        Ok(v1::SupplyStatus::Supplying) => ObservedSupply::Supplying {
            retailer: supply
                .retailer_code
                .as_deref()
                .map(|code| {
                    RetailerCode::parse(code).map_err(|error| format!("retailer {code:?}: {error}"))
                })
                .transpose()?,
        },
        Ok(v1::SupplyStatus::Stopped) => ObservedSupply::Stopped,
        _ => return Err(format!("unknown supply status {}", supply.status)),
    };
    let open_applications = response
        .applications_in_progress
        .iter()
        .map(|application| {
            Ok(ApplicationInProgress {
                number: application_number(&application.application_number)?,
                procedure: procedure(application.procedure)?,
                state: application_state(application.state)?,
                effective_date: switchyard_domain::Date::parse(&application.effective_date)
                    .map_err(|error| format!("effective date: {error}"))?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let pending_stop_on_behalf = point
        .pending_stop_on_behalf_numbers
        .iter()
        .map(|text| {
            StopOnBehalfNumber::parse(text)
                .map_err(|error| format!("stop-on-behalf number {text:?}: {error}"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Observed::LookUp(LookUpResult {
        supply,
        open_applications,
        pending_stop_on_behalf,
        served_at_revision: Some(response.served_at_revision),
    }))
}
