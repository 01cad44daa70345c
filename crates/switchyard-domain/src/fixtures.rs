//! A small hand-made world for tests here and in other crates: one operator, two TSOs, three
//! retailers and five supply points with known facts, driven through the real [`crate::decide`].
//!
//! | supply point | area | facts |
//! |---|---|---|
//! | [`SMART`] | 03 | low voltage, 30 A breaker, smart meter, supplied by [`R1`] |
//! | [`OLD_METER`] | 03 | low voltage, 40 A breaker, old meter (switching needs meter works), [`R1`] |
//! | [`STOPPED`] | 03 | low voltage, stopped |
//! | [`HIGH_VOLTAGE`] | 03 | high voltage 120 kW, supplied by [`R2`] |
//! | [`KANSAI`] | 06 | low voltage, 30 A, smart meter, supplied by [`R1`] |
//!
//! The world starts on Thursday 2026-11-26 at 10:00 in Japan, with no holidays configured.

use crate::command::{Command, Envelope, Outcome, SupplyPointImport};
use crate::facility::{
    Capacity, CapacityUnit, ContractKind, DecisionMethod, Facility, Meter, SupplyState,
    VoltageClass,
};
use crate::ids::{
    Actor, Area, ContractNumber, EmailAddress, MeterNumber, OperatorId, PartyId, PersonName,
    PhoneNumber, PostalAddress, RequestId, RetailerCode, ShortText, StopOnBehalfNumber,
    SupplyPointNumber,
};
use crate::party::{Contact, Participant};
use crate::state::MemoryState;
use crate::stop_on_behalf::CustomerIdentity;
use crate::time::{Date, Timestamp};
use crate::{Accepted, invariants};

/// Retailer codes of the world.
pub const R1: &str = "A0001";
pub const R2: &str = "A0002";
pub const R3: &str = "A0003";
/// Supply point numbers of the world.
pub const SMART: &str = "0300000000000000000001";
pub const OLD_METER: &str = "0300000000000000000002";
pub const STOPPED: &str = "0300000000000000000003";
pub const HIGH_VOLTAGE: &str = "0300000000000000000004";
pub const KANSAI: &str = "0600000000000000000005";
/// The first day of the world.
pub const START_DATE: &str = "2026-11-26";

/// Parses a date, panicking on a typo in a test.
pub fn date(text: &str) -> Date {
    Date::parse(text).expect("a valid test date")
}

/// Parses a supply point number, panicking on a typo in a test.
pub fn point(text: &str) -> SupplyPointNumber {
    SupplyPointNumber::parse(text).expect("a valid test supply point")
}

/// Parses a retailer code, panicking on a typo in a test.
pub fn code(text: &str) -> RetailerCode {
    RetailerCode::parse(text).expect("a valid test retailer code")
}

/// The retailer `text` as an actor.
pub fn retailer(text: &str) -> Actor {
    Actor::Party(PartyId::Retailer(code(text)))
}

/// The TSO of area `number` as an actor.
pub fn tso(number: u8) -> Actor {
    Actor::Party(PartyId::Tso(
        Area::from_number(number).expect("a valid test area"),
    ))
}

/// The operator `sato`.
pub fn operator() -> Actor {
    Actor::Party(PartyId::Operator(OperatorId::parse("sato").expect("valid")))
}

/// A plausible customer identity.
pub fn customer() -> CustomerIdentity {
    CustomerIdentity {
        contract_number: ContractNumber::parse("C-0001").expect("valid"),
        holder_name: PersonName::parse("Yamada Taro").expect("valid"),
        supply_address: PostalAddress::parse("1-1 Chiyoda, Chiyoda-ku, Tokyo").expect("valid"),
    }
}

/// One contact.
pub fn contact(name: &str) -> Contact {
    Contact {
        name: PersonName::parse(name).expect("valid"),
        role: ShortText::parse("operations desk").expect("valid"),
        email: EmailAddress::parse("ops@example.example").expect("valid"),
        phone: PhoneNumber::parse("03-0000-0000").expect("valid"),
    }
}

/// A low-voltage facility with an ampere breaker of `amperes` and one meter.
pub fn low_voltage(amperes: u32, smart: bool) -> Facility {
    Facility {
        voltage: VoltageClass::Low,
        contract_kind: ContractKind::Lighting,
        decision_method: DecisionMethod::AmpereBreaker,
        capacity: Capacity::new(amperes, CapacityUnit::Ampere).expect("valid"),
        meters: vec![Meter {
            number: MeterNumber::parse("M-1").expect("valid"),
            smart,
            half_hourly_values: smart,
            automatic_reading: smart,
        }],
        reading_day: 12,
    }
}

/// A high-voltage facility of `kilowatts`.
pub fn high_voltage(kilowatts: u32) -> Facility {
    Facility {
        voltage: VoltageClass::High,
        contract_kind: ContractKind::Power,
        decision_method: DecisionMethod::MeasuredDemand,
        capacity: Capacity::new(kilowatts, CapacityUnit::KiloWatt).expect("valid"),
        meters: vec![Meter {
            number: MeterNumber::parse("HV-1").expect("valid"),
            smart: true,
            half_hourly_values: true,
            automatic_reading: true,
        }],
        reading_day: 1,
    }
}

/// An import of `number` with `facility`, supplied by `supplier` since 2020-01-01 or stopped.
pub fn import(number: &str, facility: Facility, supplier: Option<&str>) -> SupplyPointImport {
    SupplyPointImport {
        number: point(number),
        facility,
        supply: match supplier {
            Some(supplier) => SupplyState::Supplying {
                retailer: code(supplier),
                since: date("2020-01-01"),
            },
            None => SupplyState::Stopped,
        },
    }
}

/// The world: a state, a clock and fresh request ids. Every command checks every invariant.
#[derive(Debug, Clone)]
pub struct World {
    pub state: MemoryState,
    pub now: Timestamp,
    next_request: u64,
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

impl World {
    /// The world of the module docs.
    pub fn new() -> World {
        let mut world = World::empty();
        for party in ["T03", "T06", R1, R2, R3] {
            let participant = Participant {
                party: PartyId::parse(party).expect("valid"),
                name: PersonName::parse(&format!("Company {party}")).expect("valid"),
                contacts: vec![contact("Sato Hana")],
            };
            world.ok(operator(), Command::SaveParticipant { participant });
        }
        world.ok(
            tso(3),
            Command::ImportSupplyPoints {
                points: vec![
                    import(SMART, low_voltage(30, true), Some(R1)),
                    import(OLD_METER, low_voltage(40, false), Some(R1)),
                    import(STOPPED, low_voltage(30, true), None),
                    import(HIGH_VOLTAGE, high_voltage(120), Some(R2)),
                ],
            },
        );
        world.ok(
            tso(6),
            Command::ImportSupplyPoints {
                points: vec![import(KANSAI, low_voltage(30, true), Some(R1))],
            },
        );
        world
    }

    /// No participants and no supply points, on the start date.
    pub fn empty() -> World {
        World {
            state: MemoryState::default(),
            now: Timestamp(Timestamp::start_of_jst_date(date(START_DATE)).0 + 10 * 3_600_000),
            next_request: 0,
        }
    }

    /// Moves the clock to 10:00 in Japan on `day`.
    pub fn set_date(&mut self, day: &str) {
        self.now = Timestamp(Timestamp::start_of_jst_date(date(day)).0 + 10 * 3_600_000);
    }

    /// Runs `command` as `actor` with a fresh request id, then checks every invariant.
    pub fn run(&mut self, actor: Actor, command: Command) -> Outcome {
        self.next_request += 1;
        let request_id =
            RequestId::parse(&format!("request-{}", self.next_request)).expect("valid");
        self.run_with_id(actor, request_id, command)
    }

    /// Runs `command` as `actor` with `request_id`, then checks every invariant.
    pub fn run_with_id(
        &mut self,
        actor: Actor,
        request_id: RequestId,
        command: Command,
    ) -> Outcome {
        let envelope = Envelope {
            actor,
            request_id,
            command,
        };
        let outcome = self.state.execute(&envelope, self.now);
        if let Err(violation) = invariants::check_all(&self.state) {
            panic!("after {envelope:?} -> {outcome:?}: {violation}");
        }
        outcome
    }

    /// Runs `command`, panicking if it is refused.
    pub fn ok(&mut self, actor: Actor, command: Command) -> Accepted {
        match self.run(actor, command.clone()) {
            Ok(accepted) => accepted,
            Err(rejection) => panic!("{command:?} refused: {rejection}"),
        }
    }

    /// Sends ticks until no deadline is due.
    pub fn tick(&mut self) -> u32 {
        let mut changed_total = 0;
        loop {
            match self.run(Actor::System, Command::Tick) {
                Ok(Accepted::Ticked { changed, more_due }) => {
                    changed_total += changed;
                    if !more_due {
                        return changed_total;
                    }
                }
                other => panic!("tick answered {other:?}"),
            }
        }
    }

    /// `requester` registers a stop-on-behalf request on `supply_point` and its current retailer
    /// judges it OK.
    pub fn stop_on_behalf_ok(&mut self, supply_point: &str, requester: &str) -> StopOnBehalfNumber {
        let Accepted::StopOnBehalf { number, .. } = self.ok(
            retailer(requester),
            Command::RegisterStopOnBehalf {
                supply_point: point(supply_point),
                customer: customer(),
                wished_date: date("2026-12-10"),
            },
        ) else {
            panic!("register answered something else")
        };
        let addressee = self.state.stop_on_behalf[&number].addressee.to_string();
        self.ok(
            retailer(&addressee),
            Command::JudgeStopOnBehalf {
                number,
                verdict: crate::Verdict::Ok,
            },
        );
        number
    }
}
