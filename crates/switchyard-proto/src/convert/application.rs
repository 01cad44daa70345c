//! Applications: procedures, states, update flags, the procedure-specific request data, the
//! application record and its look-up summary.

use switchyard_domain::{
    Application, ApplicationNumber, ApplicationState, CustomerDetails, PersonName, PostalAddress,
    Procedure, ProcedureRequest, RetailerCode, ShortText, StopOnBehalfNumber, SupplyPointNumber,
    Timestamp, Transition, UpdateFlag, ValueError,
};

use super::dates::{date_from_wire, optional_date_from_wire};
use super::{
    WireEnum, bounded_list, each, enum_mapping, optional_text, required_converted, required_enum,
    required_message, required_text,
};
use crate::v1::procedure_request::Procedure as WireProcedure;
use crate::{WireError, v1};

enum_mapping!(Procedure => v1::Procedure {
    StopSupply => StopSupply,
    StopSupplyWithRemoval => StopSupplyWithRemoval,
    SwitchOut => SwitchOut,
    Restart => Restart,
    SwitchIn => SwitchIn,
    AmpereChange => AmpereChange,
    CustomerInfoChange => CustomerInformationChange,
});

enum_mapping!(ApplicationState => v1::ApplicationState {
    Received => Received,
    AwaitingMatch => AwaitingMatch,
    Matched => Matched,
    Accepted => Accepted,
    Cancelled => Cancelled,
    Unmatched => Unmatched,
    Completed => Completed,
    TsoRejected => TsoRejected,
    Rejected => Rejected,
});

enum_mapping!(UpdateFlag => v1::UpdateFlag {
    Register => Register,
    Amend => Amend,
    Cancel => Cancel,
});

impl From<CustomerDetails> for v1::CustomerDetails {
    fn from(details: CustomerDetails) -> v1::CustomerDetails {
        v1::CustomerDetails {
            holder_name: details.holder_name.to_string(),
            supply_address: details.supply_address.to_string(),
        }
    }
}

impl TryFrom<v1::CustomerDetails> for CustomerDetails {
    type Error = WireError;

    fn try_from(wire: v1::CustomerDetails) -> Result<CustomerDetails, WireError> {
        Ok(CustomerDetails {
            holder_name: required_text("holder_name", &wire.holder_name, PersonName::parse)?,
            supply_address: required_text(
                "supply_address",
                &wire.supply_address,
                PostalAddress::parse,
            )?,
        })
    }
}

impl From<ProcedureRequest> for v1::ProcedureRequest {
    fn from(request: ProcedureRequest) -> v1::ProcedureRequest {
        let procedure = match request {
            ProcedureRequest::StopSupply { meter_removal } => {
                WireProcedure::StopSupply(v1::StopSupplyProcedure { meter_removal })
            }
            ProcedureRequest::SwitchOut => WireProcedure::SwitchOut(v1::SwitchOutProcedure {}),
            ProcedureRequest::Restart { customer } => {
                WireProcedure::Restart(v1::RestartProcedure {
                    customer: Some(customer.into()),
                })
            }
            ProcedureRequest::SwitchIn { stop_on_behalf } => {
                WireProcedure::SwitchIn(v1::SwitchInProcedure {
                    stop_on_behalf_number: stop_on_behalf.to_string(),
                })
            }
            ProcedureRequest::AmpereChange { capacity } => {
                WireProcedure::AmpereChange(v1::AmpereChangeProcedure {
                    capacity: Some(capacity.into()),
                })
            }
            ProcedureRequest::CustomerInfoChange { customer } => {
                WireProcedure::CustomerInformationChange(v1::CustomerInformationChangeProcedure {
                    customer: Some(customer.into()),
                })
            }
        };
        v1::ProcedureRequest {
            procedure: Some(procedure),
        }
    }
}

impl TryFrom<v1::ProcedureRequest> for ProcedureRequest {
    type Error = WireError;

    /// Errors name the chosen `oneof` member, e.g. `switch_in.stop_on_behalf_number`; an unset
    /// `oneof` is missing `procedure`.
    fn try_from(wire: v1::ProcedureRequest) -> Result<ProcedureRequest, WireError> {
        match required_message("procedure", wire.procedure)? {
            WireProcedure::StopSupply(stop) => Ok(ProcedureRequest::StopSupply {
                meter_removal: stop.meter_removal,
            }),
            WireProcedure::SwitchOut(v1::SwitchOutProcedure {}) => Ok(ProcedureRequest::SwitchOut),
            WireProcedure::Restart(restart) => Ok(ProcedureRequest::Restart {
                customer: required_converted("customer", restart.customer)
                    .map_err(|error| error.at("restart"))?,
            }),
            WireProcedure::SwitchIn(switch_in) => Ok(ProcedureRequest::SwitchIn {
                stop_on_behalf: required_text(
                    "switch_in.stop_on_behalf_number",
                    &switch_in.stop_on_behalf_number,
                    StopOnBehalfNumber::parse,
                )?,
            }),
            WireProcedure::AmpereChange(change) => Ok(ProcedureRequest::AmpereChange {
                capacity: required_converted("capacity", change.capacity)
                    .map_err(|error| error.at("ampere_change"))?,
            }),
            WireProcedure::CustomerInformationChange(change) => {
                Ok(ProcedureRequest::CustomerInfoChange {
                    customer: required_converted("customer", change.customer)
                        .map_err(|error| error.at("customer_information_change"))?,
                })
            }
        }
    }
}

/// Length of a command fingerprint: hex SHA-256.
const FINGERPRINT_LENGTH: usize = 64;

fn parse_fingerprint(text: &str) -> Result<String, ValueError> {
    let shape_ok = text.len() == FINGERPRINT_LENGTH
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
    if !shape_ok {
        return Err(ValueError::Malformed {
            kind: "fingerprint".to_owned(),
            expected: "64 lowercase hexadecimal characters".to_owned(),
            got: text.chars().take(FINGERPRINT_LENGTH + 1).collect(),
        });
    }
    Ok(text.to_owned())
}

impl From<Transition> for v1::ApplicationTransition {
    fn from(transition: Transition) -> v1::ApplicationTransition {
        v1::ApplicationTransition {
            flag: transition.flag.wire_number(),
            from_application_revision: transition.from_revision,
            fingerprint: transition.fingerprint,
        }
    }
}

impl TryFrom<v1::ApplicationTransition> for Transition {
    type Error = WireError;

    fn try_from(wire: v1::ApplicationTransition) -> Result<Transition, WireError> {
        Ok(Transition {
            flag: required_enum("flag", wire.flag)?,
            from_revision: wire.from_application_revision,
            fingerprint: required_text("fingerprint", &wire.fingerprint, parse_fingerprint)?,
        })
    }
}

impl From<Application> for v1::Application {
    fn from(application: Application) -> v1::Application {
        v1::Application {
            application_number: application.number.to_string(),
            supply_point_number: application.supply_point.to_string(),
            applicant_retailer_code: application.applicant.to_string(),
            procedure: application.procedure().wire_number(),
            request: Some(application.request.into()),
            effective_date: application.effective_date.to_string(),
            deadline_date: application.deadline.to_string(),
            application_revision: application.revision,
            state: application.state.wire_number(),
            submitted_at_unix_ms: application.submitted_at.milliseconds(),
            updated_at_unix_ms: application.updated_at.milliseconds(),
            matched_with_application_number: application
                .matched_with
                .map(|number| number.to_string()),
            completed_on_date: application.completed_on.map(|date| date.to_string()),
            rejection_reason: application
                .rejection_reason
                .map(|reason| reason.to_string()),
            transitions: application
                .transitions
                .into_iter()
                .map(Into::into)
                .collect(),
        }
    }
}

/// An application revision quoted by a request or a record: at least 1.
pub(crate) fn application_revision_from_wire(field: &str, revision: u32) -> Result<u32, WireError> {
    if revision == 0 {
        return Err(WireError::missing(field));
    }
    Ok(revision)
}

impl TryFrom<v1::Application> for Application {
    type Error = WireError;

    /// `procedure` is derived from `request` and ignored.
    fn try_from(wire: v1::Application) -> Result<Application, WireError> {
        Ok(Application {
            number: required_text(
                "application_number",
                &wire.application_number,
                ApplicationNumber::parse,
            )?,
            supply_point: required_text(
                "supply_point_number",
                &wire.supply_point_number,
                SupplyPointNumber::parse,
            )?,
            applicant: required_text(
                "applicant_retailer_code",
                &wire.applicant_retailer_code,
                RetailerCode::parse,
            )?,
            request: required_converted("request", wire.request)?,
            effective_date: date_from_wire("effective_date", &wire.effective_date)?,
            deadline: date_from_wire("deadline_date", &wire.deadline_date)?,
            revision: application_revision_from_wire(
                "application_revision",
                wire.application_revision,
            )?,
            state: required_enum("state", wire.state)?,
            submitted_at: Timestamp(wire.submitted_at_unix_ms),
            updated_at: Timestamp(wire.updated_at_unix_ms),
            matched_with: optional_text(
                "matched_with_application_number",
                wire.matched_with_application_number.as_deref(),
                ApplicationNumber::parse,
            )?,
            completed_on: optional_date_from_wire(
                "completed_on_date",
                wire.completed_on_date.as_deref(),
            )?,
            rejection_reason: optional_text(
                "rejection_reason",
                wire.rejection_reason.as_deref(),
                ShortText::parse,
            )?,
            transitions: bounded_list(
                "transitions",
                wire.transitions,
                Application::TRANSITIONS_MAX,
                each,
            )?,
        })
    }
}

impl From<&Application> for v1::ApplicationInProgress {
    /// The summary any retailer's look-up shows: no applicant, no procedure data.
    fn from(application: &Application) -> v1::ApplicationInProgress {
        v1::ApplicationInProgress {
            application_number: application.number.to_string(),
            procedure: application.procedure().wire_number(),
            state: application.state.wire_number(),
            effective_date: application.effective_date.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::convert::required_enum;
    use crate::convert::samples;

    fn every_application() -> Vec<Application> {
        let mut applications = samples::received_applications();
        applications.push(samples::completed_application());
        applications.push(samples::rejected_application());
        applications
    }

    /// Every procedure survives domain -> wire -> domain, and its wire number is its code.
    #[test]
    fn procedure_round_trip() {
        for procedure in Procedure::ALL {
            assert_eq!(procedure.wire_number(), i32::from(procedure.code()));
            assert_eq!(
                required_enum::<Procedure>("procedure", procedure.wire_number()).unwrap(),
                procedure
            );
        }
    }

    /// Every application state and update flag survives domain -> wire -> domain.
    #[test]
    fn state_and_flag_round_trip() {
        for state in samples::APPLICATION_STATES {
            assert_eq!(
                required_enum::<ApplicationState>("state", state.wire_number()).unwrap(),
                state
            );
        }
        for flag in [UpdateFlag::Register, UpdateFlag::Amend, UpdateFlag::Cancel] {
            assert_eq!(flag.wire_number(), flag as i32);
            assert_eq!(
                required_enum::<UpdateFlag>("flag", flag.wire_number()).unwrap(),
                flag
            );
        }
    }

    /// Customer details survive domain -> wire -> domain.
    #[test]
    fn customer_details_round_trip() {
        let details = samples::customer_details();
        assert_eq!(
            CustomerDetails::try_from(v1::CustomerDetails::from(details.clone())).unwrap(),
            details
        );
    }

    /// Every kind of procedure request survives domain -> wire -> domain.
    #[test]
    fn procedure_request_round_trip() {
        for request in samples::procedure_requests() {
            assert_eq!(
                ProcedureRequest::try_from(v1::ProcedureRequest::from(request.clone())).unwrap(),
                request
            );
        }
    }

    /// Transitions survive domain -> wire -> domain.
    #[test]
    fn transition_round_trip() {
        for transition in samples::rejected_application().transitions {
            assert_eq!(
                Transition::try_from(v1::ApplicationTransition::from(transition.clone())).unwrap(),
                transition
            );
        }
    }

    /// Applications of every procedure and in several states survive domain -> wire -> bytes ->
    /// wire -> domain, and the wire form carries the derived procedure code.
    #[test]
    fn application_round_trip() {
        for application in every_application() {
            let wire = v1::Application::from(application.clone());
            assert_eq!(wire.procedure, application.procedure().wire_number());
            let wire = samples::through_bytes(wire);
            assert_eq!(Application::try_from(wire).unwrap(), application);
        }
    }

    /// The look-up summary carries number, procedure, state and date, and no applicant.
    #[test]
    fn in_progress_summary() {
        let application = samples::completed_application();
        let summary = v1::ApplicationInProgress::from(&application);
        assert_eq!(summary.application_number, "AP0000000042");
        assert_eq!(summary.procedure, i32::from(v1::Procedure::SwitchIn));
        assert_eq!(summary.state, i32::from(v1::ApplicationState::Completed));
        assert_eq!(summary.effective_date, "2026-12-12");
    }

    /// A procedure request with no procedure chosen is missing `procedure`.
    #[test]
    fn empty_procedure_request() {
        assert_eq!(
            ProcedureRequest::try_from(v1::ProcedureRequest::default()).unwrap_err(),
            WireError::missing("procedure")
        );
    }

    /// Missing data inside a chosen procedure names the member: `restart.customer`,
    /// `switch_in.stop_on_behalf_number`, `ampere_change.capacity`,
    /// `customer_information_change.customer.holder_name`.
    #[test]
    fn missing_procedure_data() {
        let restart = v1::ProcedureRequest {
            procedure: Some(WireProcedure::Restart(v1::RestartProcedure {
                customer: None,
            })),
        };
        assert_eq!(
            ProcedureRequest::try_from(restart).unwrap_err(),
            WireError::missing("restart.customer")
        );
        let switch_in = v1::ProcedureRequest {
            procedure: Some(WireProcedure::SwitchIn(v1::SwitchInProcedure::default())),
        };
        assert_eq!(
            ProcedureRequest::try_from(switch_in).unwrap_err(),
            WireError::missing("switch_in.stop_on_behalf_number")
        );
        let ampere = v1::ProcedureRequest {
            procedure: Some(WireProcedure::AmpereChange(v1::AmpereChangeProcedure {
                capacity: None,
            })),
        };
        assert_eq!(
            ProcedureRequest::try_from(ampere).unwrap_err(),
            WireError::missing("ampere_change.capacity")
        );
        let change = v1::ProcedureRequest {
            procedure: Some(WireProcedure::CustomerInformationChange(
                v1::CustomerInformationChangeProcedure {
                    customer: Some(v1::CustomerDetails {
                        holder_name: String::new(),
                        supply_address: "somewhere".to_owned(),
                    }),
                },
            )),
        };
        assert_eq!(
            ProcedureRequest::try_from(change).unwrap_err(),
            WireError::missing("customer_information_change.customer.holder_name")
        );
    }

    /// An application at revision 0 is missing `application_revision`; an unknown state is
    /// refused; a bad completion date is invalid `completed_on_date`.
    #[test]
    fn bad_application_fields() {
        let wire = v1::Application::from(samples::completed_application());
        let mut zero_revision = wire.clone();
        zero_revision.application_revision = 0;
        assert_eq!(
            Application::try_from(zero_revision).unwrap_err(),
            WireError::missing("application_revision")
        );
        let mut unknown_state = wire.clone();
        unknown_state.state = 99;
        assert_eq!(
            Application::try_from(unknown_state).unwrap_err(),
            WireError::UnknownEnum {
                field: "state".to_owned(),
                value: 99
            }
        );
        let mut bad_date = wire;
        bad_date.completed_on_date = Some("2026-12-32".to_owned());
        assert_eq!(
            Application::try_from(bad_date).unwrap_err().field(),
            "completed_on_date"
        );
    }

    /// A malformed fingerprint or too many transitions are refused, naming the field.
    #[test]
    fn bad_transitions() {
        let mut wire = v1::Application::from(samples::rejected_application());
        wire.transitions[1].fingerprint = "ABC".to_owned();
        assert_eq!(
            Application::try_from(wire.clone()).unwrap_err().field(),
            "transitions[1].fingerprint"
        );
        let transition =
            v1::ApplicationTransition::from(samples::rejected_application().transitions[0].clone());
        wire.transitions = vec![transition; Application::TRANSITIONS_MAX + 1];
        assert_eq!(
            Application::try_from(wire).unwrap_err(),
            WireError::TooMany {
                field: "transitions".to_owned(),
                count: Application::TRANSITIONS_MAX + 1,
                max: Application::TRANSITIONS_MAX
            }
        );
    }

    proptest! {
        /// Any application revision, timestamps and dates survive domain -> wire -> domain.
        #[test]
        fn any_application_numbers_round_trip(
            revision in 1u32..,
            submitted in any::<i64>(),
            updated in any::<i64>(),
            effective_offset in 0i32..3650,
            number in 1u64..=ApplicationNumber::MAX,
        ) {
            let base = samples::completed_application();
            let application = Application {
                number: ApplicationNumber::new(number).unwrap(),
                revision,
                submitted_at: Timestamp(submitted),
                updated_at: Timestamp(updated),
                effective_date: base.effective_date.add_days(effective_offset),
                ..base
            };
            prop_assert_eq!(
                Application::try_from(v1::Application::from(application.clone())).unwrap(),
                application
            );
        }
    }
}
