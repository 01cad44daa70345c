//! Recovery with real `switchyard serve` processes, driven the way the runbook tells operators
//! to: a backup taken with `swctl snapshot save` from a running cluster restores (`switchyard
//! restore` on every fresh node) into a new five-node cluster with the source's state hash and
//! every acknowledged write; and in two-site mode (3 + 2, no witness) the loss of the three-node
//! Tokyo site is answered by `switchyard dr-inspect` and `dr-promote` on the two Osaka
//! survivors, which then take writes, while a Tokyo node that comes back is fenced off.
//!
//! The tests run one at a time (five processes each, on a two-core machine); each prints its
//! seed (set `SWITCHYARD_SEED` to replay one), and a failing test keeps its run directory and
//! prints where every node's logs are.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use switchyard_proto::v1;
use switchyard_raft::{NodeId, Site};
use switchyard_store::{Store, StoreConfig};
use switchyard_testkit::failover::{WriteLoad, WriteLoadOptions};
use switchyard_testkit::procs::{
    Layout, ProcessCluster, ProcessClusterOptions, process_token, request,
};

const BINARY: &str = env!("CARGO_BIN_EXE_switchyard");

/// One cluster at a time: five node processes per test is what two cores carry.
static SERIAL: Mutex<()> = Mutex::new(());

/// Longest wait for a leader, convergence, or a fenced node.
const WAIT: Duration = Duration::from_secs(60);
/// How long the load writes before the backup or the disaster.
const LOAD_TIME: Duration = Duration::from_secs(3);

fn seed() -> u64 {
    let seed = std::env::var("SWITCHYARD_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(50);
    eprintln!("seed: {seed} (set SWITCHYARD_SEED to replay)");
    seed
}

/// Runs `test` alone, on its own runtime.
fn serially(test: impl std::future::Future<Output = ()>) {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(test);
}

fn options(layout: Layout) -> ProcessClusterOptions {
    let mut options = ProcessClusterOptions::new(BINARY, seed());
    options.layout = layout;
    options.supply_points = 1_500;
    options
}

/// A load of two writers, run for [`LOAD_TIME`] and stopped.
async fn write_for_a_while(cluster: &ProcessCluster) -> WriteLoad {
    let mut load = WriteLoad::start(
        cluster,
        WriteLoadOptions {
            workers: 2,
            probe_points: 0,
            ..WriteLoadOptions::default()
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{error}"));
    tokio::time::sleep(LOAD_TIME).await;
    load.stop().await;
    let failures = load.failures();
    assert!(failures.is_empty(), "writes failed: {failures:#?}");
    let acknowledged = load.records().len();
    assert!(acknowledged > 0, "the load wrote nothing");
    eprintln!("{acknowledged} writes acknowledged");
    load
}

/// The state hash of `node`'s store, opened offline (the node must be down).
fn state_hash(cluster: &ProcessCluster, node: NodeId) -> String {
    let store = Store::open(&StoreConfig::new(cluster.data_directory(node)))
        .unwrap_or_else(|error| panic!("cannot open {}'s store: {error}", cluster.name(node)));
    store
        .state_machine
        .state_hash()
        .unwrap_or_else(|error| panic!("{}'s state is unreadable: {error}", cluster.name(node)))
}

async fn terminate_all(cluster: &mut ProcessCluster) {
    for node in cluster.running() {
        let clean = cluster
            .terminate(node)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(clean, "{} did not stop cleanly", cluster.name(node));
    }
}

/// (a) A running five-node cluster takes writes; an operator saves a backup with `swctl
/// snapshot save` at one node; five fresh nodes are seeded from the file with `switchyard
/// restore` and started: they elect a leader, hold every write the source acknowledged, and
/// every one of them has the state hash of the source nodes; then the restored cluster takes
/// writes of its own.
#[test]
fn a_backup_restores_into_a_fresh_process_cluster_with_the_same_state_hash() {
    serially(async {
        let mut source = ProcessCluster::start(options(Layout::five_nodes()))
            .await
            .unwrap_or_else(|error| panic!("the source cluster did not start: {error}"));
        let load = write_for_a_while(&source).await;
        source
            .wait_for_convergence(WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));

        let backup = source.run_directory().join("backup.snap");
        let osaka = source.nodes_of_site(Site::Osaka)[0];
        let endpoint = format!("http://{}", source.api_address(osaka));
        let token = process_token(source.operator());
        let backup_text = backup.display().to_string();
        let mut out = Vec::new();
        let mut err = Vec::new();
        let exit = switchyard_cli::run(
            vec![
                "swctl",
                "--endpoint",
                endpoint.as_str(),
                "--token",
                token.as_str(),
                "snapshot",
                "save",
                backup_text.as_str(),
            ],
            &mut out,
            &mut err,
        )
        .await;
        assert_eq!(
            exit.code(),
            0,
            "swctl snapshot save failed: {}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
        eprintln!("{}", String::from_utf8_lossy(&out).trim());

        terminate_all(&mut source).await;
        let source_hashes: Vec<String> = source
            .node_ids()
            .into_iter()
            .map(|node| state_hash(&source, node))
            .collect();
        assert!(
            source_hashes.windows(2).all(|pair| pair[0] == pair[1]),
            "the source nodes disagree: {source_hashes:?}"
        );

        let mut restored_options = options(Layout::five_nodes());
        restored_options.restore_from = Some(backup.clone());
        let mut restored = ProcessCluster::start(restored_options)
            .await
            .unwrap_or_else(|error| panic!("the restored cluster did not start: {error}"));
        restored
            .wait_for_convergence(WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let checked = load
            .verify(&restored)
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", restored.diagnostics()));
        eprintln!("all {checked} acknowledged applications on every restored node");

        terminate_all(&mut restored).await;
        for node in restored.node_ids() {
            assert_eq!(
                state_hash(&restored, node),
                source_hashes[0],
                "{}'s restored state differs from the source",
                restored.name(node)
            );
        }
        for node in restored.node_ids() {
            restored
                .restart(node)
                .await
                .unwrap_or_else(|error| panic!("{error}"));
        }
        restored
            .wait_for_leader(WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let more = write_for_a_while(&restored).await;
        restored
            .wait_for_convergence(WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        more.verify(&restored)
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", restored.diagnostics()));
    });
}

/// A linearizable read at `node` alone: `Ok` when it serves (the application may not exist),
/// the refusal otherwise.
async fn read_at(cluster: &ProcessCluster, node: NodeId) -> Result<(), tonic::Status> {
    let retailer = cluster.data().retailers[0].party.clone();
    match cluster
        .participant(node, &retailer)
        .get_application(request(
            v1::GetApplicationRequest {
                application_number: "AP0000000001".to_owned(),
                consistency: v1::ReadConsistency::Linearizable as i32,
            },
            Duration::from_secs(3),
        ))
        .await
    {
        Ok(_) => Ok(()),
        Err(status) if status.code() == tonic::Code::NotFound => Ok(()),
        Err(status) => Err(status),
    }
}

/// (b) Two-site mode, Tokyo × 3 and Osaka × 2: after writes that every node holds, the three
/// Tokyo nodes are SIGKILLed — no quorum is left. The operator stops the two Osaka survivors,
/// reads `switchyard dr-inspect` on each, and runs `switchyard dr-promote --site osaka
/// --new-epoch 1 --force` (with `--base` on the one furthest ahead); restarted, the survivors
/// elect a leader between them, still hold every acknowledged write, and take new writes. A
/// Tokyo node restarted with its old data is then refused by the new cluster and stops serving
/// (`stale_cluster_epoch`), while the survivors go on.
#[test]
fn two_site_disaster_cutover_brings_writes_back_and_fences_the_returning_site() {
    serially(async {
        let mut cluster = ProcessCluster::start(options(Layout::two_sites_three_two()))
            .await
            .unwrap_or_else(|error| panic!("the cluster did not start: {error}"));
        let load = write_for_a_while(&cluster).await;
        cluster
            .wait_for_convergence(WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));

        let tokyo = cluster.nodes_of_site(Site::Tokyo);
        let osaka = cluster.nodes_of_site(Site::Osaka);
        assert_eq!((tokyo.len(), osaka.len()), (3, 2), "the 3 + 2 layout");
        for node in &tokyo {
            cluster
                .kill(*node)
                .unwrap_or_else(|error| panic!("{error}"));
        }
        // The survivors alone cannot elect anyone: 2 of 5.
        assert!(
            cluster.leader().await.is_none(),
            "a leader without a quorum"
        );

        for node in &osaka {
            cluster
                .terminate(*node)
                .await
                .unwrap_or_else(|error| panic!("{error}"));
        }
        let mut positions = Vec::new();
        for node in &osaka {
            let report = cluster
                .run_offline(*node, "dr-inspect", &[])
                .unwrap_or_else(|error| panic!("{error}"));
            let position: serde_json::Value = serde_json::from_str(&report)
                .unwrap_or_else(|error| panic!("dr-inspect printed no JSON ({error}): {report}"));
            eprintln!("dr-inspect {}: {report}", cluster.name(*node));
            let last = &position["last_log"];
            let term = last[0].as_u64().expect("a last log term");
            let index = last[2].as_u64().expect("a last log index");
            positions.push(((term, index), *node));
        }
        let base = positions.iter().max().expect("two survivors").1;
        for node in &osaka {
            let mut arguments = vec!["--site", "osaka", "--new-epoch", "1", "--force"];
            if *node == base {
                arguments.push("--base");
            }
            let report = cluster
                .run_offline(*node, "dr-promote", &arguments)
                .unwrap_or_else(|error| panic!("{error}"));
            eprintln!("dr-promote {}: {}", cluster.name(*node), report.trim());
        }

        let cut_over = Instant::now();
        for node in &osaka {
            cluster
                .restart(*node)
                .await
                .unwrap_or_else(|error| panic!("{error}"));
        }
        cluster.set_voters(&osaka);
        let leader = cluster
            .wait_for_leader(WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(osaka.contains(&leader.node_id));
        eprintln!(
            "{} leads the survivors {:?} after the restart",
            cluster.name(leader.node_id),
            cut_over.elapsed()
        );
        let checked = load
            .verify(&cluster)
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", cluster.diagnostics()));
        eprintln!("all {checked} acknowledged applications on both survivors");
        let after = write_for_a_while(&cluster).await;
        after
            .verify(&cluster)
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", cluster.diagnostics()));

        // A Tokyo node comes back with its old data and its old membership.
        let returning = tokyo[0];
        cluster
            .restart(returning)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let started = Instant::now();
        loop {
            match read_at(&cluster, returning).await {
                Err(status)
                    if status.code() == tonic::Code::Unavailable
                        && status.message().contains("stale_cluster_epoch") =>
                {
                    eprintln!(
                        "{} fenced after {:?}: {}",
                        cluster.name(returning),
                        started.elapsed(),
                        status.message()
                    );
                    break;
                }
                other => {
                    assert!(
                        started.elapsed() < WAIT,
                        "{} was not fenced within {WAIT:?}; last answer {other:?}\n{}",
                        cluster.name(returning),
                        cluster.diagnostics()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let still = cluster
            .wait_for_leader(WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(
            osaka.contains(&still.node_id),
            "the survivors lost their leader to the returning node"
        );
        let last = write_for_a_while(&cluster).await;
        last.verify_at(&cluster, &osaka)
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", cluster.diagnostics()));
    });
}
