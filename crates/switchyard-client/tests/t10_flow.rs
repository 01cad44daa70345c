//! The client against a real five-node cluster over real sockets: the whole switching flow,
//! refusals that come back at once with their rule, and writes retried with their request id
//! after their answer was lost.

mod common;

use std::time::Duration;

use common::{AnswerLosingProxy, Cluster, days_ahead};
use switchyard_client::{
    Authentication, Client, ClientConfig, Code, EndpointConfig, ErrorKind, v1,
};

fn customer() -> v1::CustomerIdentity {
    v1::CustomerIdentity {
        contract_number: "C-0001".into(),
        holder_name: "Yamada Taro".into(),
        supply_address: "1-1 Chiyoda, Tokyo".into(),
    }
}

fn procedure(procedure: v1::procedure_request::Procedure) -> Option<v1::ProcedureRequest> {
    Some(v1::ProcedureRequest {
        procedure: Some(procedure),
    })
}

/// The whole switching flow through three clients (the new retailer, the current retailer,
/// the area's TSO), each given every endpoint at both sites: a stop-on-behalf request is
/// registered, found in the current retailer's inbox and judged OK, the switch-out and the
/// switch-in are submitted and matched, the TSO finds the pair in its work list and completes
/// it, and a linearizable look-up shows the new retailer supplying. Every write carries a
/// generated request id and none is a replay; reads see the writes before them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_switching_flow_through_the_client() {
    let cluster = Cluster::start(300).await;
    let (point, old) = cluster.supplied_point(0);
    let new = cluster.other_retailer(&old);
    let number = point.number.to_string();
    let tso = format!("T{}", point.number.area());
    let date = days_ahead(30);
    let new_client = cluster.client(&new).await;
    let old_client = cluster.client(&old).await;
    let tso_client = cluster.client(&tso).await;

    let looked_up = new_client
        .look_up_supply_point(v1::LookUpSupplyPointRequest {
            supply_point_number: number.clone(),
            ..Default::default()
        })
        .await
        .expect("any retailer may look up a point");
    assert_eq!(
        looked_up
            .supply_point
            .as_ref()
            .map(|point| point.supply_point_number.as_str()),
        Some(number.as_str())
    );

    let registered = new_client
        .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
            supply_point_number: number.clone(),
            customer: Some(customer()),
            wished_date: date.clone(),
            ..Default::default()
        })
        .await
        .expect("the stop-on-behalf request is registered");
    assert!(!registered.replayed, "a first write is not a replay");
    assert!(
        registered.request_id.starts_with("test-"),
        "{}",
        registered.request_id
    );
    let sob = registered
        .result
        .clone()
        .expect("a result")
        .stop_on_behalf_number;

    let inbox = old_client
        .list_stop_on_behalf_inbox(v1::ListStopOnBehalfInboxRequest::default())
        .await
        .expect("the current retailer's inbox");
    assert!(inbox.served_at_revision >= registered.revision);
    assert!(
        inbox
            .requests
            .iter()
            .any(|request| request.stop_on_behalf_number == sob),
        "the inbox shows the request just registered: {inbox:?}"
    );
    let judged = old_client
        .judge_stop_on_behalf(v1::JudgeStopOnBehalfRequest {
            stop_on_behalf_number: sob.clone(),
            verdict: v1::Verdict::Ok as i32,
            ..Default::default()
        })
        .await
        .expect("judged OK");
    assert_ne!(judged.request_id, registered.request_id);
    assert_eq!(
        judged.result.as_ref().unwrap().state,
        v1::StopOnBehalfState::Ok as i32
    );
    let fetched = new_client
        .get_stop_on_behalf(v1::GetStopOnBehalfRequest {
            stop_on_behalf_number: sob.clone(),
            ..Default::default()
        })
        .await
        .expect("the requester sees its request");
    assert_eq!(
        fetched.request.unwrap().state,
        v1::StopOnBehalfState::Ok as i32
    );

    let switch_out = old_client
        .submit_application(v1::SubmitApplicationRequest {
            supply_point_number: number.clone(),
            effective_date: date.clone(),
            request: procedure(v1::procedure_request::Procedure::SwitchOut(
                v1::SwitchOutProcedure {},
            )),
            ..Default::default()
        })
        .await
        .expect("the switch-out is registered")
        .into_inner()
        .result
        .unwrap();
    assert_eq!(switch_out.state, v1::ApplicationState::AwaitingMatch as i32);
    let switch_in = new_client
        .submit_application(v1::SubmitApplicationRequest {
            supply_point_number: number.clone(),
            effective_date: date.clone(),
            request: procedure(v1::procedure_request::Procedure::SwitchIn(
                v1::SwitchInProcedure {
                    stop_on_behalf_number: sob.clone(),
                },
            )),
            ..Default::default()
        })
        .await
        .expect("the switch-in is registered")
        .into_inner()
        .result
        .unwrap();
    assert_eq!(switch_in.state, v1::ApplicationState::Matched as i32);
    assert_eq!(
        switch_in.matched_with_application_number.as_deref(),
        Some(switch_out.application_number.as_str())
    );
    let mine = new_client
        .list_applications(v1::ListApplicationsRequest {
            supply_point_number: number.clone(),
            ..Default::default()
        })
        .await
        .expect("the new retailer's applications");
    assert_eq!(
        mine.applications
            .iter()
            .map(|application| application.application_number.as_str())
            .collect::<Vec<_>>(),
        [switch_in.application_number.as_str()],
        "a retailer lists its own applications only"
    );

    // The work happens on the effective date: move every node's clock past it.
    for node in &cluster.cluster.nodes {
        node.node.set_clock_offset(31 * 86_400_000);
    }
    let work = tso_client
        .list_applications_needing_action(v1::ListApplicationsNeedingActionRequest::default())
        .await
        .expect("the TSO's work list");
    let listed: Vec<&str> = work
        .applications
        .iter()
        .map(|application| application.application_number.as_str())
        .collect();
    assert!(
        listed.contains(&switch_in.application_number.as_str())
            && listed.contains(&switch_out.application_number.as_str()),
        "the matched pair waits for the TSO: {listed:?}"
    );
    let completed = tso_client
        .complete_application(v1::CompleteApplicationRequest {
            application_number: switch_in.application_number.clone(),
            actual_date: date.clone(),
            ..Default::default()
        })
        .await
        .expect("the TSO completes the pair");
    assert_eq!(
        completed.result.as_ref().unwrap().state,
        v1::ApplicationState::Completed as i32
    );
    let now_supplied = new_client
        .look_up_supply_point(v1::LookUpSupplyPointRequest {
            supply_point_number: number.clone(),
            consistency: v1::ReadConsistency::Linearizable as i32,
        })
        .await
        .expect("a linearizable look-up");
    assert!(now_supplied.served_at_revision >= completed.revision);
    assert_eq!(
        now_supplied
            .supply_point
            .unwrap()
            .supply
            .expect("the current retailer sees its supply")
            .retailer_code
            .as_deref(),
        Some(new.as_str())
    );
    let application = old_client
        .get_application(v1::GetApplicationRequest {
            application_number: switch_out.application_number.clone(),
            ..Default::default()
        })
        .await
        .expect("the applicant sees its application")
        .application
        .unwrap();
    assert_eq!(application.state, v1::ApplicationState::Completed as i32);
    let participants = old_client
        .list_participants(v1::ListParticipantsRequest::default())
        .await
        .expect("the directory");
    assert!(
        participants
            .participants
            .iter()
            .any(|participant| participant.party_id == new)
    );
    old_client
        .list_notices(v1::ListNoticesRequest::default())
        .await
        .expect("the notices");
    cluster.shutdown().await;
}

/// Refusals a retry cannot cure come back after one attempt, with their code, rule and field:
/// a malformed date (INVALID_ARGUMENT, field `wished_date`), an effective date inside the lead
/// time (FAILED_PRECONDITION, `lead_time_not_met`), a request id reused for other content
/// (ALREADY_EXISTS, `request_id_reused`), an unknown application (NOT_FOUND), an unknown token
/// (UNAUTHENTICATED). A rate limit (RESOURCE_EXHAUSTED) is waited out as the node advises. A call with no endpoint reachable stops at its budget and says how many
/// attempts on which endpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_back_at_once_with_their_rule() {
    let cluster = Cluster::start(300).await;
    let (point, current) = cluster.supplied_point(1);
    let number = point.number.to_string();
    let other = cluster.other_retailer(&current);
    let client = cluster.client(&other).await;
    let at_once = Duration::from_secs(2);

    let malformed = client
        .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
            supply_point_number: number.clone(),
            customer: Some(customer()),
            wished_date: "someday".into(),
            ..Default::default()
        })
        .await
        .expect_err("a malformed date is refused");
    assert_eq!(malformed.kind(), &ErrorKind::Refused, "{malformed}");
    assert_eq!(malformed.code(), Code::InvalidArgument, "{malformed}");
    assert_eq!(malformed.rule(), Some("invalid_field"));
    assert_eq!(malformed.field(), Some("wished_date"));
    assert_eq!(malformed.attempts(), 1, "{malformed}");
    assert!(malformed.elapsed() < at_once, "{:?}", malformed.elapsed());

    let current_client = cluster.client(&current).await;
    let too_soon = current_client
        .submit_application(v1::SubmitApplicationRequest {
            supply_point_number: number.clone(),
            effective_date: days_ahead(0),
            request: procedure(v1::procedure_request::Procedure::SwitchOut(
                v1::SwitchOutProcedure {},
            )),
            ..Default::default()
        })
        .await
        .expect_err("an effective date inside the lead time is refused");
    assert_eq!(too_soon.code(), Code::FailedPrecondition, "{too_soon}");
    assert_eq!(too_soon.rule(), Some("lead_time_not_met"), "{too_soon}");
    assert!(too_soon.message().starts_with("lead_time_not_met: "));
    assert_eq!(too_soon.attempts(), 1);
    assert!(too_soon.elapsed() < at_once, "{:?}", too_soon.elapsed());

    let request_id = client.next_request_id();
    client
        .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
            request_id: request_id.clone(),
            supply_point_number: number.clone(),
            customer: Some(customer()),
            wished_date: days_ahead(30),
        })
        .await
        .expect("registered");
    let reused = client
        .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
            request_id,
            supply_point_number: number.clone(),
            customer: Some(customer()),
            wished_date: days_ahead(31),
        })
        .await
        .expect_err("the same id for other content is refused");
    assert_eq!(reused.code(), Code::AlreadyExists, "{reused}");
    assert_eq!(reused.rule(), Some("request_id_reused"));
    assert_eq!(reused.attempts(), 1);

    let missing = client
        .get_application(v1::GetApplicationRequest {
            application_number: "AP9999999999".into(),
            ..Default::default()
        })
        .await
        .expect_err("no such application");
    assert_eq!(missing.code(), Code::NotFound, "{missing}");
    assert_eq!(missing.rule(), Some("application_not_found"));
    assert_eq!(missing.attempts(), 1);

    let stranger = Client::connect(cluster.config("A9999"))
        .await
        .unwrap()
        .list_notices(v1::ListNoticesRequest::default())
        .await
        .expect_err("an unknown token is refused");
    assert_eq!(stranger.code(), Code::Unauthenticated, "{stranger}");
    assert_eq!(stranger.rule(), Some("unauthenticated"));
    assert_eq!(stranger.attempts(), 1);

    // A public API on tokyo-2 that lets each party through once per 200 ms: back-to-back
    // reads are refused RESOURCE_EXHAUSTED with an advised wait, which the client honours
    // before trying again, so every call succeeds, later.
    let limited_api = switchyard_api::start(
        std::sync::Arc::clone(&cluster.node("tokyo-2").node),
        {
            let mut config = switchyard_api::ApiConfig::development(
                cluster
                    .cluster
                    .tokens
                    .iter()
                    .map(|(party, token)| (token.clone(), party.clone()))
                    .collect(),
            );
            config.rate_limit = switchyard_api::RateLimit {
                per_second: 5.0,
                burst: 1.0,
            };
            config
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("a rate-limited public API starts");
    let mut limited_config = cluster.config(&other);
    limited_config.endpoints = vec![EndpointConfig::new(format!(
        "http://{}",
        limited_api.local_address()
    ))];
    let limited = Client::connect(limited_config).await.unwrap();
    let started = std::time::Instant::now();
    for _ in 0..4 {
        limited
            .list_notices(v1::ListNoticesRequest::default())
            .await
            .expect("a rate-limited read succeeds after the advised wait");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "three of the four reads waited for the bucket: {:?}",
        started.elapsed()
    );
    limited_api.shutdown().await;

    // Nothing listens on port 1 of the loopback address: every attempt is refused at once, and
    // the call stops at its attempt budget.
    let mut unreachable = ClientConfig::new(["http://127.0.0.1:1", "http://127.0.0.1:1/"])
        .with_authentication(Authentication::dev_token(&other));
    unreachable.retry.attempts_max = 4;
    unreachable.retry.backoff_initial = Duration::from_millis(5);
    unreachable.retry.backoff_max = Duration::from_millis(20);
    let exhausted = Client::connect(unreachable)
        .await
        .unwrap()
        .list_notices(v1::ListNoticesRequest::default())
        .await
        .expect_err("nothing answers");
    assert_eq!(
        exhausted.kind(),
        &ErrorKind::RetriesExhausted,
        "{exhausted}"
    );
    assert_eq!(exhausted.code(), Code::Unavailable, "{exhausted}");
    assert_eq!(exhausted.attempts(), 4);
    assert_eq!(
        exhausted.endpoints(),
        ["http://127.0.0.1:1", "http://127.0.0.1:1/"]
    );
    let text = exhausted.to_string();
    assert!(
        text.starts_with("gave up after 4 attempts in ")
            && text.contains("on http://127.0.0.1:1, http://127.0.0.1:1/; last: UNAVAILABLE"),
        "{text}"
    );
    cluster.shutdown().await;
}

/// A write whose first answer is lost on the way back (a proxy in front of the first endpoint
/// cuts the connection instead of forwarding the answer, after the write was applied) is
/// retried by the client with the same request id at the next endpoint and answered from its
/// first answer, marked replayed: one application exists. Sending the same request id again
/// later, as a gateway does after a crash, returns the same answer, replayed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_was_lost_is_applied_once() {
    let cluster = Cluster::start(300).await;
    let (point, retailer) = cluster.supplied_point(2);
    let number = point.number.to_string();
    let proxy = AnswerLosingProxy::start(cluster.node("tokyo-1").api.local_address(), 1).await;
    let mut config = cluster.config(&retailer);
    config
        .endpoints
        .insert(0, EndpointConfig::new(proxy.url()).at_site("tokyo"));
    let client = Client::connect(config).await.unwrap();

    let request = v1::SubmitApplicationRequest {
        supply_point_number: number.clone(),
        effective_date: days_ahead(30),
        request: procedure(v1::procedure_request::Procedure::SwitchOut(
            v1::SwitchOutProcedure {},
        )),
        ..Default::default()
    };
    let written = client
        .submit_application(request.clone())
        .await
        .expect("the write succeeds for the caller despite the lost answer");
    assert_eq!(proxy.lost(), 1, "the first answer was lost");
    assert_eq!(written.attempts, 2, "one retry: {written:?}");
    assert!(
        written.replayed,
        "the retry is answered from the first answer"
    );
    assert_ne!(written.endpoint, proxy.url());
    let first = written.result.clone().expect("a result");

    let again = client
        .submit_application(v1::SubmitApplicationRequest {
            request_id: written.request_id.clone(),
            ..request
        })
        .await
        .expect("the same request id again");
    assert!(again.replayed);
    assert_eq!(again.attempts, 1);
    assert_eq!(again.result.as_ref(), Some(&first));

    let applications = client
        .list_applications(v1::ListApplicationsRequest {
            supply_point_number: number,
            ..Default::default()
        })
        .await
        .expect("the retailer's applications on the point");
    assert_eq!(
        applications
            .applications
            .iter()
            .map(|application| application.application_number.as_str())
            .collect::<Vec<_>>(),
        [first.application_number.as_str()],
        "the write was applied exactly once"
    );
    drop(proxy);
    cluster.shutdown().await;
}
