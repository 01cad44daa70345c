//! Deterministic synthetic sample data: supply points over the ten areas, the ten TSOs, and
//! fictional retailers with contacts. The same seed gives the same data on every machine and
//! every version of Rust (the generator carries its own SplitMix64; no library randomness).
//!
//! Everything here is invented except the ten TSO names, which are public facts.

use crate::command::{Command, Envelope, SupplyPointImport};
use crate::facility::{
    Capacity, CapacityUnit, ContractKind, DecisionMethod, Facility, Meter, SupplyState,
    VoltageClass,
};
use crate::ids::{
    Actor, Area, EmailAddress, MeterNumber, OperatorId, PartyId, PersonName, PhoneNumber,
    RequestId, RetailerCode, ShortText, SupplyPointNumber,
};
use crate::party::{Contact, Participant};
use crate::time::Date;

/// SplitMix64: small, fast, and fully specified, so sequences never change under us.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.0;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        // Lemire's multiply-shift: unbiased enough for sample data and branch-free.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// True with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index drawn with the given relative weights.
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut draw = self.below(total);
        for (index, weight) in weights.iter().enumerate() {
            if draw < *weight {
                return index;
            }
            draw -= weight;
        }
        weights.len() - 1
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub seed: u64,
    pub supply_points: usize,
    /// Number of retailers, 1..=1000.
    pub retailers: usize,
    /// Supply periods begin before this date (imports refuse a supply start in the future).
    pub as_of: Date,
}

/// Generated participants and supply points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleData {
    pub tsos: Vec<Participant>,
    pub retailers: Vec<Participant>,
    pub supply_points: Vec<SupplyPointImport>,
}

/// Relative numbers of supply points per area, roughly the real proportions (area 01 first).
const AREA_WEIGHTS: [u64; 10] = [40, 77, 290, 105, 21, 137, 52, 28, 87, 9];

const NAME_FIRST: [&str; 20] = [
    "Sakura", "Hikari", "Midori", "Aozora", "Kaze", "Hoshi", "Yamabuki", "Kawasemi", "Tsubame",
    "Minato", "Asahi", "Kirin", "Hotaru", "Momiji", "Nagisa", "Suzume", "Tsubaki", "Wakaba",
    "Yuzu", "Izumi",
];
const NAME_SECOND: [&str; 8] = [
    "Energy",
    "Power",
    "Denki",
    "Electric",
    "Utility",
    "Supply",
    "Grid Services",
    "Home Power",
];
const SURNAMES: [&str; 12] = [
    "Sato",
    "Suzuki",
    "Takahashi",
    "Tanaka",
    "Watanabe",
    "Ito",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
    "Kato",
    "Yoshida",
    "Yamada",
];
const GIVEN_NAMES: [&str; 12] = [
    "Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Minato", "Mei", "Yuto", "Sakura", "Riku",
    "Akari",
];

impl SampleData {
    /// Generates the sample data described by `config`.
    pub fn generate(config: &GeneratorConfig) -> SampleData {
        assert!(
            (1..=1000).contains(&config.retailers),
            "1..=1000 retailers, asked for {}",
            config.retailers
        );
        let mut random = SplitMix64::new(config.seed);
        let tsos = Area::ALL
            .iter()
            .map(|area| {
                let slug = format!("tso-{area}");
                Participant {
                    party: PartyId::Tso(*area),
                    name: PersonName::parse(area.tso_name()).expect("public names are valid"),
                    contacts: contacts(&mut random, &slug),
                }
            })
            .collect();
        let retailers = (0..config.retailers)
            .map(|index| {
                let first = NAME_FIRST[index % NAME_FIRST.len()];
                let second = NAME_SECOND[(index / NAME_FIRST.len()) % NAME_SECOND.len()];
                let generation = index / (NAME_FIRST.len() * NAME_SECOND.len());
                let name = if generation == 0 {
                    format!("{first} {second}")
                } else {
                    format!("{first} {second} {}", generation + 1)
                };
                let slug = name.to_lowercase().replace(' ', "-");
                Participant {
                    party: PartyId::Retailer(retailer_code(index)),
                    name: PersonName::parse(&name).expect("generated names are valid"),
                    contacts: contacts(&mut random, &slug),
                }
            })
            .collect();
        // Retailer market shares fall off like 1/rank: a few large, many small.
        let retailer_weights: Vec<u64> = (0..config.retailers)
            .map(|rank| 100_000 / (rank as u64 + 1))
            .collect();
        let first_supply_day = Date::from_ymd(2016, 4, 1).expect("a valid date");
        let supply_days = config.as_of.days_since(first_supply_day).max(1) as u64;
        let supply_points = (0..config.supply_points)
            .map(|index| {
                let area = Area::ALL[random.weighted(&AREA_WEIGHTS)];
                let office = random.below(100_000_000);
                let number = SupplyPointNumber::parse(&format!("{area}{office:08}{index:012}"))
                    .expect("22 digits with a valid area");
                let facility = facility(&mut random, index);
                let supply = if random.chance(30) {
                    SupplyState::Stopped
                } else {
                    let retailer = retailer_code(random.weighted(&retailer_weights));
                    let offset = random.below(supply_days) as i32;
                    SupplyState::Supplying {
                        retailer,
                        since: first_supply_day
                            .add_days(offset)
                            .min(config.as_of.add_days(-1)),
                    }
                };
                SupplyPointImport {
                    number,
                    facility,
                    supply,
                }
            })
            .collect();
        SampleData {
            tsos,
            retailers,
            supply_points,
        }
    }

    /// The commands that load this data into an empty cluster, in order: an operator saves every
    /// participant, then each TSO imports its area's supply points in batches of at most
    /// [`Command::IMPORT_BATCH_MAX`]. Request ids are derived from the content's position, so
    /// loading twice is a no-op.
    pub fn commands(&self, operator: &OperatorId) -> Vec<Envelope> {
        let operator = Actor::Party(PartyId::Operator(operator.clone()));
        let mut envelopes = Vec::new();
        for participant in self.tsos.iter().chain(&self.retailers) {
            envelopes.push(Envelope {
                actor: operator.clone(),
                request_id: RequestId::parse(&format!("seed-participant-{}", participant.party))
                    .expect("a valid request id"),
                command: Command::SaveParticipant {
                    participant: participant.clone(),
                },
            });
        }
        for area in Area::ALL {
            let points: Vec<SupplyPointImport> = self
                .supply_points
                .iter()
                .filter(|point| point.number.area() == area)
                .cloned()
                .collect();
            for (batch, chunk) in points.chunks(Command::IMPORT_BATCH_MAX).enumerate() {
                envelopes.push(Envelope {
                    actor: Actor::Party(PartyId::Tso(area)),
                    request_id: RequestId::parse(&format!("seed-import-{area}-{batch:06}"))
                        .expect("a valid request id"),
                    command: Command::ImportSupplyPoints {
                        points: chunk.to_vec(),
                    },
                });
            }
        }
        envelopes
    }
}

/// The code of the `index`-th generated retailer: spread over the code space, never repeated.
pub fn retailer_code(index: usize) -> RetailerCode {
    RetailerCode::from_number(1001 + (index as u16) * 7).expect("at most 1000 retailers")
}

fn contacts(random: &mut SplitMix64, slug: &str) -> Vec<Contact> {
    ["operations desk", "outage notices"]
        .iter()
        .map(|role| {
            let name = format!("{} {}", random.pick(&SURNAMES), random.pick(&GIVEN_NAMES));
            let mailbox = if *role == "operations desk" {
                "ops"
            } else {
                "alerts"
            };
            Contact {
                name: PersonName::parse(&name).expect("generated names are valid"),
                role: ShortText::parse(role).expect("a valid role"),
                email: EmailAddress::parse(&format!("{mailbox}@{slug}.example"))
                    .expect("generated addresses are valid"),
                phone: PhoneNumber::parse(&format!(
                    "0{}-{:04}-{:04}",
                    1 + random.below(9),
                    random.below(10_000),
                    random.below(10_000)
                ))
                .expect("generated numbers are valid"),
            }
        })
        .collect()
}

fn facility(random: &mut SplitMix64, index: usize) -> Facility {
    let (voltage, contract_kind, decision_method, capacity) = if random.chance(40) {
        let kilowatts = 50 + random.below(450) as u32;
        (
            VoltageClass::High,
            if random.chance(950) {
                ContractKind::Power
            } else {
                ContractKind::Temporary
            },
            DecisionMethod::MeasuredDemand,
            Capacity::new(kilowatts, CapacityUnit::KiloWatt),
        )
    } else {
        match random.weighted(&[850, 100, 30, 20]) {
            0 => {
                if random.chance(800) {
                    let amperes =
                        [10, 15, 20, 30, 40, 50, 60][random.weighted(&[2, 3, 10, 35, 30, 10, 10])];
                    (
                        VoltageClass::Low,
                        ContractKind::Lighting,
                        DecisionMethod::AmpereBreaker,
                        Capacity::new(amperes, CapacityUnit::Ampere),
                    )
                } else {
                    (
                        VoltageClass::Low,
                        ContractKind::Lighting,
                        DecisionMethod::MainSwitch,
                        Capacity::new(6 + random.below(7) as u32, CapacityUnit::KiloVoltAmpere),
                    )
                }
            }
            1 => (
                VoltageClass::Low,
                ContractKind::Power,
                DecisionMethod::ConnectedLoad,
                Capacity::new(3 + random.below(47) as u32, CapacityUnit::KiloWatt),
            ),
            2 => (
                VoltageClass::Low,
                ContractKind::Night,
                DecisionMethod::ConnectedLoad,
                Capacity::new(2 + random.below(7) as u32, CapacityUnit::KiloVoltAmpere),
            ),
            _ => (
                VoltageClass::Low,
                ContractKind::Temporary,
                DecisionMethod::ConnectedLoad,
                Capacity::new(1 + random.below(10) as u32, CapacityUnit::KiloVoltAmpere),
            ),
        }
    };
    let meter_count = if random.chance(100) { 2 } else { 1 };
    let meters = (0..meter_count)
        .map(|meter_index| {
            let smart = random.chance(920);
            Meter {
                number: MeterNumber::parse(&format!("M{index:09}-{meter_index}"))
                    .expect("generated meter numbers are valid"),
                smart,
                half_hourly_values: smart,
                automatic_reading: smart,
            }
        })
        .collect();
    let facility = Facility {
        voltage,
        contract_kind,
        decision_method,
        capacity: capacity.expect("generated capacities are in range"),
        meters,
        reading_day: 1 + random.below(28) as u8,
    };
    debug_assert!(facility.validate().is_ok(), "generated facility is valid");
    facility
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemoryState;
    use crate::time::Timestamp;

    fn config(seed: u64) -> GeneratorConfig {
        GeneratorConfig {
            seed,
            supply_points: 3_000,
            retailers: 20,
            as_of: Date::parse("2026-11-26").unwrap(),
        }
    }

    /// The same seed gives identical data; another seed gives different data.
    #[test]
    fn deterministic() {
        assert_eq!(
            SampleData::generate(&config(7)),
            SampleData::generate(&config(7))
        );
        assert_ne!(
            SampleData::generate(&config(7)),
            SampleData::generate(&config(8))
        );
    }

    /// Generated data is varied (every area, both voltages, stopped and supplied points, smart
    /// and older meters), unique, valid, and loads into an empty state through the real commands.
    #[test]
    fn varied_valid_and_loadable() {
        let data = SampleData::generate(&config(42));
        assert_eq!(data.tsos.len(), 10);
        assert_eq!(data.retailers.len(), 20);
        let points = &data.supply_points;
        for area in Area::ALL {
            assert!(
                points.iter().any(|point| point.number.area() == area),
                "no point in {area}"
            );
        }
        assert!(
            points
                .iter()
                .any(|point| point.facility.voltage == VoltageClass::High)
        );
        assert!(
            points
                .iter()
                .any(|point| point.supply == SupplyState::Stopped)
        );
        assert!(
            points
                .iter()
                .any(|point| point.facility.needs_meter_replacement())
        );
        assert!(
            points
                .iter()
                .any(|point| point.facility.decision_method == DecisionMethod::AmpereBreaker)
        );
        let mut numbers: Vec<_> = points.iter().map(|point| point.number).collect();
        numbers.sort();
        numbers.dedup();
        assert_eq!(numbers.len(), points.len(), "supply point numbers repeat");

        let mut state = MemoryState::default();
        let at = Timestamp::start_of_jst_date(Date::parse("2026-11-26").unwrap());
        let operator = OperatorId::parse("seed").unwrap();
        for envelope in data.commands(&operator) {
            let outcome = state.execute(&envelope, at);
            assert!(
                outcome.is_ok(),
                "{} refused: {outcome:?}",
                envelope.request_id
            );
        }
        assert_eq!(state.supply_points.len(), points.len());
        assert_eq!(state.participants.len(), 30);
        crate::invariants::check_all(&state).unwrap();
    }
}
