//! Real `switchyard serve` processes, every node-to-node link through its own fault-injecting
//! proxy (the test kit's process harness): five nodes elect a leader and accept writes at a
//! follower; a SIGKILLed leader and a lost Tokyo site are replaced within seconds with no
//! acknowledged write lost; a leader cut off by the proxies is replaced and rejoins as a
//! follower after the heal; writes commit over delayed, jittery links between the sites; the
//! two-site 3+2 layout keeps writing without its minority site.
//!
//! The tests run one at a time (five processes each, on a two-core machine). Each prints its
//! seed (set `SWITCHYARD_SEED` to replay one) and the figures it measured; a failing test keeps
//! its run directory and prints where every node's logs are.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use switchyard_domain::{PartyId, SupplyPointImport, SupplyState, Timestamp};
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::v1;
use switchyard_raft::{NodeId, Site};
use switchyard_testkit::procs::{Layout, ProcessCluster, ProcessClusterOptions, request};
use switchyard_testkit::proxy::Delay;

const BINARY: &str = env!("CARGO_BIN_EXE_switchyard");

/// Longest wait for a new leader after a failure.
const FAILOVER_WAIT: Duration = Duration::from_secs(30);
/// Longest wait for every running node to agree and catch up.
const CONVERGENCE_WAIT: Duration = Duration::from_secs(45);
/// Longest a single write may be retried (same request id) before the test fails.
const WRITE_WAIT: Duration = Duration::from_secs(30);
/// Deadline of one write attempt.
const ATTEMPT_DEADLINE: Duration = Duration::from_secs(3);
/// Pause between retries of a refused attempt (no leader yet, node down).
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// One cluster at a time: five node processes per test is what two cores carry.
static SERIAL: Mutex<()> = Mutex::new(());

fn seed() -> u64 {
    let seed = std::env::var("SWITCHYARD_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(30);
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

async fn start_cluster() -> ProcessCluster {
    ProcessCluster::start(ProcessClusterOptions::new(BINARY, seed()))
        .await
        .unwrap_or_else(|error| panic!("the process cluster did not start: {error}"))
}

/// A date `days` after today (JST), as the wire writes it.
fn days_ahead(days: i32) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    Timestamp(now).jst_date().add_days(days).to_string()
}

/// An acknowledged switch-out: what was asked and what the cluster answered.
#[derive(Debug, Clone)]
struct Acknowledged {
    request_id: String,
    application_number: String,
    supply_point: String,
    retailer: PartyId,
}

/// Switch-outs by each supply point's own retailer, one point per write, so that no write
/// depends on another; every acknowledged one is remembered.
#[derive(Debug)]
struct Writer {
    points: Vec<(SupplyPointImport, PartyId)>,
    used: usize,
    effective_date: String,
    acknowledged: Vec<Acknowledged>,
}

impl Writer {
    fn new(cluster: &ProcessCluster) -> Writer {
        let points = cluster
            .data()
            .supply_points
            .iter()
            .filter_map(|point| match &point.supply {
                SupplyState::Supplying { retailer, .. } => {
                    Some((point.clone(), PartyId::Retailer(*retailer)))
                }
                SupplyState::Stopped => None,
            })
            .collect();
        Writer {
            points,
            used: 0,
            effective_date: days_ahead(30),
            acknowledged: Vec::new(),
        }
    }

    /// One attempt of the write with `request_id` on `point` at `node`.
    async fn attempt(
        &self,
        cluster: &ProcessCluster,
        node: NodeId,
        point: &(SupplyPointImport, PartyId),
        request_id: &str,
        deadline: Duration,
    ) -> Result<Acknowledged, tonic::Status> {
        let (point, retailer) = point;
        let answer = cluster
            .participant(node, retailer)
            .submit_application(request(
                v1::SubmitApplicationRequest {
                    request_id: request_id.to_owned(),
                    supply_point_number: point.number.to_string(),
                    effective_date: self.effective_date.clone(),
                    request: Some(v1::ProcedureRequest {
                        procedure: Some(v1::procedure_request::Procedure::SwitchOut(
                            v1::SwitchOutProcedure {},
                        )),
                    }),
                },
                deadline,
            ))
            .await?
            .into_inner();
        let result = answer.result.expect("an accepted write has a result");
        assert_eq!(
            result.state,
            v1::ApplicationState::AwaitingMatch as i32,
            "a switch-out waits for its match"
        );
        Ok(Acknowledged {
            request_id: request_id.to_owned(),
            application_number: result.application_number,
            supply_point: point.number.to_string(),
            retailer: retailer.clone(),
        })
    }

    /// Writes once, retrying the same request id at `nodes` in turn until acknowledged within
    /// [`WRITE_WAIT`]; returns the instant of the acknowledgement and the attempts made.
    async fn write(&mut self, cluster: &ProcessCluster, nodes: &[NodeId]) -> (Instant, u32) {
        let point = self
            .points
            .get(self.used)
            .cloned()
            .expect("enough supplied points for the test's writes");
        let request_id = format!("t30-{}-{}", cluster.seed(), self.used);
        self.used += 1;
        let started = Instant::now();
        let mut attempts = 0u32;
        let mut errors = Vec::new();
        loop {
            let node = nodes[attempts as usize % nodes.len()];
            attempts += 1;
            match self
                .attempt(cluster, node, &point, &request_id, ATTEMPT_DEADLINE)
                .await
            {
                Ok(acknowledged) => {
                    self.acknowledged.push(acknowledged);
                    return (Instant::now(), attempts);
                }
                Err(status) => {
                    if errors.len() < 8 {
                        errors.push(format!(
                            "{}: {:?} {}",
                            cluster.name(node),
                            status.code(),
                            status.message()
                        ));
                    }
                }
            }
            assert!(
                started.elapsed() < WRITE_WAIT,
                "write {request_id} not acknowledged within {WRITE_WAIT:?} at {:?}; first errors: {errors:#?}\n{}",
                nodes
                    .iter()
                    .map(|node| cluster.name(*node))
                    .collect::<Vec<_>>(),
                cluster.diagnostics()
            );
            tokio::time::sleep(RETRY_PAUSE).await;
        }
    }

    /// `count` writes at `nodes`, each after the previous one was acknowledged.
    async fn write_many(&mut self, cluster: &ProcessCluster, nodes: &[NodeId], count: usize) {
        for _ in 0..count {
            self.write(cluster, nodes).await;
        }
    }

    /// `count` writes at `node`, one after the other; their latencies, sorted.
    async fn timed_writes(
        &mut self,
        cluster: &ProcessCluster,
        node: NodeId,
        count: usize,
    ) -> Vec<Duration> {
        let mut latencies = Vec::new();
        for _ in 0..count {
            let started = Instant::now();
            self.write(cluster, &[node]).await;
            latencies.push(started.elapsed());
        }
        latencies.sort();
        latencies
    }

    /// Reads every acknowledged application back at `node` (from its own applied state, so
    /// that the node itself is what is checked) and compares it with what was acknowledged.
    async fn verify_at(&self, cluster: &ProcessCluster, node: NodeId) {
        for acknowledged in &self.acknowledged {
            let application = cluster
                .participant(node, &acknowledged.retailer)
                .get_application(request(
                    v1::GetApplicationRequest {
                        application_number: acknowledged.application_number.clone(),
                        consistency: v1::ReadConsistency::Local as i32,
                    },
                    ATTEMPT_DEADLINE,
                ))
                .await
                .unwrap_or_else(|status| {
                    panic!(
                        "acknowledged write {} ({}) missing at {}: {:?} {}\n{}",
                        acknowledged.request_id,
                        acknowledged.application_number,
                        cluster.name(node),
                        status.code(),
                        status.message(),
                        cluster.diagnostics()
                    )
                })
                .into_inner()
                .application
                .expect("an application");
            assert_eq!(
                application.supply_point_number,
                acknowledged.supply_point,
                "{} at {}",
                acknowledged.application_number,
                cluster.name(node)
            );
            assert_eq!(
                application.applicant_retailer_code,
                acknowledged.retailer.to_string()
            );
        }
    }

    /// Every acknowledged write is on every running node.
    async fn verify_everywhere(&self, cluster: &ProcessCluster) {
        for node in cluster.running() {
            self.verify_at(cluster, node).await;
        }
        eprintln!(
            "all {} acknowledged writes read back on {:?}",
            self.acknowledged.len(),
            cluster
                .running()
                .iter()
                .map(|node| cluster.name(*node))
                .collect::<Vec<_>>()
        );
    }
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Minimum, median and maximum of sorted latencies.
fn summary(latencies: &[Duration]) -> String {
    format!(
        "min {:.1} ms, median {:.1} ms, max {:.1} ms",
        milliseconds(latencies[0]),
        milliseconds(latencies[latencies.len() / 2]),
        milliseconds(latencies[latencies.len() - 1])
    )
}

/// (a) Five `switchyard serve` processes start from generated files, elect a leader that a
/// majority follows, take writes at a follower (forwarded to the leader through the follower's
/// proxy), and converge; the proxies carried the Raft traffic: every link out of the leader
/// forwarded bytes both ways, and so did the follower's link to the leader. Then a follower
/// stopped with SIGTERM exits cleanly and restarts, and one paused with SIGSTOP catches up after
/// SIGCONT, with every write on every node.
#[test]
fn five_processes_elect_and_accept_writes_at_a_follower() {
    serially(async {
        let mut cluster = start_cluster().await;
        let leader = cluster
            .wait_for_leader(FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let follower = cluster
            .node_ids()
            .into_iter()
            .find(|node| *node != leader.node_id && cluster.site_of(*node) == Site::Osaka)
            .expect("an Osaka follower");
        eprintln!(
            "leader {} (term {}), writing at follower {}",
            cluster.name(leader.node_id),
            leader.term,
            cluster.name(follower)
        );
        let mut writer = Writer::new(&cluster);
        let latencies = writer.timed_writes(&cluster, follower, 10).await;
        eprintln!("10 writes at a follower: {}", summary(&latencies));
        let (converged, index) = cluster
            .wait_for_convergence(CONVERGENCE_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        eprintln!(
            "converged at log index {index}, leader {} (term {})",
            cluster.name(converged.node_id),
            converged.term
        );
        writer.verify_everywhere(&cluster).await;

        let counters = cluster.link_counters();
        for node in cluster.node_ids() {
            if node == leader.node_id {
                continue;
            }
            let out = counters[&(leader.node_id, node)];
            assert!(
                out.forward_bytes > 0 && out.reverse_bytes > 0,
                "the link {} -> {} carried nothing: {out:?}",
                cluster.name(leader.node_id),
                cluster.name(node)
            );
        }
        if converged == leader {
            let forwarded = counters[&(follower, leader.node_id)];
            assert!(
                forwarded.forward_bytes > 0 && forwarded.reverse_bytes > 0,
                "the follower's writes went to the leader through its proxy: {forwarded:?}"
            );
        }
        let total: u64 = counters
            .values()
            .map(|link| link.forward_bytes + link.reverse_bytes)
            .sum();
        eprintln!(
            "{} directed links, {total} bytes through the proxies",
            counters.len()
        );

        // The other process operations: a follower stopped with SIGTERM exits cleanly and
        // restarts from its directory; a follower frozen with SIGSTOP does not hold writes up,
        // and catches up after SIGCONT.
        let leader = converged.node_id;
        let others: Vec<NodeId> = cluster
            .node_ids()
            .into_iter()
            .filter(|node| *node != leader)
            .collect();
        let (stopped, frozen) = (others[0], others[1]);
        let clean = cluster
            .terminate(stopped)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(
            clean,
            "{} exits with success on SIGTERM",
            cluster.name(stopped)
        );
        writer.write_many(&cluster, &[leader], 3).await;
        cluster
            .restart(stopped)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        cluster.pause(frozen).expect("SIGSTOP");
        writer.write_many(&cluster, &[leader], 3).await;
        cluster.resume(frozen).expect("SIGCONT");
        let (_, index) = cluster
            .wait_for_convergence(CONVERGENCE_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        eprintln!(
            "{} stopped and restarted, {} paused and resumed: converged at index {index}",
            cluster.name(stopped),
            cluster.name(frozen)
        );
        writer.verify_everywhere(&cluster).await;
    });
}

/// (b) The leader's process is SIGKILLed: the survivors elect a new leader and writes resume
/// (the time from the kill to the first acknowledged write is printed); the old leader restarts
/// from its directory, catches up and follows, and every write acknowledged before and after
/// the kill is on every node, the restarted one included.
#[test]
fn killed_leader_is_replaced_and_no_acknowledged_write_is_lost() {
    serially(async {
        let mut cluster = start_cluster().await;
        let old = cluster
            .wait_for_leader(FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let mut writer = Writer::new(&cluster);
        writer.write_many(&cluster, &cluster.node_ids(), 15).await;

        let killed_at = Instant::now();
        cluster.kill(old.node_id).expect("SIGKILL");
        let survivors = cluster.running();
        let (first_write, attempts) = writer.write(&cluster, &survivors).await;
        let new = cluster
            .wait_for_new_leader(old.node_id, FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        eprintln!(
            "leader {} SIGKILLed: first acknowledged write {:.0} ms later ({attempts} attempts); new leader {} (term {})",
            cluster.name(old.node_id),
            milliseconds(first_write - killed_at),
            cluster.name(new.node_id),
            new.term
        );
        assert!(new.term > old.term);
        writer.write_many(&cluster, &survivors, 15).await;

        let restarted_at = Instant::now();
        cluster
            .restart(old.node_id)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let (converged, index) = cluster
            .wait_for_convergence(CONVERGENCE_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        eprintln!(
            "{} restarted and caught up to index {index} in {:.0} ms; leader {}",
            cluster.name(old.node_id),
            milliseconds(restarted_at.elapsed()),
            cluster.name(converged.node_id)
        );
        assert_ne!(
            converged.node_id, old.node_id,
            "a restarted node never resumes leadership by itself"
        );
        writer.verify_everywhere(&cluster).await;
    });
}

/// (c) With the leader in Tokyo, both Tokyo processes are SIGKILLed: Osaka and the witness
/// (three of five) elect a leader among themselves and writes resume (time printed); every
/// acknowledged write is on the three survivors.
#[test]
fn losing_the_tokyo_site_fails_over_to_osaka_and_the_witness() {
    serially(async {
        let mut cluster = start_cluster().await;
        let mut leader = cluster
            .wait_for_leader(FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        if cluster.site_of(leader.node_id) != Site::Tokyo {
            // Planned failover to Tokyo first, so that losing Tokyo loses the leader.
            let moved = cluster
                .admin(leader.node_id)
                .transfer_leadership(request(
                    admin::TransferLeadershipRequest {
                        request_id: format!("t30-to-tokyo-{}", cluster.seed()),
                        target: Some(admin::transfer_leadership_request::Target::Site(
                            admin::Site::Tokyo as i32,
                        )),
                        timeout_ms: 10_000,
                    },
                    Duration::from_secs(15),
                ))
                .await
                .unwrap_or_else(|status| {
                    panic!(
                        "leadership moves to Tokyo: {:?} {}",
                        status.code(),
                        status.message()
                    )
                })
                .into_inner();
            leader = cluster
                .wait_for_new_leader(leader.node_id, FAILOVER_WAIT)
                .await
                .unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(leader.node_id, moved.new_leader_node_id);
        }
        assert_eq!(cluster.site_of(leader.node_id), Site::Tokyo);
        let mut writer = Writer::new(&cluster);
        writer.write_many(&cluster, &cluster.node_ids(), 10).await;

        let tokyo = cluster.nodes_of_site(Site::Tokyo);
        let killed_at = Instant::now();
        for node in &tokyo {
            cluster.kill(*node).expect("SIGKILL");
        }
        let survivors = cluster.running();
        assert_eq!(survivors.len(), 3);
        let (first_write, attempts) = writer.write(&cluster, &survivors).await;
        let new = cluster
            .wait_for_leader(FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        eprintln!(
            "Tokyo ({}) SIGKILLed: first acknowledged write {:.0} ms later ({attempts} attempts); new leader {} (term {})",
            tokyo
                .iter()
                .map(|node| cluster.name(*node))
                .collect::<Vec<_>>()
                .join(", "),
            milliseconds(first_write - killed_at),
            cluster.name(new.node_id),
            new.term
        );
        assert_ne!(cluster.site_of(new.node_id), Site::Tokyo);
        writer.write_many(&cluster, &survivors, 10).await;
        cluster
            .wait_for_convergence(CONVERGENCE_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        writer.verify_everywhere(&cluster).await;
    });
}

/// (d) The leader's process keeps running but the proxies cut it off from every peer: the
/// other four elect a new leader and take writes, while a write sent to the isolated old
/// leader is never acknowledged; after the heal the old leader follows the new one (pre-vote
/// keeps it from deposing it), catches up, and every node holds every acknowledged write.
#[test]
fn isolated_leader_is_replaced_and_rejoins_as_a_follower() {
    serially(async {
        let cluster = start_cluster().await;
        let old = cluster
            .wait_for_leader(FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let mut writer = Writer::new(&cluster);
        writer.write_many(&cluster, &cluster.node_ids(), 10).await;

        let isolated_at = Instant::now();
        cluster.isolate(old.node_id);
        let majority: Vec<NodeId> = cluster
            .node_ids()
            .into_iter()
            .filter(|node| *node != old.node_id)
            .collect();
        let new = cluster
            .wait_for_new_leader(old.node_id, FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let elected = isolated_at.elapsed();
        let (first_write, attempts) = writer.write(&cluster, &majority).await;
        eprintln!(
            "leader {} isolated: new leader {} (term {}) seen after {:.0} ms, first acknowledged write {:.0} ms after the cut ({attempts} attempts)",
            cluster.name(old.node_id),
            cluster.name(new.node_id),
            new.term,
            milliseconds(elected),
            milliseconds(first_write - isolated_at)
        );
        writer.write_many(&cluster, &majority, 10).await;

        // The old leader cannot reach a quorum: what is sent to it is not acknowledged.
        let point = writer.points[writer.used].clone();
        writer.used += 1;
        let refused = writer
            .attempt(
                &cluster,
                old.node_id,
                &point,
                &format!("t30-isolated-{}", cluster.seed()),
                Duration::from_secs(2),
            )
            .await;
        assert!(
            refused.is_err(),
            "the isolated old leader acknowledged a write: {refused:?}"
        );
        let blackholed: u64 = cluster
            .link_counters()
            .iter()
            .filter(|((from, to), _)| *from == old.node_id || *to == old.node_id)
            .map(|(_, link)| link.blackholed_bytes)
            .sum();
        assert!(
            blackholed > 0,
            "the proxies held back the old leader's traffic"
        );

        let healed_at = Instant::now();
        cluster.heal();
        let (converged, index) = cluster
            .wait_for_convergence(CONVERGENCE_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        eprintln!(
            "healed: all five follow {} (term {}) at index {index} after {:.0} ms",
            cluster.name(converged.node_id),
            converged.term,
            milliseconds(healed_at.elapsed())
        );
        assert_ne!(
            converged.node_id, old.node_id,
            "the old leader rejoins as a follower"
        );
        let old_view = cluster
            .status_views()
            .await
            .remove(&old.node_id)
            .expect("the old leader answers");
        assert_eq!(old_view.leader_node_id, Some(converged.node_id));
        writer.write_many(&cluster, &[old.node_id], 3).await;
        cluster
            .wait_for_convergence(CONVERGENCE_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        writer.verify_everywhere(&cluster).await;
    });
}

/// (e) Every link between two sites is delayed by 5 ms ± 2 ms each way (about a 10 ms
/// Tokyo–Osaka round trip; the witness links too), seeded: writes at the leader still commit,
/// none faster than one cross-site round trip (≥ 2 × 3 ms: every quorum of five spans two
/// sites), and the latencies without and with the delay are printed side by side.
#[test]
fn writes_commit_over_delayed_links_between_sites() {
    serially(async {
        let cluster = start_cluster().await;
        let leader = cluster
            .wait_for_leader(FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        let mut writer = Writer::new(&cluster);
        let baseline = writer.timed_writes(&cluster, leader.node_id, 10).await;
        eprintln!(
            "10 writes at the leader {} without delay: {}",
            cluster.name(leader.node_id),
            summary(&baseline)
        );

        let delay = Delay::milliseconds(5, 2);
        for (site_a, site_b) in [
            (Site::Tokyo, Site::Osaka),
            (Site::Tokyo, Site::Witness),
            (Site::Osaka, Site::Witness),
        ] {
            cluster.set_delay_between_sites(site_a, site_b, delay);
        }
        let tokyo_1 = cluster.id_of("tokyo-1");
        let osaka_1 = cluster.id_of("osaka-1");
        let state = cluster.link(tokyo_1, osaka_1).state();
        assert_eq!(state.forward.delay, delay);
        assert_eq!(state.reverse.delay, delay);
        assert_eq!(
            cluster
                .link(tokyo_1, cluster.id_of("tokyo-2"))
                .state()
                .forward
                .delay,
            Delay::NONE
        );
        eprintln!(
            "delay {delay:?} each way between sites, link seeds e.g. {}",
            cluster.link(tokyo_1, osaka_1).seed()
        );

        let latencies = writer.timed_writes(&cluster, leader.node_id, 30).await;
        let minimum = latencies[0];
        eprintln!(
            "30 writes at the leader {} over delayed links: {}",
            cluster.name(leader.node_id),
            summary(&latencies)
        );
        assert!(
            minimum >= Duration::from_millis(6),
            "a commit needs a cross-site round trip of at least 2 x 3 ms, took {minimum:?}"
        );
        let before = cluster.link_counters();
        cluster
            .wait_for_convergence(CONVERGENCE_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        writer.verify_everywhere(&cluster).await;
        assert!(
            before.values().all(|link| link.blackholed_bytes == 0),
            "a delay drops nothing"
        );
    });
}

/// (f) The two-site 3+2 layout (three nodes in Tokyo, two in Osaka, no witness) starts and
/// elects; with the Osaka site cut off by the proxies, Tokyo alone is a majority and keeps
/// taking writes at a Tokyo node, while a write at an Osaka node is not acknowledged; after the
/// heal Osaka catches up and every node holds every acknowledged write.
#[test]
fn two_site_layout_keeps_writing_without_the_minority_site() {
    serially(async {
        let mut options = ProcessClusterOptions::new(BINARY, seed());
        options.layout = Layout::two_sites_three_two();
        let cluster = ProcessCluster::start(options)
            .await
            .unwrap_or_else(|error| panic!("the 3+2 cluster did not start: {error}"));
        let leader = cluster
            .wait_for_leader(FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(cluster.site_of(leader.node_id), Site::Tokyo);
        let tokyo = cluster.nodes_of_site(Site::Tokyo);
        let osaka = cluster.nodes_of_site(Site::Osaka);
        assert_eq!((tokyo.len(), osaka.len()), (3, 2));
        let mut writer = Writer::new(&cluster);
        writer.write_many(&cluster, &cluster.node_ids(), 5).await;

        cluster.partition_site(Site::Osaka);
        let cut_at = Instant::now();
        let latencies = writer.timed_writes(&cluster, tokyo[1], 10).await;
        eprintln!(
            "Osaka cut off: 10 writes at {}: {}",
            cluster.name(tokyo[1]),
            summary(&latencies)
        );
        let point = writer.points[writer.used].clone();
        writer.used += 1;
        let refused = writer
            .attempt(
                &cluster,
                osaka[0],
                &point,
                &format!("t30-osaka-cut-{}", cluster.seed()),
                Duration::from_secs(2),
            )
            .await;
        assert!(
            refused.is_err(),
            "a node of the cut-off minority acknowledged a write: {refused:?}"
        );
        let still = cluster
            .wait_for_leader(FAILOVER_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(
            cluster.site_of(still.node_id),
            Site::Tokyo,
            "the majority site keeps the leadership"
        );

        cluster.heal();
        let (_, index) = cluster
            .wait_for_convergence(CONVERGENCE_WAIT)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        eprintln!(
            "healed after {:.0} ms of partition: converged at index {index}",
            milliseconds(cut_at.elapsed())
        );
        writer.verify_everywhere(&cluster).await;
    });
}
