//! Failover as a caller sees it: none. Writes keep flowing through the client while the leader
//! is stopped, or while leadership moves to the other site, and every one of them succeeds and
//! is applied exactly once.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Cluster, days_ahead, wait_until, within};
use switchyard_client::{Client, v1};
use switchyard_proto::admin::v1 as admin;
use tokio::task::JoinHandle;

/// Enough supply points that the writer never runs out.
const SUPPLY_POINTS: usize = 600;

/// How many writes complete before the fault.
const WRITES_BEFORE_FAULT: usize = 8;
/// How many writes complete after the fault before the writer stops.
const WRITES_AFTER_FAULT: usize = 25;

/// What a writer saw: every request id with its stop-on-behalf number, and every error.
struct Outcome {
    /// (supply point, request id, stop-on-behalf number).
    written: Vec<(String, String, String)>,
    errors: Vec<String>,
    replayed: usize,
    slowest: Duration,
}

/// Registers a stop-on-behalf request on each of `points` in turn, one after the other, until
/// `stop` is set; counts completed writes in `done`.
fn start_writer(
    client: Client,
    points: Vec<String>,
    done: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Outcome> {
    tokio::spawn(async move {
        let mut outcome = Outcome {
            written: Vec::new(),
            errors: Vec::new(),
            replayed: 0,
            slowest: Duration::ZERO,
        };
        for (index, point) in points.into_iter().enumerate() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let started = Instant::now();
            let result = client
                .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
                    supply_point_number: point.clone(),
                    customer: Some(v1::CustomerIdentity {
                        contract_number: format!("C-{index}"),
                        holder_name: "Suzuki Hanako".into(),
                        supply_address: "2-2 Umeda, Osaka".into(),
                    }),
                    wished_date: days_ahead(30),
                    ..Default::default()
                })
                .await;
            outcome.slowest = outcome.slowest.max(started.elapsed());
            match result {
                Ok(written) => {
                    if written.replayed {
                        outcome.replayed += 1;
                    }
                    outcome.written.push((
                        point,
                        written.request_id.clone(),
                        written
                            .result
                            .clone()
                            .expect("a result")
                            .stop_on_behalf_number,
                    ));
                }
                Err(error) => outcome.errors.push(format!("{point}: {error}")),
            }
            done.fetch_add(1, Ordering::SeqCst);
        }
        outcome
    })
}

/// Runs a writer over `points` through `client`; `fault` is applied once the first writes
/// completed; the writer stops once enough writes completed after the fault.
async fn write_through(
    client: Client,
    points: Vec<String>,
    fault: impl Future<Output = ()>,
) -> Outcome {
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_writer(client, points, Arc::clone(&done), Arc::clone(&stop));
    wait_until(Duration::from_secs(60), "the first writes complete", || {
        done.load(Ordering::SeqCst) >= WRITES_BEFORE_FAULT
    })
    .await;
    let before = done.load(Ordering::SeqCst);
    fault.await;
    let after_fault = done.load(Ordering::SeqCst);
    eprintln!("the fault began after {before} writes and was over after {after_fault}");
    wait_until(
        Duration::from_secs(120),
        "the writes after the fault complete",
        || done.load(Ordering::SeqCst) >= after_fault + WRITES_AFTER_FAULT || writer.is_finished(),
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    let outcome = within(Duration::from_secs(120), "the writer finishes", writer)
        .await
        .expect("the writer does not panic");
    assert!(
        outcome.written.len() + outcome.errors.len() >= after_fault + WRITES_AFTER_FAULT,
        "the writer ran out of points before writing enough after the fault"
    );
    outcome
}

/// Checks the outcome: no error, every write a distinct request, each applied once — the
/// operator's event history holds exactly one registration per write, on the point written.
async fn check_applied_once(cluster: &Cluster, outcome: &Outcome) {
    assert!(
        outcome.errors.is_empty(),
        "the caller must see no error during failover: {:#?}",
        outcome.errors
    );
    eprintln!(
        "{} writes, {} answered as replays after a retry, slowest {} ms",
        outcome.written.len(),
        outcome.replayed,
        outcome.slowest.as_millis()
    );
    let request_ids: BTreeSet<&str> = outcome
        .written
        .iter()
        .map(|(_, request_id, _)| request_id.as_str())
        .collect();
    assert_eq!(
        request_ids.len(),
        outcome.written.len(),
        "one request id per write"
    );
    // A write after all of them: once its event is delivered, every earlier one was.
    let sentinel = common::sentinel_write(cluster).await;
    let operator = cluster.client("op:operator").await;
    let mut watch = operator.watch(v1::WatchEventsRequest {
        start_revision: 1,
        start_index_in_revision: 0,
    });
    let mut registered: BTreeMap<String, Vec<String>> = BTreeMap::new();
    loop {
        let event = within(
            Duration::from_secs(30),
            "the operator's events",
            watch.next(),
        )
        .await
        .expect("the watch is open")
        .expect("no error");
        if event.revision >= sentinel {
            break;
        }
        if let Some(v1::event::Kind::StopOnBehalfRegistered(event)) = event.kind {
            registered
                .entry(event.supply_point_number)
                .or_default()
                .push(event.stop_on_behalf_number);
        }
    }
    for (point, _, number) in &outcome.written {
        assert_eq!(
            registered.get(point),
            Some(&vec![number.clone()]),
            "exactly one registration on {point}"
        );
    }
    assert_eq!(
        registered.len(),
        outcome.written.len(),
        "nothing else was registered"
    );
}

/// Continuous writes through one client while the leader is stopped: the client moves to the
/// other nodes and rides out the election by itself, the caller sees zero errors, and every
/// write is applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_continue_without_errors_while_the_leader_is_stopped() {
    let mut cluster = Cluster::start(SUPPLY_POINTS).await;
    let retailer = cluster.retailer();
    let points = cluster.points_supplied_by_others(&retailer);
    let leader = cluster.leader().await;
    // The leader is the first endpoint, so the writes are on it when it stops.
    let mut config = cluster.config(&retailer);
    let leader_url = cluster.url(leader);
    config
        .endpoints
        .sort_by_key(|endpoint| endpoint.url != leader_url);
    let client = Client::connect(config).await.unwrap();
    let cluster_ref = &mut cluster;
    let outcome = write_through(client, points, async move {
        cluster_ref.stop(leader).await;
    })
    .await;
    let new_leader = cluster.leader().await;
    assert_ne!(new_leader, leader);
    eprintln!("leader {leader} stopped; {new_leader} leads now");
    check_applied_once(&cluster, &outcome).await;
    cluster.shutdown().await;
}

/// Continuous writes through one client while an operator moves leadership to the other site
/// through the admin API: zero errors for the caller, every write applied exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_continue_without_errors_while_leadership_moves_to_the_other_site() {
    let cluster = Cluster::start(SUPPLY_POINTS).await;
    let retailer = cluster.retailer();
    let points = cluster.points_supplied_by_others(&retailer);
    let leader = cluster.leader().await;
    let target_site = if leader.starts_with("osaka") {
        admin::Site::Tokyo
    } else {
        admin::Site::Osaka
    };
    let client = cluster.client(&retailer).await;
    let leader_url = cluster.url(leader);
    let outcome = write_through(client, points, async move {
        let mut admin = admin::admin_service_client::AdminServiceClient::new(
            tonic::transport::Endpoint::from_shared(leader_url)
                .unwrap()
                .connect()
                .await
                .expect("the leader's admin API"),
        );
        let mut transfer = tonic::Request::new(admin::TransferLeadershipRequest {
            request_id: "client-suite-transfer-1".into(),
            target: Some(admin::transfer_leadership_request::Target::Site(
                target_site as i32,
            )),
            timeout_ms: 20_000,
        });
        transfer
            .metadata_mut()
            .insert("authorization", "Bearer dev-op:operator".parse().unwrap());
        let moved = within(
            Duration::from_secs(30),
            "the transfer",
            admin.transfer_leadership(transfer),
        )
        .await
        .expect("leadership moves")
        .into_inner();
        eprintln!("leadership moved to node {}", moved.new_leader_node_id);
    })
    .await;
    let new_leader = cluster.leader().await;
    assert_ne!(new_leader, leader);
    eprintln!("leadership moved from {leader} to {new_leader}");
    check_applied_once(&cluster, &outcome).await;
    cluster.shutdown().await;
}
