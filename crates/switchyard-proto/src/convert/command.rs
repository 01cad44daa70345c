//! Write requests: every wire write request becomes an [`IncomingWrite`] (the client's request id
//! and a domain [`Command`]); the service adds the authenticated actor to make the [`Envelope`].
//! The answers of application and stop-on-behalf writes convert back and forth with the domain's
//! [`Accepted`].

use switchyard_domain::{
    Accepted, Actor, ApplicationNumber, Command, Envelope, LongText, RequestId, ShortText,
    StopOnBehalfNumber, SupplyPointNumber,
};

use super::application::application_revision_from_wire;
use super::dates::date_from_wire;
use super::ids::request_id_from_wire;
use super::participant::contacts_from_wire;
use super::stop_on_behalf::{state_from_wire, state_to_wire, verdict_from_wire, verdict_to_wire};
use super::{
    WireEnum, bounded_list, each, optional_text, required_converted, required_enum, required_text,
};
use crate::admin::v1 as admin;
use crate::limits::IMPORT_BATCH_MAX;
use crate::{WireError, v1};

/// A validated write request: the client's idempotency key and the command it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingWrite {
    /// The client's request id.
    pub request_id: RequestId,
    /// The command.
    pub command: Command,
}

impl IncomingWrite {
    /// The envelope the log carries, once the service has authenticated the `actor`.
    pub fn into_envelope(self, actor: Actor) -> Envelope {
        Envelope {
            actor,
            request_id: self.request_id,
            command: self.command,
        }
    }
}

/// Every write request of the public contracts, for code that handles writes generically (the
/// client library, tests). The service itself converts each request type directly with
/// `IncomingWrite::try_from`.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteRequest {
    ImportSupplyPoints(v1::ImportSupplyPointsRequest),
    SaveParticipant(admin::SaveParticipantRequest),
    UpdateContacts(v1::UpdateContactsRequest),
    ConfigurePolicy(admin::ConfigurePolicyRequest),
    RegisterStopOnBehalf(v1::RegisterStopOnBehalfRequest),
    JudgeStopOnBehalf(v1::JudgeStopOnBehalfRequest),
    CancelStopOnBehalf(v1::CancelStopOnBehalfRequest),
    SubmitApplication(v1::SubmitApplicationRequest),
    AmendApplication(v1::AmendApplicationRequest),
    CancelApplication(v1::CancelApplicationRequest),
    CompleteApplication(v1::CompleteApplicationRequest),
    RejectApplication(v1::RejectApplicationRequest),
    PublishNotice(admin::PublishNoticeRequest),
}

impl WriteRequest {
    /// The wire request for a write, or `None` for a command that only the cluster itself
    /// issues ([`Command::Tick`]), which has no wire form.
    pub fn from_write(write: IncomingWrite) -> Option<WriteRequest> {
        let request_id = write.request_id.to_string();
        let request = match write.command {
            Command::ImportSupplyPoints { points } => {
                WriteRequest::ImportSupplyPoints(v1::ImportSupplyPointsRequest {
                    request_id,
                    points: points.into_iter().map(Into::into).collect(),
                })
            }
            Command::SaveParticipant { participant } => {
                WriteRequest::SaveParticipant(admin::SaveParticipantRequest {
                    request_id,
                    participant: Some(participant.into()),
                })
            }
            Command::UpdateContacts { contacts } => {
                WriteRequest::UpdateContacts(v1::UpdateContactsRequest {
                    request_id,
                    contacts: contacts.into_iter().map(Into::into).collect(),
                })
            }
            Command::ConfigurePolicy { policy } => {
                WriteRequest::ConfigurePolicy(admin::ConfigurePolicyRequest {
                    request_id,
                    policy: Some(policy.into()),
                })
            }
            Command::RegisterStopOnBehalf {
                supply_point,
                customer,
                wished_date,
            } => WriteRequest::RegisterStopOnBehalf(v1::RegisterStopOnBehalfRequest {
                request_id,
                supply_point_number: supply_point.to_string(),
                customer: Some(customer.into()),
                wished_date: wished_date.to_string(),
            }),
            Command::JudgeStopOnBehalf { number, verdict } => {
                let (verdict, ng_reasons) = verdict_to_wire(&verdict);
                WriteRequest::JudgeStopOnBehalf(v1::JudgeStopOnBehalfRequest {
                    request_id,
                    stop_on_behalf_number: number.to_string(),
                    verdict,
                    ng_reasons,
                })
            }
            Command::CancelStopOnBehalf { number } => {
                WriteRequest::CancelStopOnBehalf(v1::CancelStopOnBehalfRequest {
                    request_id,
                    stop_on_behalf_number: number.to_string(),
                })
            }
            Command::SubmitApplication {
                supply_point,
                effective_date,
                request,
            } => WriteRequest::SubmitApplication(v1::SubmitApplicationRequest {
                request_id,
                supply_point_number: supply_point.to_string(),
                effective_date: effective_date.to_string(),
                request: Some(request.into()),
            }),
            Command::AmendApplication {
                number,
                revision,
                effective_date,
                request,
            } => WriteRequest::AmendApplication(v1::AmendApplicationRequest {
                request_id,
                application_number: number.to_string(),
                application_revision: revision,
                effective_date: effective_date.to_string(),
                request: Some(request.into()),
            }),
            Command::CancelApplication { number, revision } => {
                WriteRequest::CancelApplication(v1::CancelApplicationRequest {
                    request_id,
                    application_number: number.to_string(),
                    application_revision: revision,
                })
            }
            Command::CompleteApplication {
                number,
                actual_date,
            } => WriteRequest::CompleteApplication(v1::CompleteApplicationRequest {
                request_id,
                application_number: number.to_string(),
                actual_date: actual_date.to_string(),
            }),
            Command::RejectApplication { number, reason } => {
                WriteRequest::RejectApplication(v1::RejectApplicationRequest {
                    request_id,
                    application_number: number.to_string(),
                    reason: reason.to_string(),
                })
            }
            Command::PublishNotice {
                severity,
                title,
                body,
            } => WriteRequest::PublishNotice(admin::PublishNoticeRequest {
                request_id,
                severity: severity.wire_number(),
                title: title.to_string(),
                body: body.to_string(),
            }),
            Command::Tick => return None,
        };
        Some(request)
    }
}

impl TryFrom<WriteRequest> for IncomingWrite {
    type Error = WireError;

    fn try_from(request: WriteRequest) -> Result<IncomingWrite, WireError> {
        match request {
            WriteRequest::ImportSupplyPoints(request) => request.try_into(),
            WriteRequest::SaveParticipant(request) => request.try_into(),
            WriteRequest::UpdateContacts(request) => request.try_into(),
            WriteRequest::ConfigurePolicy(request) => request.try_into(),
            WriteRequest::RegisterStopOnBehalf(request) => request.try_into(),
            WriteRequest::JudgeStopOnBehalf(request) => request.try_into(),
            WriteRequest::CancelStopOnBehalf(request) => request.try_into(),
            WriteRequest::SubmitApplication(request) => request.try_into(),
            WriteRequest::AmendApplication(request) => request.try_into(),
            WriteRequest::CancelApplication(request) => request.try_into(),
            WriteRequest::CompleteApplication(request) => request.try_into(),
            WriteRequest::RejectApplication(request) => request.try_into(),
            WriteRequest::PublishNotice(request) => request.try_into(),
        }
    }
}

fn application_number(text: &str) -> Result<ApplicationNumber, WireError> {
    required_text("application_number", text, ApplicationNumber::parse)
}

fn stop_on_behalf_number(text: &str) -> Result<StopOnBehalfNumber, WireError> {
    required_text("stop_on_behalf_number", text, StopOnBehalfNumber::parse)
}

fn supply_point_number(text: &str) -> Result<SupplyPointNumber, WireError> {
    required_text("supply_point_number", text, SupplyPointNumber::parse)
}

/// Implements `TryFrom<$request> for IncomingWrite`: the request id first, then the command
/// built by `$command`.
macro_rules! write_request {
    ($request:ty => $command:ident) => {
        impl TryFrom<$request> for IncomingWrite {
            type Error = WireError;

            fn try_from(wire: $request) -> Result<IncomingWrite, WireError> {
                let request_id = request_id_from_wire(&wire.request_id)?;
                Ok(IncomingWrite {
                    request_id,
                    command: $command(wire)?,
                })
            }
        }
    };
}

write_request!(v1::ImportSupplyPointsRequest => import_supply_points);
write_request!(admin::SaveParticipantRequest => save_participant);
write_request!(v1::UpdateContactsRequest => update_contacts);
write_request!(admin::ConfigurePolicyRequest => configure_policy);
write_request!(v1::RegisterStopOnBehalfRequest => register_stop_on_behalf);
write_request!(v1::JudgeStopOnBehalfRequest => judge_stop_on_behalf);
write_request!(v1::CancelStopOnBehalfRequest => cancel_stop_on_behalf);
write_request!(v1::SubmitApplicationRequest => submit_application);
write_request!(v1::AmendApplicationRequest => amend_application);
write_request!(v1::CancelApplicationRequest => cancel_application);
write_request!(v1::CompleteApplicationRequest => complete_application);
write_request!(v1::RejectApplicationRequest => reject_application);
write_request!(admin::PublishNoticeRequest => publish_notice);

fn import_supply_points(wire: v1::ImportSupplyPointsRequest) -> Result<Command, WireError> {
    if wire.points.is_empty() {
        return Err(WireError::missing("points"));
    }
    Ok(Command::ImportSupplyPoints {
        points: bounded_list("points", wire.points, IMPORT_BATCH_MAX, each)?,
    })
}

fn save_participant(wire: admin::SaveParticipantRequest) -> Result<Command, WireError> {
    Ok(Command::SaveParticipant {
        participant: required_converted("participant", wire.participant)?,
    })
}

fn update_contacts(wire: v1::UpdateContactsRequest) -> Result<Command, WireError> {
    Ok(Command::UpdateContacts {
        contacts: contacts_from_wire("contacts", wire.contacts)?,
    })
}

fn configure_policy(wire: admin::ConfigurePolicyRequest) -> Result<Command, WireError> {
    Ok(Command::ConfigurePolicy {
        policy: required_converted("policy", wire.policy)?,
    })
}

fn register_stop_on_behalf(wire: v1::RegisterStopOnBehalfRequest) -> Result<Command, WireError> {
    Ok(Command::RegisterStopOnBehalf {
        supply_point: supply_point_number(&wire.supply_point_number)?,
        customer: required_converted("customer", wire.customer)?,
        wished_date: date_from_wire("wished_date", &wire.wished_date)?,
    })
}

fn judge_stop_on_behalf(wire: v1::JudgeStopOnBehalfRequest) -> Result<Command, WireError> {
    Ok(Command::JudgeStopOnBehalf {
        number: stop_on_behalf_number(&wire.stop_on_behalf_number)?,
        verdict: verdict_from_wire(wire.verdict, wire.ng_reasons)?,
    })
}

fn cancel_stop_on_behalf(wire: v1::CancelStopOnBehalfRequest) -> Result<Command, WireError> {
    Ok(Command::CancelStopOnBehalf {
        number: stop_on_behalf_number(&wire.stop_on_behalf_number)?,
    })
}

fn submit_application(wire: v1::SubmitApplicationRequest) -> Result<Command, WireError> {
    Ok(Command::SubmitApplication {
        supply_point: supply_point_number(&wire.supply_point_number)?,
        effective_date: date_from_wire("effective_date", &wire.effective_date)?,
        request: required_converted("request", wire.request)?,
    })
}

fn amend_application(wire: v1::AmendApplicationRequest) -> Result<Command, WireError> {
    Ok(Command::AmendApplication {
        number: application_number(&wire.application_number)?,
        revision: application_revision_from_wire(
            "application_revision",
            wire.application_revision,
        )?,
        effective_date: date_from_wire("effective_date", &wire.effective_date)?,
        request: required_converted("request", wire.request)?,
    })
}

fn cancel_application(wire: v1::CancelApplicationRequest) -> Result<Command, WireError> {
    Ok(Command::CancelApplication {
        number: application_number(&wire.application_number)?,
        revision: application_revision_from_wire(
            "application_revision",
            wire.application_revision,
        )?,
    })
}

fn complete_application(wire: v1::CompleteApplicationRequest) -> Result<Command, WireError> {
    Ok(Command::CompleteApplication {
        number: application_number(&wire.application_number)?,
        actual_date: date_from_wire("actual_date", &wire.actual_date)?,
    })
}

fn reject_application(wire: v1::RejectApplicationRequest) -> Result<Command, WireError> {
    Ok(Command::RejectApplication {
        number: application_number(&wire.application_number)?,
        reason: required_text("reason", &wire.reason, ShortText::parse)?,
    })
}

fn publish_notice(wire: admin::PublishNoticeRequest) -> Result<Command, WireError> {
    Ok(Command::PublishNotice {
        severity: required_enum("severity", wire.severity)?,
        title: required_text("title", &wire.title, ShortText::parse)?,
        body: required_text("body", &wire.body, LongText::parse)?,
    })
}

/// A write answered with a different kind of [`Accepted`] than its RPC returns: a bug in the
/// rules or the service, never the client's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an {expected} answer, got {got:?}")]
pub struct UnexpectedAnswer {
    /// The kind of answer the RPC returns.
    pub expected: &'static str,
    /// The answer received.
    pub got: Accepted,
}

impl TryFrom<Accepted> for v1::ApplicationWriteResult {
    type Error = UnexpectedAnswer;

    fn try_from(accepted: Accepted) -> Result<v1::ApplicationWriteResult, UnexpectedAnswer> {
        match accepted {
            Accepted::Application {
                number,
                revision,
                state,
                matched_with,
            } => Ok(v1::ApplicationWriteResult {
                application_number: number.to_string(),
                application_revision: revision,
                state: state.wire_number(),
                matched_with_application_number: matched_with.map(|number| number.to_string()),
            }),
            got => Err(UnexpectedAnswer {
                expected: "application",
                got,
            }),
        }
    }
}

impl TryFrom<v1::ApplicationWriteResult> for Accepted {
    type Error = WireError;

    fn try_from(wire: v1::ApplicationWriteResult) -> Result<Accepted, WireError> {
        Ok(Accepted::Application {
            number: application_number(&wire.application_number)?,
            revision: application_revision_from_wire(
                "application_revision",
                wire.application_revision,
            )?,
            state: required_enum("state", wire.state)?,
            matched_with: optional_text(
                "matched_with_application_number",
                wire.matched_with_application_number.as_deref(),
                ApplicationNumber::parse,
            )?,
        })
    }
}

impl TryFrom<Accepted> for v1::StopOnBehalfWriteResult {
    type Error = UnexpectedAnswer;

    fn try_from(accepted: Accepted) -> Result<v1::StopOnBehalfWriteResult, UnexpectedAnswer> {
        match accepted {
            Accepted::StopOnBehalf { number, state } => {
                let (state, ng_reasons) = state_to_wire(&state);
                Ok(v1::StopOnBehalfWriteResult {
                    stop_on_behalf_number: number.to_string(),
                    state,
                    ng_reasons,
                })
            }
            got => Err(UnexpectedAnswer {
                expected: "stop-on-behalf",
                got,
            }),
        }
    }
}

impl TryFrom<v1::StopOnBehalfWriteResult> for Accepted {
    type Error = WireError;

    fn try_from(wire: v1::StopOnBehalfWriteResult) -> Result<Accepted, WireError> {
        Ok(Accepted::StopOnBehalf {
            number: stop_on_behalf_number(&wire.stop_on_behalf_number)?,
            state: state_from_wire(wire.state, wire.ng_reasons)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use switchyard_domain::{
        ApplicationState, Capacity, CapacityUnit, Policy, ProcedureRequest, Severity,
        SupplyPointImport, Verdict,
    };

    use super::*;
    use crate::convert::samples;

    fn request_id(text: &str) -> RequestId {
        RequestId::parse(text).unwrap()
    }

    fn import(count: usize) -> Vec<SupplyPointImport> {
        (0..count)
            .map(|index| SupplyPointImport {
                number: SupplyPointNumber::parse(&format!("03{index:020}")).unwrap(),
                facility: samples::low_voltage_facility(),
                supply: if index % 2 == 0 {
                    samples::supplied_point().supply
                } else {
                    samples::stopped_point().supply
                },
            })
            .collect()
    }

    /// One command of every kind a client can send, with every verdict and procedure.
    fn every_command() -> Vec<Command> {
        let mut policy = Policy::default();
        policy.calendar.holidays.insert(samples::date("2027-01-01"));
        let notice = samples::notice();
        let mut commands = vec![
            Command::ImportSupplyPoints { points: import(3) },
            Command::ImportSupplyPoints {
                points: import(IMPORT_BATCH_MAX),
            },
            Command::SaveParticipant {
                participant: samples::participant(),
            },
            Command::UpdateContacts {
                contacts: samples::participant().contacts,
            },
            Command::ConfigurePolicy { policy },
            Command::RegisterStopOnBehalf {
                supply_point: samples::supply_point_number(),
                customer: samples::customer_identity(),
                wished_date: samples::date("2026-12-12"),
            },
            Command::JudgeStopOnBehalf {
                number: samples::stop_on_behalf_number(5),
                verdict: Verdict::Ok,
            },
            Command::JudgeStopOnBehalf {
                number: samples::stop_on_behalf_number(5),
                verdict: Verdict::Ng(samples::ng_reasons()),
            },
            Command::CancelStopOnBehalf {
                number: samples::stop_on_behalf_number(6),
            },
            Command::CancelApplication {
                number: samples::application_number(42),
                revision: 2,
            },
            Command::CompleteApplication {
                number: samples::application_number(42),
                actual_date: samples::date("2026-12-13"),
            },
            Command::RejectApplication {
                number: samples::application_number(42),
                reason: ShortText::parse("meter works impossible").unwrap(),
            },
            Command::PublishNotice {
                severity: Severity::Critical,
                title: notice.title,
                body: notice.body,
            },
        ];
        for request in samples::procedure_requests() {
            commands.push(Command::SubmitApplication {
                supply_point: samples::supply_point_number(),
                effective_date: samples::date("2027-01-15"),
                request: request.clone(),
            });
            commands.push(Command::AmendApplication {
                number: samples::application_number(42),
                revision: 1,
                effective_date: samples::date("2027-01-16"),
                request,
            });
        }
        commands
    }

    /// Passes a request through protobuf bytes, as the transport would.
    fn encoded(request: WriteRequest) -> WriteRequest {
        use samples::through_bytes as bytes;
        match request {
            WriteRequest::ImportSupplyPoints(wire) => WriteRequest::ImportSupplyPoints(bytes(wire)),
            WriteRequest::SaveParticipant(wire) => WriteRequest::SaveParticipant(bytes(wire)),
            WriteRequest::UpdateContacts(wire) => WriteRequest::UpdateContacts(bytes(wire)),
            WriteRequest::ConfigurePolicy(wire) => WriteRequest::ConfigurePolicy(bytes(wire)),
            WriteRequest::RegisterStopOnBehalf(wire) => {
                WriteRequest::RegisterStopOnBehalf(bytes(wire))
            }
            WriteRequest::JudgeStopOnBehalf(wire) => WriteRequest::JudgeStopOnBehalf(bytes(wire)),
            WriteRequest::CancelStopOnBehalf(wire) => WriteRequest::CancelStopOnBehalf(bytes(wire)),
            WriteRequest::SubmitApplication(wire) => WriteRequest::SubmitApplication(bytes(wire)),
            WriteRequest::AmendApplication(wire) => WriteRequest::AmendApplication(bytes(wire)),
            WriteRequest::CancelApplication(wire) => WriteRequest::CancelApplication(bytes(wire)),
            WriteRequest::CompleteApplication(wire) => {
                WriteRequest::CompleteApplication(bytes(wire))
            }
            WriteRequest::RejectApplication(wire) => WriteRequest::RejectApplication(bytes(wire)),
            WriteRequest::PublishNotice(wire) => WriteRequest::PublishNotice(bytes(wire)),
        }
    }

    /// Every client command, with its request id, survives domain -> wire -> bytes -> wire ->
    /// domain.
    #[test]
    fn command_round_trip() {
        for (index, command) in every_command().into_iter().enumerate() {
            let write = IncomingWrite {
                request_id: request_id(&format!("gateway-1:{index}")),
                command,
            };
            let wire = WriteRequest::from_write(write.clone()).expect("a client command");
            assert_eq!(IncomingWrite::try_from(encoded(wire)).unwrap(), write);
        }
    }

    /// A tick has no wire form.
    #[test]
    fn tick_has_no_wire_form() {
        let tick = IncomingWrite {
            request_id: request_id("tick-1"),
            command: Command::Tick,
        };
        assert_eq!(WriteRequest::from_write(tick), None);
    }

    /// The envelope carries the actor, the request id and the command unchanged.
    #[test]
    fn envelope_from_write() {
        let write = IncomingWrite {
            request_id: request_id("r-1"),
            command: Command::CancelStopOnBehalf {
                number: samples::stop_on_behalf_number(1),
            },
        };
        let actor = Actor::Party(switchyard_domain::PartyId::parse("A0456").unwrap());
        let envelope = write.clone().into_envelope(actor.clone());
        assert_eq!(envelope.actor, actor);
        assert_eq!(envelope.request_id, write.request_id);
        assert_eq!(envelope.command, write.command);
    }

    /// Application and stop-on-behalf answers survive domain -> wire -> domain.
    #[test]
    fn answer_round_trip() {
        let application_answers = [
            Accepted::Application {
                number: samples::application_number(42),
                revision: 1,
                state: ApplicationState::AwaitingMatch,
                matched_with: None,
            },
            Accepted::Application {
                number: samples::application_number(43),
                revision: 2,
                state: ApplicationState::Matched,
                matched_with: Some(samples::application_number(42)),
            },
        ];
        for accepted in application_answers {
            let wire = v1::ApplicationWriteResult::try_from(accepted.clone()).unwrap();
            assert_eq!(Accepted::try_from(wire).unwrap(), accepted);
        }
        for state in samples::stop_on_behalf_states() {
            let accepted = Accepted::StopOnBehalf {
                number: samples::stop_on_behalf_number(5),
                state,
            };
            let wire = v1::StopOnBehalfWriteResult::try_from(accepted.clone()).unwrap();
            assert_eq!(Accepted::try_from(wire).unwrap(), accepted);
        }
    }

    /// An answer of the wrong kind is reported as unexpected, not converted.
    #[test]
    fn wrong_answer_kind() {
        let error = v1::ApplicationWriteResult::try_from(Accepted::PolicyConfigured).unwrap_err();
        assert_eq!(error.got, Accepted::PolicyConfigured);
        let error = v1::StopOnBehalfWriteResult::try_from(Accepted::Application {
            number: samples::application_number(1),
            revision: 1,
            state: ApplicationState::Received,
            matched_with: None,
        })
        .unwrap_err();
        assert_eq!(error.expected, "stop-on-behalf");
    }

    fn submit() -> v1::SubmitApplicationRequest {
        v1::SubmitApplicationRequest {
            request_id: "submit-1".to_owned(),
            supply_point_number: samples::supply_point_number().to_string(),
            effective_date: "2027-01-15".to_owned(),
            request: Some(ProcedureRequest::SwitchOut.into()),
        }
    }

    /// A write without a request id is missing `request_id`; a malformed one is invalid.
    #[test]
    fn bad_request_id() {
        let mut request = submit();
        request.request_id.clear();
        assert_eq!(
            IncomingWrite::try_from(request.clone()).unwrap_err(),
            WireError::missing("request_id")
        );
        request.request_id = "white space".to_owned();
        assert!(matches!(
            IncomingWrite::try_from(request).unwrap_err(),
            WireError::Invalid { field, .. } if field == "request_id"
        ));
    }

    /// A submission with a 21-digit supply point number is invalid `supply_point_number`.
    #[test]
    fn bad_supply_point_number() {
        let mut request = submit();
        request.supply_point_number.pop();
        assert!(matches!(
            IncomingWrite::try_from(request).unwrap_err(),
            WireError::Invalid { field, .. } if field == "supply_point_number"
        ));
    }

    /// A submission without its procedure is missing `request`; with an empty oneof it is
    /// missing `request.procedure`; with a bad date it is invalid `effective_date`.
    #[test]
    fn incomplete_submission() {
        let mut no_request = submit();
        no_request.request = None;
        assert_eq!(
            IncomingWrite::try_from(no_request).unwrap_err(),
            WireError::missing("request")
        );
        let mut empty_oneof = submit();
        empty_oneof.request = Some(v1::ProcedureRequest::default());
        assert_eq!(
            IncomingWrite::try_from(empty_oneof).unwrap_err(),
            WireError::missing("request.procedure")
        );
        let mut bad_date = submit();
        bad_date.effective_date = "2027-1-15".to_owned();
        assert_eq!(
            IncomingWrite::try_from(bad_date).unwrap_err().field(),
            "effective_date"
        );
    }

    /// An ampere change to 35 A names `request.ampere_change.capacity.value`.
    #[test]
    fn bad_ampere_change() {
        let mut request = submit();
        request.request = Some(
            ProcedureRequest::AmpereChange {
                capacity: Capacity::new(30, CapacityUnit::Ampere).unwrap(),
            }
            .into(),
        );
        if let Some(v1::procedure_request::Procedure::AmpereChange(change)) = request
            .request
            .as_mut()
            .and_then(|wire| wire.procedure.as_mut())
        {
            change.capacity.as_mut().unwrap().value = 35;
        }
        assert_eq!(
            IncomingWrite::try_from(request).unwrap_err().field(),
            "request.ampere_change.capacity.value"
        );
    }

    /// An amend or cancel quoting revision 0 is missing `application_revision`.
    #[test]
    fn revision_zero() {
        let amend = v1::AmendApplicationRequest {
            request_id: "amend-1".to_owned(),
            application_number: "AP0000000042".to_owned(),
            application_revision: 0,
            effective_date: "2027-01-15".to_owned(),
            request: Some(ProcedureRequest::SwitchOut.into()),
        };
        assert_eq!(
            IncomingWrite::try_from(amend).unwrap_err(),
            WireError::missing("application_revision")
        );
        let cancel = v1::CancelApplicationRequest {
            request_id: "cancel-1".to_owned(),
            application_number: "AP0000000042".to_owned(),
            application_revision: 0,
        };
        assert_eq!(
            IncomingWrite::try_from(cancel).unwrap_err(),
            WireError::missing("application_revision")
        );
    }

    /// An NG judgement without reasons is missing `ng_reasons`; an unspecified verdict is refused.
    #[test]
    fn bad_judgements() {
        let judge = v1::JudgeStopOnBehalfRequest {
            request_id: "judge-1".to_owned(),
            stop_on_behalf_number: "SB0000000005".to_owned(),
            verdict: v1::Verdict::Ng.into(),
            ng_reasons: Vec::new(),
        };
        assert_eq!(
            IncomingWrite::try_from(judge.clone()).unwrap_err(),
            WireError::missing("ng_reasons")
        );
        let unspecified = v1::JudgeStopOnBehalfRequest {
            verdict: 0,
            ..judge
        };
        assert_eq!(
            IncomingWrite::try_from(unspecified).unwrap_err(),
            WireError::UnknownEnum {
                field: "verdict".to_owned(),
                value: 0
            }
        );
    }

    /// An import of 1,001 points exceeds the batch maximum; an empty one is missing `points`.
    #[test]
    fn import_batch_bounds() {
        let write = IncomingWrite {
            request_id: request_id("import-1"),
            command: Command::ImportSupplyPoints {
                points: import(IMPORT_BATCH_MAX + 1),
            },
        };
        let Some(WriteRequest::ImportSupplyPoints(request)) = WriteRequest::from_write(write)
        else {
            panic!("an import request");
        };
        assert_eq!(
            IncomingWrite::try_from(request.clone()).unwrap_err(),
            WireError::TooMany {
                field: "points".to_owned(),
                count: IMPORT_BATCH_MAX + 1,
                max: IMPORT_BATCH_MAX
            }
        );
        let empty = v1::ImportSupplyPointsRequest {
            points: Vec::new(),
            ..request
        };
        assert_eq!(
            IncomingWrite::try_from(empty).unwrap_err(),
            WireError::missing("points")
        );
    }

    /// A bad record deep in an import batch is named by its index and path.
    #[test]
    fn bad_record_in_import() {
        let mut request = v1::ImportSupplyPointsRequest {
            request_id: "import-2".to_owned(),
            points: import(5).into_iter().map(Into::into).collect(),
        };
        request.points[3]
            .facility
            .as_mut()
            .unwrap()
            .capacity
            .as_mut()
            .unwrap()
            .unit = 0;
        assert_eq!(
            IncomingWrite::try_from(request).unwrap_err(),
            WireError::UnknownEnum {
                field: "points[3].facility.capacity.unit".to_owned(),
                value: 0
            }
        );
    }

    /// A notice with an unspecified severity, or a policy with a bad holiday, names the field.
    #[test]
    fn bad_admin_writes() {
        let notice = admin::PublishNoticeRequest {
            request_id: "notice-1".to_owned(),
            severity: 0,
            title: "Maintenance".to_owned(),
            body: "Sunday 02:00-04:00 JST".to_owned(),
        };
        assert_eq!(
            IncomingWrite::try_from(notice).unwrap_err(),
            WireError::UnknownEnum {
                field: "severity".to_owned(),
                value: 0
            }
        );
        let mut policy = v1::Policy::from(Policy::default());
        policy.holiday_dates.push("2027-13-01".to_owned());
        let configure = admin::ConfigurePolicyRequest {
            request_id: "policy-1".to_owned(),
            policy: Some(policy),
        };
        assert_eq!(
            IncomingWrite::try_from(configure).unwrap_err().field(),
            "policy.holiday_dates[0]"
        );
        let save = admin::SaveParticipantRequest {
            request_id: "save-1".to_owned(),
            participant: None,
        };
        assert_eq!(
            IncomingWrite::try_from(save).unwrap_err(),
            WireError::missing("participant")
        );
    }

    /// A contacts update with 17 contacts is too many `contacts`.
    #[test]
    fn too_many_contacts_in_update() {
        let update = v1::UpdateContactsRequest {
            request_id: "contacts-1".to_owned(),
            contacts: (0..17)
                .map(|index| samples::contact(&format!("Desk {index}")).into())
                .collect(),
        };
        assert!(matches!(
            IncomingWrite::try_from(update).unwrap_err(),
            WireError::TooMany { field, count: 17, max: 16 } if field == "contacts"
        ));
    }
}
