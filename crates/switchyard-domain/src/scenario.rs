//! A replayable log of realistic work: sample data loaded, then switching days.
//!
//! [`Scenario::build`] runs the whole thing against a [`MemoryState`] (the reference), choosing
//! each next command from the answers so far, and records every envelope with the timestamp its
//! log entry would carry. Replaying [`Scenario::log`] into any other store must end in the same
//! state hash: that is how the store, the cluster tests and the benchmarks use it.

use std::collections::{BTreeMap, BTreeSet};

use crate::application::ProcedureRequest;
use crate::command::{Accepted, Command, Envelope};
use crate::facility::SupplyState;
use crate::generator::{GeneratorConfig, SampleData, SplitMix64, retailer_code};
use crate::ids::{
    Actor, ApplicationNumber, Area, ContractNumber, OperatorId, PartyId, PersonName, PostalAddress,
    RequestId,
};
use crate::state::MemoryState;
use crate::stop_on_behalf::{CustomerIdentity, NgReason, NgReasons, Verdict};
use crate::time::{Date, Timestamp};

/// What to generate.
#[derive(Debug, Clone)]
pub struct ScenarioConfig {
    pub seed: u64,
    pub supply_points: usize,
    /// 1..=1000.
    pub retailers: usize,
    /// Switchings started on the first day.
    pub switchings: usize,
    /// The first business day; sample supply starts before it.
    pub start: Date,
}

impl ScenarioConfig {
    /// A small scenario for tests: 2,000 points, 10 retailers, 200 switchings.
    pub fn small(seed: u64) -> ScenarioConfig {
        ScenarioConfig {
            seed,
            supply_points: 2_000,
            retailers: 10,
            switchings: 200,
            start: Date::from_ymd(2026, 11, 26).expect("a valid date"),
        }
    }
}

/// What happened in a scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScenarioStats {
    pub stop_on_behalf_requests: usize,
    pub judged_ng: usize,
    pub matched_pairs: usize,
    pub completed_switches: usize,
    /// Refusals by rule name (a healthy scenario has none).
    pub refusals: BTreeMap<&'static str, u64>,
}

/// A recorded log and the reference state it leads to.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Every command in log order, with the timestamp of its entry.
    pub log: Vec<(Envelope, Timestamp)>,
    /// The state after applying the whole log.
    pub state: MemoryState,
    pub stats: ScenarioStats,
}

struct Recorder {
    state: MemoryState,
    log: Vec<(Envelope, Timestamp)>,
    now: Timestamp,
    stats: ScenarioStats,
}

impl Recorder {
    fn send(&mut self, actor: Actor, command: Command) -> Option<Accepted> {
        let request_id = RequestId::parse(&format!("scenario-{}", self.log.len() + 1))
            .expect("a valid request id");
        let envelope = Envelope {
            actor,
            request_id,
            command,
        };
        let outcome = self.state.execute(&envelope, self.now);
        self.log.push((envelope, self.now));
        match outcome {
            Ok(accepted) => Some(accepted),
            Err(rejection) => {
                *self.stats.refusals.entry(rejection.rule()).or_default() += 1;
                None
            }
        }
    }

    fn record(&mut self, envelope: Envelope) {
        let outcome = self.state.execute(&envelope, self.now);
        assert!(outcome.is_ok(), "sample data refused: {outcome:?}");
        self.log.push((envelope, self.now));
    }

    /// 10:00 in Japan on `date`.
    fn set_date(&mut self, date: Date) {
        self.now = Timestamp(Timestamp::start_of_jst_date(date).milliseconds() + 36_000_000);
    }

    fn tick(&mut self) {
        while let Some(Accepted::Ticked { more_due: true, .. }) =
            self.send(Actor::System, Command::Tick)
        {}
    }
}

impl Scenario {
    /// Loads the sample data, then runs the switchings through the full flow: a stop-on-behalf
    /// request from a new retailer, the current retailer's judgement (one in twenty NG), a
    /// switch-out and a switch-in that match, a daily tick, and the TSO's completion on the
    /// effective date.
    pub fn build(config: &ScenarioConfig) -> Scenario {
        let data = SampleData::generate(&GeneratorConfig {
            seed: config.seed,
            supply_points: config.supply_points,
            retailers: config.retailers,
            as_of: config.start,
        });
        let mut recorder = Recorder {
            state: MemoryState::default(),
            log: Vec::new(),
            now: Timestamp(0),
            stats: ScenarioStats::default(),
        };
        recorder.set_date(config.start);
        let operator = OperatorId::parse("seed").expect("valid");
        for envelope in data.commands(&operator) {
            recorder.record(envelope);
        }

        let mut random = SplitMix64::new(config.seed ^ 0x5157_4954_4348);
        let supplied: Vec<_> = data
            .supply_points
            .iter()
            .filter_map(|point| match point.supply {
                SupplyState::Supplying { retailer, .. } => Some((point.number, retailer)),
                SupplyState::Stopped => None,
            })
            .collect();
        // Switching needs a second retailer to switch to.
        let wanted = if config.retailers < 2 {
            0
        } else {
            config.switchings.min(supplied.len())
        };
        let mut taken = BTreeSet::new();
        let customer = CustomerIdentity {
            contract_number: ContractNumber::parse("C-2026-0001").expect("valid"),
            holder_name: PersonName::parse("Sample Customer").expect("valid"),
            supply_address: PostalAddress::parse("1-1 Sample-cho").expect("valid"),
        };
        let retailer = |code| Actor::Party(PartyId::Retailer(code));
        let mut pairs: Vec<(ApplicationNumber, Date, Area)> = Vec::new();
        while taken.len() < wanted {
            let (number, current) = *random.pick(&supplied);
            if !taken.insert(number) {
                continue;
            }
            let mut incoming = retailer_code(random.below(config.retailers as u64) as usize);
            while incoming == current {
                incoming = retailer_code(random.below(config.retailers as u64) as usize);
            }
            let Some(Accepted::StopOnBehalf {
                number: request, ..
            }) = recorder.send(
                retailer(incoming),
                Command::RegisterStopOnBehalf {
                    supply_point: number,
                    customer: customer.clone(),
                    wished_date: config.start.add_days(14),
                },
            )
            else {
                continue;
            };
            recorder.stats.stop_on_behalf_requests += 1;
            if random.chance(50) {
                recorder.stats.judged_ng += 1;
                recorder.send(
                    retailer(current),
                    Command::JudgeStopOnBehalf {
                        number: request,
                        verdict: Verdict::Ng(
                            NgReasons::new(vec![NgReason::NameMismatch]).expect("one reason"),
                        ),
                    },
                );
                continue;
            }
            recorder.send(
                retailer(current),
                Command::JudgeStopOnBehalf {
                    number: request,
                    verdict: Verdict::Ok,
                },
            );
            let effective_date = config.start.add_days(14 + random.below(7) as i32);
            recorder.send(
                retailer(current),
                Command::SubmitApplication {
                    supply_point: number,
                    effective_date,
                    request: ProcedureRequest::SwitchOut,
                },
            );
            if let Some(Accepted::Application {
                number: switch_in,
                matched_with: Some(_),
                ..
            }) = recorder.send(
                retailer(incoming),
                Command::SubmitApplication {
                    supply_point: number,
                    effective_date,
                    request: ProcedureRequest::SwitchIn {
                        stop_on_behalf: request,
                    },
                },
            ) {
                pairs.push((switch_in, effective_date, number.area()));
            }
        }
        recorder.stats.matched_pairs = pairs.len();

        pairs.sort_by_key(|(number, date, _)| (*date, *number));
        let last_day = pairs.last().map_or(config.start, |(_, date, _)| *date);
        let mut day = config.start;
        let mut next = 0;
        while day < last_day {
            day = day.add_days(1);
            recorder.set_date(day);
            recorder.tick();
            while next < pairs.len() && pairs[next].1 <= day {
                let (switch_in, effective_date, area) = pairs[next];
                next += 1;
                if recorder
                    .send(
                        Actor::Party(PartyId::Tso(area)),
                        Command::CompleteApplication {
                            number: switch_in,
                            actual_date: effective_date,
                        },
                    )
                    .is_some()
                {
                    recorder.stats.completed_switches += 1;
                }
            }
        }
        Scenario {
            log: recorder.log,
            state: recorder.state,
            stats: recorder.stats,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small scenario runs without a single refusal, completes every matched switch, keeps
    /// every invariant, and is the same on every build.
    #[test]
    fn small_scenario_is_clean_and_deterministic() {
        let scenario = Scenario::build(&ScenarioConfig::small(11));
        assert!(
            scenario.stats.refusals.is_empty(),
            "{:?}",
            scenario.stats.refusals
        );
        assert!(scenario.stats.matched_pairs > 150);
        assert_eq!(
            scenario.stats.completed_switches,
            scenario.stats.matched_pairs
        );
        crate::invariants::check_all(&scenario.state).unwrap();
        let again = Scenario::build(&ScenarioConfig::small(11));
        assert_eq!(again.state.state_hash(), scenario.state.state_hash());
        assert_eq!(again.log, scenario.log);
    }
}
