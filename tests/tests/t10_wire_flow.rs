//! The whole switching flow as a gateway would send it: protobuf bytes decoded, converted to
//! domain commands, decided by the rules, and the answers converted back to wire results — so the
//! contracts, the conversions and the rules agree end to end. Malformed bytes stop at the
//! conversion with INVALID_ARGUMENT naming the field, before any rule runs.

use prost::Message;
use switchyard_domain::fixtures::{self, R1, R2, SMART, World};
use switchyard_domain::{Actor, Outcome};
use switchyard_proto::convert::IncomingWrite;
use switchyard_proto::{WireError, v1};

/// Sends `request` over the "wire" (encoded and decoded as protobuf), converts it, and runs it
/// as `actor` in `world`.
fn send<Request>(world: &mut World, actor: Actor, request: &Request) -> Outcome
where
    Request: Message + Default,
    IncomingWrite: TryFrom<Request, Error = WireError>,
{
    let bytes = request.encode_to_vec();
    let decoded = Request::decode(bytes.as_slice()).expect("valid protobuf");
    let write = IncomingWrite::try_from(decoded).expect("a well-formed request");
    world.run_with_id(actor, write.request_id, write.command)
}

fn application_result(outcome: Outcome) -> v1::ApplicationWriteResult {
    v1::ApplicationWriteResult::try_from(outcome.expect("accepted")).expect("an application answer")
}

/// Stop-on-behalf, OK, switch-out, switch-in (matched), TSO completion: every step travels as
/// wire messages, and completion makes the new retailer the supplier.
#[test]
fn switching_flow_over_the_wire() {
    let mut world = World::new();
    let registered = send(
        &mut world,
        fixtures::retailer(R2),
        &v1::RegisterStopOnBehalfRequest {
            request_id: "gw-1".into(),
            supply_point_number: SMART.into(),
            customer: Some(v1::CustomerIdentity {
                contract_number: "C-0001".into(),
                holder_name: "Yamada Taro".into(),
                supply_address: "1-1 Chiyoda, Tokyo".into(),
            }),
            wished_date: "2026-12-10".into(),
        },
    );
    let registered = v1::StopOnBehalfWriteResult::try_from(registered.expect("registered"))
        .expect("a stop-on-behalf answer");

    send(
        &mut world,
        fixtures::retailer(R1),
        &v1::JudgeStopOnBehalfRequest {
            request_id: "gw-2".into(),
            stop_on_behalf_number: registered.stop_on_behalf_number.clone(),
            verdict: v1::Verdict::Ok as i32,
            ng_reasons: vec![],
        },
    )
    .expect("judged OK");

    let switch_out = application_result(send(
        &mut world,
        fixtures::retailer(R1),
        &v1::SubmitApplicationRequest {
            request_id: "gw-3".into(),
            supply_point_number: SMART.into(),
            effective_date: "2026-12-10".into(),
            request: Some(v1::ProcedureRequest {
                procedure: Some(v1::procedure_request::Procedure::SwitchOut(
                    v1::SwitchOutProcedure {},
                )),
            }),
        },
    ));
    assert_eq!(switch_out.state, v1::ApplicationState::AwaitingMatch as i32);

    let switch_in = application_result(send(
        &mut world,
        fixtures::retailer(R2),
        &v1::SubmitApplicationRequest {
            request_id: "gw-4".into(),
            supply_point_number: SMART.into(),
            effective_date: "2026-12-10".into(),
            request: Some(v1::ProcedureRequest {
                procedure: Some(v1::procedure_request::Procedure::SwitchIn(
                    v1::SwitchInProcedure {
                        stop_on_behalf_number: registered.stop_on_behalf_number.clone(),
                    },
                )),
            }),
        },
    ));
    assert_eq!(switch_in.state, v1::ApplicationState::Matched as i32);
    assert_eq!(
        switch_in.matched_with_application_number.as_deref(),
        Some(switch_out.application_number.as_str())
    );

    world.set_date("2026-12-10");
    let completed = application_result(send(
        &mut world,
        fixtures::tso(3),
        &v1::CompleteApplicationRequest {
            request_id: "tso-1".into(),
            application_number: switch_in.application_number.clone(),
            actual_date: "2026-12-10".into(),
        },
    ));
    assert_eq!(completed.state, v1::ApplicationState::Completed as i32);
    let point = &world.state.supply_points[&fixtures::point(SMART)];
    assert_eq!(point.current_retailer(), Some(fixtures::code(R2)));
}

/// A malformed request never reaches the rules: the conversion names the offending field, and
/// the error becomes INVALID_ARGUMENT.
#[test]
fn malformed_requests_stop_at_the_wire() {
    let cases: Vec<(v1::SubmitApplicationRequest, &str)> = vec![
        (
            v1::SubmitApplicationRequest {
                request_id: "gw-1".into(),
                supply_point_number: "03001".into(),
                effective_date: "2026-12-10".into(),
                request: Some(v1::ProcedureRequest {
                    procedure: Some(v1::procedure_request::Procedure::SwitchOut(
                        v1::SwitchOutProcedure {},
                    )),
                }),
            },
            "supply_point_number",
        ),
        (
            v1::SubmitApplicationRequest {
                request_id: "gw-1".into(),
                supply_point_number: SMART.into(),
                effective_date: "2026-02-30".into(),
                request: Some(v1::ProcedureRequest {
                    procedure: Some(v1::procedure_request::Procedure::SwitchOut(
                        v1::SwitchOutProcedure {},
                    )),
                }),
            },
            "effective_date",
        ),
        (
            v1::SubmitApplicationRequest {
                request_id: "gw-1".into(),
                supply_point_number: SMART.into(),
                effective_date: "2026-12-10".into(),
                request: None,
            },
            "request",
        ),
        (
            v1::SubmitApplicationRequest {
                request_id: "has spaces".into(),
                supply_point_number: SMART.into(),
                effective_date: "2026-12-10".into(),
                request: Some(v1::ProcedureRequest {
                    procedure: Some(v1::procedure_request::Procedure::SwitchOut(
                        v1::SwitchOutProcedure {},
                    )),
                }),
            },
            "request_id",
        ),
    ];
    for (request, field) in cases {
        let error = IncomingWrite::try_from(request).expect_err("a malformed request converted");
        let status = tonic::Status::from(error.clone());
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{error}");
        assert!(
            status.message().contains(field),
            "the error for {field} does not name it: {}",
            status.message()
        );
    }
}
