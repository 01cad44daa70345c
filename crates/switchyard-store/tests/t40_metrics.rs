//! What the store measures, read back from its registry's text exposition: syncs of the log are
//! timed, applied entries are timed, and a stalled sync is counted and shows as
//! `switchyard_disk_stalled 1` until the disk answers again.

use std::time::Duration;

use openraft::entry::RaftEntry;
use openraft::storage::RaftLogStorage;
use openraft::storage::RaftStateMachine;
use openraft::testing;
use switchyard_domain::VersionedEnvelope;
use switchyard_domain::scenario::{Scenario, ScenarioConfig};
use switchyard_metrics::Registry;
use switchyard_store::alias::Entry;
use switchyard_store::{DiskHealth, Store, StoreConfig, StoreRequest, TypeConfig};

/// Bound on every wait of these tests.
const WAIT: Duration = Duration::from_secs(10);

/// The value of the series `name{labels}` (labels as written, after the node's), if exported.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}

const LOG_FLUSHES: &str =
    "switchyard_flush_duration_seconds_count{node=\"1\",site=\"tokyo\",disk=\"log\"}";
const LOG_STALLS: &str = "switchyard_disk_stalls_total{node=\"1\",site=\"tokyo\",disk=\"log\"}";
const STALLED: &str = "switchyard_disk_stalled{node=\"1\",site=\"tokyo\"}";
const APPLIES: &str = "switchyard_apply_duration_seconds_count{node=\"1\",site=\"tokyo\"}";

/// A store opened on a registry exports its instruments at zero; two votes make two timed log
/// syncs; applying a scenario times every entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_and_applies_are_timed() {
    let directory = tempfile::tempdir().unwrap();
    let registry = Registry::for_node(1, "tokyo");
    let mut store = Store::open_measured(&StoreConfig::new(directory.path()), &registry).unwrap();
    let text = registry.encode_text();
    assert_eq!(value(&text, LOG_FLUSHES), Some(0.0), "{text}");
    assert_eq!(value(&text, LOG_STALLS), Some(0.0), "{text}");
    assert_eq!(value(&text, STALLED), Some(0.0), "{text}");
    assert_eq!(value(&text, APPLIES), Some(0.0), "{text}");

    for term in [1, 2] {
        let vote = openraft::alias::VoteOf::<TypeConfig>::new(term, 1);
        store.log.save_vote(&vote).await.unwrap();
    }
    let scenario = Scenario::build(&ScenarioConfig::small(5));
    let entries: Vec<Entry> = scenario
        .log
        .iter()
        .enumerate()
        .map(|(offset, (envelope, at))| {
            Entry::new_normal(
                testing::log_id::<TypeConfig>(1, 1, 1 + offset as u64),
                StoreRequest {
                    envelope: VersionedEnvelope::from(envelope.clone()),
                    timestamp: *at,
                },
            )
        })
        .collect();
    let count = entries.len();
    let stream = futures::stream::iter(entries.into_iter().map(|entry| Ok((entry, None))));
    store.state_machine.apply(stream).await.unwrap();

    let text = registry.encode_text();
    assert!(
        value(&text, LOG_FLUSHES).unwrap() >= 2.0,
        "two votes, two syncs: {text}"
    );
    assert_eq!(value(&text, APPLIES), Some(count as f64), "{text}");
    assert_eq!(value(&text, LOG_STALLS), Some(0.0), "no stall: {text}");
}

/// A sync held past the bound counts one stall of the log database and shows the disk stalled;
/// once released, the disk shows healthy again, the stall stays counted, and the held sync was
/// timed (at least the bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_is_counted_and_shown() {
    let directory = tempfile::tempdir().unwrap();
    let registry = Registry::for_node(1, "tokyo");
    let mut config = StoreConfig::new(directory.path());
    config.flush_stall_bound = Duration::from_millis(100);
    let store = Store::open_measured(&config, &registry).unwrap();
    let mut changes = store.health().subscribe();
    store.inject_stall();
    let mut log = store.log.clone();
    let saving = tokio::spawn(async move {
        let vote = openraft::alias::VoteOf::<TypeConfig>::new(3, 1);
        log.save_vote(&vote).await
    });
    tokio::time::timeout(
        WAIT,
        changes.wait_for(|health| matches!(health, DiskHealth::Stalled { .. })),
    )
    .await
    .expect("the stall was reported in time")
    .unwrap();
    let text = registry.encode_text();
    assert_eq!(value(&text, STALLED), Some(1.0), "{text}");
    assert_eq!(value(&text, LOG_STALLS), Some(1.0), "{text}");

    store.release_stall();
    tokio::time::timeout(WAIT, saving)
        .await
        .expect("the vote was saved after the stall")
        .unwrap()
        .unwrap();
    let text = registry.encode_text();
    assert_eq!(value(&text, STALLED), Some(0.0), "{text}");
    assert_eq!(value(&text, LOG_STALLS), Some(1.0), "{text}");
    let sum = value(
        &text,
        "switchyard_flush_duration_seconds_sum{node=\"1\",site=\"tokyo\",disk=\"log\"}",
    )
    .unwrap();
    assert!(sum >= 0.1, "the held sync took at least the bound: {sum}");
}
