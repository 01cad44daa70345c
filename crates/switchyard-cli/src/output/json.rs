//! Wire messages as JSON values for `--json`.
//!
//! The JSON mirrors the proto messages field by field, with the proto field names. Enums are
//! the words of [`super::words`] (`"awaiting-match"`), instants stay integers in milliseconds
//! (`*_unix_ms`), dates stay `"YYYY-MM-DD"` strings, an unset `optional` field or message is
//! `null`, and a `oneof` becomes an object with a `"kind"` word next to its fields. The shape is
//! stable for scripts: every field is always present.

use serde_json::{Value, json};
use switchyard_proto::v1;
use switchyard_proto::v1::event::Kind;
use switchyard_proto::v1::procedure_request::Procedure;

use super::words;

pub(crate) fn capacity(capacity: &v1::Capacity) -> Value {
    json!({
        "value": capacity.value,
        "unit": words::capacity_unit(capacity.unit),
    })
}

pub(crate) fn meter(meter: &v1::Meter) -> Value {
    json!({
        "meter_number": meter.meter_number,
        "smart": meter.smart,
        "half_hourly_values": meter.half_hourly_values,
        "automatic_reading": meter.automatic_reading,
    })
}

pub(crate) fn facility(facility: &v1::Facility) -> Value {
    json!({
        "voltage": words::voltage_class(facility.voltage),
        "contract_kind": words::contract_kind(facility.contract_kind),
        "decision_method": words::decision_method(facility.decision_method),
        "capacity": facility.capacity.as_ref().map(capacity),
        "meters": facility.meters.iter().map(meter).collect::<Vec<_>>(),
        "reading_day": facility.reading_day,
    })
}

pub(crate) fn supply_state(supply: &v1::SupplyState) -> Value {
    json!({
        "status": words::supply_status(supply.status),
        "retailer_code": supply.retailer_code,
        "since_date": supply.since_date,
    })
}

pub(crate) fn supply_period(period: &v1::SupplyPeriod) -> Value {
    json!({
        "retailer_code": period.retailer_code,
        "from_date": period.from_date,
        "until_date": period.until_date,
        "ended_by": words::period_end(period.ended_by),
    })
}

pub(crate) fn supply_point(point: &v1::SupplyPoint) -> Value {
    json!({
        "supply_point_number": point.supply_point_number,
        "area": words::area(point.area),
        "facility": point.facility.as_ref().map(facility),
        "supply": point.supply.as_ref().map(supply_state),
        "has_current_retailer": point.has_current_retailer,
        "history": point.history.iter().map(supply_period).collect::<Vec<_>>(),
        "open_application_numbers": point.open_application_numbers,
        "pending_stop_on_behalf_numbers": point.pending_stop_on_behalf_numbers,
    })
}

pub(crate) fn application_in_progress(application: &v1::ApplicationInProgress) -> Value {
    json!({
        "application_number": application.application_number,
        "procedure": words::procedure(application.procedure),
        "state": words::application_state(application.state),
        "effective_date": application.effective_date,
    })
}

pub(crate) fn look_up(response: &v1::LookUpSupplyPointResponse) -> Value {
    json!({
        "supply_point": response.supply_point.as_ref().map(supply_point),
        "next_reading_date": response.next_reading_date,
        "applications_in_progress": response
            .applications_in_progress
            .iter()
            .map(application_in_progress)
            .collect::<Vec<_>>(),
        "served_at_revision": response.served_at_revision,
    })
}

pub(crate) fn contact(contact: &v1::Contact) -> Value {
    json!({
        "name": contact.name,
        "role": contact.role,
        "email": contact.email,
        "phone": contact.phone,
    })
}

pub(crate) fn participant(participant: &v1::Participant) -> Value {
    json!({
        "party_id": participant.party_id,
        "name": participant.name,
        "contacts": participant.contacts.iter().map(contact).collect::<Vec<_>>(),
    })
}

pub(crate) fn customer_identity(customer: &v1::CustomerIdentity) -> Value {
    json!({
        "contract_number": customer.contract_number,
        "holder_name": customer.holder_name,
        "supply_address": customer.supply_address,
    })
}

fn ng_reason_words(reasons: &[i32]) -> Vec<String> {
    reasons
        .iter()
        .map(|reason| words::ng_reason(*reason))
        .collect()
}

pub(crate) fn stop_on_behalf(request: &v1::StopOnBehalfRequest) -> Value {
    json!({
        "stop_on_behalf_number": request.stop_on_behalf_number,
        "supply_point_number": request.supply_point_number,
        "requester_retailer_code": request.requester_retailer_code,
        "addressee_retailer_code": request.addressee_retailer_code,
        "customer": request.customer.as_ref().map(customer_identity),
        "wished_date": request.wished_date,
        "state": words::stop_on_behalf_state(request.state),
        "ng_reasons": ng_reason_words(&request.ng_reasons),
        "registered_at_unix_ms": request.registered_at_unix_ms,
        "answer_deadline_date": request.answer_deadline_date,
        "decided_at_unix_ms": request.decided_at_unix_ms,
        "used_by_application_number": request.used_by_application_number,
    })
}

pub(crate) fn stop_on_behalf_result(result: &v1::StopOnBehalfWriteResult) -> Value {
    json!({
        "stop_on_behalf_number": result.stop_on_behalf_number,
        "state": words::stop_on_behalf_state(result.state),
        "ng_reasons": ng_reason_words(&result.ng_reasons),
    })
}

fn customer_details(customer: Option<&v1::CustomerDetails>) -> Value {
    json!(customer.map(|customer| json!({
        "holder_name": customer.holder_name,
        "supply_address": customer.supply_address,
    })))
}

/// A procedure request: `{"kind": "<oneof field in words>", ...its fields}`; `{"kind": null}`
/// when the oneof is unset or unknown to this build.
pub(crate) fn procedure_request(request: &v1::ProcedureRequest) -> Value {
    match &request.procedure {
        Some(Procedure::StopSupply(stop)) => {
            json!({"kind": "stop-supply", "meter_removal": stop.meter_removal})
        }
        Some(Procedure::SwitchOut(_)) => json!({"kind": "switch-out"}),
        Some(Procedure::Restart(restart)) => json!({
            "kind": "restart",
            "customer": customer_details(restart.customer.as_ref()),
        }),
        Some(Procedure::SwitchIn(switch_in)) => json!({
            "kind": "switch-in",
            "stop_on_behalf_number": switch_in.stop_on_behalf_number,
        }),
        Some(Procedure::AmpereChange(change)) => json!({
            "kind": "ampere-change",
            "capacity": change.capacity.as_ref().map(capacity),
        }),
        Some(Procedure::CustomerInformationChange(change)) => json!({
            "kind": "customer-information-change",
            "customer": customer_details(change.customer.as_ref()),
        }),
        None => json!({"kind": null}),
    }
}

pub(crate) fn transition(transition: &v1::ApplicationTransition) -> Value {
    json!({
        "flag": words::update_flag(transition.flag),
        "from_application_revision": transition.from_application_revision,
        "fingerprint": transition.fingerprint,
    })
}

pub(crate) fn application(application: &v1::Application) -> Value {
    json!({
        "application_number": application.application_number,
        "supply_point_number": application.supply_point_number,
        "applicant_retailer_code": application.applicant_retailer_code,
        "procedure": words::procedure(application.procedure),
        "request": application.request.as_ref().map(procedure_request),
        "effective_date": application.effective_date,
        "deadline_date": application.deadline_date,
        "application_revision": application.application_revision,
        "state": words::application_state(application.state),
        "submitted_at_unix_ms": application.submitted_at_unix_ms,
        "updated_at_unix_ms": application.updated_at_unix_ms,
        "matched_with_application_number": application.matched_with_application_number,
        "completed_on_date": application.completed_on_date,
        "rejection_reason": application.rejection_reason,
        "transitions": application.transitions.iter().map(transition).collect::<Vec<_>>(),
    })
}

pub(crate) fn application_result(result: &v1::ApplicationWriteResult) -> Value {
    json!({
        "application_number": result.application_number,
        "application_revision": result.application_revision,
        "state": words::application_state(result.state),
        "matched_with_application_number": result.matched_with_application_number,
    })
}

pub(crate) fn notice(notice: &v1::Notice) -> Value {
    json!({
        "notice_number": notice.notice_number,
        "severity": words::severity(notice.severity),
        "title": notice.title,
        "body": notice.body,
        "published_by_operator_id": notice.published_by_operator_id,
        "published_at_unix_ms": notice.published_at_unix_ms,
    })
}

/// The answer of a write: its result, the log revision it was applied at and the request id
/// used.
pub(crate) fn write_answer(result: Value, revision: u64, request_id: &str) -> Value {
    json!({
        "result": result,
        "revision": revision,
        "request_id": request_id,
    })
}

/// A page (or all pages) of a list: the entries under `key`, the next page token ("" after the
/// last page) and the revision the (last) page was served at.
pub(crate) fn list(
    key: &str,
    entries: Vec<Value>,
    next_page_token: &str,
    served_at_revision: u64,
) -> Value {
    let mut object = serde_json::Map::new();
    object.insert(key.to_owned(), Value::Array(entries));
    object.insert("next_page_token".to_owned(), json!(next_page_token));
    object.insert("served_at_revision".to_owned(), json!(served_at_revision));
    Value::Object(object)
}

/// The word for an event kind, as `watch` prints it.
pub(crate) fn event_kind(kind: &Kind) -> &'static str {
    match kind {
        Kind::SupplyPointsImported(_) => "supply-points-imported",
        Kind::ParticipantChanged(_) => "participant-changed",
        Kind::PolicyChanged(_) => "policy-changed",
        Kind::StopOnBehalfRegistered(_) => "stop-on-behalf-registered",
        Kind::StopOnBehalfDecided(_) => "stop-on-behalf-decided",
        Kind::ApplicationSubmitted(_) => "application-submitted",
        Kind::ApplicationChanged(_) => "application-changed",
        Kind::ApplicationsMatched(_) => "applications-matched",
        Kind::SupplierChanged(_) => "supplier-changed",
        Kind::SupplyStopped(_) => "supply-stopped",
        Kind::NoticePublished(_) => "notice-published",
    }
}

fn event_fields(kind: &Kind) -> Value {
    match kind {
        Kind::SupplyPointsImported(event) => json!({
            "area": words::area(event.area),
            "created": event.created,
            "updated": event.updated,
        }),
        Kind::ParticipantChanged(event) => json!({"party_id": event.party_id}),
        Kind::PolicyChanged(_) => json!({}),
        Kind::StopOnBehalfRegistered(event) => json!({
            "stop_on_behalf_number": event.stop_on_behalf_number,
            "supply_point_number": event.supply_point_number,
            "requester_retailer_code": event.requester_retailer_code,
            "addressee_retailer_code": event.addressee_retailer_code,
        }),
        Kind::StopOnBehalfDecided(event) => json!({
            "stop_on_behalf_number": event.stop_on_behalf_number,
            "state": words::stop_on_behalf_state(event.state),
            "ng_reasons": ng_reason_words(&event.ng_reasons),
        }),
        Kind::ApplicationSubmitted(event) => json!({
            "application_number": event.application_number,
            "procedure": words::procedure(event.procedure),
            "supply_point_number": event.supply_point_number,
            "applicant_retailer_code": event.applicant_retailer_code,
            "effective_date": event.effective_date,
        }),
        Kind::ApplicationChanged(event) => json!({
            "application_number": event.application_number,
            "application_revision": event.application_revision,
            "state": words::application_state(event.state),
            "effective_date": event.effective_date,
        }),
        Kind::ApplicationsMatched(event) => json!({
            "switch_in_application_number": event.switch_in_application_number,
            "switch_out_application_number": event.switch_out_application_number,
            "supply_point_number": event.supply_point_number,
            "effective_date": event.effective_date,
        }),
        Kind::SupplierChanged(event) => json!({
            "supply_point_number": event.supply_point_number,
            "from_retailer_code": event.from_retailer_code,
            "to_retailer_code": event.to_retailer_code,
            "since_date": event.since_date,
        }),
        Kind::SupplyStopped(event) => json!({
            "supply_point_number": event.supply_point_number,
            "last_day_date": event.last_day_date,
        }),
        Kind::NoticePublished(event) => json!({
            "notice_number": event.notice_number,
            "severity": words::severity(event.severity),
            "title": event.title,
            "body": event.body,
        }),
    }
}

/// One event as `watch --json` prints it (one line each): its position, audience, kind word and
/// the kind's fields under `"event"`. `None` for a kind this build does not know, which the
/// contract says to skip.
pub(crate) fn event(event: &v1::Event) -> Option<Value> {
    let kind = event.kind.as_ref()?;
    Some(json!({
        "revision": event.revision,
        "index_in_revision": event.index_in_revision,
        "audience": event.audience.as_ref().map(|audience| json!({
            "everyone": audience.everyone,
            "party_ids": audience.party_ids,
        })),
        "kind": event_kind(kind),
        "event": event_fields(kind),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_application() -> v1::Application {
        v1::Application {
            application_number: "AP0000000042".to_owned(),
            supply_point_number: "0300111122223333444455".to_owned(),
            applicant_retailer_code: "A0001".to_owned(),
            procedure: v1::Procedure::SwitchIn as i32,
            request: Some(v1::ProcedureRequest {
                procedure: Some(Procedure::SwitchIn(v1::SwitchInProcedure {
                    stop_on_behalf_number: "SB0000000007".to_owned(),
                })),
            }),
            effective_date: "2026-12-01".to_owned(),
            deadline_date: "2026-11-27".to_owned(),
            application_revision: 2,
            state: v1::ApplicationState::Matched as i32,
            submitted_at_unix_ms: 1_795_653_000_000,
            updated_at_unix_ms: 1_795_653_060_000,
            matched_with_application_number: Some("AP0000000043".to_owned()),
            completed_on_date: None,
            rejection_reason: None,
            transitions: vec![v1::ApplicationTransition {
                flag: v1::UpdateFlag::Amend as i32,
                from_application_revision: 1,
                fingerprint: "ab".repeat(32),
            }],
        }
    }

    /// An application is the proto message field by field, enums as words, unset optionals as
    /// null, and the procedure oneof as an object with a kind.
    #[test]
    fn application_shape() {
        assert_eq!(
            application(&sample_application()),
            json!({
                "application_number": "AP0000000042",
                "supply_point_number": "0300111122223333444455",
                "applicant_retailer_code": "A0001",
                "procedure": "switch-in",
                "request": {"kind": "switch-in", "stop_on_behalf_number": "SB0000000007"},
                "effective_date": "2026-12-01",
                "deadline_date": "2026-11-27",
                "application_revision": 2,
                "state": "matched",
                "submitted_at_unix_ms": 1_795_653_000_000_i64,
                "updated_at_unix_ms": 1_795_653_060_000_i64,
                "matched_with_application_number": "AP0000000043",
                "completed_on_date": null,
                "rejection_reason": null,
                "transitions": [{
                    "flag": "amend",
                    "from_application_revision": 1,
                    "fingerprint": "ab".repeat(32),
                }],
            })
        );
    }

    /// Every procedure oneof has its kind word and its fields; an unset oneof has a null kind.
    #[test]
    fn procedure_request_shapes() {
        let customer = Some(v1::CustomerDetails {
            holder_name: "Sato".to_owned(),
            supply_address: "Tokyo".to_owned(),
        });
        let cases = [
            (
                Procedure::StopSupply(v1::StopSupplyProcedure {
                    meter_removal: true,
                }),
                json!({"kind": "stop-supply", "meter_removal": true}),
            ),
            (
                Procedure::SwitchOut(v1::SwitchOutProcedure {}),
                json!({"kind": "switch-out"}),
            ),
            (
                Procedure::Restart(v1::RestartProcedure {
                    customer: customer.clone(),
                }),
                json!({"kind": "restart", "customer": {"holder_name": "Sato", "supply_address": "Tokyo"}}),
            ),
            (
                Procedure::AmpereChange(v1::AmpereChangeProcedure {
                    capacity: Some(v1::Capacity {
                        value: 40,
                        unit: v1::CapacityUnit::Ampere as i32,
                    }),
                }),
                json!({"kind": "ampere-change", "capacity": {"value": 40, "unit": "ampere"}}),
            ),
            (
                Procedure::CustomerInformationChange(v1::CustomerInformationChangeProcedure {
                    customer,
                }),
                json!({"kind": "customer-information-change", "customer": {"holder_name": "Sato", "supply_address": "Tokyo"}}),
            ),
        ];
        for (procedure, expected) in cases {
            let request = v1::ProcedureRequest {
                procedure: Some(procedure),
            };
            assert_eq!(procedure_request(&request), expected);
        }
        assert_eq!(
            procedure_request(&v1::ProcedureRequest::default()),
            json!({"kind": null})
        );
    }

    /// A write answer holds the result, the revision and the request id used.
    #[test]
    fn write_answer_shape() {
        let result = application_result(&v1::ApplicationWriteResult {
            application_number: "AP0000000042".to_owned(),
            application_revision: 1,
            state: v1::ApplicationState::AwaitingMatch as i32,
            matched_with_application_number: None,
        });
        assert_eq!(
            write_answer(result, 1234, "swctl-1-00"),
            json!({
                "result": {
                    "application_number": "AP0000000042",
                    "application_revision": 1,
                    "state": "awaiting-match",
                    "matched_with_application_number": null,
                },
                "revision": 1234,
                "request_id": "swctl-1-00",
            })
        );
        let sob = stop_on_behalf_result(&v1::StopOnBehalfWriteResult {
            stop_on_behalf_number: "SB0000000001".to_owned(),
            state: v1::StopOnBehalfState::Ng as i32,
            ng_reasons: vec![3, 9],
        });
        assert_eq!(
            sob,
            json!({"stop_on_behalf_number": "SB0000000001", "state": "ng", "ng_reasons": ["name-mismatch", "other"]})
        );
    }

    /// A list holds its entries under the key, the next page token and the revision.
    #[test]
    fn list_shape() {
        assert_eq!(
            list("notices", vec![json!({"a": 1})], "", 7),
            json!({"notices": [{"a": 1}], "next_page_token": "", "served_at_revision": 7})
        );
    }

    /// A look-up keeps hidden fields as null and lists as arrays.
    #[test]
    fn look_up_shape() {
        let response = v1::LookUpSupplyPointResponse {
            supply_point: Some(v1::SupplyPoint {
                supply_point_number: "0300111122223333444455".to_owned(),
                area: v1::Area::Tokyo as i32,
                facility: Some(v1::Facility {
                    voltage: v1::VoltageClass::Low as i32,
                    contract_kind: v1::ContractKind::Lighting as i32,
                    decision_method: v1::DecisionMethod::AmpereBreaker as i32,
                    capacity: Some(v1::Capacity {
                        value: 30,
                        unit: v1::CapacityUnit::Ampere as i32,
                    }),
                    meters: vec![v1::Meter {
                        meter_number: "M-1".to_owned(),
                        smart: true,
                        half_hourly_values: true,
                        automatic_reading: false,
                    }],
                    reading_day: 15,
                }),
                supply: Some(v1::SupplyState {
                    status: v1::SupplyStatus::Supplying as i32,
                    retailer_code: None,
                    since_date: None,
                }),
                has_current_retailer: true,
                history: Vec::new(),
                open_application_numbers: vec!["AP0000000001".to_owned()],
                pending_stop_on_behalf_numbers: Vec::new(),
            }),
            next_reading_date: "2026-12-15".to_owned(),
            applications_in_progress: vec![v1::ApplicationInProgress {
                application_number: "AP0000000001".to_owned(),
                procedure: v1::Procedure::SwitchOut as i32,
                state: v1::ApplicationState::AwaitingMatch as i32,
                effective_date: "2026-12-01".to_owned(),
            }],
            served_at_revision: 99,
        };
        let value = look_up(&response);
        assert_eq!(value["supply_point"]["area"], "tokyo");
        assert_eq!(
            value["supply_point"]["facility"]["decision_method"],
            "ampere-breaker"
        );
        assert_eq!(
            value["supply_point"]["facility"]["capacity"],
            json!({"value": 30, "unit": "ampere"})
        );
        assert_eq!(
            value["supply_point"]["facility"]["meters"][0]["smart"],
            true
        );
        assert_eq!(
            value["supply_point"]["supply"],
            json!({"status": "supplying", "retailer_code": null, "since_date": null})
        );
        assert_eq!(value["supply_point"]["history"], json!([]));
        assert_eq!(
            value["applications_in_progress"][0]["state"],
            "awaiting-match"
        );
        assert_eq!(value["next_reading_date"], "2026-12-15");
        assert_eq!(value["served_at_revision"], 99);
    }

    /// An event line holds its position, audience, kind word and fields; an unknown kind is
    /// skipped.
    #[test]
    fn event_shape() {
        let event_message = v1::Event {
            revision: 120,
            index_in_revision: 1,
            audience: Some(v1::EventAudience {
                everyone: false,
                party_ids: vec!["A0001".to_owned(), "T03".to_owned()],
            }),
            kind: Some(Kind::SupplierChanged(v1::SupplierChangedEvent {
                supply_point_number: "0300111122223333444455".to_owned(),
                from_retailer_code: None,
                to_retailer_code: "A0001".to_owned(),
                since_date: "2026-12-01".to_owned(),
            })),
        };
        assert_eq!(
            event(&event_message).unwrap(),
            json!({
                "revision": 120,
                "index_in_revision": 1,
                "audience": {"everyone": false, "party_ids": ["A0001", "T03"]},
                "kind": "supplier-changed",
                "event": {
                    "supply_point_number": "0300111122223333444455",
                    "from_retailer_code": null,
                    "to_retailer_code": "A0001",
                    "since_date": "2026-12-01",
                },
            })
        );
        assert_eq!(
            event(&v1::Event {
                kind: None,
                ..event_message
            }),
            None
        );
    }

    /// The participant, notice and stop-on-behalf shapes use the proto field names.
    #[test]
    fn record_shapes() {
        let participant_value = participant(&v1::Participant {
            party_id: "T03".to_owned(),
            name: "TEPCO Power Grid".to_owned(),
            contacts: vec![v1::Contact {
                name: "Desk".to_owned(),
                role: "operations".to_owned(),
                email: "desk@example.jp".to_owned(),
                phone: "03-0000-0000".to_owned(),
            }],
        });
        assert_eq!(
            participant_value,
            json!({"party_id": "T03", "name": "TEPCO Power Grid", "contacts": [
                {"name": "Desk", "role": "operations", "email": "desk@example.jp", "phone": "03-0000-0000"}
            ]})
        );
        let notice_value = notice(&v1::Notice {
            notice_number: "NT0000000001".to_owned(),
            severity: v1::Severity::Critical as i32,
            title: "Failover".to_owned(),
            body: "Osaka serves.\nNothing to do.".to_owned(),
            published_by_operator_id: "sato".to_owned(),
            published_at_unix_ms: 5,
        });
        assert_eq!(notice_value["severity"], "critical");
        assert_eq!(notice_value["body"], "Osaka serves.\nNothing to do.");
        let sob = stop_on_behalf(&v1::StopOnBehalfRequest {
            stop_on_behalf_number: "SB0000000001".to_owned(),
            state: v1::StopOnBehalfState::Registered as i32,
            decided_at_unix_ms: None,
            ..v1::StopOnBehalfRequest::default()
        });
        assert_eq!(sob["state"], "registered");
        assert_eq!(sob["decided_at_unix_ms"], Value::Null);
        assert_eq!(sob["customer"], Value::Null);
        assert_eq!(sob["ng_reasons"], json!([]));
    }
}
