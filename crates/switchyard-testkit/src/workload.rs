//! The switching workload: concurrent proposers, each running the full switching flow on supply
//! points of its own, so that they never refuse each other's work. Each flow is four committed
//! commands: a stop-on-behalf request from the new retailer, the current retailer's OK, the
//! switch-out and the switch-in (which matches).

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_domain::generator::{SampleData, retailer_code};
use switchyard_domain::{
    Accepted, Actor, Command, ContractNumber, CustomerIdentity, Date, Envelope, PartyId,
    PersonName, PostalAddress, ProcedureRequest, RequestId, RetailerCode, SupplyPointNumber,
    SupplyState, Verdict,
};
use switchyard_raft::NodeHandle;

/// Commit latencies, sorted on demand.
#[derive(Debug, Clone, Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// The `fraction` percentile (0.5 for the median).
    pub fn percentile(&mut self, fraction: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0.sort();
        let position = ((self.0.len() - 1) as f64 * fraction).round() as usize;
        self.0[position]
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What a workload run did.
#[derive(Debug, Clone, Default)]
pub struct WorkloadReport {
    /// Commands committed (accepted or refused by a rule: both went through the log).
    pub committed: u64,
    /// Of those, refused by a rule (a healthy run refuses none).
    pub refused: u64,
    /// Writes that failed (no answer from the cluster).
    pub failed: u64,
    pub elapsed: Duration,
    pub latencies: Latencies,
}

impl WorkloadReport {
    /// Committed commands per second.
    pub fn throughput(&self) -> f64 {
        self.committed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One flow's supply point, its current retailer and the new one.
#[derive(Debug, Clone, Copy)]
struct Flow {
    supply_point: SupplyPointNumber,
    current: RetailerCode,
    incoming: RetailerCode,
}

/// Flows over the supplied points of `data`, a new retailer for each.
fn flows(data: &SampleData) -> Vec<Flow> {
    let retailers = data.retailers.len();
    data.supply_points
        .iter()
        .enumerate()
        .filter_map(|(index, point)| match point.supply {
            SupplyState::Supplying { retailer, .. } if retailers > 1 => {
                let mut incoming = retailer_code(index % retailers);
                if incoming == retailer {
                    incoming = retailer_code((index + 1) % retailers);
                }
                Some(Flow {
                    supply_point: point.number,
                    current: retailer,
                    incoming,
                })
            }
            _ => None,
        })
        .collect()
}

/// Runs `flows_per_proposer` flows on each of `proposers` concurrent proposers, all writing
/// through `node`, on supply points from `data` (already loaded), skipping the first
/// `skip_flows` flows (used by an earlier run on the same data). `today` is the business date the
/// leader will stamp.
pub async fn run_switching(
    node: Arc<NodeHandle>,
    data: &SampleData,
    proposers: usize,
    flows_per_proposer: usize,
    skip_flows: usize,
    today: Date,
    run: &str,
) -> WorkloadReport {
    let all: Vec<Flow> = flows(data).into_iter().skip(skip_flows).collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for proposer in 0..proposers {
        let mine: Vec<Flow> = all
            .iter()
            .skip(proposer)
            .step_by(proposers.max(1))
            .take(flows_per_proposer)
            .copied()
            .collect();
        let node = Arc::clone(&node);
        let run = run.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut state = Proposer {
                node: &node,
                run: &run,
                proposer,
                sequence: 0,
                report: WorkloadReport::default(),
            };
            for flow in mine {
                state.flow(flow, today).await;
            }
            state.report
        }));
    }
    let mut total = WorkloadReport::default();
    for task in tasks {
        let report = task.await.expect("a proposer task");
        total.committed += report.committed;
        total.refused += report.refused;
        total.failed += report.failed;
        total.latencies.0.extend(report.latencies.0);
    }
    total.elapsed = started.elapsed();
    total
}

/// One proposer's connection and counters.
struct Proposer<'a> {
    node: &'a NodeHandle,
    run: &'a str,
    proposer: usize,
    sequence: u64,
    report: WorkloadReport,
}

impl Proposer<'_> {
    async fn send(&mut self, actor: Actor, command: Command) -> Option<Accepted> {
        self.sequence += 1;
        let envelope = Envelope {
            actor,
            request_id: RequestId::parse(&format!(
                "{}-{}-{}",
                self.run, self.proposer, self.sequence
            ))
            .expect("a valid request id"),
            command,
        };
        let started = Instant::now();
        match self.node.client_write(envelope).await {
            Ok(answer) => {
                self.report.latencies.0.push(started.elapsed());
                self.report.committed += 1;
                match answer.outcome {
                    Ok(accepted) => Some(accepted),
                    Err(_) => {
                        self.report.refused += 1;
                        None
                    }
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "a benchmark write failed");
                self.report.failed += 1;
                None
            }
        }
    }

    async fn flow(&mut self, flow: Flow, today: Date) {
        let retailer = |code| Actor::Party(PartyId::Retailer(code));
        let customer = CustomerIdentity {
            contract_number: ContractNumber::parse("C-BENCH-1").expect("valid"),
            holder_name: PersonName::parse("Bench Customer").expect("valid"),
            supply_address: PostalAddress::parse("1-1 Bench-cho").expect("valid"),
        };
        let effective_date = today.add_days(14);
        let Some(Accepted::StopOnBehalf { number, .. }) = self
            .send(
                retailer(flow.incoming),
                Command::RegisterStopOnBehalf {
                    supply_point: flow.supply_point,
                    customer,
                    wished_date: effective_date,
                },
            )
            .await
        else {
            return;
        };
        self.send(
            retailer(flow.current),
            Command::JudgeStopOnBehalf {
                number,
                verdict: Verdict::Ok,
            },
        )
        .await;
        self.send(
            retailer(flow.current),
            Command::SubmitApplication {
                supply_point: flow.supply_point,
                effective_date,
                request: ProcedureRequest::SwitchOut,
            },
        )
        .await;
        self.send(
            retailer(flow.incoming),
            Command::SubmitApplication {
                supply_point: flow.supply_point,
                effective_date,
                request: ProcedureRequest::SwitchIn {
                    stop_on_behalf: number,
                },
            },
        )
        .await;
    }
}
