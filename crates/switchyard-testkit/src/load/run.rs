//! The workers of a load run: look-up workers and switching workers, closed loops over gRPC,
//! held to the mix by the gate; and the optional TSO completions afterwards.
//!
//! Every worker sends its calls to the five nodes in turn (worker `w`'s `k`-th call goes to node
//! `(w + k) mod 5`), so callers reach both sites and followers forward writes to the leader, as
//! real gateways would. Look-ups come from every retailer, at random supply points. A switching
//! takes a supply point no other switching of the run uses and four writes by its two retailers;
//! a failed write ends that switching (its supply point is not reused).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use switchyard_domain::generator::{SampleData, SplitMix64, retailer_code};
use switchyard_domain::{Area, PartyId, SupplyState, Timestamp};
use switchyard_proto::v1;
use tokio::time::Instant;

use crate::cpu::{CpuSample, CpuUsage};
use crate::load::mix::{Mix, MixGate, Operation};
use crate::load::report::{Recorder, RpcKind, Window};
use crate::load::target::{Bearer, Target, TargetNode, participant, tso};

/// One switching to run: a supplied point, its current retailer and the incoming one.
#[derive(Debug, Clone)]
pub struct Flow {
    pub supply_point: String,
    pub area: Area,
    pub current: Bearer,
    pub incoming: Bearer,
}

/// A switching that matched: what its TSO completes.
#[derive(Debug, Clone)]
pub struct Matched {
    pub switch_in: String,
    pub area: Area,
    pub effective_date: String,
}

/// What every worker of a run shares: the supply points to look up, the retailers who look,
/// the switchings not yet taken.
#[derive(Debug)]
pub struct Plan {
    look_up_points: Vec<String>,
    look_up_parties: Vec<Bearer>,
    flows: Vec<Flow>,
    next_flow: AtomicUsize,
    tsos: Vec<(Area, Bearer)>,
}

impl Plan {
    /// A plan over `data` (already in the cluster): every supply point may be looked up by every
    /// retailer; every supplied point after the first `skip_points` supplied ones may be
    /// switched once, to another retailer.
    pub fn new(data: &SampleData, skip_points: usize) -> Plan {
        let retailers = data.retailers.len();
        let flows = data
            .supply_points
            .iter()
            .enumerate()
            .filter_map(|(index, point)| match point.supply {
                SupplyState::Supplying { retailer, .. } if retailers > 1 => {
                    let mut incoming = retailer_code((index * 7 + 3) % retailers);
                    if incoming == retailer {
                        incoming = retailer_code((index * 7 + 4) % retailers);
                    }
                    Some(Flow {
                        supply_point: point.number.to_string(),
                        area: point.number.area(),
                        current: Bearer::development(&PartyId::Retailer(retailer)),
                        incoming: Bearer::development(&PartyId::Retailer(incoming)),
                    })
                }
                _ => None,
            })
            .skip(skip_points)
            .collect();
        Plan {
            look_up_points: data
                .supply_points
                .iter()
                .map(|point| point.number.to_string())
                .collect(),
            look_up_parties: data
                .retailers
                .iter()
                .map(|retailer| Bearer::development(&retailer.party))
                .collect(),
            flows,
            next_flow: AtomicUsize::new(0),
            tsos: data
                .tsos
                .iter()
                .filter_map(|tso| match tso.party {
                    PartyId::Tso(area) => Some((area, Bearer::development(&tso.party))),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The next switching no one has taken, if any are left.
    fn take_flow(&self) -> Option<&Flow> {
        self.flows
            .get(self.next_flow.fetch_add(1, Ordering::Relaxed))
    }

    /// Switchings taken so far.
    pub fn flows_taken(&self) -> usize {
        self.next_flow.load(Ordering::Relaxed).min(self.flows.len())
    }

    /// Switchings available in all.
    pub fn flows_available(&self) -> usize {
        self.flows.len()
    }

    fn tso(&self, area: Area) -> Option<&Bearer> {
        self.tsos
            .iter()
            .find(|(tso_area, _)| *tso_area == area)
            .map(|(_, bearer)| bearer)
    }
}

/// How to run the mix.
#[derive(Debug, Clone)]
pub struct MixSettings {
    pub mix: Mix,
    pub look_up_workers: usize,
    pub switching_workers: usize,
    pub warm_up: Duration,
    pub duration: Duration,
    pub consistency: v1::ReadConsistency,
    /// The effective date of every switching (`YYYY-MM-DD`, JST).
    pub effective_date: String,
    /// Unique per run: every request id starts with it.
    pub run_id: String,
    /// Seeds the look-ups' choice of supply point and retailer.
    pub seed: u64,
    /// Bound on one call.
    pub call_timeout: Duration,
    /// Send every switching write to this node (a position in [`Target::nodes`]) instead of
    /// spreading them: with the leader, no write is forwarded.
    pub write_node: Option<usize>,
}

/// What a mix run produced.
#[derive(Debug)]
pub struct MixOutcome {
    pub recorder: Recorder,
    /// The switchings that matched (warm-up included), for the TSOs to complete.
    pub matched: Vec<Matched>,
    /// True if the run ran out of supply points to switch.
    pub flows_exhausted: bool,
    /// CPU used over the measurement window.
    pub cpu: CpuUsage,
}

/// Today's date plus `days`, JST, as the wire writes it.
pub fn days_ahead(days: i32) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        });
    Timestamp(now).jst_date().add_days(days).to_string()
}

fn request<T>(message: T, timeout: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(timeout);
    request
}

/// Runs the warm-up and the measured window of the mix.
pub async fn run_mix(target: &Target, plan: &Arc<Plan>, settings: &MixSettings) -> MixOutcome {
    let start = Instant::now();
    let window = Window {
        start: start + settings.warm_up,
        end: start + settings.warm_up + settings.duration,
    };
    let gate = Arc::new(MixGate::new(
        settings.mix,
        settings.switching_workers.max(1) as u64,
    ));
    let nodes: Arc<Vec<TargetNode>> = Arc::new(target.nodes.clone());
    let exhausted = Arc::new(AtomicBool::new(false));
    let matched = Arc::new(Mutex::new(Vec::new()));
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(window.start).await;
        let before = CpuSample::now();
        tokio::time::sleep_until(window.end).await;
        CpuUsage::between(&before, &CpuSample::now(), window.length())
    });

    let mut tasks = Vec::new();
    let look_up_workers = if settings.mix.has_look_ups() {
        settings.look_up_workers
    } else {
        0
    };
    for worker in 0..look_up_workers {
        let (gate, nodes, plan, settings) = (
            Arc::clone(&gate),
            Arc::clone(&nodes),
            Arc::clone(plan),
            settings.clone(),
        );
        tasks.push(tokio::spawn(async move {
            look_up_worker(worker, window, &gate, &nodes, &plan, &settings).await
        }));
    }
    let switching_workers = if settings.mix.has_switchings() {
        settings.switching_workers
    } else {
        0
    };
    for worker in 0..switching_workers {
        let (gate, nodes, plan, settings, exhausted, matched) = (
            Arc::clone(&gate),
            Arc::clone(&nodes),
            Arc::clone(plan),
            settings.clone(),
            Arc::clone(&exhausted),
            Arc::clone(&matched),
        );
        tasks.push(tokio::spawn(async move {
            let mut state = SwitchingWorker {
                worker,
                sequence: 0,
                nodes: &nodes,
                settings: &settings,
                recorder: Recorder::new(window),
                matched: Vec::new(),
            };
            while gate.admit(Operation::Switching, window.end).await {
                let Some(flow) = plan.take_flow() else {
                    exhausted.store(true, Ordering::Relaxed);
                    break;
                };
                state.switching(flow).await;
            }
            matched
                .lock()
                .expect("the matched list lock")
                .append(&mut state.matched);
            state.recorder
        }));
    }
    let mut recorder = Recorder::new(window);
    for task in tasks {
        match task.await {
            Ok(worker) => recorder.merge(&worker),
            Err(error) => tracing::error!(error = %error, "a load worker failed"),
        }
    }
    let cpu = cpu.await.unwrap_or_default();
    let matched = std::mem::take(&mut *matched.lock().expect("the matched list lock"));
    MixOutcome {
        recorder,
        matched,
        flows_exhausted: exhausted.load(Ordering::Relaxed),
        cpu,
    }
}

async fn look_up_worker(
    worker: usize,
    window: Window,
    gate: &MixGate,
    nodes: &[TargetNode],
    plan: &Plan,
    settings: &MixSettings,
) -> Recorder {
    let mut recorder = Recorder::new(window);
    let mut random = SplitMix64::new(settings.seed ^ (worker as u64).wrapping_mul(0x9E37));
    let mut call = worker;
    if plan.look_up_points.is_empty() || plan.look_up_parties.is_empty() {
        return recorder;
    }
    while gate.admit(Operation::LookUp, window.end).await {
        let node = &nodes[call % nodes.len()];
        call += 1;
        let point = random.pick(&plan.look_up_points).clone();
        let party = random.pick(&plan.look_up_parties);
        let started = Instant::now();
        let answer = participant(node, party)
            .look_up_supply_point(request(
                v1::LookUpSupplyPointRequest {
                    supply_point_number: point,
                    consistency: settings.consistency as i32,
                },
                settings.call_timeout,
            ))
            .await;
        recorder.record(RpcKind::LookUp, started, answer.as_ref().err());
    }
    recorder
}

/// One switching worker's state.
struct SwitchingWorker<'a> {
    worker: usize,
    sequence: u64,
    nodes: &'a [TargetNode],
    settings: &'a MixSettings,
    recorder: Recorder,
    matched: Vec<Matched>,
}

impl SwitchingWorker<'_> {
    /// The node for the next write, and a request id no one else uses.
    fn next(&mut self, step: &str) -> (&TargetNode, String) {
        let position = self
            .settings
            .write_node
            .unwrap_or(self.worker + self.sequence as usize);
        let node = &self.nodes[position % self.nodes.len()];
        let request_id = format!(
            "{}-w{}-{}-{step}",
            self.settings.run_id, self.worker, self.sequence
        );
        self.sequence += 1;
        (node, request_id)
    }

    /// Records a write's outcome; the answer when it succeeded.
    fn check<T>(
        &mut self,
        kind: RpcKind,
        started: Instant,
        answer: Result<tonic::Response<T>, tonic::Status>,
    ) -> Option<T> {
        self.recorder.record(kind, started, answer.as_ref().err());
        answer.ok().map(tonic::Response::into_inner)
    }

    /// The four writes of one switching, each timed on its own, and the whole.
    async fn switching(&mut self, flow: &Flow) {
        let timeout = self.settings.call_timeout;
        let effective_date = self.settings.effective_date.clone();
        let began = Instant::now();

        let (node, request_id) = self.next("sob");
        let started = Instant::now();
        let answer = participant(node, &flow.incoming)
            .register_stop_on_behalf(request(
                v1::RegisterStopOnBehalfRequest {
                    request_id,
                    supply_point_number: flow.supply_point.clone(),
                    customer: Some(v1::CustomerIdentity {
                        contract_number: "C-LOAD-1".into(),
                        holder_name: "Load Customer".into(),
                        supply_address: "1-1 Load-cho".into(),
                    }),
                    wished_date: effective_date.clone(),
                },
                timeout,
            ))
            .await;
        let Some(registered) = self.check(RpcKind::RegisterStopOnBehalf, started, answer) else {
            return;
        };
        let Some(stop_on_behalf) = registered.result.map(|result| result.stop_on_behalf_number)
        else {
            self.recorder
                .record_unexpected(RpcKind::RegisterStopOnBehalf, "no result".into());
            return;
        };

        let (node, request_id) = self.next("ok");
        let started = Instant::now();
        let answer = participant(node, &flow.current)
            .judge_stop_on_behalf(request(
                v1::JudgeStopOnBehalfRequest {
                    request_id,
                    stop_on_behalf_number: stop_on_behalf.clone(),
                    verdict: v1::Verdict::Ok as i32,
                    ng_reasons: vec![],
                },
                timeout,
            ))
            .await;
        if self
            .check(RpcKind::JudgeStopOnBehalf, started, answer)
            .is_none()
        {
            return;
        }

        let (node, request_id) = self.next("out");
        let started = Instant::now();
        let answer = participant(node, &flow.current)
            .submit_application(request(
                v1::SubmitApplicationRequest {
                    request_id,
                    supply_point_number: flow.supply_point.clone(),
                    effective_date: effective_date.clone(),
                    request: Some(v1::ProcedureRequest {
                        procedure: Some(v1::procedure_request::Procedure::SwitchOut(
                            v1::SwitchOutProcedure {},
                        )),
                    }),
                },
                timeout,
            ))
            .await;
        if self
            .check(RpcKind::SubmitSwitchOut, started, answer)
            .is_none()
        {
            return;
        }

        let (node, request_id) = self.next("in");
        let started = Instant::now();
        let answer = participant(node, &flow.incoming)
            .submit_application(request(
                v1::SubmitApplicationRequest {
                    request_id,
                    supply_point_number: flow.supply_point.clone(),
                    effective_date: effective_date.clone(),
                    request: Some(v1::ProcedureRequest {
                        procedure: Some(v1::procedure_request::Procedure::SwitchIn(
                            v1::SwitchInProcedure {
                                stop_on_behalf_number: stop_on_behalf,
                            },
                        )),
                    }),
                },
                timeout,
            ))
            .await;
        let Some(switched_in) = self.check(RpcKind::SubmitSwitchIn, started, answer) else {
            return;
        };
        match switched_in.result {
            Some(result) if result.state == v1::ApplicationState::Matched as i32 => {
                self.recorder.record(RpcKind::Switching, began, None);
                self.matched.push(Matched {
                    switch_in: result.application_number,
                    area: flow.area,
                    effective_date,
                });
            }
            other => self.recorder.record_unexpected(
                RpcKind::SubmitSwitchIn,
                format!("the switch-in did not match: {other:?}"),
            ),
        }
    }
}

/// The TSO completions after a run: every node's clock is moved past the effective date (the
/// work happens on that day), then `workers` TSO workers complete the matched pairs, each as the
/// TSO of its area, for at most `limit`.
#[derive(Debug, Serialize)]
pub struct CompletionSettings {
    pub workers: usize,
    #[serde(skip)]
    pub limit: Duration,
    pub run_id: String,
    #[serde(skip)]
    pub call_timeout: Duration,
}

/// Completes `matched` (see [`CompletionSettings`]); the clocks must already be past the
/// effective dates.
pub async fn run_completions(
    target: &Target,
    plan: &Arc<Plan>,
    matched: Vec<Matched>,
    settings: &CompletionSettings,
) -> Recorder {
    let start = Instant::now();
    let window = Window {
        start,
        end: start + settings.limit,
    };
    let queue = Arc::new(Mutex::new(matched));
    let nodes: Arc<Vec<TargetNode>> = Arc::new(target.nodes.clone());
    let mut tasks = Vec::new();
    for worker in 0..settings.workers.max(1) {
        let (queue, nodes, plan) = (Arc::clone(&queue), Arc::clone(&nodes), Arc::clone(plan));
        let run_id = settings.run_id.clone();
        let timeout = settings.call_timeout;
        tasks.push(tokio::spawn(async move {
            let mut recorder = Recorder::new(window);
            let mut call = worker;
            loop {
                if Instant::now() >= window.end {
                    break;
                }
                let Some(pair) = queue.lock().expect("the completion queue lock").pop() else {
                    break;
                };
                let Some(bearer) = plan.tso(pair.area) else {
                    recorder.record_unexpected(
                        RpcKind::CompleteApplication,
                        format!("no TSO for area {}", pair.area),
                    );
                    continue;
                };
                let node = &nodes[call % nodes.len()];
                call += 1;
                let started = Instant::now();
                let answer = tso(node, bearer)
                    .complete_application(request(
                        v1::CompleteApplicationRequest {
                            request_id: format!("{run_id}-complete-{}", pair.switch_in),
                            application_number: pair.switch_in.clone(),
                            actual_date: pair.effective_date.clone(),
                        },
                        timeout,
                    ))
                    .await;
                recorder.record(RpcKind::CompleteApplication, started, answer.as_ref().err());
            }
            recorder
        }));
    }
    let mut recorder = Recorder::new(window);
    for task in tasks {
        match task.await {
            Ok(worker) => recorder.merge(&worker),
            Err(error) => tracing::error!(error = %error, "a completion worker failed"),
        }
    }
    recorder.close_at(Instant::now());
    recorder
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use switchyard_domain::Date;
    use switchyard_domain::generator::GeneratorConfig;

    use super::*;

    fn data() -> SampleData {
        SampleData::generate(&GeneratorConfig {
            seed: 3,
            supply_points: 2_000,
            retailers: 5,
            as_of: Date::from_ymd(2026, 11, 1).unwrap(),
        })
    }

    /// Every supplied point gives one switching, to a retailer other than its current one; no
    /// point is switched twice, skipping leaves the first ones alone, and the plan runs dry
    /// instead of reusing a point. Look-ups cover every point and every retailer.
    #[test]
    fn switchings_use_distinct_points_and_another_retailer() {
        let data = data();
        let supplied = data
            .supply_points
            .iter()
            .filter(|point| matches!(point.supply, SupplyState::Supplying { .. }))
            .count();
        let plan = Plan::new(&data, 0);
        assert_eq!(plan.flows_available(), supplied);
        assert_eq!(plan.look_up_points.len(), data.supply_points.len());
        assert_eq!(plan.look_up_parties.len(), data.retailers.len());
        assert_eq!(plan.tsos.len(), 10);
        let mut seen = BTreeSet::new();
        while let Some(flow) = plan.take_flow() {
            assert!(
                seen.insert(flow.supply_point.clone()),
                "{} twice",
                flow.supply_point
            );
            assert_ne!(flow.current.0, flow.incoming.0, "{}", flow.supply_point);
            assert!(flow.supply_point.starts_with(&flow.area.to_string()));
        }
        assert_eq!(seen.len(), supplied);
        assert!(plan.take_flow().is_none());
        assert_eq!(plan.flows_taken(), supplied);

        let skipped = Plan::new(&data, 100);
        assert_eq!(skipped.flows_available(), supplied - 100);
        let first = skipped.take_flow().unwrap();
        assert_eq!(first.supply_point, plan.flows[100].supply_point);
    }
}
