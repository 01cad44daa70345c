//! The resuming event stream against a real cluster: a watch whose node is stopped under it
//! carries on at another node with no gap and no duplicate, and a watch older than the retained
//! history fails with its own error naming the oldest revision.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Cluster, days_ahead, sentinel_write, within};
use switchyard_client::{Client, Code, ErrorKind, v1};
use tokio::sync::mpsc;

/// Registers a stop-on-behalf request on each of `points`, then a sentinel write; returns the
/// sentinel's revision.
async fn write_phase(cluster: &Cluster, client: &Client, points: &[String]) -> u64 {
    for (index, point) in points.iter().enumerate() {
        client
            .register_stop_on_behalf(v1::RegisterStopOnBehalfRequest {
                supply_point_number: point.clone(),
                customer: Some(v1::CustomerIdentity {
                    contract_number: format!("C-W{index}"),
                    holder_name: "Tanaka Jiro".into(),
                    supply_address: "3-3 Sakae, Nagoya".into(),
                }),
                wished_date: days_ahead(30),
                ..Default::default()
            })
            .await
            .expect("a write succeeds");
    }
    sentinel_write(cluster).await
}

/// Receives positions from `events` until one at or after `revision`.
async fn receive_through(
    events: &mut mpsc::UnboundedReceiver<Result<(u64, u32), String>>,
    received: &mut Vec<(u64, u32)>,
    revision: u64,
) {
    while received.last().is_none_or(|(last, _)| *last < revision) {
        let position = within(Duration::from_secs(60), "the next event", events.recv())
            .await
            .expect("the watch task is running")
            .unwrap_or_else(|error| panic!("the watch failed: {error}"));
        received.push(position);
    }
}

/// An operator's watch from the first revision, streaming from the leader (its first
/// endpoint), is read by a task while writes go on; the node it streams from is stopped; the
/// watch resumes by itself at another endpoint, and the positions it delivered are exactly the
/// surviving nodes' event history, in order: no gap, no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_continues_without_gap_or_duplicate_after_its_node_stops() {
    let mut cluster = Cluster::start(300).await;
    let retailer = cluster.retailer();
    let points = cluster.points_supplied_by_others(&retailer);
    let writer = cluster.client(&retailer).await;
    let leader = cluster.leader().await;
    let mut config = cluster.config("op:operator");
    let leader_url = cluster.url(leader);
    config
        .endpoints
        .sort_by_key(|endpoint| endpoint.url != leader_url);
    let watcher = Client::connect(config).await.unwrap();

    let mut watch = watcher.watch(v1::WatchEventsRequest {
        start_revision: 1,
        start_index_in_revision: 0,
    });
    let first = within(Duration::from_secs(30), "the first event", watch.next())
        .await
        .expect("the watch is open")
        .expect("no error");
    let streaming_from = cluster.name_of(watch.endpoint().expect("a stream is open"));
    eprintln!("the watch streams from {streaming_from}");
    let resumes = Arc::new(Mutex::new(0_u32));
    let (sender, mut events) = mpsc::unbounded_channel();
    let reader = {
        let resumes = Arc::clone(&resumes);
        tokio::spawn(async move {
            while let Some(event) = watch.next().await {
                *resumes.lock().unwrap() = watch.resumes();
                let position = event
                    .map(|event| (event.revision, event.index_in_revision))
                    .map_err(|error| error.to_string());
                if sender.send(position).is_err() {
                    break;
                }
            }
        })
    };
    let mut received = vec![(first.revision, first.index_in_revision)];

    let before = write_phase(&cluster, &writer, &points[..10]).await;
    receive_through(&mut events, &mut received, before).await;
    cluster.stop(streaming_from).await;
    let after = write_phase(&cluster, &writer, &points[10..20]).await;
    receive_through(&mut events, &mut received, after).await;
    assert!(
        *resumes.lock().unwrap() >= 1,
        "the watch resumed after its node stopped"
    );
    reader.abort();

    let survivor = &cluster.cluster.nodes[0];
    let history: Vec<(u64, u32)> = survivor
        .node
        .store()
        .state_machine
        .events_from(1, 1_000_000)
        .expect("the history")
        .into_iter()
        .map(|event| (event.revision, event.index))
        .filter(|(revision, _)| *revision < after)
        .collect();
    received.retain(|(revision, _)| *revision < after);
    assert!(
        history.len() > 20,
        "the history covers the writes: {}",
        history.len()
    );
    assert_eq!(
        received, history,
        "the watch delivers the history exactly once, in order, across the stop"
    );
    cluster.shutdown().await;
}

/// With a short event history (20 revisions), a watch from the first revision fails at once
/// with HistoryCompacted carrying the oldest available revision (OUT_OF_RANGE,
/// `events_compacted`) and ends; a watch from that revision is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_older_than_the_history_is_history_compacted() {
    let cluster = Cluster::start_with(100, |options| options.event_revisions_retained = 20).await;
    for _ in 0..60 {
        sentinel_write(&cluster).await;
    }
    let operator = cluster.client("op:operator").await;
    let mut watch = operator.watch(v1::WatchEventsRequest {
        start_revision: 1,
        start_index_in_revision: 0,
    });
    let error = within(Duration::from_secs(30), "the refusal", watch.next())
        .await
        .expect("an answer")
        .expect_err("the history from revision 1 is gone");
    let ErrorKind::HistoryCompacted { oldest_revision } = *error.kind() else {
        panic!("expected HistoryCompacted, got {error}");
    };
    assert!(oldest_revision > 1, "{error}");
    assert_eq!(error.oldest_revision(), Some(oldest_revision));
    assert_eq!(error.code(), Code::OutOfRange);
    assert_eq!(error.rule(), Some("events_compacted"));
    assert_eq!(error.attempts(), 1, "a compacted history is not retried");
    assert!(watch.next().await.is_none(), "the watch ended");

    let mut resumed = operator.watch(v1::WatchEventsRequest {
        start_revision: oldest_revision,
        start_index_in_revision: 0,
    });
    let sentinel = sentinel_write(&cluster).await;
    let mut last = 0;
    while last < sentinel {
        let event = within(
            Duration::from_secs(30),
            "events from the oldest revision",
            resumed.next(),
        )
        .await
        .expect("the watch is open")
        .expect("no error");
        assert!(event.revision >= oldest_revision);
        last = event.revision;
    }
    cluster.shutdown().await;
}
