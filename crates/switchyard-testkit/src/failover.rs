//! Failover measured on real processes: continuous writes through the client library while
//! leadership is moved, the leader is killed or a whole site is lost — the figures of the
//! operators' issue, and the assertions of the failover tests.
//!
//! A [`WriteLoad`] runs closed-loop workers, each a retailer with a `switchyard-client` of its
//! own (every endpoint of both sites and the witness, the retailer's development token). A worker
//! submits a switch-out on one of its supply points and cancels it again, point after point, so
//! that the load can run for as long as it is asked without running out of points; every write
//! is recorded with its invocation, completion and outcome. The client retries under one request
//! id within its budget, so a failed request here is one that the library gave up on or that a
//! rule refused: a planned failover must show none.
//!
//! Three trials, each against a [`ProcessCluster`] whose nodes all run:
//!
//! - [`planned_failover`]: `TransferLeadership` to a site, confirmed by the new leader; the
//!   **write pause** is the longest time in which no write of the load was acknowledged, from the
//!   request to a short settling time after the confirmation;
//! - [`kill_leader`] and [`lose_site`]: SIGKILL of the leader, or of every node of a site; the
//!   **recovery** is the time from the kill to the first acknowledgement of a write *sent after
//!   the kill* (a probe starts a fresh write every [`PROBE_INTERVAL`]), which no node but a new
//!   leader can have committed. The killed nodes are restarted and caught up afterwards.
//!
//! [`WriteLoad::verify`] then reads every acknowledged write back at every node.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use switchyard_client::{Authentication, Client, ClientConfig, RULE_METADATA_KEY, RetryBudget};
use switchyard_domain::{PartyId, SupplyPointNumber, SupplyState, Timestamp};
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::v1;
use switchyard_raft::{NodeId, Site};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::procs::{HarnessError, ProcessCluster, process_token, request};

/// How often a probe starts a fresh write after a kill.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(5);
/// Longest a probe keeps starting writes before the trial fails.
const PROBE_WAIT: Duration = Duration::from_secs(30);
/// Most probe writes in flight at once.
const PROBES_IN_FLIGHT_MAX: usize = 512;
/// How long the load keeps running after a confirmed transfer, inside the measured window.
const SETTLE_AFTER_TRANSFER: Duration = Duration::from_millis(500);
/// Deadline of a transfer request (the leader's own bound applies too).
const TRANSFER_DEADLINE: Duration = Duration::from_secs(15);
/// How many leaders a transfer request may be redirected through.
const TRANSFER_HOPS_MAX: usize = 5;
/// Longest wait for a new leader, for the restarted nodes to catch up, and for a read.
const CLUSTER_WAIT: Duration = Duration::from_secs(60);
/// Deadline of one read while verifying.
const READ_DEADLINE: Duration = Duration::from_secs(5);
/// Effective date of every switch-out: far enough ahead for every lead time.
const EFFECTIVE_DAYS_AHEAD: i32 = 30;

/// What a load is made of.
#[derive(Debug, Clone)]
pub struct WriteLoadOptions {
    /// Closed-loop workers, each a retailer of the sample data (several workers may share one).
    pub workers: usize,
    /// Supply points kept for the probes (each probe write uses one for good).
    pub probe_points: usize,
    /// Each call's retry budget.
    pub retry: RetryBudget,
    /// Each attempt's timeout.
    pub attempt_timeout: Duration,
}

impl Default for WriteLoadOptions {
    fn default() -> WriteLoadOptions {
        WriteLoadOptions {
            workers: 8,
            probe_points: 2_000,
            retry: RetryBudget {
                attempts_max: 64,
                total_time_max: Duration::from_secs(30),
                backoff_initial: Duration::from_millis(10),
                backoff_max: Duration::from_millis(200),
            },
            attempt_timeout: Duration::from_secs(3),
        }
    }
}

/// What one write was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    SwitchOut,
    Cancel,
    Probe,
}

/// One recorded write.
#[derive(Debug, Clone)]
pub struct WriteRecord {
    pub kind: WriteKind,
    pub invoked: Instant,
    pub completed: Instant,
    /// The acknowledged application, or what went wrong.
    pub outcome: Result<Acknowledged, String>,
}

/// An acknowledged write: what any node must show of it.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub application_number: String,
    pub supply_point: String,
    pub retailer: PartyId,
    pub state: v1::ApplicationState,
    pub application_revision: u32,
}

/// The supply points of one retailer handed to one worker.
#[derive(Debug, Clone)]
struct Share {
    retailer: PartyId,
    points: Vec<SupplyPointNumber>,
}

/// Continuous writes against a process cluster, recorded.
#[derive(Debug)]
pub struct WriteLoad {
    records: Arc<Mutex<Vec<WriteRecord>>>,
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    probe_shares: Vec<Share>,
    probe_used: usize,
    options: WriteLoadOptions,
    endpoints: Vec<String>,
    effective_date: String,
}

/// The endpoints of every node, `site=http://address`, for the client library.
fn endpoints_of(cluster: &ProcessCluster) -> Vec<String> {
    cluster
        .node_ids()
        .into_iter()
        .map(|node| {
            format!(
                "{}=http://{}",
                cluster.site_of(node),
                cluster.api_address(node)
            )
        })
        .collect()
}

fn client_config(
    endpoints: &[String],
    party: &PartyId,
    options: &WriteLoadOptions,
) -> ClientConfig {
    let mut config = ClientConfig::new(endpoints)
        .with_authentication(Authentication::BearerToken(process_token(party)));
    config.retry = options.retry;
    config.attempt_timeout = options.attempt_timeout;
    config.request_id_prefix = "failover".to_owned();
    config
}

fn effective_date() -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    Timestamp(i64::try_from(now_ms).expect("a 64-bit time"))
        .jst_date()
        .add_days(EFFECTIVE_DAYS_AHEAD)
        .to_string()
}

fn switch_out(point: &SupplyPointNumber, effective_date: &str) -> v1::SubmitApplicationRequest {
    v1::SubmitApplicationRequest {
        request_id: String::new(),
        supply_point_number: point.to_string(),
        effective_date: effective_date.to_owned(),
        request: Some(v1::ProcedureRequest {
            procedure: Some(v1::procedure_request::Procedure::SwitchOut(
                v1::SwitchOutProcedure {},
            )),
        }),
    }
}

fn acknowledged(
    result: Option<v1::ApplicationWriteResult>,
    point: &SupplyPointNumber,
    retailer: &PartyId,
) -> Result<Acknowledged, String> {
    let result = result.ok_or("an acknowledged write without a result")?;
    Ok(Acknowledged {
        state: v1::ApplicationState::try_from(result.state)
            .map_err(|_| format!("unknown application state {}", result.state))?,
        application_number: result.application_number,
        application_revision: result.application_revision,
        supply_point: point.to_string(),
        retailer: retailer.clone(),
    })
}

fn describe(error: &switchyard_client::Error) -> String {
    format!(
        "{:?}: {} (rule {:?})",
        error.code(),
        error.message(),
        error.rule()
    )
}

/// Splits the supplied points of the sample data by retailer: `workers` shares for the load
/// (retailers in turn) and the rest, up to `probe_points`, for the probes.
fn shares(
    cluster: &ProcessCluster,
    workers: usize,
    probe_points: usize,
) -> (Vec<Share>, Vec<Share>) {
    let mut by_retailer: BTreeMap<PartyId, Vec<SupplyPointNumber>> = BTreeMap::new();
    for point in &cluster.data().supply_points {
        if let SupplyState::Supplying { retailer, .. } = &point.supply {
            by_retailer
                .entry(PartyId::Retailer(*retailer))
                .or_default()
                .push(point.number);
        }
    }
    // Every retailer keeps a part of its points for the probes.
    let mut probes = Vec::new();
    let per_retailer = probe_points.div_ceil(by_retailer.len().max(1));
    for (retailer, points) in &mut by_retailer {
        let keep = points
            .len()
            .saturating_sub(per_retailer)
            .max(points.len() / 2);
        let probe_part = points.split_off(keep);
        probes.push(Share {
            retailer: retailer.clone(),
            points: probe_part,
        });
    }
    let retailers: Vec<(PartyId, Vec<SupplyPointNumber>)> = by_retailer.into_iter().collect();
    let mut load = Vec::new();
    for worker in 0..workers {
        let (retailer, points) = &retailers[worker % retailers.len()];
        // Workers sharing a retailer take every n-th of its points.
        let sharing = workers / retailers.len()
            + usize::from(worker % retailers.len() < workers % retailers.len());
        let index = worker / retailers.len();
        let mine: Vec<SupplyPointNumber> = points
            .iter()
            .skip(index)
            .step_by(sharing.max(1))
            .copied()
            .collect();
        load.push(Share {
            retailer: retailer.clone(),
            points: mine,
        });
    }
    (load, probes)
}

impl WriteLoad {
    /// Starts `options.workers` workers against `cluster`.
    pub async fn start(
        cluster: &ProcessCluster,
        options: WriteLoadOptions,
    ) -> Result<WriteLoad, HarnessError> {
        let endpoints = endpoints_of(cluster);
        let (load_shares, probe_shares) = shares(cluster, options.workers, options.probe_points);
        let records = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = watch::channel(false);
        let effective_date = effective_date();
        let mut workers = Vec::new();
        for share in load_shares {
            if share.points.is_empty() {
                return Err(HarnessError(format!(
                    "retailer {} has no supply point for a worker: load more sample data",
                    share.retailer
                )));
            }
            let client = Client::connect(client_config(&endpoints, &share.retailer, &options))
                .await
                .map_err(|error| HarnessError(format!("client configuration: {error}")))?;
            workers.push(tokio::spawn(work(
                client,
                share,
                effective_date.clone(),
                Arc::clone(&records),
                stopped.clone(),
            )));
        }
        Ok(WriteLoad {
            records,
            stop,
            workers,
            probe_shares,
            probe_used: 0,
            options,
            endpoints,
            effective_date,
        })
    }

    /// A copy of every record so far.
    pub fn records(&self) -> Vec<WriteRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records whose outcome is an error.
    pub fn failures(&self) -> Vec<WriteRecord> {
        self.records()
            .into_iter()
            .filter(|record| record.outcome.is_err())
            .collect()
    }

    /// Stops the workers after their current write.
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        for worker in self.workers.drain(..) {
            let _ = worker.await;
        }
    }

    /// Starts a fresh write every [`PROBE_INTERVAL`] from now, until one is acknowledged;
    /// returns when that happened. Every probe write is recorded.
    pub async fn probe_until_acknowledged(&mut self) -> Result<Instant, HarnessError> {
        let started = Instant::now();
        let (done, mut acknowledged_at) = watch::channel(None::<Instant>);
        let done = Arc::new(done);
        let mut clients = BTreeMap::new();
        let mut in_flight = Vec::new();
        let mut ticker = tokio::time::interval(PROBE_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = acknowledged_at.changed() => {}
            }
            if let Some(at) = *acknowledged_at.borrow() {
                // Later probes finish by themselves (and are recorded); nothing waits for them.
                return Ok(at);
            }
            if started.elapsed() > PROBE_WAIT {
                return Err(HarnessError(format!(
                    "no probe write acknowledged within {PROBE_WAIT:?} after the fault"
                )));
            }
            in_flight.retain(|probe: &JoinHandle<()>| !probe.is_finished());
            if in_flight.len() >= PROBES_IN_FLIGHT_MAX {
                continue;
            }
            let (retailer, point) = self.next_probe_point()?;
            let client = match clients.get(&retailer) {
                Some(client) => Client::clone(client),
                None => {
                    let client =
                        Client::connect(client_config(&self.endpoints, &retailer, &self.options))
                            .await
                            .map_err(|error| {
                                HarnessError(format!("client configuration: {error}"))
                            })?;
                    clients.insert(retailer.clone(), client.clone());
                    client
                }
            };
            let records = Arc::clone(&self.records);
            let done = Arc::clone(&done);
            let effective_date = self.effective_date.clone();
            in_flight.push(tokio::spawn(async move {
                let invoked = Instant::now();
                let answer = client
                    .submit_application(switch_out(&point, &effective_date))
                    .await;
                let completed = Instant::now();
                let outcome = match answer {
                    Ok(written) => acknowledged(written.into_inner().result, &point, &retailer),
                    Err(error) => Err(describe(&error)),
                };
                if outcome.is_ok() {
                    done.send_if_modified(|at| {
                        if at.is_none_or(|at| completed < at) {
                            *at = Some(completed);
                            true
                        } else {
                            false
                        }
                    });
                }
                records
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(WriteRecord {
                        kind: WriteKind::Probe,
                        invoked,
                        completed,
                        outcome,
                    });
            }));
        }
    }

    fn next_probe_point(&mut self) -> Result<(PartyId, SupplyPointNumber), HarnessError> {
        let shares = self.probe_shares.len();
        if shares == 0 {
            return Err(HarnessError("no supply points kept for probes".to_owned()));
        }
        // Retailers in turn, each share's points in order.
        for _ in 0..shares {
            let share = &mut self.probe_shares[self.probe_used % shares];
            self.probe_used += 1;
            if let Some(point) = share.points.pop() {
                return Ok((share.retailer.clone(), point));
            }
        }
        Err(HarnessError(
            "the probes used every supply point kept for them: load more sample data".to_owned(),
        ))
    }

    /// Reads every acknowledged write back at every running node (see
    /// [`WriteLoad::verify_at`]).
    pub async fn verify(&self, cluster: &ProcessCluster) -> Result<usize, HarnessError> {
        self.verify_at(cluster, &cluster.running()).await
    }

    /// Reads every acknowledged write back at each of `nodes`, from the node's own applied
    /// state: the application exists, on its point, by its retailer, and is at least as far as
    /// acknowledged (a cancelled one is cancelled). Returns how many were checked per node.
    pub async fn verify_at(
        &self,
        cluster: &ProcessCluster,
        nodes: &[NodeId],
    ) -> Result<usize, HarnessError> {
        // The last acknowledged state of every application.
        let mut expected: BTreeMap<String, Acknowledged> = BTreeMap::new();
        for record in self.records() {
            if let Ok(acknowledged) = record.outcome {
                let entry = expected
                    .entry(acknowledged.application_number.clone())
                    .or_insert_with(|| acknowledged.clone());
                if acknowledged.application_revision > entry.application_revision {
                    *entry = acknowledged;
                }
            }
        }
        for &node in nodes {
            for acknowledged in expected.values() {
                let application = cluster
                    .participant(node, &acknowledged.retailer)
                    .get_application(request(
                        v1::GetApplicationRequest {
                            application_number: acknowledged.application_number.clone(),
                            consistency: v1::ReadConsistency::Local as i32,
                        },
                        READ_DEADLINE,
                    ))
                    .await
                    .map_err(|status| {
                        HarnessError(format!(
                            "acknowledged {} missing at {}: {:?} {}",
                            acknowledged.application_number,
                            cluster.name(node),
                            status.code(),
                            status.message()
                        ))
                    })?
                    .into_inner()
                    .application
                    .ok_or_else(|| HarnessError("an answer without the application".to_owned()))?;
                let wrong = application.supply_point_number != acknowledged.supply_point
                    || application.applicant_retailer_code != acknowledged.retailer.to_string()
                    || application.application_revision < acknowledged.application_revision
                    || (acknowledged.state == v1::ApplicationState::Cancelled
                        && application.state != v1::ApplicationState::Cancelled as i32);
                if wrong {
                    return Err(HarnessError(format!(
                        "{} at {} is {application:?}, acknowledged as {acknowledged:?}",
                        acknowledged.application_number,
                        cluster.name(node)
                    )));
                }
            }
        }
        Ok(expected.len())
    }
}

/// One worker: switch-out, cancel, next point, until stopped.
async fn work(
    client: Client,
    share: Share,
    effective_date: String,
    records: Arc<Mutex<Vec<WriteRecord>>>,
    stopped: watch::Receiver<bool>,
) {
    let record = |kind, invoked, outcome| {
        records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(WriteRecord {
                kind,
                invoked,
                completed: Instant::now(),
                outcome,
            });
    };
    // A point whose last write failed may hold an open switch-out: it is left alone.
    let mut usable: Vec<SupplyPointNumber> = share.points;
    let mut next = 0;
    while !*stopped.borrow() && !usable.is_empty() {
        next %= usable.len();
        let point = usable[next];
        let invoked = Instant::now();
        let submitted = match client
            .submit_application(switch_out(&point, &effective_date))
            .await
        {
            Ok(written) => acknowledged(written.into_inner().result, &point, &share.retailer),
            Err(error) => Err(describe(&error)),
        };
        record(WriteKind::SwitchOut, invoked, submitted.clone());
        let Ok(submitted) = submitted else {
            usable.remove(next);
            continue;
        };
        let invoked = Instant::now();
        let cancelled = match client
            .cancel_application(v1::CancelApplicationRequest {
                request_id: String::new(),
                application_number: submitted.application_number.clone(),
                application_revision: submitted.application_revision,
            })
            .await
        {
            Ok(written) => acknowledged(written.into_inner().result, &point, &share.retailer),
            Err(error) => Err(describe(&error)),
        };
        let failed = cancelled.is_err();
        record(WriteKind::Cancel, invoked, cancelled);
        if failed {
            usable.remove(next);
        } else {
            next += 1;
        }
    }
}

/// The figures of one planned failover.
#[derive(Debug, Clone)]
pub struct PlannedFailoverTrial {
    pub from: NodeId,
    pub to: NodeId,
    /// From the request to the confirmation of the new leader.
    pub transfer: Duration,
    /// The longest time without an acknowledged write, from the request to the end of the
    /// settling time.
    pub write_pause: Duration,
    /// The same, over an equally long window of normal running just before the request.
    pub normal_gap: Duration,
    /// The slowest write in flight during the window.
    pub slowest_write: Duration,
    /// Writes acknowledged inside the window, and writes that failed anywhere in it.
    pub writes: usize,
    pub failed: usize,
}

/// The figures of one kill (leader or site).
#[derive(Debug, Clone)]
pub struct RecoveryTrial {
    pub killed: Vec<NodeId>,
    pub new_leader: NodeId,
    /// From the kill to the first acknowledged write sent after it.
    pub recovery: Duration,
    /// The longest time without an acknowledged write of the load, from the kill on.
    pub write_pause: Duration,
    pub failed: usize,
}

/// The longest interval of `window` with no acknowledgement in `acknowledged` (sorted).
fn longest_gap(acknowledged: &[Instant], window: (Instant, Instant)) -> Duration {
    let (start, end) = window;
    let mut previous = start;
    let mut longest = Duration::ZERO;
    for &at in acknowledged.iter().filter(|at| **at > start && **at <= end) {
        longest = longest.max(at - previous);
        previous = at;
    }
    longest.max(end.saturating_duration_since(previous))
}

fn acknowledgements(records: &[WriteRecord], kinds: &[WriteKind]) -> Vec<Instant> {
    let mut times: Vec<Instant> = records
        .iter()
        .filter(|record| record.outcome.is_ok() && kinds.contains(&record.kind))
        .map(|record| record.completed)
        .collect();
    times.sort();
    times
}

/// How often a transfer to a node still catching up is asked again.
const CATCH_UP_POLL: Duration = Duration::from_millis(50);

/// Asks the leader to hand leadership to `site` (or `node`), following redirects and waiting
/// (bounded) for a target still catching up; returns the new leader once it is confirmed.
pub async fn transfer_leadership(
    cluster: &ProcessCluster,
    target: admin::transfer_leadership_request::Target,
    request_id: &str,
) -> Result<NodeId, HarnessError> {
    let mut at = cluster.wait_for_leader(CLUSTER_WAIT).await?.node_id;
    let catch_up_deadline = tokio::time::Instant::now() + CLUSTER_WAIT;
    let mut hops = 0;
    while hops < TRANSFER_HOPS_MAX {
        let answer = cluster
            .admin(at)
            .transfer_leadership(request(
                admin::TransferLeadershipRequest {
                    request_id: request_id.to_owned(),
                    target: Some(target),
                    timeout_ms: 10_000,
                },
                TRANSFER_DEADLINE,
            ))
            .await;
        match answer {
            Ok(answer) => return Ok(answer.into_inner().new_leader_node_id),
            Err(status)
                if status.code() == tonic::Code::Unavailable
                    || status
                        .metadata()
                        .get(RULE_METADATA_KEY)
                        .is_some_and(|rule| rule == "not_leader") =>
            {
                // Not the leader (any more), or an election under way: ask the one a majority
                // follows now, with the same request id.
                at = cluster.wait_for_leader(CLUSTER_WAIT).await?.node_id;
                hops += 1;
            }
            // The target has not caught up yet (a node restarted by the previous trial, with the
            // load still running): ask again, as `swctl failover` does, within a bound.
            Err(status)
                if status.code() == tonic::Code::FailedPrecondition
                    && status.message().contains("not caught up")
                    && tokio::time::Instant::now() < catch_up_deadline =>
            {
                tokio::time::sleep(CATCH_UP_POLL).await;
                continue;
            }
            Err(status) => {
                return Err(HarnessError(format!(
                    "transfer at {}: {:?} {}",
                    cluster.name(at),
                    status.code(),
                    status.message()
                )));
            }
        }
    }
    Err(HarnessError(format!(
        "the transfer was redirected more than {TRANSFER_HOPS_MAX} times"
    )))
}

/// Moves leadership to `site` while `load` runs, and measures the write pause.
pub async fn planned_failover(
    cluster: &ProcessCluster,
    load: &WriteLoad,
    site: Site,
    request_id: &str,
) -> Result<PlannedFailoverTrial, HarnessError> {
    let from = cluster.wait_for_leader(CLUSTER_WAIT).await?.node_id;
    let requested = Instant::now();
    let to = transfer_leadership(
        cluster,
        admin::transfer_leadership_request::Target::Site(site_to_wire(site) as i32),
        request_id,
    )
    .await?;
    let confirmed = Instant::now();
    tokio::time::sleep(SETTLE_AFTER_TRANSFER).await;
    let end = Instant::now();
    let records = load.records();
    let acknowledged = acknowledgements(&records, &[WriteKind::SwitchOut, WriteKind::Cancel]);
    let window = end - requested;
    let normal_gap = longest_gap(
        &acknowledged,
        (
            requested.checked_sub(window).unwrap_or(requested),
            requested,
        ),
    );
    let in_window = |record: &&WriteRecord| record.completed > requested && record.invoked < end;
    Ok(PlannedFailoverTrial {
        from,
        to,
        transfer: confirmed - requested,
        write_pause: longest_gap(&acknowledged, (requested, end)),
        normal_gap,
        slowest_write: records
            .iter()
            .filter(in_window)
            .map(|record| record.completed - record.invoked)
            .max()
            .unwrap_or_default(),
        writes: records
            .iter()
            .filter(in_window)
            .filter(|record| record.outcome.is_ok())
            .count(),
        failed: records
            .iter()
            .filter(in_window)
            .filter(|record| record.outcome.is_err())
            .count(),
    })
}

fn site_to_wire(site: Site) -> admin::Site {
    match site {
        Site::Tokyo => admin::Site::Tokyo,
        Site::Osaka => admin::Site::Osaka,
        Site::Witness => admin::Site::Witness,
    }
}

/// SIGKILLs `nodes` (back to back) while `load` runs; measures the recovery with probes, then
/// restarts the nodes and waits until every node has caught up.
async fn kill_and_recover(
    cluster: &mut ProcessCluster,
    load: &mut WriteLoad,
    nodes: Vec<NodeId>,
) -> Result<RecoveryTrial, HarnessError> {
    let old_leader = cluster.wait_for_leader(CLUSTER_WAIT).await?.node_id;
    let failed_before = load.failures().len();
    let killed_at = Instant::now();
    for node in &nodes {
        cluster.kill(*node)?;
    }
    let first_acknowledged = load.probe_until_acknowledged().await?;
    let new_leader = cluster
        .wait_for_new_leader(old_leader, CLUSTER_WAIT)
        .await?;
    let end = Instant::now();
    let records = load.records();
    let acknowledged = acknowledgements(&records, &[WriteKind::SwitchOut, WriteKind::Cancel]);
    let trial = RecoveryTrial {
        killed: nodes.clone(),
        new_leader: new_leader.node_id,
        recovery: first_acknowledged - killed_at,
        write_pause: longest_gap(&acknowledged, (killed_at, end)),
        failed: load.failures().len() - failed_before,
    };
    for node in nodes {
        cluster.restart(node).await?;
    }
    cluster.wait_for_convergence(CLUSTER_WAIT).await?;
    Ok(trial)
}

/// Kills the leader; see [`kill_and_recover`].
pub async fn kill_leader(
    cluster: &mut ProcessCluster,
    load: &mut WriteLoad,
) -> Result<RecoveryTrial, HarnessError> {
    let leader = cluster.wait_for_leader(CLUSTER_WAIT).await?.node_id;
    kill_and_recover(cluster, load, vec![leader]).await
}

/// Moves leadership to `site` if it is elsewhere, then kills every node of `site`.
pub async fn lose_site(
    cluster: &mut ProcessCluster,
    load: &mut WriteLoad,
    site: Site,
    request_id: &str,
) -> Result<RecoveryTrial, HarnessError> {
    let leader = cluster.wait_for_leader(CLUSTER_WAIT).await?.node_id;
    if cluster.site_of(leader) != site {
        transfer_leadership(
            cluster,
            admin::transfer_leadership_request::Target::Site(site_to_wire(site) as i32),
            request_id,
        )
        .await?;
        cluster.wait_for_convergence(CLUSTER_WAIT).await?;
    }
    let nodes = cluster.nodes_of_site(site);
    kill_and_recover(cluster, load, nodes).await
}

/// The median of `values` (the lower one of an even count).
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted
        .get(sorted.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or_default()
}
