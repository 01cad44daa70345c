//! Supply points (供給地点) and their facility data: what a facility look-up returns.

use serde::{Deserialize, Serialize};

use crate::ids::{
    ApplicationNumber, Area, MeterNumber, RetailerCode, StopOnBehalfNumber, SupplyPointNumber,
    ValueError, out_of_range,
};
use crate::time::Date;

/// Voltage class of a supply point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum VoltageClass {
    /// Low voltage (低圧): households and small shops.
    Low,
    /// High voltage under 500 kW (高圧).
    High,
}

/// Kind of supply contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ContractKind {
    /// 電灯: lighting.
    Lighting,
    /// 低圧電力 / 高圧電力: power.
    Power,
    /// 深夜: night-time.
    Night,
    /// 臨時: temporary.
    Temporary,
}

/// How the contracted capacity is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DecisionMethod {
    /// アンペアブレーカー: an ampere breaker limits the current (capacity in A).
    AmpereBreaker,
    /// 主開閉器: a main switch decides the capacity (kVA).
    MainSwitch,
    /// 実量制: measured maximum demand (kW).
    MeasuredDemand,
    /// 負荷設備: the connected load (kVA or kW).
    ConnectedLoad,
}

/// Unit of a contracted capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CapacityUnit {
    Ampere,
    KiloVoltAmpere,
    KiloWatt,
}

/// A contracted capacity with its unit; whole units only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "CapacityUnchecked")]
pub struct Capacity {
    value: u32,
    unit: CapacityUnit,
}

#[derive(Deserialize)]
struct CapacityUnchecked {
    value: u32,
    unit: CapacityUnit,
}

impl TryFrom<CapacityUnchecked> for Capacity {
    type Error = ValueError;
    fn try_from(unchecked: CapacityUnchecked) -> Result<Capacity, ValueError> {
        Capacity::new(unchecked.value, unchecked.unit)
    }
}

impl Capacity {
    /// Ampere breaker sizes sold in Japan.
    pub const AMPERE_STEPS: [u32; 7] = [10, 15, 20, 30, 40, 50, 60];
    /// Largest kVA capacity (low voltage main switch or connected load).
    pub const KILO_VOLT_AMPERE_MAX: u32 = 49;
    /// Largest kW capacity (high voltage contracts are under 500 kW).
    pub const KILO_WATT_MAX: u32 = 499;

    /// A capacity, if `value` is allowed for `unit`.
    pub fn new(value: u32, unit: CapacityUnit) -> Result<Capacity, ValueError> {
        let allowed = match unit {
            CapacityUnit::Ampere => Self::AMPERE_STEPS.contains(&value),
            CapacityUnit::KiloVoltAmpere => (1..=Self::KILO_VOLT_AMPERE_MAX).contains(&value),
            CapacityUnit::KiloWatt => (1..=Self::KILO_WATT_MAX).contains(&value),
        };
        if !allowed {
            return Err(out_of_range(
                "capacity",
                match unit {
                    CapacityUnit::Ampere => {
                        format!("{value} A is not a breaker size (10, 15, 20, 30, 40, 50 or 60)")
                    }
                    CapacityUnit::KiloVoltAmpere => format!("{value} kVA is not in 1..=49"),
                    CapacityUnit::KiloWatt => format!("{value} kW is not in 1..=499"),
                },
            ));
        }
        Ok(Capacity { value, unit })
    }

    /// The amount, in whole units.
    pub fn value(self) -> u32 {
        self.value
    }

    /// The unit.
    pub fn unit(self) -> CapacityUnit {
        self.unit
    }
}

/// A meter at a supply point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meter {
    pub number: MeterNumber,
    /// A smart meter (スマートメーター).
    pub smart: bool,
    /// 30-minute values can be collected (requires a smart meter).
    pub half_hourly_values: bool,
    /// Readings arrive without a visit.
    pub automatic_reading: bool,
}

/// Whether a supply point is being supplied, and by whom since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SupplyState {
    /// Supplied by `retailer` from `since` on.
    Supplying { retailer: RetailerCode, since: Date },
    /// Not supplied; no retailer.
    Stopped,
}

/// How a closed supply period ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeriodEnd {
    /// A completed switch: the next period starts the day after, with no gap.
    Switched,
    /// Supply stopped: the next period, if any, starts later.
    Stopped,
}

/// A closed period during which one retailer supplied the point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyPeriod {
    pub retailer: RetailerCode,
    pub from: Date,
    /// Last day supplied, inclusive.
    pub until: Date,
    pub ended_by: PeriodEnd,
}

/// The facility data of a supply point, as a TSO imports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    pub voltage: VoltageClass,
    pub contract_kind: ContractKind,
    pub decision_method: DecisionMethod,
    pub capacity: Capacity,
    pub meters: Vec<Meter>,
    /// Day of the month (1..=28) on which the meter is read; the next reading date follows.
    pub reading_day: u8,
}

impl Facility {
    /// Most meters at one supply point.
    pub const METERS_MAX: usize = 4;

    /// Checks the combination rules: capacity unit fits the decision method and voltage,
    /// 1..=4 meters with distinct numbers, 30-minute values only from smart meters, a reading day
    /// in 1..=28.
    pub fn validate(&self) -> Result<(), ValueError> {
        let unit = self.capacity.unit();
        let unit_fits_method = match self.decision_method {
            DecisionMethod::AmpereBreaker => unit == CapacityUnit::Ampere,
            DecisionMethod::MainSwitch => unit == CapacityUnit::KiloVoltAmpere,
            DecisionMethod::MeasuredDemand => unit == CapacityUnit::KiloWatt,
            DecisionMethod::ConnectedLoad => unit != CapacityUnit::Ampere,
        };
        if !unit_fits_method {
            return Err(out_of_range(
                "capacity",
                format!(
                    "unit {unit:?} does not fit decision method {:?}",
                    self.decision_method
                ),
            ));
        }
        match self.voltage {
            VoltageClass::High => {
                let high_voltage_ok = unit == CapacityUnit::KiloWatt
                    && matches!(
                        self.decision_method,
                        DecisionMethod::MeasuredDemand | DecisionMethod::ConnectedLoad
                    )
                    && !matches!(
                        self.contract_kind,
                        ContractKind::Lighting | ContractKind::Night
                    );
                if !high_voltage_ok {
                    return Err(out_of_range(
                        "facility",
                        "high voltage needs a kW capacity decided by measured demand or connected load, and a power or temporary contract",
                    ));
                }
            }
            VoltageClass::Low => {
                if unit == CapacityUnit::KiloWatt && self.capacity.value() >= 50 {
                    return Err(out_of_range(
                        "capacity",
                        "low voltage contracts are under 50 kW",
                    ));
                }
            }
        }
        if self.meters.is_empty() || self.meters.len() > Self::METERS_MAX {
            return Err(out_of_range(
                "meters",
                format!("{} meters; a supply point has 1..=4", self.meters.len()),
            ));
        }
        for (index, meter) in self.meters.iter().enumerate() {
            if self.meters[..index]
                .iter()
                .any(|other| other.number == meter.number)
            {
                return Err(out_of_range(
                    "meters",
                    format!("meter number {} appears twice", meter.number),
                ));
            }
            if meter.half_hourly_values && !meter.smart {
                return Err(out_of_range(
                    "meters",
                    format!(
                        "meter {} collects 30-minute values but is not smart",
                        meter.number
                    ),
                ));
            }
        }
        if !(1..=28).contains(&self.reading_day) {
            return Err(out_of_range(
                "reading day",
                format!("{} is not in 1..=28", self.reading_day),
            ));
        }
        Ok(())
    }

    /// Whether a switch needs meter works (any meter is not smart), which lengthens the lead time.
    pub fn needs_meter_replacement(&self) -> bool {
        self.meters.iter().any(|meter| !meter.smart)
    }
}

/// A supply point with its facility data, supply state and what is in progress on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyPoint {
    pub number: SupplyPointNumber,
    pub facility: Facility,
    pub supply: SupplyState,
    /// Closed supply periods, oldest first; at most [`SupplyPoint::HISTORY_MAX`] are kept.
    pub history: Vec<SupplyPeriod>,
    /// Applications not yet in a final state, in submission order.
    pub open_applications: Vec<ApplicationNumber>,
    /// Stop-on-behalf requests still awaiting judgement.
    pub pending_stop_on_behalf: Vec<StopOnBehalfNumber>,
}

impl SupplyPoint {
    /// Closed supply periods kept per supply point; older ones are dropped.
    pub const HISTORY_MAX: usize = 32;
    /// Pending stop-on-behalf requests one supply point may carry at once.
    pub const PENDING_STOP_ON_BEHALF_MAX: usize = 8;

    /// The area, from the number's prefix.
    pub fn area(&self) -> Area {
        self.number.area()
    }

    /// The current retailer, while supplying.
    pub fn current_retailer(&self) -> Option<RetailerCode> {
        match self.supply {
            SupplyState::Supplying { retailer, .. } => Some(retailer),
            SupplyState::Stopped => None,
        }
    }

    /// Records that `retailer` supplies from `from`, closing the current period the day before.
    pub(crate) fn begin_period(&mut self, retailer: RetailerCode, from: Date, ended_by: PeriodEnd) {
        if let SupplyState::Supplying {
            retailer: previous,
            since,
        } = self.supply
        {
            self.close_period(previous, since, from.add_days(-1), ended_by);
        }
        self.supply = SupplyState::Supplying {
            retailer,
            since: from,
        };
    }

    /// Records that supply stops after `last_day`.
    pub(crate) fn stop_after(&mut self, last_day: Date) {
        if let SupplyState::Supplying { retailer, since } = self.supply {
            self.close_period(retailer, since, last_day, PeriodEnd::Stopped);
        }
        self.supply = SupplyState::Stopped;
    }

    fn close_period(
        &mut self,
        retailer: RetailerCode,
        from: Date,
        until: Date,
        ended_by: PeriodEnd,
    ) {
        self.history.push(SupplyPeriod {
            retailer,
            from,
            until,
            ended_by,
        });
        if self.history.len() > Self::HISTORY_MAX {
            self.history.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(number: &str, smart: bool) -> Meter {
        Meter {
            number: MeterNumber::parse(number).unwrap(),
            smart,
            half_hourly_values: smart,
            automatic_reading: smart,
        }
    }

    fn low_voltage() -> Facility {
        Facility {
            voltage: VoltageClass::Low,
            contract_kind: ContractKind::Lighting,
            decision_method: DecisionMethod::AmpereBreaker,
            capacity: Capacity::new(30, CapacityUnit::Ampere).unwrap(),
            meters: vec![meter("M1", true)],
            reading_day: 12,
        }
    }

    /// Capacities accept only real breaker sizes and bounded kVA/kW values, also through serde.
    #[test]
    fn capacity_ranges() {
        assert!(Capacity::new(30, CapacityUnit::Ampere).is_ok());
        assert!(Capacity::new(35, CapacityUnit::Ampere).is_err());
        assert!(Capacity::new(0, CapacityUnit::KiloVoltAmpere).is_err());
        assert!(Capacity::new(499, CapacityUnit::KiloWatt).is_ok());
        assert!(Capacity::new(500, CapacityUnit::KiloWatt).is_err());
        let parsed: Result<Capacity, _> = serde_json::from_str(r#"{"value":35,"unit":"Ampere"}"#);
        assert!(parsed.is_err());
    }

    /// Facility combinations that make no sense are refused with a reason.
    #[test]
    fn facility_combinations() {
        assert!(low_voltage().validate().is_ok());
        let mut wrong_unit = low_voltage();
        wrong_unit.decision_method = DecisionMethod::MainSwitch;
        assert!(wrong_unit.validate().is_err());
        let mut high_lighting = low_voltage();
        high_lighting.voltage = VoltageClass::High;
        assert!(high_lighting.validate().is_err());
        let mut duplicate_meters = low_voltage();
        duplicate_meters.meters.push(meter("M1", false));
        assert!(duplicate_meters.validate().is_err());
        let mut dumb_half_hourly = low_voltage();
        dumb_half_hourly.meters[0].smart = false;
        assert!(dumb_half_hourly.validate().is_err());
        let mut no_meters = low_voltage();
        no_meters.meters.clear();
        assert!(no_meters.validate().is_err());
        let mut bad_day = low_voltage();
        bad_day.reading_day = 29;
        assert!(bad_day.validate().is_err());
        let mut old_meter = low_voltage();
        old_meter.meters[0] = meter("M9", false);
        assert!(old_meter.validate().is_ok());
        assert!(old_meter.needs_meter_replacement());
    }
}
