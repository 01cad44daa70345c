//! The workload of a chaos run: concurrent clients running the real switching flow on a few hot
//! supply points through the public API of any node, every operation recorded with its
//! invocation and completion time on one clock and its outcome; and event streams read across
//! failovers, every connection recorded.
//!
//! On each hot point several clients race, each one operation at a time:
//!
//! - one retailer client per retailer of the point (its current retailer and challengers): it
//!   looks the point up (linearizably) and acts on what it sees — as the current retailer it
//!   judges pending stop-on-behalf requests (OK or NG), submits a switch-out and sometimes
//!   cancels it; as a challenger it registers a request, submits a switch-in once its request is
//!   judged (racing the judgement and the other challengers), and sometimes cancels either;
//! - the area's TSO: it completes a matched pair (today), or rejects it;
//! - an operator reading the point, linearizably and locally.
//!
//! A write whose outcome is unknown (a timeout, a node that died) is retried with the same
//! request id at another node, as a real client does; one still unknown is retried again before
//! the client's next operation, and once more after the faults heal. Each point has a budget of
//! operations, so that its history stays small enough for the exhaustive linearizability search.
//!
//! Watchers read `WatchEvents` as several parties from a fixed start revision, each connection
//! to a different node and for a bounded time, resuming after the last position covered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use switchyard_domain::generator::SplitMix64;
use switchyard_domain::{
    ApplicationNumber, ApplicationState, Date, NgReason, NgReasons, PartyId, Procedure, RequestId,
    RetailerCode, StopOnBehalfNumber, SupplyPointNumber, Verdict,
};
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_raft::NodeId;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::transport::Channel;

use super::history::{
    ClientId, EventPosition, LookUpResult, Observed, ObservedSupply, Operation, OperationRecord,
    Outcome, ReadConsistency, WatchConnection, WatchStream,
};
use super::wire;
use crate::procs::bearer;

/// One node's public API, as the clients reach it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub node: NodeId,
    pub name: String,
    pub channel: Channel,
}

/// A hot supply point and the retailers that race on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotPoint {
    pub supply_point: SupplyPointNumber,
    /// Who supplied it before the run.
    pub initial_retailer: RetailerCode,
    /// Every retailer that runs a client on it (the initial retailer among them).
    pub retailers: Vec<RetailerCode>,
}

/// What the workload does.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    pub seed: u64,
    /// The business date the clients use for effective, wished and actual dates.
    pub today: Date,
    pub points: Vec<HotPoint>,
    /// Operations (attempts included) one point's clients may record, resolution retries aside.
    pub operations_per_point_max: usize,
    /// Each client waits this long (uniformly drawn) between two steps.
    pub pace_ms_min: u64,
    pub pace_ms_max: u64,
    /// Deadline of one write attempt and of one read.
    pub write_deadline: Duration,
    pub read_deadline: Duration,
    /// Attempts at a write with one request id before the client moves on (and retries it
    /// before its next step).
    pub attempts_per_write_max: u32,
    /// Attempts at each still unknown write after the faults heal.
    pub resolution_attempts_max: u32,
    /// The parties that watch events, one stream each.
    pub watch_parties: Vec<PartyId>,
    /// Where every stream starts (the first revision after the run's set-up).
    pub watch_start_revision: u64,
    /// How long one watch connection lasts before the watcher moves to another node.
    pub watch_connection_ms_min: u64,
    pub watch_connection_ms_max: u64,
}

/// Where the run is: clients act, then stop, then resolve what they left unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Stopped,
    Resolving,
}

/// Every operation of the run, on one clock.
#[derive(Debug)]
pub struct Recorder {
    started: Instant,
    operations: Mutex<Vec<OperationRecord>>,
}

impl Recorder {
    pub fn new(started: Instant) -> Recorder {
        Recorder {
            started,
            operations: Mutex::new(Vec::new()),
        }
    }

    /// Nanoseconds since the run began.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn record(&self, record: OperationRecord) {
        self.operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record);
    }

    /// What was recorded so far.
    pub fn operations(&self) -> Vec<OperationRecord> {
        self.operations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A running workload.
#[derive(Debug)]
pub struct Workload {
    recorder: Arc<Recorder>,
    phase: watch::Sender<Phase>,
    clients: Vec<JoinHandle<()>>,
    watchers: Vec<JoinHandle<WatchStream>>,
    /// The revision every watcher must cover before it ends; 0 while the run goes on.
    watch_target: watch::Sender<u64>,
}

/// What a client of one point shares with the point's other clients.
#[derive(Debug)]
struct PointBudget {
    left: AtomicUsize,
}

impl PointBudget {
    /// Takes one operation from the budget; false once it is spent.
    fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

impl Workload {
    /// Starts every client and watcher; they run until [`Workload::stop`].
    pub fn start(
        config: WorkloadConfig,
        endpoints: Vec<Endpoint>,
        recorder: Arc<Recorder>,
    ) -> Workload {
        let config = Arc::new(config);
        let endpoints = Arc::new(endpoints);
        let (phase, phase_receiver) = watch::channel(Phase::Running);
        let (watch_target, watch_target_receiver) = watch::channel(0u64);
        let mut seeds = SplitMix64::new(config.seed ^ 0x776F_726B_6C6F_6164);
        let mut clients = Vec::new();
        let mut next_client: ClientId = 1;
        for point in &config.points {
            let budget = Arc::new(PointBudget {
                left: AtomicUsize::new(config.operations_per_point_max),
            });
            let mut roles: Vec<(PartyId, Role)> = point
                .retailers
                .iter()
                .map(|retailer| {
                    (
                        PartyId::Retailer(*retailer),
                        Role::Retailer(RetailerKnowledge::new(*retailer)),
                    )
                })
                .collect();
            roles.push((
                PartyId::Tso(point.supply_point.area()),
                Role::Tso(TsoKnowledge::default()),
            ));
            roles.push((
                PartyId::Operator(
                    switchyard_domain::OperatorId::parse(crate::procs::OPERATOR)
                        .expect("a valid operator"),
                ),
                Role::Reader,
            ));
            for (party, role) in roles {
                let client = Client {
                    id: next_client,
                    party,
                    point: point.supply_point,
                    config: Arc::clone(&config),
                    endpoints: Arc::clone(&endpoints),
                    recorder: Arc::clone(&recorder),
                    random: SplitMix64::new(seeds.next_u64()),
                    budget: Arc::clone(&budget),
                    phase: phase_receiver.clone(),
                    next_request: 0,
                    next_endpoint: seeds.next_u64() as usize,
                    unresolved: Vec::new(),
                    role,
                };
                next_client += 1;
                clients.push(tokio::spawn(client.run()));
            }
        }
        let mut watchers = Vec::new();
        for party in &config.watch_parties {
            let watcher = Watcher {
                client: next_client,
                party: party.clone(),
                config: Arc::clone(&config),
                endpoints: Arc::clone(&endpoints),
                recorder: Arc::clone(&recorder),
                random: SplitMix64::new(seeds.next_u64()),
                target: watch_target_receiver.clone(),
            };
            next_client += 1;
            watchers.push(tokio::spawn(watcher.run()));
        }
        Workload {
            recorder,
            phase,
            clients,
            watchers,
            watch_target,
        }
    }

    /// Clients start no new step (operations in flight finish); watchers go on.
    pub fn stop(&self) {
        let _ = self.phase.send(Phase::Stopped);
    }

    /// Clients retry every write whose outcome they do not know, then end; waits up to `bound`
    /// for them. Returns how many clients had not ended by then (they are aborted).
    pub async fn resolve(&mut self, bound: Duration) -> usize {
        let _ = self.phase.send(Phase::Resolving);
        let deadline = Instant::now() + bound;
        let mut late = 0;
        for client in self.clients.drain(..) {
            let abort = client.abort_handle();
            if tokio::time::timeout_at(deadline, client).await.is_err() {
                abort.abort();
                late += 1;
            }
        }
        late
    }

    /// Lets every watcher run until it has covered `revision`, up to `bound`, and returns the
    /// streams.
    pub async fn finish_watches(&mut self, revision: u64, bound: Duration) -> Vec<WatchStream> {
        let _ = self.watch_target.send(revision.max(1));
        let deadline = Instant::now() + bound;
        let mut streams = Vec::new();
        for watcher in self.watchers.drain(..) {
            let abort = watcher.abort_handle();
            match tokio::time::timeout_at(deadline, watcher).await {
                Ok(Ok(stream)) => streams.push(stream),
                Ok(Err(error)) => eprintln!("chaos: a watcher failed: {error}"),
                Err(_) => {
                    abort.abort();
                    eprintln!(
                        "chaos: a watcher did not cover revision {revision} within {bound:?}"
                    );
                }
            }
        }
        streams
    }

    /// Every operation recorded.
    pub fn operations(&self) -> Vec<OperationRecord> {
        self.recorder.operations()
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        for client in &self.clients {
            client.abort();
        }
        for watcher in &self.watchers {
            watcher.abort();
        }
    }
}

// -------------------------------------------------------------------------------------------
// Clients.
// -------------------------------------------------------------------------------------------

/// What a retailer knows of its own work on its point, from the answers it got.
#[derive(Debug, Clone)]
struct RetailerKnowledge {
    retailer: RetailerCode,
    /// Its stop-on-behalf request on the point (pending or judged), until used up or refused.
    request: Option<StopOnBehalfNumber>,
    /// Its open switch-in or switch-out, with the application revision its answer gave.
    switch_in: Option<(ApplicationNumber, u32)>,
    switch_out: Option<(ApplicationNumber, u32)>,
}

impl RetailerKnowledge {
    fn new(retailer: RetailerCode) -> RetailerKnowledge {
        RetailerKnowledge {
            retailer,
            request: None,
            switch_in: None,
            switch_out: None,
        }
    }
}

/// What a TSO remembers: pairs it could not complete (it rejects those).
#[derive(Debug, Clone, Default)]
struct TsoKnowledge {
    not_completable: Vec<ApplicationNumber>,
}

#[derive(Debug, Clone)]
enum Role {
    Retailer(RetailerKnowledge),
    Tso(TsoKnowledge),
    Reader,
}

#[derive(Debug)]
struct Client {
    id: ClientId,
    party: PartyId,
    point: SupplyPointNumber,
    config: Arc<WorkloadConfig>,
    endpoints: Arc<Vec<Endpoint>>,
    recorder: Arc<Recorder>,
    random: SplitMix64,
    budget: Arc<PointBudget>,
    phase: watch::Receiver<Phase>,
    next_request: u64,
    next_endpoint: usize,
    /// Writes sent whose outcome is still unknown.
    unresolved: Vec<Operation>,
    role: Role,
}

impl Client {
    async fn run(mut self) {
        loop {
            if *self.phase.borrow() != Phase::Running {
                break;
            }
            if !self.step().await {
                break;
            }
            let pause = self.pace();
            let mut phase = self.phase.clone();
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = phase.wait_for(|phase| *phase != Phase::Running) => {}
            }
        }
        // Wait for the heal, then learn what became of every unknown write.
        let _ = self
            .phase
            .wait_for(|phase| *phase == Phase::Resolving)
            .await;
        let unresolved = std::mem::take(&mut self.unresolved);
        for operation in unresolved {
            for _ in 0..self.config.resolution_attempts_max {
                let outcome = self.attempt(&operation, self.config.write_deadline).await;
                if !matches!(outcome, Outcome::Unknown { .. }) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    fn pace(&mut self) -> Duration {
        let low = self.config.pace_ms_min;
        let high = self.config.pace_ms_max.max(low);
        Duration::from_millis(low + self.random.below(high - low + 1))
    }

    /// One step: first a retry of any write still unknown, then the role's next move. False
    /// once the point's budget is spent.
    async fn step(&mut self) -> bool {
        if let Some(operation) = self.unresolved.first().cloned() {
            if !self.budget.take() {
                return false;
            }
            let outcome = self.attempt(&operation, self.config.write_deadline).await;
            if !matches!(outcome, Outcome::Unknown { .. }) {
                self.unresolved.remove(0);
                self.learn(&operation, &outcome);
            }
            return true;
        }
        if !self.budget.take() {
            return false;
        }
        match self.role.clone() {
            Role::Reader => {
                let consistency = if self.random.chance(600) {
                    ReadConsistency::Linearizable
                } else {
                    ReadConsistency::Local
                };
                self.look_up(consistency).await;
            }
            Role::Tso(knowledge) => {
                let Some(seen) = self.look_up(ReadConsistency::Linearizable).await else {
                    return true;
                };
                let Some(matched) = seen
                    .open_applications
                    .iter()
                    .find(|application| application.state == ApplicationState::Matched)
                    .map(|application| application.number)
                else {
                    return true;
                };
                if !self.budget.take() {
                    return false;
                }
                let request_id = self.request_id();
                let operation =
                    if knowledge.not_completable.contains(&matched) || self.random.chance(250) {
                        Operation::RejectApplication {
                            request_id,
                            supply_point: self.point,
                            number: matched,
                        }
                    } else {
                        Operation::CompleteApplication {
                            request_id,
                            supply_point: self.point,
                            number: matched,
                            actual_date: self.config.today,
                        }
                    };
                self.write(operation).await;
            }
            Role::Retailer(knowledge) => {
                let Some(seen) = self.look_up(ReadConsistency::Linearizable).await else {
                    return true;
                };
                if let Some(operation) = self.retailer_move(&knowledge, &seen) {
                    if !self.budget.take() {
                        return false;
                    }
                    self.write(operation).await;
                }
            }
        }
        true
    }

    /// What a retailer does next, given what its look-up showed.
    fn retailer_move(
        &mut self,
        knowledge: &RetailerKnowledge,
        seen: &LookUpResult,
    ) -> Option<Operation> {
        let me = knowledge.retailer;
        let current = matches!(seen.supply, ObservedSupply::Supplying { retailer: Some(retailer) } if retailer == me);
        let open_state = |number: ApplicationNumber| {
            seen.open_applications
                .iter()
                .find(|application| application.number == number)
                .map(|application| application.state)
        };
        let today = self.config.today;
        if current {
            if !seen.pending_stop_on_behalf.is_empty() && self.random.chance(700) {
                let number = *self.random.pick(&seen.pending_stop_on_behalf);
                let verdict = if self.random.chance(750) {
                    Verdict::Ok
                } else {
                    Verdict::Ng(
                        NgReasons::new(vec![*self.random.pick(&NgReason::ALL)])
                            .expect("one reason"),
                    )
                };
                return Some(Operation::JudgeStopOnBehalf {
                    request_id: self.request_id(),
                    supply_point: self.point,
                    number,
                    verdict,
                });
            }
            match knowledge.switch_out {
                Some((number, revision)) if open_state(number).is_some() => (open_state(number)
                    == Some(ApplicationState::AwaitingMatch)
                    && self.random.chance(150))
                .then(|| Operation::CancelApplication {
                    request_id: self.request_id(),
                    supply_point: self.point,
                    number,
                    application_revision: revision,
                }),
                _ => {
                    let switch_in_waiting = seen.open_applications.iter().any(|application| {
                        application.procedure == Procedure::SwitchIn
                            && application.state == ApplicationState::AwaitingMatch
                    });
                    (switch_in_waiting || self.random.chance(400)).then(|| {
                        // Now and then a date the counterpart does not have.
                        let effective_date = if self.random.chance(100) {
                            today.add_days(1)
                        } else {
                            today
                        };
                        Operation::SubmitSwitchOut {
                            request_id: self.request_id(),
                            supply_point: self.point,
                            effective_date,
                        }
                    })
                }
            }
        } else {
            let Some(request) = knowledge.request else {
                return self
                    .random
                    .chance(800)
                    .then(|| Operation::RegisterStopOnBehalf {
                        request_id: self.request_id(),
                        supply_point: self.point,
                        wished_date: today,
                    });
            };
            let pending = seen.pending_stop_on_behalf.contains(&request);
            if pending && self.random.chance(100) {
                return Some(Operation::CancelStopOnBehalf {
                    request_id: self.request_id(),
                    supply_point: self.point,
                    number: request,
                });
            }
            if let Some((number, revision)) = knowledge.switch_in
                && let Some(state) = open_state(number)
            {
                return (state == ApplicationState::AwaitingMatch && self.random.chance(120)).then(
                    || Operation::CancelApplication {
                        request_id: self.request_id(),
                        supply_point: self.point,
                        number,
                        application_revision: revision,
                    },
                );
            }
            // Judged (or not yet: the submission races the judgement).
            (!pending || self.random.chance(300)).then(|| Operation::SubmitSwitchIn {
                request_id: self.request_id(),
                supply_point: self.point,
                effective_date: today,
                stop_on_behalf: request,
            })
        }
    }

    /// Updates the role's knowledge with a write's outcome.
    fn learn(&mut self, operation: &Operation, outcome: &Outcome) {
        let Role::Retailer(knowledge) = &mut self.role else {
            if let (
                Role::Tso(knowledge),
                Operation::CompleteApplication { number, .. },
                Outcome::Refused(_),
            ) = (&mut self.role, operation, outcome)
            {
                knowledge.not_completable.push(*number);
            }
            return;
        };
        match (operation, outcome) {
            (
                Operation::RegisterStopOnBehalf { .. },
                Outcome::Ok(Observed::StopOnBehalf(answer)),
            ) => knowledge.request = Some(answer.number),
            (Operation::CancelStopOnBehalf { .. }, Outcome::Ok(_)) => knowledge.request = None,
            (Operation::SubmitSwitchIn { .. }, Outcome::Ok(Observed::Application(answer))) => {
                knowledge.switch_in = Some((answer.number, answer.application_revision));
            }
            (Operation::SubmitSwitchIn { .. }, Outcome::Refused(refusal))
                if matches!(
                    refusal.rule.as_str(),
                    "stop_on_behalf_not_usable" | "stop_on_behalf_not_found"
                ) =>
            {
                // NG, cancelled, used by a completed switch, or its addressee no longer supplies:
                // a new request is needed. (One still pending is only not judged yet.)
                knowledge.request = None;
            }
            (Operation::SubmitSwitchOut { .. }, Outcome::Ok(Observed::Application(answer))) => {
                knowledge.switch_out = Some((answer.number, answer.application_revision));
            }
            (Operation::CancelApplication { number, .. }, Outcome::Ok(_) | Outcome::Refused(_)) => {
                if knowledge
                    .switch_in
                    .is_some_and(|(known, _)| known == *number)
                {
                    knowledge.switch_in = None;
                }
                if knowledge
                    .switch_out
                    .is_some_and(|(known, _)| known == *number)
                {
                    knowledge.switch_out = None;
                }
            }
            _ => {}
        }
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId::parse(&format!(
            "chaos-{:x}-{}-{}",
            self.config.seed & 0xFFFF_FFFF,
            self.id,
            self.next_request
        ))
        .expect("a valid request id")
    }

    fn endpoint(&mut self) -> Endpoint {
        self.next_endpoint = self
            .next_endpoint
            .wrapping_add(1 + self.random.below(2) as usize);
        self.endpoints[self.next_endpoint % self.endpoints.len()].clone()
    }

    /// One attempt of `operation` at the next endpoint, recorded.
    async fn attempt(&mut self, operation: &Operation, deadline: Duration) -> Outcome {
        let endpoint = self.endpoint();
        let invoked_at_ns = self.recorder.now_ns();
        let outcome = wire::perform(endpoint.channel, &self.party, operation, deadline).await;
        let completed_at_ns = self.recorder.now_ns();
        self.recorder.record(OperationRecord {
            client: self.id,
            actor: self.party.clone(),
            operation: operation.clone(),
            invoked_at_ns,
            completed_at_ns,
            outcome: outcome.clone(),
        });
        outcome
    }

    /// A look-up of the client's point; what it showed, if it succeeded.
    async fn look_up(&mut self, consistency: ReadConsistency) -> Option<LookUpResult> {
        let operation = Operation::LookUp {
            supply_point: self.point,
            consistency,
        };
        match self.attempt(&operation, self.config.read_deadline).await {
            Outcome::Ok(Observed::LookUp(result)) => Some(result),
            _ => None,
        }
    }

    /// A write, retried with the same request id at other nodes while its outcome is unknown;
    /// one still unknown after the attempts is kept for later.
    async fn write(&mut self, operation: Operation) {
        for attempt in 1..=self.config.attempts_per_write_max {
            let outcome = self.attempt(&operation, self.config.write_deadline).await;
            if !matches!(outcome, Outcome::Unknown { .. }) {
                self.learn(&operation, &outcome);
                return;
            }
            if attempt < self.config.attempts_per_write_max {
                let backoff = Duration::from_millis(100 + self.random.below(300));
                tokio::time::sleep(backoff).await;
            }
        }
        self.unresolved.push(operation);
    }
}

// -------------------------------------------------------------------------------------------
// Watchers.
// -------------------------------------------------------------------------------------------

/// How long a watcher's connection may stay open once the run is over and it only needs to
/// cover the last revision (nodes send progress at least every 10 s).
const FINISHING_CONNECTION: Duration = Duration::from_secs(25);

#[derive(Debug)]
struct Watcher {
    client: ClientId,
    party: PartyId,
    config: Arc<WorkloadConfig>,
    endpoints: Arc<Vec<Endpoint>>,
    recorder: Arc<Recorder>,
    random: SplitMix64,
    target: watch::Receiver<u64>,
}

/// The first position a connection had not covered when it closed (as the checker computes it).
fn resume_position(connection: &WatchConnection) -> EventPosition {
    let mut next = connection.start;
    if let Some(last) = connection.delivered.iter().max() {
        next = next.max(EventPosition {
            revision: last.revision,
            index: last.index + 1,
        });
    }
    if connection.covered_through_revision > 0 {
        next = next.max(EventPosition::after_revision(
            connection.covered_through_revision,
        ));
    }
    next
}

impl Watcher {
    async fn run(mut self) -> WatchStream {
        let mut stream = WatchStream {
            client: self.client,
            party: self.party.clone(),
            connections: Vec::new(),
        };
        let mut position = EventPosition {
            revision: self.config.watch_start_revision,
            index: 0,
        };
        let mut next_endpoint = self.random.below(self.endpoints.len() as u64) as usize;
        loop {
            let target = *self.target.borrow();
            if target > 0 && position >= EventPosition::after_revision(target) {
                // Everything up to the target is covered.
                break;
            }
            next_endpoint = (next_endpoint + 1) % self.endpoints.len();
            let endpoint = self.endpoints[next_endpoint].clone();
            let low = self.config.watch_connection_ms_min;
            let high = self.config.watch_connection_ms_max.max(low);
            let mut lifetime = Duration::from_millis(low + self.random.below(high - low + 1));
            if target > 0 {
                // Finishing: one connection stays until a progress message covers the target.
                lifetime = FINISHING_CONNECTION;
            }
            let connection = self.connect(&endpoint, position, lifetime).await;
            position = resume_position(&connection);
            let failed =
                connection.delivered.is_empty() && connection.covered_through_revision == 0;
            stream.connections.push(connection);
            if failed {
                // A node that does not answer: a moment before the next one.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        stream
    }

    /// One `WatchEvents` call from `start`, for at most `lifetime` (less once the target is
    /// covered).
    async fn connect(
        &mut self,
        endpoint: &Endpoint,
        start: EventPosition,
        lifetime: Duration,
    ) -> WatchConnection {
        let mut connection = WatchConnection {
            node: endpoint.name.clone(),
            start,
            delivered: Vec::new(),
            covered_through_revision: 0,
            opened_at_ns: self.recorder.now_ns(),
            closed_at_ns: 0,
        };
        let mut client = ParticipantServiceClient::with_interceptor(
            endpoint.channel.clone(),
            bearer(&self.party),
        );
        let ends_at = Instant::now() + lifetime;
        let opened = tokio::time::timeout_at(
            ends_at,
            client.watch_events(v1::WatchEventsRequest {
                start_revision: start.revision,
                start_index_in_revision: start.index,
            }),
        )
        .await;
        if let Ok(Ok(response)) = opened {
            let mut messages = response.into_inner();
            let mut target = self.target.clone();
            loop {
                let goal = *target.borrow();
                if goal > 0 && connection.covered_through_revision >= goal {
                    break;
                }
                let message = tokio::select! {
                    message = tokio::time::timeout_at(ends_at, messages.message()) => message,
                    changed = target.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        continue;
                    }
                };
                match message {
                    Ok(Ok(Some(message))) => {
                        for event in &message.events {
                            connection.delivered.push(EventPosition {
                                revision: event.revision,
                                index: event.index_in_revision,
                            });
                        }
                        connection.covered_through_revision = connection
                            .covered_through_revision
                            .max(message.applied_revision);
                    }
                    // The stream ended or failed, or the connection's time is up.
                    Ok(Ok(None)) | Ok(Err(_)) | Err(_) => break,
                }
            }
        }
        connection.closed_at_ns = self.recorder.now_ns();
        connection
    }
}
