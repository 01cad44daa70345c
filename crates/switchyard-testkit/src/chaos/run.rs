//! One seeded chaos run: a process cluster, the workload recording what its clients saw, the
//! nemesis applying its schedule, then heal, convergence, every replica's own final state, and
//! every checker over the whole.
//!
//! The steps: start the scenario's cluster (real `switchyard serve` processes, every peer link
//! through a proxy) with the run's seed; delay every link between sites by the Tokyo–Osaka
//! baseline; set the policy's switching lead times to zero (so that a pair can be effective,
//! matched and completed today, within the run); start the workload on hot supply points and
//! the watchers; apply the schedule fault by fault; stop the clients, heal everything, wait for
//! every node to converge; let the clients resolve the writes whose outcome they never learnt;
//! let the watchers cover the last revision; collect each node's final state from its own
//! snapshot; stop the processes and check. A failing run keeps its directory with the history,
//! the replicas, the faults and the report as JSON and text.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use switchyard_domain::generator::SplitMix64;
use switchyard_domain::{LeadTime, PartyId, Policy, SupplyState, Timestamp};
use switchyard_proto::admin::v1 as admin;
use tokio::time::Instant;

use super::collect::collect_replica;
use super::history::{History, InitialPoint, Outcome, ReplicaFinalState};
use super::nemesis::{FaultRecord, Nemesis, Schedule, ScheduleBounds};
use super::report::Report;
use super::scenario::Scenario;
use super::workload::{Endpoint, HotPoint, Recorder, Workload, WorkloadConfig};
use crate::procs::{HarnessError, ProcessCluster, ProcessClusterOptions, request};

/// Longest wait for every node to converge after the heal.
const CONVERGENCE_WAIT: Duration = Duration::from_secs(90);
/// Longest the clients may take to resolve their unknown writes after the heal.
const RESOLVE_WAIT: Duration = Duration::from_secs(60);
/// Longest the watchers may take to cover the last revision.
const WATCH_FINISH_WAIT: Duration = Duration::from_secs(60);
/// Deadline of one set-up write (the policy), retried until [`SETUP_WAIT`].
const SETUP_DEADLINE: Duration = Duration::from_secs(5);
const SETUP_WAIT: Duration = Duration::from_secs(60);
/// Retailers racing on each hot point besides its current retailer.
const CHALLENGERS_PER_POINT: usize = 2;

/// How to run one scenario with one seed.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The `switchyard` binary, built with `switchyard-server`'s `fault-injection` feature.
    pub binary: PathBuf,
    pub scenario: Scenario,
    pub seed: u64,
    /// How long the nemesis schedule runs (the workload runs as long).
    pub faults_total: Duration,
    /// Supply points the workload races on.
    pub hot_points: usize,
    /// Operations one point's clients may record.
    pub operations_per_point_max: usize,
}

impl RunOptions {
    /// The suite's defaults: 30 s of faults, 10 hot points of at most 80 operations each.
    pub fn new(binary: impl Into<PathBuf>, scenario: Scenario, seed: u64) -> RunOptions {
        RunOptions {
            binary: binary.into(),
            scenario,
            seed,
            faults_total: Duration::from_secs(30),
            hot_points: 10,
            operations_per_point_max: 80,
        }
    }
}

/// What a run did and found.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub scenario: &'static str,
    pub seed: u64,
    pub faults: Vec<FaultRecord>,
    pub operations: usize,
    pub ok: usize,
    pub refused: usize,
    pub unknown: usize,
    pub watch_streams: usize,
    pub watch_connections: usize,
    pub watch_events: usize,
    pub replicas: usize,
    pub report: Report,
    pub wall_time: Duration,
    /// Where a failing run's files are kept.
    pub kept_directory: Option<PathBuf>,
}

impl RunOutcome {
    /// One line for the suite's table.
    pub fn summary(&self) -> String {
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|fault| fault.kind.to_string())
            .collect();
        format!(
            "scenario {} seed {}: {} operation(s) ({} ok, {} refused, {} unknown), {} watch stream(s) over {} connection(s) with {} event(s), {} replica(s); faults [{}]; {} violation(s); {:.0} s",
            self.scenario,
            self.seed,
            self.operations,
            self.ok,
            self.refused,
            self.unknown,
            self.watch_streams,
            self.watch_connections,
            self.watch_events,
            self.replicas,
            faults.join(", "),
            self.report.violations.len(),
            self.wall_time.as_secs_f64()
        )
    }
}

/// The command that replays one run.
pub fn replay_command(scenario: &str, seed: u64) -> String {
    format!(
        "CHAOS_SEED={seed} CHAOS_SCENARIOS={scenario} cargo test --workspace --test t90_chaos -- --nocapture"
    )
}

/// The business policy of a run: the defaults with no switching lead time, so that a pair can
/// be effective, matched and completed on the day of the run.
fn run_policy() -> Policy {
    let mut policy = Policy::default();
    for lead_times in &mut policy.lead_times {
        let none = LeadTime {
            business_days: 0,
            calendar_days: 0,
        };
        lead_times.switching = none;
        lead_times.switching_with_meter_works = none;
    }
    policy
}

/// Runs `options.scenario` with `options.seed`: see the module documentation. A harness failure
/// (the cluster does not start, does not converge after the heal, a node does not restart) is an
/// error; what the checkers found is in the outcome's report.
pub async fn run(options: RunOptions) -> Result<RunOutcome, HarnessError> {
    let run_started = Instant::now();
    let scenario = options.scenario;
    eprintln!(
        "chaos: scenario {} ({}) seed {} — replay: {}",
        scenario.name,
        scenario.layout,
        options.seed,
        replay_command(scenario.name, options.seed)
    );
    let mut cluster_options = ProcessClusterOptions::new(&options.binary, options.seed);
    cluster_options.layout = scenario.layout.layout();
    cluster_options.supply_points = 200;
    // Short enough that a stalled disk is noticed within a fault's duration, long enough for a
    // busy two-core machine's ordinary syncs.
    cluster_options.flush_stall_bound_ms = 3_000;
    let mut cluster = ProcessCluster::start(cluster_options).await?;
    Nemesis::set_baseline_delays(&cluster);

    configure_policy(&cluster, options.seed).await?;
    let (_, setup_index) = cluster.wait_for_convergence(CONVERGENCE_WAIT).await?;

    let mut random = SplitMix64::new(options.seed ^ 0x686F_7470_6F69_6E74);
    let points = hot_points(&cluster, &mut random, options.hot_points);
    let initial_points: Vec<InitialPoint> = points
        .iter()
        .map(|point| InitialPoint {
            supply_point: point.supply_point,
            current_retailer: Some(point.initial_retailer),
        })
        .collect();
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis()),
    )
    .unwrap_or(i64::MAX);
    let today = Timestamp(now_ms).jst_date();
    let mut watch_parties = vec![cluster.operator().clone()];
    if let Some(first) = points.first() {
        watch_parties.push(PartyId::Retailer(first.initial_retailer));
        watch_parties.push(PartyId::Tso(first.supply_point.area()));
    }
    let schedule = Schedule::draw(
        options.seed,
        scenario.faults,
        ScheduleBounds {
            total: options.faults_total,
            quiet_ms_min: 1_000,
            quiet_ms_max: 3_000,
            fault_ms_min: 3_000,
            fault_ms_max: 7_000,
        },
    );
    // Spread each point's budget over the run: every client steps about this often.
    let clients_per_point = (CHALLENGERS_PER_POINT + 3) as u64;
    let average_pace_ms = u64::try_from(options.faults_total.as_millis()).unwrap_or(30_000)
        * clients_per_point
        / (options.operations_per_point_max.max(1) as u64 * 2 / 3).max(1);
    let config = WorkloadConfig {
        seed: options.seed,
        today,
        points,
        operations_per_point_max: options.operations_per_point_max,
        pace_ms_min: average_pace_ms / 3,
        pace_ms_max: average_pace_ms * 5 / 3,
        write_deadline: Duration::from_secs(3),
        read_deadline: Duration::from_secs(2),
        attempts_per_write_max: 3,
        resolution_attempts_max: 5,
        watch_parties,
        watch_start_revision: setup_index + 1,
        watch_connection_ms_min: 2_000,
        watch_connection_ms_max: 6_000,
    };
    let endpoints: Vec<Endpoint> = cluster
        .node_ids()
        .into_iter()
        .map(|node| Endpoint {
            node,
            name: cluster.name(node).to_owned(),
            channel: cluster.channel(node),
        })
        .collect();
    let workload_started = Instant::now();
    let recorder = Arc::new(Recorder::new(workload_started));
    let mut workload = Workload::start(config, endpoints, Arc::clone(&recorder));
    let mut nemesis = Nemesis::new(workload_started);
    for fault in &schedule.faults {
        tokio::time::sleep(Duration::from_millis(fault.quiet_before_ms)).await;
        let undo = nemesis.apply(&mut cluster, fault).await?;
        tokio::time::sleep(Duration::from_millis(fault.duration_ms)).await;
        nemesis.undo(&mut cluster, undo).await?;
    }
    eprintln!(
        "chaos: [{}] schedule done: stopping the clients, healing everything",
        super::report::seconds(recorder.now_ns())
    );
    workload.stop();
    Nemesis::heal_everything(&mut cluster).await?;
    cluster.wait_for_convergence(CONVERGENCE_WAIT).await?;
    let late = workload.resolve(RESOLVE_WAIT).await;
    if late > 0 {
        eprintln!("chaos: {late} client(s) did not finish resolving within {RESOLVE_WAIT:?}");
    }
    let (leader, final_index) = cluster.wait_for_convergence(CONVERGENCE_WAIT).await?;
    eprintln!(
        "chaos: [{}] converged at index {final_index}, leader {}",
        super::report::seconds(recorder.now_ns()),
        cluster.name(leader.node_id)
    );
    let watch_streams = workload
        .finish_watches(final_index, WATCH_FINISH_WAIT)
        .await;
    let operations = workload.operations();
    drop(workload);

    let final_directory = cluster.run_directory().join("final");
    std::fs::create_dir_all(&final_directory).map_err(|error| {
        HarnessError(format!(
            "cannot create {}: {error}",
            final_directory.display()
        ))
    })?;
    let mut replicas = Vec::new();
    for node in cluster.node_ids() {
        replicas.push(collect_replica(&cluster, node, &final_directory, "end").await?);
    }
    // The checkers need the CPU more than the idle processes do.
    cluster.kill_all();

    let history = History {
        initial_points,
        operations,
        watch_streams,
    };
    let (history, replicas, report) = tokio::task::spawn_blocking(move || {
        let report = super::check(&history, &replicas);
        (history, replicas, report)
    })
    .await
    .map_err(|error| HarnessError(format!("the checkers panicked: {error}")))?;

    let count = |matches: fn(&Outcome) -> bool| {
        history
            .operations
            .iter()
            .filter(|record| matches(&record.outcome))
            .count()
    };
    let mut outcome = RunOutcome {
        scenario: scenario.name,
        seed: options.seed,
        faults: nemesis.records().to_vec(),
        operations: history.operations.len(),
        ok: count(|outcome| matches!(outcome, Outcome::Ok(_))),
        refused: count(|outcome| matches!(outcome, Outcome::Refused(_))),
        unknown: count(|outcome| matches!(outcome, Outcome::Unknown { .. })),
        watch_streams: history.watch_streams.len(),
        watch_connections: history
            .watch_streams
            .iter()
            .map(|stream| stream.connections.len())
            .sum(),
        watch_events: history
            .watch_streams
            .iter()
            .flat_map(|stream| &stream.connections)
            .map(|connection| connection.delivered.len())
            .sum(),
        replicas: replicas.len(),
        report,
        wall_time: run_started.elapsed(),
        kept_directory: None,
    };
    if !outcome.report.is_ok() {
        let directory = cluster.keep_run_directory();
        save_failure(&directory, &history, &replicas, &outcome)?;
        outcome.kept_directory = Some(directory);
    }
    Ok(outcome)
}

/// Sets the run's policy through the admin API (any node; the write goes to the leader).
async fn configure_policy(cluster: &ProcessCluster, seed: u64) -> Result<(), HarnessError> {
    let started = Instant::now();
    let nodes = cluster.node_ids();
    let mut attempt = 0usize;
    loop {
        let node = nodes[attempt % nodes.len()];
        attempt += 1;
        let answer = cluster
            .admin(node)
            .configure_policy(request(
                admin::ConfigurePolicyRequest {
                    request_id: format!("chaos-policy-{seed}"),
                    policy: Some(run_policy().into()),
                },
                SETUP_DEADLINE,
            ))
            .await;
        match answer {
            Ok(_) => return Ok(()),
            Err(status) if started.elapsed() < SETUP_WAIT => {
                eprintln!(
                    "chaos: configuring the policy at {}: {:?} {}; again",
                    cluster.name(node),
                    status.code(),
                    status.message()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(status) => {
                return Err(HarnessError(format!(
                    "cannot configure the run's policy within {SETUP_WAIT:?}: {:?} {}\n{}",
                    status.code(),
                    status.message(),
                    cluster.diagnostics()
                )));
            }
        }
    }
}

/// `count` supplied points of the sample data, drawn with `random`, each with its current
/// retailer and challengers.
fn hot_points(cluster: &ProcessCluster, random: &mut SplitMix64, count: usize) -> Vec<HotPoint> {
    let data = cluster.data();
    let retailers: Vec<_> = data
        .retailers
        .iter()
        .filter_map(|participant| participant.party.retailer())
        .collect();
    let mut supplied: Vec<_> = data
        .supply_points
        .iter()
        .filter_map(|point| match point.supply {
            SupplyState::Supplying { retailer, .. } => Some((point.number, retailer)),
            SupplyState::Stopped => None,
        })
        .collect();
    let mut points = Vec::new();
    while points.len() < count && !supplied.is_empty() {
        let (number, current) = supplied.swap_remove(random.below(supplied.len() as u64) as usize);
        let mut others: Vec<_> = retailers
            .iter()
            .copied()
            .filter(|retailer| *retailer != current)
            .collect();
        let mut racing = vec![current];
        while racing.len() < CHALLENGERS_PER_POINT + 1 && !others.is_empty() {
            racing.push(others.swap_remove(random.below(others.len() as u64) as usize));
        }
        points.push(HotPoint {
            supply_point: number,
            initial_retailer: current,
            retailers: racing,
        });
    }
    points
}

#[derive(Serialize)]
struct FailureSummary<'a> {
    scenario: &'a str,
    seed: u64,
    replay: String,
    faults: &'a [FaultRecord],
}

/// Writes what a failing run recorded into `directory/chaos/`.
fn save_failure(
    directory: &Path,
    history: &History,
    replicas: &[ReplicaFinalState],
    outcome: &RunOutcome,
) -> Result<(), HarnessError> {
    let chaos = directory.join("chaos");
    let write = |name: &str, text: String| {
        std::fs::create_dir_all(&chaos)
            .and_then(|()| std::fs::write(chaos.join(name), text))
            .map_err(|error| HarnessError(format!("cannot write {name}: {error}")))
    };
    write("history.json", pretty(history))?;
    write("replicas.json", pretty(replicas))?;
    write(
        "run.json",
        pretty(&FailureSummary {
            scenario: outcome.scenario,
            seed: outcome.seed,
            replay: replay_command(outcome.scenario, outcome.seed),
            faults: &outcome.faults,
        }),
    )?;
    write("report.txt", outcome.report.to_string())?;
    Ok(())
}

/// Pretty JSON, or the error in its place.
fn pretty<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string_pretty(value)
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
}
