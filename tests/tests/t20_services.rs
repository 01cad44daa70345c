//! The public services over real sockets: a five-node cluster (tokyo-1, tokyo-2, osaka-1,
//! osaka-2, witness-1) in this process, called through the generated clients exactly as a
//! retailer gateway or a TSO system would, with writes spread over nodes at both sites.

mod common;

use std::time::Duration;

use common::{Services, assert_status, days_ahead};
use futures::StreamExt;
use switchyard_proto::v1;
use tonic::Code;

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

/// The whole switching flow, each step at a different node: the new retailer registers a
/// stop-on-behalf request in Tokyo, the current retailer finds it in its inbox and judges it OK
/// in Osaka, the switch-out and switch-in are submitted at two more nodes and match, the TSO
/// finds the pair in its work list at the witness and completes it in Tokyo, and a linearizable
/// look-up in Osaka shows the new retailer supplying — visible to it, hidden from the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_flow_end_to_end_across_both_sites() {
    let services = Services::start(2_000).await;
    let (point, old) = services.supplied_point(0);
    let new = services.other_retailer(&old);
    let number = point.number.to_string();
    let tso = format!("T{}", point.number.area());
    let date = days_ahead(30);

    let registered = services
        .participant("tokyo-1", Some(&new))
        .await
        .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
            request_id: "flow-1".into(),
            supply_point_number: number.clone(),
            customer: Some(customer()),
            wished_date: date.clone(),
        })
        .await
        .expect("the stop-on-behalf request is registered")
        .into_inner();
    let sob = registered.result.expect("a result").stop_on_behalf_number;
    assert!(registered.revision > 0);

    let mut old_osaka = services.participant("osaka-1", Some(&old)).await;
    let inbox = old_osaka
        .list_stop_on_behalf_inbox(v1::ListStopOnBehalfInboxRequest::default())
        .await
        .expect("the inbox")
        .into_inner();
    assert!(
        inbox
            .requests
            .iter()
            .any(|request| request.stop_on_behalf_number == sob),
        "a linearizable inbox read on another node shows the request just registered"
    );
    assert!(inbox.served_at_revision >= registered.revision);
    let judged = old_osaka
        .judge_stop_on_behalf(v1::JudgeStopOnBehalfRequest {
            request_id: "flow-2".into(),
            stop_on_behalf_number: sob.clone(),
            verdict: v1::Verdict::Ok as i32,
            ng_reasons: vec![],
        })
        .await
        .expect("judged OK")
        .into_inner();
    assert_eq!(
        judged.result.unwrap().state,
        v1::StopOnBehalfState::Ok as i32
    );

    let out = services
        .participant("tokyo-2", Some(&old))
        .await
        .submit_application(v1::SubmitApplicationRequest {
            request_id: "flow-3".into(),
            supply_point_number: number.clone(),
            effective_date: date.clone(),
            request: Some(switch_out()),
        })
        .await
        .expect("the switch-out is registered")
        .into_inner()
        .result
        .unwrap();
    assert_eq!(out.state, v1::ApplicationState::AwaitingMatch as i32);
    let into = services
        .participant("osaka-2", Some(&new))
        .await
        .submit_application(v1::SubmitApplicationRequest {
            request_id: "flow-4".into(),
            supply_point_number: number.clone(),
            effective_date: date.clone(),
            request: Some(switch_in(&sob)),
        })
        .await
        .expect("the switch-in is registered")
        .into_inner()
        .result
        .unwrap();
    assert_eq!(into.state, v1::ApplicationState::Matched as i32);
    assert_eq!(
        into.matched_with_application_number.as_deref(),
        Some(out.application_number.as_str())
    );

    // The work happens on the effective date: move every node's clock past it (stamps are the
    // leader's clock; entries never go back in time).
    for node in &services.cluster.nodes {
        node.node.set_clock_offset(31 * 86_400_000);
    }
    let work = services
        .tso("witness-1", Some(&tso))
        .await
        .list_applications_needing_action(v1::ListApplicationsNeedingActionRequest::default())
        .await
        .expect("the TSO work list")
        .into_inner();
    let listed: Vec<_> = work
        .applications
        .iter()
        .map(|application| application.application_number.clone())
        .collect();
    assert!(listed.contains(&into.application_number) && listed.contains(&out.application_number));
    let completed = services
        .tso("tokyo-1", Some(&tso))
        .await
        .complete_application(v1::CompleteApplicationRequest {
            request_id: "flow-5".into(),
            application_number: into.application_number.clone(),
            actual_date: date.clone(),
        })
        .await
        .expect("the TSO completes the pair")
        .into_inner();
    assert_eq!(
        completed.result.unwrap().state,
        v1::ApplicationState::Completed as i32
    );

    let look_up = |party: String| {
        let number = number.clone();
        let services = &services;
        async move {
            services
                .participant("osaka-2", Some(&party))
                .await
                .look_up_supply_point(v1::LookUpSupplyPointRequest {
                    supply_point_number: number,
                    consistency: v1::ReadConsistency::Linearizable as i32,
                })
                .await
                .expect("a look-up")
                .into_inner()
        }
    };
    let seen_by_new = look_up(new.clone()).await;
    assert!(seen_by_new.served_at_revision >= completed.revision);
    let supply = seen_by_new
        .supply_point
        .unwrap()
        .supply
        .expect("the current retailer sees its supply");
    assert_eq!(supply.retailer_code.as_deref(), Some(new.as_str()));
    let seen_by_old = look_up(old.clone()).await.supply_point.unwrap();
    assert!(
        seen_by_old
            .supply
            .as_ref()
            .is_none_or(|supply| supply.retailer_code.is_none()),
        "the former retailer must not see who supplies now: {seen_by_old:?}"
    );
    services.shutdown().await;
}

/// The same write sent again with the same request id — to the same node and to a node at the
/// other site — returns the first answer (the same application) and applies nothing twice; the
/// same id with other content is refused with ALREADY_EXISTS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_write_returns_the_first_answer_on_any_node() {
    let services = Services::start(500).await;
    let (point, retailer) = services.supplied_point(0);
    let submit = |effective_date: String| v1::SubmitApplicationRequest {
        request_id: "retry-1".into(),
        supply_point_number: point.number.to_string(),
        effective_date,
        request: Some(switch_out()),
    };
    let date = days_ahead(30);
    let first = services
        .participant("tokyo-1", Some(&retailer))
        .await
        .submit_application(submit(date.clone()))
        .await
        .expect("submitted")
        .into_inner();
    for node in ["tokyo-1", "osaka-2", "witness-1"] {
        let again = services
            .participant(node, Some(&retailer))
            .await
            .submit_application(submit(date.clone()))
            .await
            .expect("a retry is answered");
        assert_eq!(
            again
                .metadata()
                .get("x-switchyard-replayed")
                .map(|value| value.to_str().unwrap()),
            Some("true"),
            "a retry is marked as replayed"
        );
        let again = again.into_inner();
        assert_eq!(
            again.result, first.result,
            "the retry at {node} got another answer"
        );
        assert!(again.revision >= first.revision);
    }
    let listed = services
        .participant("osaka-1", Some(&retailer))
        .await
        .list_applications(v1::ListApplicationsRequest {
            supply_point_number: point.number.to_string(),
            ..Default::default()
        })
        .await
        .expect("a list")
        .into_inner();
    assert_eq!(listed.applications.len(), 1, "applied once: {listed:?}");
    let reused = services
        .participant("osaka-1", Some(&retailer))
        .await
        .submit_application(submit(days_ahead(31)))
        .await;
    assert_status(reused, Code::AlreadyExists, "request_id_reused");
    services.shutdown().await;
}

/// Publishes notice `index` at `node` as the operator; returns its revision.
async fn publish(services: &Services, index: usize, node: &str) -> u64 {
    services
        .admin(node, Some("op:operator"))
        .await
        .publish_notice(switchyard_proto::admin::v1::PublishNoticeRequest {
            request_id: format!("notice-{index}"),
            severity: v1::Severity::Info as i32,
            title: format!("Notice {index}"),
            body: "Planned maintenance of a retailer gateway.".into(),
        })
        .await
        .expect("a notice is published")
        .into_inner()
        .revision
}

/// A stream of everything (an operator's) from the first revision, opened on the leader; the
/// leader is stopped mid-way; the client resumes on another node from the last event it got;
/// the events received are exactly the surviving node's history: no gap, no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_resumes_on_another_node_after_the_leader_dies() {
    let mut services = Services::start(300).await;
    let operator = Some("op:operator");
    let leader_id = services
        .cluster
        .leader(Duration::from_secs(30))
        .await
        .unwrap()
        .node
        .node_id();
    let leader = services
        .cluster
        .nodes
        .iter()
        .find(|node| node.node.node_id() == leader_id)
        .unwrap()
        .name;
    let survivor = if leader == "osaka-1" {
        "osaka-2"
    } else {
        "osaka-1"
    };

    let mut received: Vec<(u64, u32)> = Vec::new();
    let mut stream = services
        .participant(leader, operator)
        .await
        .watch_events(v1::WatchEventsRequest {
            start_revision: 1,
            start_index_in_revision: 0,
        })
        .await
        .expect("a watch on the leader")
        .into_inner();
    let mut last_written = 0;
    for index in 0..10 {
        last_written = publish(&services, index, leader).await;
    }
    // Read until the stream has covered the first ten notices.
    while received
        .last()
        .is_none_or(|(revision, _)| *revision < last_written)
    {
        let message = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("events arrive within 30 s")
            .expect("the stream is open")
            .expect("no error");
        received.extend(
            message
                .events
                .iter()
                .map(|event| (event.revision, event.index_in_revision)),
        );
    }
    drop(stream);
    // The leader dies.
    let index = services.index(leader);
    let dead = services.cluster.nodes.remove(index);
    dead.api.shutdown().await;
    dead.node.shutdown().await.expect("the leader stops");
    for index in 10..20 {
        last_written = publish(&services, index, survivor).await;
    }
    let (revision, index_in_revision) = *received.last().unwrap();
    let mut resumed = services
        .participant(survivor, operator)
        .await
        .watch_events(v1::WatchEventsRequest {
            start_revision: revision,
            start_index_in_revision: index_in_revision + 1,
        })
        .await
        .expect("the watch resumes on another node")
        .into_inner();
    while received
        .last()
        .is_none_or(|(revision, _)| *revision < last_written)
    {
        let message = tokio::time::timeout(Duration::from_secs(30), resumed.next())
            .await
            .expect("events arrive within 30 s")
            .expect("the stream is open")
            .expect("no error");
        received.extend(
            message
                .events
                .iter()
                .map(|event| (event.revision, event.index_in_revision)),
        );
    }
    let history: Vec<(u64, u32)> = services.cluster.nodes[services.index(survivor)]
        .node
        .store()
        .state_machine
        .events_from(1, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|event| (event.revision, event.index))
        .filter(|(revision, _)| *revision <= last_written)
        .collect();
    assert_eq!(
        received, history,
        "the resumed stream must deliver the history exactly once, in order"
    );
    services.shutdown().await;
}

/// A retailer's live stream on a busy cluster still gets a progress message within the
/// progress interval: other retailers' switch-outs (events the watcher may not see) keep the
/// node applying for longer than the interval, and the stream must not stay silent meanwhile
/// (a client takes a silent stream for a dead one). Found by the chaos suite's watchers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_stream_gets_progress_while_the_cluster_is_busy() {
    let services = Services::start(500).await;
    let watcher = services.data.retailers[0].party.to_string();
    let mut stream = services
        .participant("osaka-1", Some(&watcher))
        .await
        .watch_events(v1::WatchEventsRequest {
            start_revision: 0,
            start_index_in_revision: 0,
        })
        .await
        .expect("a live watch")
        .into_inner();
    let opening = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the opening message arrives at once")
        .expect("the stream is open")
        .expect("no error");
    assert!(opening.events.is_empty());
    let interval =
        Duration::from_millis(switchyard_proto::limits::WATCH_EVENTS_PROGRESS_INTERVAL_MS);
    let busy_until = tokio::time::Instant::now() + interval + Duration::from_secs(4);
    let writer = async {
        let mut written = 0usize;
        let mut skip = 0usize;
        while tokio::time::Instant::now() < busy_until {
            let (point, retailer) = services.supplied_point(skip);
            skip += 1;
            if retailer == watcher {
                continue;
            }
            services
                .participant("tokyo-1", Some(&retailer))
                .await
                .submit_application(v1::SubmitApplicationRequest {
                    request_id: format!("busy-{skip}"),
                    supply_point_number: point.number.to_string(),
                    effective_date: days_ahead(30),
                    request: Some(switch_out()),
                })
                .await
                .expect("a switch-out the watcher may not see");
            written += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        written
    };
    let reader = async {
        let started = tokio::time::Instant::now();
        let message = tokio::time::timeout(interval + Duration::from_secs(3), stream.next())
            .await
            .expect("a progress message within the interval, busy cluster or not")
            .expect("the stream is open")
            .expect("no error");
        (message, started.elapsed())
    };
    let (written, (progress, waited)) = tokio::join!(writer, reader);
    assert!(written > 10, "the cluster was kept busy: {written} writes");
    assert!(
        progress.events.is_empty(),
        "the watcher sees none of those events: {progress:?}"
    );
    assert!(
        progress.applied_revision > opening.applied_revision,
        "the progress message covers the entries applied meanwhile: {} after {}",
        progress.applied_revision,
        opening.applied_revision
    );
    eprintln!("progress after {waited:?} on a busy cluster ({written} writes by others)");
    services.shutdown().await;
}

/// With a short event history (20 revisions), a watch from the first revision is refused with
/// OUT_OF_RANGE naming the oldest available revision, in the message and in metadata; a watch
/// from that revision is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_older_than_the_history_is_out_of_range() {
    let services = Services::start_with(100, |options| options.event_revisions_retained = 20).await;
    let operator = Some("op:operator");
    let mut admin = services.admin("tokyo-2", operator).await;
    for index in 0..60 {
        admin
            .publish_notice(switchyard_proto::admin::v1::PublishNoticeRequest {
                request_id: format!("notice-{index}"),
                severity: v1::Severity::Info as i32,
                title: format!("Notice {index}"),
                body: "Body.".into(),
            })
            .await
            .expect("published");
    }
    let mut client = services.participant("osaka-1", Some("A1001")).await;
    let refused = client
        .watch_events(v1::WatchEventsRequest {
            start_revision: 1,
            start_index_in_revision: 0,
        })
        .await;
    let status = assert_status(refused, Code::OutOfRange, "events_compacted");
    let oldest: u64 = status
        .metadata()
        .get("x-switchyard-oldest-revision")
        .expect("the oldest revision in metadata")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(oldest > 1, "history was pruned: {oldest}");
    assert!(status.message().contains(&oldest.to_string()));
    let mut stream = client
        .watch_events(v1::WatchEventsRequest {
            start_revision: oldest,
            start_index_in_revision: 0,
        })
        .await
        .expect("a watch from the oldest revision is served")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("a message within 30 s")
        .expect("the stream is open")
        .expect("no error");
    assert!(first.events.iter().all(|event| event.revision >= oldest));
    services.shutdown().await;
}

/// A write whose answer the client never got is retried after its node and the leader died:
/// the retry at a node of the other site returns the first answer and nothing is applied
/// twice. Every facility look-up is audit-logged on the node that served it, with the party.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_failover_is_applied_once_and_look_ups_are_audited() {
    let mut services = Services::start(500).await;
    let (point, retailer) = services.supplied_point(0);
    let leader = services
        .cluster
        .leader(Duration::from_secs(30))
        .await
        .unwrap()
        .name;
    let request = v1::SubmitApplicationRequest {
        request_id: "failover-retry-1".into(),
        supply_point_number: point.number.to_string(),
        effective_date: days_ahead(30),
        request: Some(switch_out()),
    };
    let first = services
        .participant(leader, Some(&retailer))
        .await
        .submit_application(request.clone())
        .await
        .expect("submitted at the leader")
        .into_inner();
    let index = services.index(leader);
    let dead = services.cluster.nodes.remove(index);
    dead.api.shutdown().await;
    dead.node.shutdown().await.expect("the leader stops");
    let other_site = if leader.starts_with("osaka") {
        "tokyo-2"
    } else {
        "osaka-2"
    };
    let other_site = if other_site == leader {
        "witness-1"
    } else {
        other_site
    };
    let retried = services
        .participant(other_site, Some(&retailer))
        .await
        .submit_application(request)
        .await
        .expect("the retry is answered by the new leader");
    assert_eq!(
        retried.metadata().get("x-switchyard-replayed").unwrap(),
        "true"
    );
    assert_eq!(retried.into_inner().result, first.result);
    let listed = services
        .participant(other_site, Some(&retailer))
        .await
        .list_applications(v1::ListApplicationsRequest {
            supply_point_number: point.number.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.applications.len(), 1, "applied once: {listed:?}");

    // The look-up audit of the node that served.
    let before = switchyard_domain::Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            - 1_000,
    );
    services
        .participant("witness-1", Some("T05"))
        .await
        .look_up_supply_point(v1::LookUpSupplyPointRequest {
            supply_point_number: point.number.to_string(),
            consistency: 0,
        })
        .await
        .expect("a look-up");
    let audit = services.cluster.nodes[services.index("witness-1")]
        .node
        .store()
        .audit
        .since(before, 100)
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|entry| entry.party.to_string() == "T05" && entry.supply_point == point.number),
        "the look-up is in the audit log: {audit:?}"
    );
    services.shutdown().await;
}

/// Health follows the leader too: with three of five nodes gone, the two left have no leader,
/// and after the configured bound (3 s) their health says NOT_SERVING; writes there fail
/// UNAVAILABLE with retry advice instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_without_a_leader_report_not_serving() {
    let mut services = Services::start(100).await;
    for name in ["tokyo-1", "tokyo-2", "witness-1"] {
        let index = services.index(name);
        let node = services.cluster.nodes.remove(index);
        node.api.shutdown().await;
        node.node.shutdown().await.expect("a node stops");
    }
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(services.channel("osaka-1").await);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: "switchyard.v1.ParticipantService".into(),
            })
            .await
            .expect("health answers")
            .into_inner()
            .status;
        if status == tonic_health::pb::health_check_response::ServingStatus::NotServing as i32 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "osaka-1 still reports {status} 30 s after losing its quorum"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let write = services
        .admin("osaka-2", Some("op:operator"))
        .await
        .publish_notice(switchyard_proto::admin::v1::PublishNoticeRequest {
            request_id: "no-quorum".into(),
            severity: v1::Severity::Info as i32,
            title: "No quorum".into(),
            body: "Body.".into(),
        })
        .await;
    let status = write.expect_err("no write without a quorum");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(
        status
            .metadata()
            .get("x-switchyard-retry-after-ms")
            .is_some(),
        "{status:?}"
    );
    services.shutdown().await;
}
