//! Failover under continuous writes through the client library, on real `switchyard serve`
//! processes with the production (WAN-tuned) timings, every node-to-node link through the test
//! kit's proxy: a planned failover Tokyo → Osaka → Tokyo fails no request; a SIGKILLed leader
//! and a SIGKILLed Tokyo site are replaced and lose no acknowledged write. Each test prints the
//! write pause or recovery time it measured (the benchmark `switchyard-failover` takes the
//! median of many trials: docs/BENCHMARKS.md).
//!
//! The tests run one at a time (five processes each, on a two-core machine); each prints its
//! seed (set `SWITCHYARD_SEED` to replay one), and a failing test keeps its run directory and
//! prints where every node's logs are.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use switchyard_proto::admin::v1 as admin;
use switchyard_raft::Site;
use switchyard_testkit::failover::{self, WriteLoad, WriteLoadOptions};
use switchyard_testkit::procs::{ProcessCluster, ProcessClusterOptions};

const BINARY: &str = env!("CARGO_BIN_EXE_switchyard");

/// One cluster at a time: five node processes per test is what two cores carry.
static SERIAL: Mutex<()> = Mutex::new(());

/// Bounds that only a broken failover reaches, even on a loaded machine.
const PLANNED_PAUSE_BOUND: Duration = Duration::from_secs(5);
const RECOVERY_BOUND: Duration = Duration::from_secs(10);

fn seed() -> u64 {
    let seed = std::env::var("SWITCHYARD_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(40);
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

/// A five-node cluster with enough supply points for the load and the probes, the leader in
/// Tokyo, and a load of four writers running.
async fn cluster_with_load() -> (ProcessCluster, WriteLoad) {
    let mut options = ProcessClusterOptions::new(BINARY, seed());
    options.supply_points = 3_000;
    let cluster = ProcessCluster::start(options)
        .await
        .unwrap_or_else(|error| panic!("the process cluster did not start: {error}"));
    failover::transfer_leadership(
        &cluster,
        admin::transfer_leadership_request::Target::Site(admin::Site::Tokyo as i32),
        "t40-start",
    )
    .await
    .unwrap_or_else(|error| panic!("leadership did not move to Tokyo: {error}"));
    let load = WriteLoad::start(
        &cluster,
        WriteLoadOptions {
            workers: 4,
            probe_points: 600,
            ..WriteLoadOptions::default()
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{error}"));
    (cluster, load)
}

/// Stops the load, then reads every acknowledged write back at every node and checks that no
/// write failed beyond `failures_allowed`.
async fn stop_and_verify(cluster: &ProcessCluster, mut load: WriteLoad, failures_allowed: usize) {
    load.stop().await;
    let failures = load.failures();
    assert!(
        failures.len() <= failures_allowed,
        "{} writes failed (at most {failures_allowed} allowed): {:#?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );
    cluster
        .wait_for_convergence(Duration::from_secs(45))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let checked = load
        .verify(cluster)
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", cluster.diagnostics()));
    let acknowledged = load
        .records()
        .iter()
        .filter(|record| record.outcome.is_ok())
        .count();
    assert!(checked > 0, "the load acknowledged no write");
    eprintln!(
        "{acknowledged} acknowledged writes ({checked} applications) read back on every node"
    );
}

/// (a) Leadership moves from Tokyo to Osaka and back while four retailers write through the
/// client library without pause: both transfers are confirmed at the asked site, the load goes on
/// across them with **no failed request** (the library retries under the same request id), the
/// write pause stays far below an election's worth, and every acknowledged write is on every
/// node afterwards.
#[test]
fn planned_failover_tokyo_osaka_tokyo_fails_no_request() {
    serially(async {
        let (cluster, load) = cluster_with_load().await;
        for site in [Site::Osaka, Site::Tokyo] {
            let trial =
                failover::planned_failover(&cluster, &load, site, &format!("t40-planned-{site}"))
                    .await
                    .unwrap_or_else(|error| panic!("{error}\n{}", cluster.diagnostics()));
            eprintln!(
                "planned failover to {site}: {} -> {}, confirmed in {:?}, write pause {:?} (normal running: {:?}), slowest write {:?}, {} writes, {} failed",
                cluster.name(trial.from),
                cluster.name(trial.to),
                trial.transfer,
                trial.write_pause,
                trial.normal_gap,
                trial.slowest_write,
                trial.writes,
                trial.failed
            );
            assert_eq!(
                cluster.site_of(trial.to),
                site,
                "leadership went to {} instead of {site}",
                cluster.name(trial.to)
            );
            assert_eq!(
                trial.failed, 0,
                "a request failed across the planned failover"
            );
            assert!(
                trial.writes > 0,
                "no write was acknowledged across the failover"
            );
            assert!(
                trial.write_pause < PLANNED_PAUSE_BOUND,
                "writes paused {:?} during a planned failover",
                trial.write_pause
            );
        }
        stop_and_verify(&cluster, load, 0).await;
    });
}

/// (b) Under the same load, the leader is SIGKILLed, restarted and caught up, then the whole
/// Tokyo site (the leader among its two nodes) is SIGKILLed: each time a new leader takes writes
/// sent after the kill within a bound, and at the end every acknowledged write — before, during
/// and after both kills — is on every node. A write the library gave up on would be a failure
/// too: the budget outlasts both elections.
#[test]
fn leader_and_site_loss_under_load_lose_no_acknowledged_write() {
    serially(async {
        let (mut cluster, mut load) = cluster_with_load().await;
        let trial = failover::kill_leader(&mut cluster, &mut load)
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", cluster.diagnostics()));
        eprintln!(
            "leader {} SIGKILLed: {} leads, first write sent after the kill acknowledged after {:?} (load paused {:?})",
            cluster.name(trial.killed[0]),
            cluster.name(trial.new_leader),
            trial.recovery,
            trial.write_pause
        );
        assert!(
            trial.recovery < RECOVERY_BOUND,
            "recovery took {:?}",
            trial.recovery
        );
        let trial = failover::lose_site(&mut cluster, &mut load, Site::Tokyo, "t40-site")
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", cluster.diagnostics()));
        eprintln!(
            "Tokyo site SIGKILLed: {} leads, first write sent after the kill acknowledged after {:?} (load paused {:?})",
            cluster.name(trial.new_leader),
            trial.recovery,
            trial.write_pause
        );
        assert_ne!(
            cluster.site_of(trial.new_leader),
            Site::Tokyo,
            "a Tokyo node cannot lead while its site is down"
        );
        assert!(
            trial.recovery < RECOVERY_BOUND,
            "recovery took {:?}",
            trial.recovery
        );
        stop_and_verify(&cluster, load, 0).await;
    });
}
