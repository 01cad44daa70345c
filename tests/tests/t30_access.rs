//! Who may call what, who sees what, and how every refusal reads on the wire: a five-node
//! cluster in this process, called through the generated clients with development bearer
//! tokens, asserting the exact gRPC code, the rule that starts the status message and the
//! metadata (`x-switchyard-rule`, `x-switchyard-field`, `x-switchyard-retry-after-ms`) that
//! clients branch on.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Bearer, Services, assert_status, days_ahead, participant_at};
use futures::StreamExt;
use switchyard_api::RateLimit;
use switchyard_domain::{Area, PartyId, SupplyPointImport, SupplyPointNumber};
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::admin::v1::admin_service_client::AdminServiceClient;
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_proto::v1::tso_service_client::TsoServiceClient;
use tonic::{Code, Status};

/// The nodes of the development cluster, to spread calls over both sites and the witness.
const NODES: [&str; 5] = ["tokyo-1", "tokyo-2", "osaka-1", "osaka-2", "witness-1"];
/// The operator party of the development cluster.
const OPERATOR: &str = "op:operator";
const RULE_KEY: &str = "x-switchyard-rule";
const FIELD_KEY: &str = "x-switchyard-field";
const RETRY_AFTER_KEY: &str = "x-switchyard-retry-after-ms";

/// Asserts that `result` failed with `code`, a message starting with `<rule>: ` and the rule in
/// the `x-switchyard-rule` metadata.
#[track_caller]
fn refused<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, rule: &str) -> Status {
    let status = assert_status(result, code, &format!("{rule}: "));
    assert_eq!(
        metadata(&status, RULE_KEY).as_deref(),
        Some(rule),
        "the rule in metadata of {code:?} {}",
        status.message()
    );
    status
}

/// Asserts that `result` failed as a malformed request naming `field`: INVALID_ARGUMENT, a
/// message starting with `invalid_field: <field>`, and the field in `x-switchyard-field`.
#[track_caller]
fn malformed<T: std::fmt::Debug>(result: Result<T, Status>, field: &str) -> Status {
    let status = assert_status(
        result,
        Code::InvalidArgument,
        &format!("invalid_field: {field}"),
    );
    assert_eq!(
        metadata(&status, FIELD_KEY).as_deref(),
        Some(field),
        "the field in metadata of {}",
        status.message()
    );
    status
}

fn metadata(status: &Status, key: &str) -> Option<String> {
    status
        .metadata()
        .get(key)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn customer() -> v1::CustomerIdentity {
    v1::CustomerIdentity {
        contract_number: "C-0001".into(),
        holder_name: "Yamada Taro".into(),
        supply_address: "1-1 Chiyoda, Tokyo".into(),
    }
}

fn switch_out() -> v1::ProcedureRequest {
    v1::ProcedureRequest {
        procedure: Some(v1::procedure_request::Procedure::SwitchOut(
            v1::SwitchOutProcedure {},
        )),
    }
}

fn switch_in(stop_on_behalf_number: &str) -> v1::ProcedureRequest {
    v1::ProcedureRequest {
        procedure: Some(v1::procedure_request::Procedure::SwitchIn(
            v1::SwitchInProcedure {
                stop_on_behalf_number: stop_on_behalf_number.into(),
            },
        )),
    }
}

fn submit(
    request_id: &str,
    point: &SupplyPointImport,
    effective_date: String,
    request: v1::ProcedureRequest,
) -> v1::SubmitApplicationRequest {
    v1::SubmitApplicationRequest {
        request_id: request_id.into(),
        supply_point_number: point.number.to_string(),
        effective_date,
        request: Some(request),
    }
}

fn register(request_id: &str, point: &SupplyPointImport) -> v1::RegisterStopOnBehalfRequest {
    v1::RegisterStopOnBehalfRequest {
        request_id: request_id.into(),
        supply_point_number: point.number.to_string(),
        customer: Some(customer()),
        wished_date: days_ahead(30),
    }
}

fn look_up(number: &str) -> v1::LookUpSupplyPointRequest {
    v1::LookUpSupplyPointRequest {
        supply_point_number: number.into(),
        consistency: v1::ReadConsistency::Linearizable as i32,
    }
}

fn notice(request_id: &str) -> admin::PublishNoticeRequest {
    admin::PublishNoticeRequest {
        request_id: request_id.into(),
        severity: v1::Severity::Info as i32,
        title: "Planned maintenance".into(),
        body: "A retailer gateway is down for maintenance tonight.".into(),
    }
}

/// A retailer of the sample data that is none of `not`.
fn retailer_other_than(services: &Services, not: &[&str]) -> String {
    services
        .data
        .retailers
        .iter()
        .map(|participant| participant.party.to_string())
        .find(|party| !not.contains(&party.as_str()))
        .expect("enough retailers in the sample data")
}

/// The TSO party id of `area`, and of another area.
fn tsos(area: Area) -> (String, String) {
    let other = Area::ALL
        .into_iter()
        .find(|candidate| *candidate != area)
        .expect("ten areas");
    (format!("T{area}"), format!("T{other}"))
}

/// A supply point number in `area` that the sample data does not hold.
fn unused_number(area: Area, serial: u64) -> String {
    format!("{area}99999999{:012}", 999_999_999_999 - serial)
}

/// Registers a stop-on-behalf request of `requester` on `point` at `node`; returns its number.
async fn register_stop_on_behalf(
    services: &Services,
    node: &str,
    requester: &str,
    request_id: &str,
    point: &SupplyPointImport,
) -> String {
    services
        .participant(node, Some(requester))
        .await
        .register_stop_on_behalf(register(request_id, point))
        .await
        .expect("the stop-on-behalf request is registered")
        .into_inner()
        .result
        .expect("a result")
        .stop_on_behalf_number
}

/// Submits `request` as `applicant` at `node`; returns the write's result.
async fn submit_application(
    services: &Services,
    node: &str,
    applicant: &str,
    request: v1::SubmitApplicationRequest,
) -> v1::ApplicationWriteResult {
    services
        .participant(node, Some(applicant))
        .await
        .submit_application(request)
        .await
        .expect("the application is registered")
        .into_inner()
        .result
        .expect("a result")
}

/// The numbers of every application `party` lists at `node`, in one page.
async fn listed_applications(services: &Services, node: &str, party: &str) -> Vec<String> {
    let listed = services
        .participant(node, Some(party))
        .await
        .list_applications(v1::ListApplicationsRequest {
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|status| panic!("{party} lists its applications: {status}"))
        .into_inner();
    assert!(listed.next_page_token.is_empty(), "one page holds them all");
    listed
        .applications
        .into_iter()
        .map(|application| application.application_number)
        .collect()
}

/// A linearizable look-up of `number` by `party` at `node`.
async fn supply_point_seen_by(
    services: &Services,
    node: &str,
    party: &str,
    number: &str,
) -> v1::SupplyPoint {
    services
        .participant(node, Some(party))
        .await
        .look_up_supply_point(look_up(number))
        .await
        .unwrap_or_else(|status| panic!("{party} looks up {number}: {status}"))
        .into_inner()
        .supply_point
        .expect("a supply point")
}

/// Every service refuses a caller without valid credentials with UNAUTHENTICATED and the rule
/// `unauthenticated` — no authorization header, a header that is not `Bearer <token>`, a bare
/// token, and tokens nobody was given — on a read, a write, an event stream, the TSO service
/// (work list and a client-streaming import) and the admin service, at every node. None of the
/// refused writes is applied, and the same calls with valid tokens are served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_refuses_missing_malformed_and_unknown_credentials() {
    let services = Services::start(300).await;
    let (point, supplier) = services.supplied_point(0);
    let number = point.number.to_string();
    let area = point.number.area();
    let (tso, _) = tsos(area);
    let fresh = unused_number(area, 1);
    let import = v1::ImportSupplyPointsRequest {
        request_id: "import-unauthenticated".into(),
        points: vec![v1::SupplyPointRecord::from(SupplyPointImport {
            number: SupplyPointNumber::parse(&fresh).expect("a valid number"),
            ..point.clone()
        })],
    };
    let credentials: [(&str, Option<&str>); 5] = [
        ("no authorization header", None),
        ("a Basic authorization header", Some("Basic ZGV2LUExMDAx")),
        ("a token without `Bearer `", Some("dev-op:operator")),
        ("a token of no registered party", Some("Bearer dev-A9999")),
        ("a token nobody was given", Some("Bearer let-me-in")),
    ];
    for (index, (what, header)) in credentials.iter().enumerate() {
        let node = NODES[index % NODES.len()];
        eprintln!("credentials: {what}, at {node}");
        let bearer = Bearer(header.map(|header| header.parse().expect("a valid header value")));
        let channel = services.channel(node).await;
        let mut participant =
            ParticipantServiceClient::with_interceptor(channel.clone(), bearer.clone());
        let mut tso_client = TsoServiceClient::with_interceptor(channel.clone(), bearer.clone());
        let mut admin_client = AdminServiceClient::with_interceptor(channel, bearer);

        let rule = "unauthenticated";
        let code = Code::Unauthenticated;
        refused(
            participant.look_up_supply_point(look_up(&number)).await,
            code,
            rule,
        );
        refused(
            participant
                .register_stop_on_behalf(register(&format!("unauthenticated-{index}"), &point))
                .await,
            code,
            rule,
        );
        refused(
            participant
                .watch_events(v1::WatchEventsRequest::default())
                .await,
            code,
            rule,
        );
        refused(
            tso_client
                .list_applications_needing_action(
                    v1::ListApplicationsNeedingActionRequest::default(),
                )
                .await,
            code,
            rule,
        );
        refused(
            tso_client
                .import_supply_points(futures::stream::iter(vec![import.clone()]))
                .await,
            code,
            rule,
        );
        refused(
            admin_client
                .get_policy(admin::GetPolicyRequest::default())
                .await,
            code,
            rule,
        );
        refused(
            admin_client
                .publish_notice(notice(&format!("unauthenticated-{index}")))
                .await,
            code,
            rule,
        );
    }

    // Nothing was written, and valid tokens are served.
    let seen = supply_point_seen_by(&services, "osaka-2", OPERATOR, &number).await;
    assert!(
        seen.pending_stop_on_behalf_numbers.is_empty(),
        "an unauthenticated registration was applied: {seen:?}"
    );
    refused(
        services
            .participant("tokyo-1", Some(OPERATOR))
            .await
            .look_up_supply_point(look_up(&fresh))
            .await,
        Code::NotFound,
        "supply_point_not_found",
    );
    let notices = services
        .participant("osaka-1", Some(&supplier))
        .await
        .list_notices(v1::ListNoticesRequest::default())
        .await
        .expect("notices are listed")
        .into_inner();
    assert!(
        notices.notices.is_empty(),
        "an unauthenticated notice: {notices:?}"
    );
    services
        .tso("witness-1", Some(&tso))
        .await
        .list_applications_needing_action(v1::ListApplicationsNeedingActionRequest::default())
        .await
        .expect("the TSO's work list is served");
    services
        .admin("tokyo-2", Some(OPERATOR))
        .await
        .get_policy(admin::GetPolicyRequest::default())
        .await
        .expect("the operator reads the policy");
    services.shutdown().await;
}

/// A party is refused, with PERMISSION_DENIED, what its role may not do — a retailer on every
/// method of the TSO service and the admin service tried, a TSO on the admin service, a TSO and
/// an operator asking for a stop-on-behalf inbox (rule `permission_denied`) — and what the
/// rules forbid it: judging a request addressed to another retailer, cancelling or amending
/// another retailer's application (`not_permitted`), completing or rejecting an application
/// outside the TSO's area (`outside_area`). Nothing refused changes the records, and the parties
/// entitled to act get past the same checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_rules_refuse_what_a_party_may_not_do() {
    let services = Services::start(300).await;
    let (point, old) = services.supplied_point(0);
    let new = services.other_retailer(&old);
    let third = retailer_other_than(&services, &[&old, &new]);
    let (tso, other_tso) = tsos(point.number.area());
    let denied = |result: Result<_, Status>| {
        refused(result, Code::PermissionDenied, "permission_denied");
    };

    // The retailer on the TSO service.
    let mut retailer_tso = services.tso("tokyo-1", Some(&new)).await;
    denied(
        retailer_tso
            .list_applications_needing_action(v1::ListApplicationsNeedingActionRequest::default())
            .await
            .map(|_| ()),
    );
    denied(
        retailer_tso
            .complete_application(v1::CompleteApplicationRequest {
                request_id: "denied-complete".into(),
                application_number: "AP0000000001".into(),
                actual_date: days_ahead(0),
            })
            .await
            .map(|_| ()),
    );
    denied(
        retailer_tso
            .reject_application(v1::RejectApplicationRequest {
                request_id: "denied-reject".into(),
                application_number: "AP0000000001".into(),
                reason: "The meter cannot be reached.".into(),
            })
            .await
            .map(|_| ()),
    );
    let fresh = unused_number(point.number.area(), 1);
    let import = v1::ImportSupplyPointsRequest {
        request_id: "denied-import".into(),
        points: vec![v1::SupplyPointRecord::from(SupplyPointImport {
            number: SupplyPointNumber::parse(&fresh).expect("a valid number"),
            ..point.clone()
        })],
    };
    denied(
        retailer_tso
            .import_supply_points(futures::stream::iter(vec![import]))
            .await
            .map(|_| ()),
    );

    // The retailer and a TSO on the admin service.
    let mut retailer_admin = services.admin("osaka-1", Some(&new)).await;
    denied(
        retailer_admin
            .publish_notice(notice("denied-notice"))
            .await
            .map(|_| ()),
    );
    denied(
        retailer_admin
            .save_participant(admin::SaveParticipantRequest {
                request_id: "denied-participant".into(),
                participant: Some(services.data.retailers[0].clone().into()),
            })
            .await
            .map(|_| ()),
    );
    denied(
        retailer_admin
            .get_policy(admin::GetPolicyRequest::default())
            .await
            .map(|_| ()),
    );
    denied(
        services
            .admin("witness-1", Some(&tso))
            .await
            .publish_notice(notice("denied-notice-tso"))
            .await
            .map(|_| ()),
    );

    // Only retailers have a stop-on-behalf inbox.
    for party in [tso.as_str(), OPERATOR] {
        denied(
            services
                .participant("osaka-2", Some(party))
                .await
                .list_stop_on_behalf_inbox(v1::ListStopOnBehalfInboxRequest::default())
                .await
                .map(|_| ()),
        );
    }

    // The rules: a request addressed to another retailer, another retailer's application, an
    // application outside the TSO's area.
    let stop_on_behalf = register_stop_on_behalf(&services, "tokyo-1", &new, "sob-1", &point).await;
    let judge = |request_id: &str| v1::JudgeStopOnBehalfRequest {
        request_id: request_id.into(),
        stop_on_behalf_number: stop_on_behalf.clone(),
        verdict: v1::Verdict::Ok as i32,
        ng_reasons: vec![],
    };
    refused(
        services
            .participant("osaka-1", Some(&third))
            .await
            .judge_stop_on_behalf(judge("judge-third"))
            .await,
        Code::PermissionDenied,
        "not_permitted",
    );
    let submitted = submit_application(
        &services,
        "tokyo-2",
        &old,
        submit("out-1", &point, days_ahead(30), switch_out()),
    )
    .await;
    assert_eq!(submitted.application_revision, 1);
    let application = submitted.application_number.clone();
    let mut new_client = services.participant("osaka-2", Some(&new)).await;
    refused(
        new_client
            .cancel_application(v1::CancelApplicationRequest {
                request_id: "cancel-other".into(),
                application_number: application.clone(),
                application_revision: 1,
            })
            .await,
        Code::PermissionDenied,
        "not_permitted",
    );
    refused(
        new_client
            .amend_application(v1::AmendApplicationRequest {
                request_id: "amend-other".into(),
                application_number: application.clone(),
                application_revision: 1,
                effective_date: days_ahead(31),
                request: Some(switch_out()),
            })
            .await,
        Code::PermissionDenied,
        "not_permitted",
    );
    let mut other_tso_client = services.tso("witness-1", Some(&other_tso)).await;
    refused(
        other_tso_client
            .complete_application(v1::CompleteApplicationRequest {
                request_id: "complete-outside".into(),
                application_number: application.clone(),
                actual_date: days_ahead(0),
            })
            .await,
        Code::PermissionDenied,
        "outside_area",
    );
    refused(
        other_tso_client
            .reject_application(v1::RejectApplicationRequest {
                request_id: "reject-outside".into(),
                application_number: application.clone(),
                reason: "Not ours to refuse.".into(),
            })
            .await,
        Code::PermissionDenied,
        "outside_area",
    );

    // Nothing changed.
    let mut operator = services.participant("tokyo-1", Some(OPERATOR)).await;
    let request = operator
        .get_stop_on_behalf(v1::GetStopOnBehalfRequest {
            stop_on_behalf_number: stop_on_behalf.clone(),
            consistency: 0,
        })
        .await
        .expect("the operator reads the request")
        .into_inner()
        .request
        .expect("a request");
    assert_eq!(request.state, v1::StopOnBehalfState::Registered as i32);
    let read = operator
        .get_application(v1::GetApplicationRequest {
            application_number: application.clone(),
            consistency: 0,
        })
        .await
        .expect("the operator reads the application")
        .into_inner()
        .application
        .expect("an application");
    assert_eq!(read.state, v1::ApplicationState::AwaitingMatch as i32);
    assert_eq!(read.application_revision, 1, "refused writes changed it");
    let notices = operator
        .list_notices(v1::ListNoticesRequest::default())
        .await
        .expect("notices")
        .into_inner();
    assert!(notices.notices.is_empty(), "a refused notice: {notices:?}");

    // The entitled parties get past the same checks: the addressee judges, the area's TSO is
    // refused only because the application does not wait for it yet.
    let judged = services
        .participant("osaka-1", Some(&old))
        .await
        .judge_stop_on_behalf(judge("judge-addressee"))
        .await
        .expect("the addressee judges its request")
        .into_inner();
    assert_eq!(
        judged.result.expect("a result").state,
        v1::StopOnBehalfState::Ok as i32
    );
    refused(
        services
            .tso("tokyo-2", Some(&tso))
            .await
            .complete_application(v1::CompleteApplicationRequest {
                request_id: "complete-early".into(),
                application_number: application,
                actual_date: days_ahead(0),
            })
            .await,
        Code::FailedPrecondition,
        "not_awaiting_tso",
    );
    services.shutdown().await;
}

/// Records are shown only to their parties. An application is visible to its applicant, the
/// area's TSO and operators, and reported NOT_FOUND (`application_not_found`, exactly as an
/// absent one) to anyone else; a stop-on-behalf request likewise to its requester, addressee,
/// the area's TSO and operators (`stop_on_behalf_not_found`). ListApplications gives a retailer
/// exactly its own applications, a TSO exactly its area's, an operator all — and an operator's
/// list walked with page_size 2 on a different node per page yields every application exactly
/// once. A facility look-up shows supply.retailer_code, supply.since_date and the supply history
/// only to the current retailer, the area's TSO and operators: after a completed switch the
/// former retailer sees them no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_supplier_identity_are_shown_only_to_their_parties() {
    let services = Services::start(2_000).await;
    let (flow_point, old) = services.supplied_point(0);
    let new = services.other_retailer(&old);
    let third = retailer_other_than(&services, &[&old, &new]);
    let area = flow_point.number.area();
    let (tso, other_tso) = tsos(area);

    // Switch-outs on seven other points, each by its supplier, at different nodes.
    let mut submitted: Vec<(String, String, Area)> = Vec::new();
    for skip in 1..=7 {
        let (point, supplier) = services.supplied_point(skip);
        let result = submit_application(
            &services,
            NODES[skip % NODES.len()],
            &supplier,
            submit(&format!("out-{skip}"), &point, days_ahead(30), switch_out()),
        )
        .await;
        submitted.push((result.application_number, supplier, point.number.area()));
    }
    let applicants: BTreeSet<&str> = submitted.iter().map(|(_, by, _)| by.as_str()).collect();
    let areas: BTreeSet<Area> = submitted.iter().map(|(_, _, area)| *area).collect();
    assert!(
        applicants.len() >= 2 && areas.len() >= 2,
        "the sample data gives applications of several retailers in several areas (seed?)"
    );

    // Lists: own, area's, all.
    let expected = |keep: &dyn Fn(&(String, String, Area)) -> bool| -> Vec<String> {
        let mut numbers: Vec<String> = submitted
            .iter()
            .filter(|entry| keep(entry))
            .map(|(number, _, _)| number.clone())
            .collect();
        numbers.sort();
        numbers
    };
    for (index, retailer) in services.data.retailers.iter().enumerate() {
        let retailer = retailer.party.to_string();
        assert_eq!(
            listed_applications(&services, NODES[index % NODES.len()], &retailer).await,
            expected(&|(_, by, _)| *by == retailer),
            "{retailer} lists exactly its own applications"
        );
    }
    for (index, list_area) in Area::ALL.into_iter().enumerate() {
        let party = format!("T{list_area}");
        assert_eq!(
            listed_applications(&services, NODES[index % NODES.len()], &party).await,
            expected(&|(_, _, in_area)| *in_area == list_area),
            "{party} lists exactly its area's applications"
        );
    }
    let all = expected(&|_| true);
    assert_eq!(
        listed_applications(&services, "osaka-1", OPERATOR).await,
        all,
        "an operator lists every application"
    );

    // Paging: page_size 2, each page at another node, following next_page_token.
    let mut paged: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let node = NODES[pages % NODES.len()];
        let page = services
            .participant(node, Some(OPERATOR))
            .await
            .list_applications(v1::ListApplicationsRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|status| panic!("page {pages} at {node}: {status}"))
            .into_inner();
        pages += 1;
        assert!(
            !page.applications.is_empty() && page.applications.len() <= 2,
            "page {pages} at {node} has {} applications",
            page.applications.len()
        );
        paged.extend(
            page.applications
                .into_iter()
                .map(|application| application.application_number),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(pages <= all.len(), "paging does not end: {paged:?}");
    }
    assert_eq!(
        paged, all,
        "the pages hold every application once, in order"
    );
    assert_eq!(pages, all.len().div_ceil(2));

    // One application: seen by its applicant, the area's TSO and an operator; absent to others.
    let (application, applicant, application_area) = submitted[0].clone();
    let get = |number: &str| v1::GetApplicationRequest {
        application_number: number.into(),
        consistency: 0,
    };
    let application_tso = format!("T{application_area}");
    for party in [applicant.as_str(), application_tso.as_str(), OPERATOR] {
        let seen = services
            .participant("witness-1", Some(party))
            .await
            .get_application(get(&application))
            .await
            .unwrap_or_else(|status| panic!("{party} reads {application}: {status}"))
            .into_inner()
            .application
            .expect("an application");
        assert_eq!(seen.applicant_retailer_code, applicant);
    }
    let stranger = retailer_other_than(&services, &[&applicant]);
    let (_, stranger_tso) = tsos(application_area);
    for party in [stranger.as_str(), stranger_tso.as_str()] {
        let status = refused(
            services
                .participant("tokyo-2", Some(party))
                .await
                .get_application(get(&application))
                .await,
            Code::NotFound,
            "application_not_found",
        );
        assert!(
            !status.message().contains(&applicant),
            "the refusal names the applicant: {}",
            status.message()
        );
    }
    refused(
        services
            .participant("tokyo-2", Some(&stranger))
            .await
            .get_application(get("AP0999999999"))
            .await,
        Code::NotFound,
        "application_not_found",
    );

    // A stop-on-behalf request: requester, addressee, the area's TSO and operators.
    let number = flow_point.number.to_string();
    let stop_on_behalf =
        register_stop_on_behalf(&services, "tokyo-1", &new, "sob-flow", &flow_point).await;
    let get_request = || v1::GetStopOnBehalfRequest {
        stop_on_behalf_number: stop_on_behalf.clone(),
        consistency: 0,
    };
    for party in [new.as_str(), old.as_str(), tso.as_str(), OPERATOR] {
        let seen = services
            .participant("osaka-2", Some(party))
            .await
            .get_stop_on_behalf(get_request())
            .await
            .unwrap_or_else(|status| panic!("{party} reads {stop_on_behalf}: {status}"))
            .into_inner()
            .request
            .expect("a request");
        assert_eq!(seen.requester_retailer_code, new);
        assert_eq!(seen.addressee_retailer_code, old);
    }
    for party in [third.as_str(), other_tso.as_str()] {
        refused(
            services
                .participant("osaka-1", Some(party))
                .await
                .get_stop_on_behalf(get_request())
                .await,
            Code::NotFound,
            "stop_on_behalf_not_found",
        );
    }

    // The supplier's identity before the switch: the current retailer, the TSO, operators.
    for party in [old.as_str(), tso.as_str(), OPERATOR] {
        let seen = supply_point_seen_by(&services, "osaka-2", party, &number).await;
        let supply = seen.supply.expect("a supply state");
        assert_eq!(
            supply.retailer_code.as_deref(),
            Some(old.as_str()),
            "{party}"
        );
        assert!(supply.since_date.is_some(), "{party} sees since when");
    }
    for party in [new.as_str(), third.as_str(), other_tso.as_str()] {
        let seen = supply_point_seen_by(&services, "tokyo-2", party, &number).await;
        assert!(
            seen.has_current_retailer,
            "{party} sees that someone supplies"
        );
        let supply = seen.supply.expect("a supply state");
        assert_eq!(
            (supply.retailer_code, supply.since_date),
            (None, None),
            "{party} must not see who supplies {number}"
        );
    }

    // The switch: judged OK, switch-out and switch-in matched, completed by the TSO on the date.
    let date = days_ahead(30);
    services
        .participant("osaka-1", Some(&old))
        .await
        .judge_stop_on_behalf(v1::JudgeStopOnBehalfRequest {
            request_id: "judge-flow".into(),
            stop_on_behalf_number: stop_on_behalf.clone(),
            verdict: v1::Verdict::Ok as i32,
            ng_reasons: vec![],
        })
        .await
        .expect("judged OK");
    submit_application(
        &services,
        "tokyo-2",
        &old,
        submit("out-flow", &flow_point, date.clone(), switch_out()),
    )
    .await;
    let switch_in = submit_application(
        &services,
        "osaka-2",
        &new,
        submit(
            "in-flow",
            &flow_point,
            date.clone(),
            switch_in(&stop_on_behalf),
        ),
    )
    .await;
    assert_eq!(switch_in.state, v1::ApplicationState::Matched as i32);
    for node in &services.cluster.nodes {
        node.node.set_clock_offset(31 * 86_400_000);
    }
    services
        .tso("witness-1", Some(&tso))
        .await
        .complete_application(v1::CompleteApplicationRequest {
            request_id: "complete-flow".into(),
            application_number: switch_in.application_number,
            actual_date: date,
        })
        .await
        .expect("the TSO completes the switch");

    // After it: the new retailer sees its supply and the history; the former one sees neither.
    let by_new = supply_point_seen_by(&services, "osaka-1", &new, &number).await;
    let supply = by_new.supply.clone().expect("a supply state");
    assert_eq!(supply.retailer_code.as_deref(), Some(new.as_str()));
    assert!(supply.since_date.is_some());
    assert_eq!(
        by_new
            .history
            .last()
            .map(|period| period.retailer_code.as_str()),
        Some(old.as_str()),
        "the history closes the former retailer's period: {by_new:?}"
    );
    for party in [tso.as_str(), OPERATOR] {
        let seen = supply_point_seen_by(&services, "witness-1", party, &number).await;
        assert_eq!(seen.supply, by_new.supply, "{party} sees the supply");
        assert_eq!(seen.history, by_new.history, "{party} sees the history");
    }
    for party in [old.as_str(), third.as_str(), other_tso.as_str()] {
        let seen = supply_point_seen_by(&services, "tokyo-1", party, &number).await;
        assert!(seen.has_current_retailer);
        let supply = seen.supply.clone().expect("a supply state");
        assert_eq!(
            (supply.retailer_code, supply.since_date),
            (None, None),
            "{party} must not see who supplies {number} now"
        );
        assert!(
            seen.history.is_empty(),
            "{party} must not see the supply history: {seen:?}"
        );
    }
    services.shutdown().await;
}

/// A retailer's event stream never carries an event whose audience excludes it: a third
/// retailer watches live while a whole stop-on-behalf and switching exchange runs between two
/// others (registered, judged, switch-out and switch-in matched), then an operator publishes a
/// notice. The third retailer receives the notice and nothing else, although the history
/// between holds the exchange's events; the two retailers' own streams carry them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retailer_watch_never_carries_events_of_other_parties() {
    let services = Services::start(300).await;
    let (point, old) = services.supplied_point(0);
    let new = services.other_retailer(&old);
    let third = retailer_other_than(&services, &[&old, &new]);
    let third_party = PartyId::parse(&third).expect("a party id");

    let open = |party: String, node: &'static str| {
        let services = &services;
        async move {
            // A linearizable read first: the node has applied the loading (whose participant
            // events everyone may see), so the live stream starts after it.
            services
                .participant(node, Some(&party))
                .await
                .list_notices(v1::ListNoticesRequest::default())
                .await
                .expect("a linearizable read");
            let mut stream = services
                .participant(node, Some(&party))
                .await
                .watch_events(v1::WatchEventsRequest::default())
                .await
                .unwrap_or_else(|status| panic!("{party} watches: {status}"))
                .into_inner();
            // The opening progress message says where the live stream starts.
            let opening = tokio::time::timeout(Duration::from_secs(30), stream.next())
                .await
                .expect("the opening message within 30 s")
                .expect("the stream is open")
                .expect("no error");
            assert!(opening.events.is_empty());
            (stream, opening.applied_revision)
        }
    };
    let (mut third_stream, start) = open(third.clone(), "osaka-2").await;
    let (mut new_stream, _) = open(new.clone(), "tokyo-2").await;

    let stop_on_behalf = register_stop_on_behalf(&services, "tokyo-1", &new, "sob-1", &point).await;
    services
        .participant("osaka-1", Some(&old))
        .await
        .judge_stop_on_behalf(v1::JudgeStopOnBehalfRequest {
            request_id: "judge-1".into(),
            stop_on_behalf_number: stop_on_behalf.clone(),
            verdict: v1::Verdict::Ok as i32,
            ng_reasons: vec![],
        })
        .await
        .expect("judged OK");
    let date = days_ahead(30);
    submit_application(
        &services,
        "witness-1",
        &old,
        submit("out-1", &point, date.clone(), switch_out()),
    )
    .await;
    let switch_in = submit_application(
        &services,
        "osaka-2",
        &new,
        submit("in-1", &point, date, switch_in(&stop_on_behalf)),
    )
    .await;
    assert_eq!(switch_in.state, v1::ApplicationState::Matched as i32);
    let published = services
        .admin("tokyo-1", Some(OPERATOR))
        .await
        .publish_notice(notice("notice-1"))
        .await
        .expect("a notice is published")
        .into_inner();

    // Read the third retailer's stream until the notice.
    let mut received: Vec<v1::Event> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !received.iter().any(|event| {
        matches!(&event.kind, Some(v1::event::Kind::NoticePublished(delivered))
            if delivered.notice_number == published.notice_number)
    }) {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, third_stream.next())
            .await
            .unwrap_or_else(|_| panic!("the notice reached {third} within 30 s: {received:?}"))
            .expect("the stream is open")
            .expect("no error");
        received.extend(message.events);
    }
    for event in &received {
        let audience = event.audience.clone().expect("an audience");
        assert!(
            audience.everyone || audience.party_ids.contains(&third),
            "{third} received an event not meant for it: {event:?}"
        );
    }
    assert_eq!(
        received.len(),
        1,
        "{third} receives only the notice: {received:?}"
    );

    // The history between holds the exchange, meant for others only.
    let history = services.cluster.nodes[services.index("osaka-2")]
        .node
        .store()
        .state_machine
        .events_from(start + 1, 10_000)
        .expect("the event history");
    let hidden = history
        .iter()
        .filter(|event| event.revision < published.revision)
        .filter(|event| !event.event.audience.includes(&third_party))
        .count();
    assert!(
        hidden >= 4,
        "the exchange wrote events the third retailer may not see: {history:?}"
    );

    // The requester's own stream carries them.
    let mut own = 0;
    while own < 4 {
        let message = tokio::time::timeout(Duration::from_secs(30), new_stream.next())
            .await
            .expect("the requester's events within 30 s")
            .expect("the stream is open")
            .expect("no error");
        own += message
            .events
            .iter()
            .filter(|event| event.revision < published.revision)
            .count();
    }
    services.shutdown().await;
}

/// Malformed requests are INVALID_ARGUMENT with the rule `invalid_field`, naming the dotted path
/// of the offending field in the message and in `x-switchyard-field`, for reads and writes of
/// the participant and TSO services: a supply point number that is not 22 digits or is missing,
/// a missing customer or customer name, an impossible date, an unspecified verdict, a bad
/// stop-on-behalf number inside a procedure, page_size 501 (500 is served), a page_token that is
/// no position, effective_until_date before effective_from_date, an unknown participant kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_invalid_arguments_naming_the_field() {
    let services = Services::start(300).await;
    let (point, supplier) = services.supplied_point(0);
    let requester = services.other_retailer(&supplier);
    let (tso, _) = tsos(point.number.area());
    let mut client = services.participant("osaka-1", Some(&requester)).await;

    malformed(
        client.look_up_supply_point(look_up("12345")).await,
        "supply_point_number",
    );
    malformed(
        client.look_up_supply_point(look_up("")).await,
        "supply_point_number",
    );
    malformed(
        client
            .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
                customer: None,
                ..register("malformed-1", &point)
            })
            .await,
        "customer",
    );
    malformed(
        client
            .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
                customer: Some(v1::CustomerIdentity {
                    holder_name: String::new(),
                    ..customer()
                }),
                ..register("malformed-2", &point)
            })
            .await,
        "customer.holder_name",
    );
    malformed(
        client
            .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
                wished_date: "2026-02-30".into(),
                ..register("malformed-3", &point)
            })
            .await,
        "wished_date",
    );
    malformed(
        client
            .judge_stop_on_behalf(v1::JudgeStopOnBehalfRequest {
                request_id: "malformed-4".into(),
                stop_on_behalf_number: "SB0000000001".into(),
                verdict: 0,
                ng_reasons: vec![],
            })
            .await,
        "verdict",
    );
    malformed(
        client
            .submit_application(submit(
                "malformed-5",
                &point,
                days_ahead(30),
                switch_in("SB12"),
            ))
            .await,
        "request.switch_in.stop_on_behalf_number",
    );
    let list = |request: v1::ListApplicationsRequest| {
        let mut client = client.clone();
        async move { client.list_applications(request).await }
    };
    malformed(
        list(v1::ListApplicationsRequest {
            page_size: 501,
            ..Default::default()
        })
        .await,
        "page_size",
    );
    list(v1::ListApplicationsRequest {
        page_size: 500,
        ..Default::default()
    })
    .await
    .expect("page_size 500 is allowed");
    malformed(
        list(v1::ListApplicationsRequest {
            page_token: "not-a-position".into(),
            ..Default::default()
        })
        .await,
        "page_token",
    );
    malformed(
        list(v1::ListApplicationsRequest {
            effective_from_date: days_ahead(10),
            effective_until_date: days_ahead(9),
            ..Default::default()
        })
        .await,
        "effective_until_date",
    );
    malformed(
        services
            .tso("witness-1", Some(&tso))
            .await
            .list_applications_needing_action(v1::ListApplicationsNeedingActionRequest {
                page_token: "2026-13-01/AP0000000001".into(),
                ..Default::default()
            })
            .await,
        "page_token",
    );
    let status = malformed(
        client
            .list_participants(v1::ListParticipantsRequest {
                kind: 99,
                ..Default::default()
            })
            .await,
        "kind",
    );
    assert!(status.message().contains("99"), "{}", status.message());
    services.shutdown().await;
}

/// Business refusals map to their codes with the rule as the message's prefix and in metadata:
/// NOT_FOUND for an unknown supply point (look-up and write), application and stop-on-behalf
/// number (read and write); ALREADY_EXISTS for a request id reused with other content
/// (`request_id_reused`) and a second pending request (`stop_on_behalf_already_pending`);
/// ABORTED for an amend or cancel quoting an old application revision (`stale_revision`);
/// FAILED_PRECONDITION naming the rule for a switch-in backed by a request not judged OK
/// (`stop_on_behalf_not_usable`), an effective date inside the lead time (`lead_time_not_met`)
/// or beyond the horizon (`effective_date_too_far`), a switch-out by a retailer that does not
/// supply the point (`not_current_retailer`). The refused writes leave no application behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_refusals_map_to_their_codes_and_rules() {
    let services = Services::start(300).await;
    let (amended, amender) = services.supplied_point(0);
    let (judged, addressee) = services.supplied_point(1);
    let (dated, dater) = services.supplied_point(2);
    let requester = services.other_retailer(&addressee);
    let outsider = services.other_retailer(&dater);

    // NOT_FOUND.
    let unknown_point = unused_number(amended.number.area(), 1);
    let mut operator = services.participant("tokyo-1", Some(OPERATOR)).await;
    refused(
        operator.look_up_supply_point(look_up(&unknown_point)).await,
        Code::NotFound,
        "supply_point_not_found",
    );
    refused(
        operator
            .get_application(v1::GetApplicationRequest {
                application_number: "AP0999999999".into(),
                consistency: 0,
            })
            .await,
        Code::NotFound,
        "application_not_found",
    );
    refused(
        operator
            .get_stop_on_behalf(v1::GetStopOnBehalfRequest {
                stop_on_behalf_number: "SB0999999999".into(),
                consistency: 0,
            })
            .await,
        Code::NotFound,
        "stop_on_behalf_not_found",
    );
    let mut requester_client = services.participant("osaka-2", Some(&requester)).await;
    refused(
        requester_client
            .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
                supply_point_number: unknown_point.clone(),
                ..register("unknown-point", &judged)
            })
            .await,
        Code::NotFound,
        "supply_point_not_found",
    );
    refused(
        requester_client
            .cancel_application(v1::CancelApplicationRequest {
                request_id: "unknown-application".into(),
                application_number: "AP0999999999".into(),
                application_revision: 1,
            })
            .await,
        Code::NotFound,
        "application_not_found",
    );
    refused(
        requester_client
            .submit_application(submit(
                "unknown-sob",
                &judged,
                days_ahead(30),
                switch_in("SB0999999999"),
            ))
            .await,
        Code::NotFound,
        "stop_on_behalf_not_found",
    );

    // ALREADY_EXISTS.
    let stop_on_behalf =
        register_stop_on_behalf(&services, "tokyo-2", &requester, "sob-1", &judged).await;
    refused(
        requester_client
            .register_stop_on_behalf(register("sob-2", &judged))
            .await,
        Code::AlreadyExists,
        "stop_on_behalf_already_pending",
    );
    refused(
        requester_client
            .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
                wished_date: days_ahead(40),
                ..register("sob-1", &judged)
            })
            .await,
        Code::AlreadyExists,
        "request_id_reused",
    );

    // FAILED_PRECONDITION: a switch-in backed by a request still waiting for its judgement.
    let status = refused(
        requester_client
            .submit_application(submit(
                "in-early",
                &judged,
                days_ahead(30),
                switch_in(&stop_on_behalf),
            ))
            .await,
        Code::FailedPrecondition,
        "stop_on_behalf_not_usable",
    );
    assert!(status.message().contains(&stop_on_behalf));

    // FAILED_PRECONDITION: dates and suppliers.
    let mut dater_client = services.participant("witness-1", Some(&dater)).await;
    refused(
        dater_client
            .submit_application(submit("out-today", &dated, days_ahead(0), switch_out()))
            .await,
        Code::FailedPrecondition,
        "lead_time_not_met",
    );
    refused(
        dater_client
            .submit_application(submit("out-far", &dated, days_ahead(400), switch_out()))
            .await,
        Code::FailedPrecondition,
        "effective_date_too_far",
    );
    refused(
        services
            .participant("osaka-1", Some(&outsider))
            .await
            .submit_application(submit("out-outsider", &dated, days_ahead(30), switch_out()))
            .await,
        Code::FailedPrecondition,
        "not_current_retailer",
    );

    // ABORTED: an amend and a cancel quoting revision 1 after an amend made it 2.
    let first = submit_application(
        &services,
        "tokyo-1",
        &amender,
        submit("out-1", &amended, days_ahead(30), switch_out()),
    )
    .await;
    let mut amender_client = services.participant("osaka-2", Some(&amender)).await;
    let amend = |request_id: &str, revision: u32, days: i32| v1::AmendApplicationRequest {
        request_id: request_id.into(),
        application_number: first.application_number.clone(),
        application_revision: revision,
        effective_date: days_ahead(days),
        request: Some(switch_out()),
    };
    let second = amender_client
        .amend_application(amend("amend-1", 1, 31))
        .await
        .expect("the first amend")
        .into_inner()
        .result
        .expect("a result");
    assert_eq!(second.application_revision, 2);
    let status = refused(
        amender_client
            .amend_application(amend("amend-2", 1, 32))
            .await,
        Code::Aborted,
        "stale_revision",
    );
    assert!(
        status.message().contains(&first.application_number),
        "{}",
        status.message()
    );
    refused(
        amender_client
            .cancel_application(v1::CancelApplicationRequest {
                request_id: "cancel-1".into(),
                application_number: first.application_number.clone(),
                application_revision: 1,
            })
            .await,
        Code::Aborted,
        "stale_revision",
    );
    // ALREADY_EXISTS again: the submit's request id with another point.
    refused(
        amender_client
            .submit_application(submit("out-1", &judged, days_ahead(30), switch_out()))
            .await,
        Code::AlreadyExists,
        "request_id_reused",
    );

    // Only the one submitted application exists, at revision 2.
    let listed = operator
        .list_applications(v1::ListApplicationsRequest::default())
        .await
        .expect("the operator lists")
        .into_inner()
        .applications;
    assert_eq!(
        listed.len(),
        1,
        "refused writes left applications: {listed:?}"
    );
    assert_eq!(listed[0].application_number, first.application_number);
    assert_eq!(listed[0].application_revision, 2);
    assert_eq!(listed[0].effective_date, days_ahead(31));
    services.shutdown().await;
}

/// A party over its request rate is refused before any work with RESOURCE_EXHAUSTED, rule
/// `rate_limited` and `x-switchyard-retry-after-ms`, while another party on the same node is
/// served at the same time; waiting as told lets it in again. A second public API on one node
/// of the cluster is given 2 requests/s with bursts of 20, and 100 look-ups are sent at once:
/// the burst is served, no more than the refill allows, and the rest are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_over_its_rate_is_refused_while_others_are_served() {
    let services = Services::start(300).await;
    let api = services
        .extra_api("osaka-1", |config| {
            config.rate_limit = RateLimit {
                per_second: 2.0,
                burst: 20.0,
            };
        })
        .await;
    let address = api.local_address();
    let (point, busy) = services.supplied_point(0);
    let calm = services.other_retailer(&busy);
    let number = point.number.to_string();
    let client = participant_at(address, Some(&busy)).await;

    let started = Instant::now();
    let calls = (0..100).map(|_| {
        let mut client = client.clone();
        let request = look_up(&number);
        async move { client.look_up_supply_point(request).await }
    });
    let results = futures::future::join_all(calls).await;
    let elapsed = started.elapsed();
    let mut served = 0;
    let mut limited = 0;
    for result in results {
        match result {
            Ok(_) => served += 1,
            Err(status) => {
                let status = refused(
                    Err::<(), _>(status),
                    Code::ResourceExhausted,
                    "rate_limited",
                );
                let wait: u64 = metadata(&status, RETRY_AFTER_KEY)
                    .expect("a retry-after")
                    .parse()
                    .expect("milliseconds");
                assert!(
                    wait <= 500,
                    "at 2 requests/s a token comes within 500 ms: {wait}"
                );
                limited += 1;
            }
        }
    }
    let allowed = 20.0 + elapsed.as_secs_f64() * 2.0 + 1.0;
    assert!(
        served >= 20 && f64::from(served) <= allowed,
        "the burst of 20 is served and no more than the refill: {served} in {elapsed:?}"
    );
    assert!(limited > 0, "100 requests at once exceed a burst of 20");

    // Another party at the same node and moment is served.
    let other = participant_at(address, Some(&calm))
        .await
        .look_up_supply_point(look_up(&number))
        .await;
    assert!(other.is_ok(), "{calm} is not limited by {busy}: {other:?}");

    // The busy party gets in again once it waits as told.
    let mut client = client.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match client.look_up_supply_point(look_up(&number)).await {
            Ok(_) => break,
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(Instant::now() < deadline, "still limited after 10 s");
                let wait: u64 = metadata(&status, RETRY_AFTER_KEY)
                    .and_then(|text| text.parse().ok())
                    .expect("a retry-after");
                tokio::time::sleep(Duration::from_millis(wait.max(1))).await;
            }
            Err(status) => panic!("unexpected refusal: {status:?}"),
        }
    }
    api.shutdown().await;
    services.shutdown().await;
}

/// Every refusal carries its reason in `x-switchyard-rule`, as docs/ERRORS.md promises for
/// every error, so that clients branch on metadata alone: a malformed supply point number and
/// page_size (`invalid_field`, from the wire conversions) and an admin operation this release
/// does not serve (`not_implemented`). Each status's message prefix is compared with its
/// metadata; every status lacking it is listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_carries_its_rule_in_metadata() {
    let services = Services::start(100).await;
    let (point, retailer) = services.supplied_point(0);
    let mut client = services.participant("tokyo-2", Some(&retailer)).await;
    let statuses = vec![
        (
            "a malformed supply point number",
            client
                .look_up_supply_point(look_up("12345"))
                .await
                .expect_err("refused"),
        ),
        (
            "page_size 501",
            client
                .list_applications(v1::ListApplicationsRequest {
                    page_size: 501,
                    ..Default::default()
                })
                .await
                .expect_err("refused"),
        ),
        (
            "a bad page token (the service's own check)",
            client
                .list_applications(v1::ListApplicationsRequest {
                    page_token: "x".into(),
                    ..Default::default()
                })
                .await
                .expect_err("refused"),
        ),
        (
            "an unknown supply point",
            client
                .look_up_supply_point(look_up(&unused_number(point.number.area(), 1)))
                .await
                .expect_err("refused"),
        ),
        (
            "ForceDisasterCutover (offline only)",
            services
                .admin("osaka-1", Some(OPERATOR))
                .await
                .force_disaster_cutover(admin::ForceDisasterCutoverRequest {
                    request_id: "cutover-1".into(),
                    surviving_site: admin::Site::Osaka as i32,
                    confirm_possible_data_loss: true,
                    expected_cluster_epoch: 0,
                })
                .await
                .expect_err("not served over the API"),
        ),
    ];
    let mut lacking = Vec::new();
    for (what, status) in &statuses {
        let prefix = status
            .message()
            .split_once(": ")
            .map(|(rule, _)| rule.to_owned());
        assert!(
            prefix.as_ref().is_some_and(|rule| !rule.contains(' ')),
            "{what}: the message starts with a rule: {}",
            status.message()
        );
        if metadata(status, RULE_KEY) != prefix {
            lacking.push(format!(
                "{what} ({:?} {:?}): x-switchyard-rule is {:?}",
                status.code(),
                status.message(),
                metadata(status, RULE_KEY)
            ));
        }
    }
    assert!(
        lacking.is_empty(),
        "statuses without their rule in metadata:\n{}",
        lacking.join("\n")
    );
    services.shutdown().await;
}

/// A field refused by a rule reads like a malformed field: a stop-on-behalf request wished for
/// yesterday is INVALID_ARGUMENT `invalid_field`, and — as types.proto and docs/ERRORS.md say
/// of every `invalid_field` — the message names the field right after the rule and
/// `x-switchyard-field` carries it (`wished_date`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_refused_by_a_rule_is_named_like_a_malformed_one() {
    let services = Services::start(100).await;
    let (point, supplier) = services.supplied_point(0);
    let requester = services.other_retailer(&supplier);
    let refused_write = services
        .participant("osaka-2", Some(&requester))
        .await
        .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
            wished_date: days_ahead(-1),
            ..register("yesterday", &point)
        })
        .await;
    let status = refused(refused_write, Code::InvalidArgument, "invalid_field");
    assert!(
        status.message().starts_with("invalid_field: wished_date"),
        "the message names the field after the rule: {}",
        status.message()
    );
    assert_eq!(
        metadata(&status, FIELD_KEY).as_deref(),
        Some("wished_date"),
        "the field in metadata: {status:?}"
    );
    services.shutdown().await;
}

/// A refusal does not reveal what the records it protects hide. A facility look-up lists the
/// applications in progress on a point without their applicants, and hides who supplies it;
/// a stranger that takes such an application number and tries to cancel it, or guesses a
/// stop-on-behalf number and tries to judge it, is refused (PERMISSION_DENIED `not_permitted`)
/// without the refusal naming the applicant or the addressee — the point's current supplier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_do_not_reveal_the_parties_a_stranger_may_not_see() {
    let services = Services::start(100).await;
    let (point, supplier) = services.supplied_point(0);
    let requester = services.other_retailer(&supplier);
    let stranger = retailer_other_than(&services, &[&supplier, &requester]);
    let number = point.number.to_string();
    let stop_on_behalf =
        register_stop_on_behalf(&services, "tokyo-1", &requester, "sob-1", &point).await;
    submit_application(
        &services,
        "osaka-1",
        &supplier,
        submit("out-1", &point, days_ahead(30), switch_out()),
    )
    .await;

    let mut client = services.participant("osaka-2", Some(&stranger)).await;
    let seen = client
        .look_up_supply_point(look_up(&number))
        .await
        .expect("a look-up")
        .into_inner();
    let in_progress = seen
        .applications_in_progress
        .first()
        .expect("the look-up shows the switch-out in progress")
        .application_number
        .clone();
    let hidden = seen.supply_point.expect("a supply point").supply;
    assert_eq!(
        hidden.and_then(|supply| supply.retailer_code),
        None,
        "the look-up hides the supplier"
    );

    let cancel = refused(
        client
            .cancel_application(v1::CancelApplicationRequest {
                request_id: "cancel-stranger".into(),
                application_number: in_progress,
                application_revision: 1,
            })
            .await,
        Code::PermissionDenied,
        "not_permitted",
    );
    let judge = refused(
        client
            .judge_stop_on_behalf(v1::JudgeStopOnBehalfRequest {
                request_id: "judge-stranger".into(),
                stop_on_behalf_number: stop_on_behalf,
                verdict: v1::Verdict::Ok as i32,
                ng_reasons: vec![],
            })
            .await,
        Code::PermissionDenied,
        "not_permitted",
    );
    for status in [cancel, judge] {
        assert!(
            !status.message().contains(&supplier) && !status.message().contains(&requester),
            "the refusal names a party {stranger} may not see ({supplier} supplies the point, \
             {requester} asked to switch it): {}",
            status.message()
        );
    }
    services.shutdown().await;
}
