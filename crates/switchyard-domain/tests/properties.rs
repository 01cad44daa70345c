//! Property tests: random command sequences — several retailers racing on a few supply points,
//! stop-on-behalf requests, submissions, amends, cancels, ticks across deadlines, completions,
//! rejections and retries — with every invariant checked after every step, retries proven
//! harmless, and the whole run proven deterministic.
//!
//! Cases: `PROPTEST_CASES` (default 256; CI runs 2,000). A failure prints the minimal operation
//! list it shrank to; add that list as a unit test in `decide/tests.rs` to keep it as a
//! regression case.

use proptest::prelude::*;
use switchyard_domain::fixtures::{self, KANSAI, OLD_METER, R1, R2, R3, SMART, STOPPED, World};
use switchyard_domain::{
    Accepted, Actor, ApplicationNumber, Capacity, CapacityUnit, Command, CustomerDetails, Envelope,
    NgReason, NgReasons, PersonName, PostalAddress, ProcedureRequest, RequestId, RequestKey,
    ShortText, StopOnBehalfNumber, Verdict, decide, invariants,
};

const RETAILERS: [&str; 3] = [R1, R2, R3];
const POINTS: [&str; 4] = [SMART, OLD_METER, STOPPED, KANSAI];

/// One step of a random run. Indexes pick among the records that exist at that moment.
#[derive(Debug, Clone)]
enum Operation {
    RegisterStopOnBehalf {
        requester: usize,
        point: usize,
        wished_in_days: i32,
    },
    Judge {
        pick: usize,
        ok: bool,
    },
    CancelStopOnBehalf {
        pick: usize,
    },
    Submit {
        retailer: usize,
        point: usize,
        kind: usize,
        in_days: i32,
        pick: usize,
    },
    Amend {
        pick: usize,
        in_days: i32,
        stale: bool,
    },
    Cancel {
        pick: usize,
        stale: bool,
    },
    Complete {
        pick: usize,
        late_days: i32,
    },
    Reject {
        pick: usize,
    },
    AdvanceAndTick {
        days: i32,
    },
    Retry {
        pick: usize,
    },
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        3 => (0..3usize, 0..4usize, 0..20i32).prop_map(|(requester, point, wished_in_days)| {
            Operation::RegisterStopOnBehalf { requester, point, wished_in_days }
        }),
        3 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(pick, ok)| Operation::Judge { pick, ok }),
        1 => any::<usize>().prop_map(|pick| Operation::CancelStopOnBehalf { pick }),
        6 => (0..3usize, 0..4usize, 0..7usize, 0..30i32, any::<usize>()).prop_map(
            |(retailer, point, kind, in_days, pick)| Operation::Submit { retailer, point, kind, in_days, pick }
        ),
        2 => (any::<usize>(), 0..30i32, prop::bool::weighted(0.2)).prop_map(|(pick, in_days, stale)| {
            Operation::Amend { pick, in_days, stale }
        }),
        1 => (any::<usize>(), prop::bool::weighted(0.2)).prop_map(|(pick, stale)| Operation::Cancel { pick, stale }),
        3 => (any::<usize>(), 0..3i32).prop_map(|(pick, late_days)| Operation::Complete { pick, late_days }),
        1 => any::<usize>().prop_map(|pick| Operation::Reject { pick }),
        2 => (0..6i32).prop_map(|days| Operation::AdvanceAndTick { days }),
        2 => any::<usize>().prop_map(|pick| Operation::Retry { pick }),
    ]
}

/// A run: the world plus every envelope sent, for retries.
struct Run {
    world: World,
    sent: Vec<(Envelope, switchyard_domain::Outcome)>,
    next_request: u64,
}

impl Run {
    fn new() -> Run {
        Run {
            world: World::new(),
            sent: Vec::new(),
            next_request: 0,
        }
    }

    fn today(&self) -> switchyard_domain::Date {
        self.world
            .state
            .clock
            .unwrap_or(self.world.now)
            .max(self.world.now)
            .jst_date()
    }

    fn send(&mut self, actor: Actor, command: Command) {
        self.next_request += 1;
        let envelope = Envelope {
            actor,
            request_id: RequestId::parse(&format!("op-{}", self.next_request)).unwrap(),
            command,
        };
        let outcome = self.world.run_with_id(
            envelope.actor.clone(),
            envelope.request_id.clone(),
            envelope.command.clone(),
        );
        if let Err(rejection) = &outcome {
            assert_ne!(rejection.rule(), "invariant_would_break", "{rejection}");
        }
        self.sent.push((envelope, outcome));
    }

    fn stop_on_behalf_numbers(&self) -> Vec<StopOnBehalfNumber> {
        self.world.state.stop_on_behalf.keys().copied().collect()
    }

    fn application_numbers(&self) -> Vec<ApplicationNumber> {
        self.world.state.applications.keys().copied().collect()
    }

    fn apply(&mut self, operation: &Operation) {
        let today = self.today();
        match *operation {
            Operation::RegisterStopOnBehalf {
                requester,
                point,
                wished_in_days,
            } => self.send(
                fixtures::retailer(RETAILERS[requester]),
                Command::RegisterStopOnBehalf {
                    supply_point: fixtures::point(POINTS[point]),
                    customer: fixtures::customer(),
                    wished_date: today.add_days(wished_in_days),
                },
            ),
            Operation::Judge { pick, ok } => {
                let numbers = self.stop_on_behalf_numbers();
                let Some(number) = numbers.get(pick % numbers.len().max(1)).copied() else {
                    return;
                };
                let addressee = self.world.state.stop_on_behalf[&number].addressee;
                let verdict = if ok {
                    Verdict::Ok
                } else {
                    Verdict::Ng(NgReasons::new(vec![NgReason::NameMismatch]).unwrap())
                };
                self.send(
                    fixtures::retailer(&addressee.to_string()),
                    Command::JudgeStopOnBehalf { number, verdict },
                );
            }
            Operation::CancelStopOnBehalf { pick } => {
                let numbers = self.stop_on_behalf_numbers();
                let Some(number) = numbers.get(pick % numbers.len().max(1)).copied() else {
                    return;
                };
                let requester = self.world.state.stop_on_behalf[&number].requester;
                self.send(
                    fixtures::retailer(&requester.to_string()),
                    Command::CancelStopOnBehalf { number },
                );
            }
            Operation::Submit {
                retailer,
                point,
                kind,
                in_days,
                pick,
            } => {
                let requests = self.stop_on_behalf_numbers();
                let mut supply_point = fixtures::point(POINTS[point]);
                let mut effective_date = today.add_days(in_days);
                let mut retailer = fixtures::retailer(RETAILERS[retailer]);
                // Half of the switching submissions aim at the waiting counterpart's date, so
                // that pairs match; switch-ins are sent by their request's requester.
                let aim_at_counterpart = |wanted, supply_point, effective_date: &mut _| {
                    if pick % 2 == 0
                        && let Some(waiting) =
                            self.world.state.applications.values().find(|other| {
                                other.supply_point == supply_point
                                    && other.procedure() == wanted
                                    && other.state
                                        == switchyard_domain::ApplicationState::AwaitingMatch
                            })
                    {
                        *effective_date = waiting.effective_date;
                    }
                };
                let request = match kind {
                    0 => {
                        aim_at_counterpart(
                            switchyard_domain::Procedure::SwitchIn,
                            supply_point,
                            &mut effective_date,
                        );
                        ProcedureRequest::SwitchOut
                    }
                    1 => match requests.get(pick % requests.len().max(1)) {
                        Some(number) => {
                            let request = &self.world.state.stop_on_behalf[number];
                            supply_point = request.supply_point;
                            retailer = fixtures::retailer(&request.requester.to_string());
                            aim_at_counterpart(
                                switchyard_domain::Procedure::SwitchOut,
                                supply_point,
                                &mut effective_date,
                            );
                            ProcedureRequest::SwitchIn {
                                stop_on_behalf: *number,
                            }
                        }
                        None => return,
                    },
                    2 => ProcedureRequest::StopSupply {
                        meter_removal: pick % 2 == 0,
                    },
                    3 => ProcedureRequest::Restart {
                        customer: details(),
                    },
                    4 => ProcedureRequest::AmpereChange {
                        capacity: Capacity::new([20, 40, 60][pick % 3], CapacityUnit::Ampere)
                            .unwrap(),
                    },
                    5 => ProcedureRequest::CustomerInfoChange {
                        customer: details(),
                    },
                    _ => ProcedureRequest::SwitchOut,
                };
                self.send(
                    retailer,
                    Command::SubmitApplication {
                        supply_point,
                        effective_date,
                        request,
                    },
                );
            }
            Operation::Amend {
                pick,
                in_days,
                stale,
            } => {
                let numbers = self.application_numbers();
                let Some(number) = numbers.get(pick % numbers.len().max(1)).copied() else {
                    return;
                };
                let record = self.world.state.applications[&number].clone();
                self.send(
                    fixtures::retailer(&record.applicant.to_string()),
                    Command::AmendApplication {
                        number,
                        revision: record.revision - u32::from(stale && record.revision > 1),
                        effective_date: today.add_days(in_days),
                        request: record.request.clone(),
                    },
                );
            }
            Operation::Cancel { pick, stale } => {
                let numbers = self.application_numbers();
                let Some(number) = numbers.get(pick % numbers.len().max(1)).copied() else {
                    return;
                };
                let record = self.world.state.applications[&number].clone();
                self.send(
                    fixtures::retailer(&record.applicant.to_string()),
                    Command::CancelApplication {
                        number,
                        revision: record.revision - u32::from(stale && record.revision > 1),
                    },
                );
            }
            Operation::Complete { pick, late_days } => {
                let numbers = self.application_numbers();
                let Some(number) = numbers.get(pick % numbers.len().max(1)).copied() else {
                    return;
                };
                let record = self.world.state.applications[&number].clone();
                let actual_date = record.effective_date.add_days(late_days);
                if actual_date > today {
                    self.world.set_date(&actual_date.to_string());
                    self.send(Actor::System, Command::Tick);
                }
                let area = record.supply_point.area().number();
                self.send(
                    fixtures::tso(area),
                    Command::CompleteApplication {
                        number,
                        actual_date,
                    },
                );
            }
            Operation::Reject { pick } => {
                let numbers = self.application_numbers();
                let Some(number) = numbers.get(pick % numbers.len().max(1)).copied() else {
                    return;
                };
                let area = self.world.state.applications[&number]
                    .supply_point
                    .area()
                    .number();
                self.send(
                    fixtures::tso(area),
                    Command::RejectApplication {
                        number,
                        reason: ShortText::parse("cannot carry out").unwrap(),
                    },
                );
            }
            Operation::AdvanceAndTick { days } => {
                self.world.set_date(&today.add_days(days).to_string());
                loop {
                    self.send(Actor::System, Command::Tick);
                    match self.sent.last().map(|(_, outcome)| outcome) {
                        Some(Ok(Accepted::Ticked { more_due: true, .. })) => continue,
                        _ => break,
                    }
                }
            }
            Operation::Retry { pick } => {
                if self.sent.is_empty() {
                    return;
                }
                let (envelope, first) = self.sent[pick % self.sent.len()].clone();
                let Actor::Party(party) = &envelope.actor else {
                    return;
                };
                let key = RequestKey {
                    party: party.clone(),
                    request_id: envelope.request_id.clone(),
                };
                if !self.world.state.requests.contains_key(&key) {
                    return; // Forgotten after its retention: a retry would be a new request.
                }
                let hash_before = self.world.state.state_hash();
                let decision = decide(&self.world.state, &envelope, self.world.now);
                assert!(
                    decision.replayed,
                    "a remembered request id was not replayed"
                );
                assert_eq!(decision.outcome, first, "a retry got another answer");
                assert!(
                    decision.changes.writes.is_empty(),
                    "a retry wrote something"
                );
                let outcome = self.world.run_with_id(
                    envelope.actor.clone(),
                    envelope.request_id.clone(),
                    envelope.command.clone(),
                );
                assert_eq!(outcome, first);
                assert_eq!(
                    self.world.state.state_hash(),
                    hash_before,
                    "a retry changed the state"
                );
            }
        }
    }
}

fn details() -> CustomerDetails {
    CustomerDetails {
        holder_name: PersonName::parse("Kato Aoi").unwrap(),
        supply_address: PostalAddress::parse("3-3 Naka-ku, Hiroshima").unwrap(),
    }
}

fn run(operations: &[Operation]) -> Run {
    let mut run = Run::new();
    for operation in operations {
        run.apply(operation);
        // World::run_with_id already checked every invariant after each command; check once
        // more here so that a step that sent nothing is covered too.
        if let Err(violation) = invariants::check_all(&run.world.state) {
            panic!("after {operation:?}: {violation}");
        }
    }
    run
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// Every invariant holds after every step of any command sequence, and no step is refused
    /// as an invariant break (which would mean a rule let a broken state through).
    #[test]
    fn invariants_hold(operations in prop::collection::vec(operation(), 1..80)) {
        run(&operations);
    }

    /// The same commands at the same timestamps give the same state, byte for byte.
    #[test]
    fn deterministic(operations in prop::collection::vec(operation(), 1..60)) {
        let first = run(&operations);
        let second = run(&operations);
        prop_assert_eq!(first.world.state.state_hash(), second.world.state.state_hash());
        prop_assert_eq!(
            serde_json::to_vec(&first.world.state).unwrap(),
            serde_json::to_vec(&second.world.state).unwrap()
        );
    }
}

/// The generator of random runs reaches the interesting states (matched, completed, unmatched,
/// accepted), so the properties above are not vacuous: a fixed long run must see each of them.
#[test]
fn runs_reach_interesting_states() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    use switchyard_domain::ApplicationState;

    let seed = [7u8; 32];
    eprintln!("seed: {seed:?}");
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed),
    );
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let operations = prop::collection::vec(operation(), 80)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let finished = run(&operations);
        for stored in &finished.world.state.events {
            match &stored.event.kind {
                switchyard_domain::EventKind::ApplicationChanged { state, .. } => {
                    seen.insert(format!("{state:?}"));
                }
                switchyard_domain::EventKind::ApplicationsMatched { .. } => {
                    seen.insert("Matched".to_owned());
                }
                switchyard_domain::EventKind::SupplierChanged { from: Some(_), .. } => {
                    seen.insert("SupplierSwitched".to_owned());
                }
                _ => {}
            }
        }
    }
    for state in [
        ApplicationState::Matched,
        ApplicationState::Completed,
        ApplicationState::Unmatched,
        ApplicationState::Accepted,
        ApplicationState::Cancelled,
    ] {
        assert!(
            seen.contains(&format!("{state:?}")),
            "no run reached {state:?}; saw {seen:?}"
        );
    }
    assert!(
        seen.contains("SupplierSwitched"),
        "no run completed a switch; saw {seen:?}"
    );
}
