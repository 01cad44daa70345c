//! Stop-on-behalf requests: the customer's identity, NG reasons, verdicts, states and the request
//! record.
//!
//! On the wire a state or verdict travels as an enum plus a separate `ng_reasons` list, which must
//! be non-empty exactly when the state or verdict is NG.

use switchyard_domain::{
    ApplicationNumber, ContractNumber, CustomerIdentity, NgReason, NgReasons, PersonName,
    PostalAddress, RetailerCode, StopOnBehalfNumber, StopOnBehalfRequest, StopOnBehalfState,
    SupplyPointNumber, Timestamp, Verdict,
};

use super::dates::date_from_wire;
use super::{
    WireEnum, bounded_list, enum_mapping, optional_text, required_converted, required_enum,
    required_text,
};
use crate::limits::NG_REASONS_MAX;
use crate::{WireError, v1};

enum_mapping!(NgReason => v1::NgReason {
    SupplyPointNumberMismatch => SupplyPointNumberMismatch,
    ContractNumberMismatch => ContractNumberMismatch,
    NameMismatch => NameMismatch,
    AddressMismatch => AddressMismatch,
    ContractInDispute => ContractInDispute,
    ContractAlreadyEnding => ContractAlreadyEnding,
    SwitchAlreadyInProgress => SwitchAlreadyInProgress,
    CustomerUnreachable => CustomerUnreachable,
    Other => Other,
});

impl From<CustomerIdentity> for v1::CustomerIdentity {
    fn from(identity: CustomerIdentity) -> v1::CustomerIdentity {
        v1::CustomerIdentity {
            contract_number: identity.contract_number.to_string(),
            holder_name: identity.holder_name.to_string(),
            supply_address: identity.supply_address.to_string(),
        }
    }
}

impl TryFrom<v1::CustomerIdentity> for CustomerIdentity {
    type Error = WireError;

    fn try_from(wire: v1::CustomerIdentity) -> Result<CustomerIdentity, WireError> {
        Ok(CustomerIdentity {
            contract_number: required_text(
                "contract_number",
                &wire.contract_number,
                ContractNumber::parse,
            )?,
            holder_name: required_text("holder_name", &wire.holder_name, PersonName::parse)?,
            supply_address: required_text(
                "supply_address",
                &wire.supply_address,
                PostalAddress::parse,
            )?,
        })
    }
}

/// The wire numbers of a set of NG reasons, in the domain's (sorted) order.
pub(crate) fn ng_reasons_to_wire(reasons: &NgReasons) -> Vec<i32> {
    reasons
        .reasons()
        .iter()
        .map(|reason| reason.wire_number())
        .collect()
}

/// A required `ng_reasons` list: 1..=9 distinct known reasons.
pub(crate) fn ng_reasons_from_wire(field: &str, reasons: Vec<i32>) -> Result<NgReasons, WireError> {
    if reasons.is_empty() {
        return Err(WireError::missing(field));
    }
    let reasons = bounded_list(field, reasons, NG_REASONS_MAX, |number| {
        required_enum::<NgReason>("", number)
    })?;
    NgReasons::new(reasons).map_err(|source| WireError::invalid(field, source))
}

fn refuse_reasons(field: &str, reasons: &[i32], reason: &'static str) -> Result<(), WireError> {
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(WireError::Unexpected {
            field: field.to_owned(),
            reason,
        })
    }
}

/// The wire form of a verdict: the enum number and the NG reasons.
pub(crate) fn verdict_to_wire(verdict: &Verdict) -> (i32, Vec<i32>) {
    match verdict {
        Verdict::Ok => (v1::Verdict::Ok.into(), Vec::new()),
        Verdict::Ng(reasons) => (v1::Verdict::Ng.into(), ng_reasons_to_wire(reasons)),
    }
}

/// A verdict from its `verdict` and `ng_reasons` fields.
pub(crate) fn verdict_from_wire(verdict: i32, ng_reasons: Vec<i32>) -> Result<Verdict, WireError> {
    match v1::Verdict::try_from(verdict) {
        Ok(v1::Verdict::Ok) => {
            refuse_reasons("ng_reasons", &ng_reasons, "an OK verdict has no NG reasons")?;
            Ok(Verdict::Ok)
        }
        Ok(v1::Verdict::Ng) => ng_reasons_from_wire("ng_reasons", ng_reasons).map(Verdict::Ng),
        Ok(v1::Verdict::Unspecified) | Err(_) => Err(WireError::UnknownEnum {
            field: "verdict".to_owned(),
            value: verdict,
        }),
    }
}

/// The wire form of a request state: the enum number and the NG reasons.
pub(crate) fn state_to_wire(state: &StopOnBehalfState) -> (i32, Vec<i32>) {
    let wire = |state: v1::StopOnBehalfState| i32::from(state);
    match state {
        StopOnBehalfState::Registered => (wire(v1::StopOnBehalfState::Registered), Vec::new()),
        StopOnBehalfState::Ok => (wire(v1::StopOnBehalfState::Ok), Vec::new()),
        StopOnBehalfState::Ng(reasons) => {
            (wire(v1::StopOnBehalfState::Ng), ng_reasons_to_wire(reasons))
        }
        StopOnBehalfState::Cancelled => (wire(v1::StopOnBehalfState::Cancelled), Vec::new()),
        StopOnBehalfState::Expired => (wire(v1::StopOnBehalfState::Expired), Vec::new()),
    }
}

/// A request state from its `state` and `ng_reasons` fields.
pub(crate) fn state_from_wire(
    state: i32,
    ng_reasons: Vec<i32>,
) -> Result<StopOnBehalfState, WireError> {
    const NOT_NG: &str = "only an NG state has NG reasons";
    let without_reasons = |domain: StopOnBehalfState| {
        refuse_reasons("ng_reasons", &ng_reasons, NOT_NG).map(|()| domain)
    };
    match v1::StopOnBehalfState::try_from(state) {
        Ok(v1::StopOnBehalfState::Registered) => without_reasons(StopOnBehalfState::Registered),
        Ok(v1::StopOnBehalfState::Ok) => without_reasons(StopOnBehalfState::Ok),
        Ok(v1::StopOnBehalfState::Cancelled) => without_reasons(StopOnBehalfState::Cancelled),
        Ok(v1::StopOnBehalfState::Expired) => without_reasons(StopOnBehalfState::Expired),
        Ok(v1::StopOnBehalfState::Ng) => {
            ng_reasons_from_wire("ng_reasons", ng_reasons).map(StopOnBehalfState::Ng)
        }
        Ok(v1::StopOnBehalfState::Unspecified) | Err(_) => Err(WireError::UnknownEnum {
            field: "state".to_owned(),
            value: state,
        }),
    }
}

impl From<StopOnBehalfRequest> for v1::StopOnBehalfRequest {
    fn from(request: StopOnBehalfRequest) -> v1::StopOnBehalfRequest {
        let (state, ng_reasons) = state_to_wire(&request.state);
        v1::StopOnBehalfRequest {
            stop_on_behalf_number: request.number.to_string(),
            supply_point_number: request.supply_point.to_string(),
            requester_retailer_code: request.requester.to_string(),
            addressee_retailer_code: request.addressee.to_string(),
            customer: Some(request.customer.into()),
            wished_date: request.wished_date.to_string(),
            state,
            ng_reasons,
            registered_at_unix_ms: request.registered_at.milliseconds(),
            answer_deadline_date: request.answer_deadline.to_string(),
            decided_at_unix_ms: request.decided_at.map(Timestamp::milliseconds),
            used_by_application_number: request.used_by.map(|number| number.to_string()),
        }
    }
}

impl TryFrom<v1::StopOnBehalfRequest> for StopOnBehalfRequest {
    type Error = WireError;

    fn try_from(wire: v1::StopOnBehalfRequest) -> Result<StopOnBehalfRequest, WireError> {
        Ok(StopOnBehalfRequest {
            number: required_text(
                "stop_on_behalf_number",
                &wire.stop_on_behalf_number,
                StopOnBehalfNumber::parse,
            )?,
            supply_point: required_text(
                "supply_point_number",
                &wire.supply_point_number,
                SupplyPointNumber::parse,
            )?,
            requester: required_text(
                "requester_retailer_code",
                &wire.requester_retailer_code,
                RetailerCode::parse,
            )?,
            addressee: required_text(
                "addressee_retailer_code",
                &wire.addressee_retailer_code,
                RetailerCode::parse,
            )?,
            customer: required_converted("customer", wire.customer)?,
            wished_date: date_from_wire("wished_date", &wire.wished_date)?,
            state: state_from_wire(wire.state, wire.ng_reasons)?,
            registered_at: Timestamp(wire.registered_at_unix_ms),
            answer_deadline: date_from_wire("answer_deadline_date", &wire.answer_deadline_date)?,
            decided_at: wire.decided_at_unix_ms.map(Timestamp),
            used_by: optional_text(
                "used_by_application_number",
                wire.used_by_application_number.as_deref(),
                ApplicationNumber::parse,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::convert::samples;

    /// The customer's identity survives domain -> wire -> domain.
    #[test]
    fn customer_identity_round_trip() {
        let identity = samples::customer_identity();
        assert_eq!(
            CustomerIdentity::try_from(v1::CustomerIdentity::from(identity.clone())).unwrap(),
            identity
        );
    }

    /// A request in every state survives domain -> wire -> bytes -> wire -> domain.
    #[test]
    fn request_round_trip() {
        for state in samples::stop_on_behalf_states() {
            let request = samples::stop_on_behalf_request(state);
            assert_eq!(
                StopOnBehalfRequest::try_from(samples::through_bytes(
                    v1::StopOnBehalfRequest::from(request.clone())
                ))
                .unwrap(),
                request
            );
        }
    }

    /// Both verdicts survive domain -> wire -> domain.
    #[test]
    fn verdict_round_trip() {
        for verdict in [Verdict::Ok, Verdict::Ng(samples::ng_reasons())] {
            let (number, reasons) = verdict_to_wire(&verdict);
            assert_eq!(verdict_from_wire(number, reasons).unwrap(), verdict);
        }
    }

    /// An unspecified verdict is refused, naming `verdict`.
    #[test]
    fn unspecified_verdict() {
        assert_eq!(
            verdict_from_wire(0, Vec::new()).unwrap_err(),
            WireError::UnknownEnum {
                field: "verdict".to_owned(),
                value: 0
            }
        );
    }

    /// NG without reasons is missing `ng_reasons`; OK with reasons is unexpected `ng_reasons`.
    #[test]
    fn verdict_reason_shape() {
        let ng = i32::from(v1::Verdict::Ng);
        let ok = i32::from(v1::Verdict::Ok);
        assert_eq!(
            verdict_from_wire(ng, Vec::new()).unwrap_err(),
            WireError::missing("ng_reasons")
        );
        assert!(matches!(
            verdict_from_wire(ok, vec![1]).unwrap_err(),
            WireError::Unexpected { field, .. } if field == "ng_reasons"
        ));
    }

    /// Ten reasons exceed the maximum of nine: too many `ng_reasons`.
    #[test]
    fn too_many_ng_reasons() {
        let ng = i32::from(v1::Verdict::Ng);
        assert_eq!(
            verdict_from_wire(ng, (1..=10).map(|number| (number - 1) % 9 + 1).collect())
                .unwrap_err(),
            WireError::TooMany {
                field: "ng_reasons".to_owned(),
                count: 10,
                max: 9
            }
        );
    }

    /// An unknown or unspecified reason is refused, naming its index; a repeated one is invalid.
    #[test]
    fn bad_ng_reasons() {
        let ng = i32::from(v1::Verdict::Ng);
        assert_eq!(
            verdict_from_wire(ng, vec![1, 0]).unwrap_err(),
            WireError::UnknownEnum {
                field: "ng_reasons[1]".to_owned(),
                value: 0
            }
        );
        assert_eq!(
            verdict_from_wire(ng, vec![3, 3, 12]).unwrap_err(),
            WireError::UnknownEnum {
                field: "ng_reasons[2]".to_owned(),
                value: 12
            }
        );
        assert!(matches!(
            verdict_from_wire(ng, vec![3, 3]).unwrap_err(),
            WireError::Invalid { field, .. } if field == "ng_reasons"
        ));
    }

    /// A stored request in state EXPIRED with reasons, or with no state, is refused.
    #[test]
    fn bad_request_state() {
        let mut wire = v1::StopOnBehalfRequest::from(samples::stop_on_behalf_request(
            StopOnBehalfState::Expired,
        ));
        wire.ng_reasons = vec![1];
        assert_eq!(
            StopOnBehalfRequest::try_from(wire.clone())
                .unwrap_err()
                .field(),
            "ng_reasons"
        );
        wire.ng_reasons.clear();
        wire.state = 0;
        assert_eq!(
            StopOnBehalfRequest::try_from(wire).unwrap_err(),
            WireError::UnknownEnum {
                field: "state".to_owned(),
                value: 0
            }
        );
    }

    /// A request without the customer is missing `customer`; a bad contract number names
    /// `customer.contract_number`.
    #[test]
    fn bad_customer() {
        let mut wire = v1::StopOnBehalfRequest::from(samples::stop_on_behalf_request(
            StopOnBehalfState::Registered,
        ));
        wire.customer.as_mut().unwrap().contract_number = "C 1".to_owned();
        assert_eq!(
            StopOnBehalfRequest::try_from(wire.clone())
                .unwrap_err()
                .field(),
            "customer.contract_number"
        );
        wire.customer = None;
        assert_eq!(
            StopOnBehalfRequest::try_from(wire).unwrap_err(),
            WireError::missing("customer")
        );
    }

    proptest! {
        /// Any non-empty set of NG reasons survives domain -> wire -> domain.
        #[test]
        fn any_ng_reasons_round_trip(mask in 1u16..(1 << 9)) {
            let chosen: Vec<NgReason> = NgReason::ALL
                .iter()
                .enumerate()
                .filter(|(index, _)| mask & (1 << index) != 0)
                .map(|(_, reason)| *reason)
                .collect();
            let verdict = Verdict::Ng(NgReasons::new(chosen).unwrap());
            let (number, reasons) = verdict_to_wire(&verdict);
            prop_assert_eq!(verdict_from_wire(number, reasons).unwrap(), verdict);
        }
    }
}
