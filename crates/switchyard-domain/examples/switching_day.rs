//! A business day of switching on the embedded sample data, through the real rules.
//!
//! Generates the sample data (100,000 supply points, ten TSOs, 20 retailers), loads it with the
//! same commands a cluster would replicate, then runs one day's worth of switchings (15,000 by
//! default): stop-on-behalf requests, judgements (some NG), switch-outs and switch-ins that match,
//! deadline ticks over the following days and TSO completions on the effective dates. At the end
//! it checks every invariant on the whole state and prints what happened and how fast the pure
//! rules ran.
//!
//! Options by environment: `SWITCHYARD_SEED` (default 2026), `SWITCHYARD_SUPPLY_POINTS`
//! (100000), `SWITCHYARD_SWITCHINGS` (15000).
#![allow(
    clippy::print_stdout,
    reason = "a command-line example reports on stdout"
)]

use std::collections::BTreeMap;
use std::time::Instant;

use switchyard_domain::generator::{GeneratorConfig, SampleData, SplitMix64, retailer_code};
use switchyard_domain::{
    Accepted, Actor, ApplicationNumber, Command, ContractNumber, CustomerIdentity, Date, Envelope,
    MemoryState, NgReason, NgReasons, OperatorId, PartyId, PersonName, PostalAddress,
    ProcedureRequest, RequestId, SupplyState, Timestamp, Verdict, invariants,
};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name} must be a number"))
        })
        .unwrap_or(default)
}

struct Driver {
    state: MemoryState,
    now: Timestamp,
    requests: u64,
    commands: u64,
    decide_seconds: f64,
    refusals: BTreeMap<&'static str, u64>,
}

impl Driver {
    fn send(&mut self, actor: Actor, command: Command) -> Option<Accepted> {
        self.requests += 1;
        let envelope = Envelope {
            actor,
            request_id: RequestId::parse(&format!("day-{}", self.requests)).expect("valid id"),
            command,
        };
        let started = Instant::now();
        let outcome = self.state.execute(&envelope, self.now);
        self.decide_seconds += started.elapsed().as_secs_f64();
        self.commands += 1;
        match outcome {
            Ok(accepted) => Some(accepted),
            Err(rejection) => {
                *self.refusals.entry(rejection.rule()).or_default() += 1;
                None
            }
        }
    }

    fn set_date(&mut self, date: Date) {
        // 10:00 in Japan.
        self.now = Timestamp(Timestamp::start_of_jst_date(date).milliseconds() + 36_000_000);
    }

    fn tick(&mut self) {
        while let Some(Accepted::Ticked { more_due: true, .. }) =
            self.send(Actor::System, Command::Tick)
        {}
    }
}

fn main() {
    let seed = setting("SWITCHYARD_SEED", 2026);
    let supply_points = setting("SWITCHYARD_SUPPLY_POINTS", 100_000) as usize;
    let switchings = setting("SWITCHYARD_SWITCHINGS", 15_000) as usize;
    let retailers = 20;
    let today = Date::parse("2026-11-26").expect("a valid date");
    println!(
        "Switchyard sample day: seed {seed}, {supply_points} supply points, {retailers} retailers, {switchings} switchings"
    );

    let started = Instant::now();
    let data = SampleData::generate(&GeneratorConfig {
        seed,
        supply_points,
        retailers,
        as_of: today,
    });
    let mut driver = Driver {
        state: MemoryState::default(),
        now: Timestamp(0),
        requests: 0,
        commands: 0,
        decide_seconds: 0.0,
        refusals: BTreeMap::new(),
    };
    driver.set_date(today);
    let operator = OperatorId::parse("seed").expect("valid");
    for envelope in data.commands(&operator) {
        let outcome = driver.state.execute(&envelope, driver.now);
        assert!(outcome.is_ok(), "loading refused: {outcome:?}");
    }
    println!(
        "loaded {} supply points and {} participants in {:.2} s",
        driver.state.supply_points.len(),
        driver.state.participants.len(),
        started.elapsed().as_secs_f64()
    );

    // Choose supplied points and a new retailer for each.
    let mut random = SplitMix64::new(seed ^ 0x5157_4954_4348);
    let supplied: Vec<_> = data
        .supply_points
        .iter()
        .filter_map(|point| match point.supply {
            SupplyState::Supplying { retailer, .. } => Some((point.number, retailer)),
            SupplyState::Stopped => None,
        })
        .collect();
    let mut chosen = Vec::new();
    let mut taken = std::collections::BTreeSet::new();
    while chosen.len() < switchings.min(supplied.len()) {
        let (number, current) = *random.pick(&supplied);
        if !taken.insert(number) {
            continue;
        }
        let mut incoming = retailer_code(random.below(retailers as u64) as usize);
        while incoming == current {
            incoming = retailer_code(random.below(retailers as u64) as usize);
        }
        chosen.push((number, current, incoming));
    }

    let customer = CustomerIdentity {
        contract_number: ContractNumber::parse("C-2026-0001").expect("valid"),
        holder_name: PersonName::parse("Sample Customer").expect("valid"),
        supply_address: PostalAddress::parse("1-1 Sample-cho").expect("valid"),
    };
    let retailer = |code| Actor::Party(PartyId::Retailer(code));
    let mut pairs: Vec<(ApplicationNumber, Date, u8)> = Vec::new();
    let mut ng = 0;
    for (number, current, incoming) in &chosen {
        let Some(Accepted::StopOnBehalf {
            number: request, ..
        }) = driver.send(
            retailer(*incoming),
            Command::RegisterStopOnBehalf {
                supply_point: *number,
                customer: customer.clone(),
                wished_date: today.add_days(14),
            },
        )
        else {
            continue;
        };
        // About one in twenty requests does not match the current retailer's records.
        if random.chance(50) {
            ng += 1;
            driver.send(
                retailer(*current),
                Command::JudgeStopOnBehalf {
                    number: request,
                    verdict: Verdict::Ng(
                        NgReasons::new(vec![NgReason::NameMismatch]).expect("one reason"),
                    ),
                },
            );
            continue;
        }
        driver.send(
            retailer(*current),
            Command::JudgeStopOnBehalf {
                number: request,
                verdict: Verdict::Ok,
            },
        );
        let effective_date = today.add_days(14 + random.below(7) as i32);
        driver.send(
            retailer(*current),
            Command::SubmitApplication {
                supply_point: *number,
                effective_date,
                request: ProcedureRequest::SwitchOut,
            },
        );
        if let Some(Accepted::Application {
            number: switch_in, ..
        }) = driver.send(
            retailer(*incoming),
            Command::SubmitApplication {
                supply_point: *number,
                effective_date,
                request: ProcedureRequest::SwitchIn {
                    stop_on_behalf: request,
                },
            },
        ) {
            pairs.push((switch_in, effective_date, number.area().number()));
        }
    }

    // The following days: ticks every day, and each TSO completes the switches due.
    pairs.sort_by_key(|(_, date, _)| *date);
    let mut completed = 0;
    let mut day = today;
    let last_day = pairs.last().map_or(today, |(_, date, _)| *date);
    let mut next = 0;
    while day <= last_day {
        day = day.add_days(1);
        driver.set_date(day);
        driver.tick();
        while next < pairs.len() && pairs[next].1 <= day {
            let (switch_in, effective_date, area) = pairs[next];
            next += 1;
            let tso = Actor::Party(PartyId::Tso(
                switchyard_domain::Area::from_number(area).expect("valid area"),
            ));
            if driver
                .send(
                    tso,
                    Command::CompleteApplication {
                        number: switch_in,
                        actual_date: effective_date,
                    },
                )
                .is_some()
            {
                completed += 1;
            }
        }
    }

    let checked = Instant::now();
    invariants::check_all(&driver.state).expect("every invariant holds");
    println!(
        "stop-on-behalf requests: {} ({} judged NG); matched pairs: {}; switches completed: {}",
        driver.state.stop_on_behalf.len(),
        ng,
        pairs.len(),
        completed
    );
    println!(
        "{} commands decided and applied in {:.2} s: {:.0} commands/s (pure rules on one core, in memory)",
        driver.commands,
        driver.decide_seconds,
        driver.commands as f64 / driver.decide_seconds.max(1e-9)
    );
    println!("refused by rule: {:?}", driver.refusals);
    println!(
        "every invariant holds on all {} supply points and {} applications (checked in {:.2} s)",
        driver.state.supply_points.len(),
        driver.state.applications.len(),
        checked.elapsed().as_secs_f64()
    );
    println!("state hash: {}", driver.state.state_hash());
    assert_eq!(
        completed,
        pairs.len(),
        "every matched pair should complete on its date"
    );
}
