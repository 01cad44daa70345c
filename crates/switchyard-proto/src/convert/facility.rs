//! Supply points and their facility data: capacity, meters, facility, supply state and history,
//! the whole supply point, and the TSO's import record.

use switchyard_domain::{
    ApplicationNumber, Capacity, CapacityUnit, ContractKind, DecisionMethod, Facility, Meter,
    MeterNumber, PeriodEnd, RetailerCode, StopOnBehalfNumber, SupplyPeriod, SupplyPoint,
    SupplyPointImport, SupplyPointNumber, SupplyState, ValueError, VoltageClass,
};

use super::dates::{date_from_wire, optional_date_from_wire};
use super::{
    WireEnum, bounded_list, each, enum_mapping, optional_text, required_converted, required_enum,
    required_text,
};
use crate::limits::{METERS_MAX, OPEN_APPLICATIONS_MAX};
use crate::{WireError, v1};

enum_mapping!(VoltageClass => v1::VoltageClass { Low => Low, High => High });

enum_mapping!(ContractKind => v1::ContractKind {
    Lighting => Lighting,
    Power => Power,
    Night => Night,
    Temporary => Temporary,
});

enum_mapping!(DecisionMethod => v1::DecisionMethod {
    AmpereBreaker => AmpereBreaker,
    MainSwitch => MainSwitch,
    MeasuredDemand => MeasuredDemand,
    ConnectedLoad => ConnectedLoad,
});

enum_mapping!(CapacityUnit => v1::CapacityUnit {
    Ampere => Ampere,
    KiloVoltAmpere => KiloVoltAmpere,
    KiloWatt => KiloWatt,
});

enum_mapping!(PeriodEnd => v1::PeriodEnd { Switched => Switched, Stopped => Stopped });

impl From<Capacity> for v1::Capacity {
    fn from(capacity: Capacity) -> v1::Capacity {
        v1::Capacity {
            value: capacity.value(),
            unit: capacity.unit().wire_number(),
        }
    }
}

impl TryFrom<v1::Capacity> for Capacity {
    type Error = WireError;

    fn try_from(wire: v1::Capacity) -> Result<Capacity, WireError> {
        let unit = required_enum("unit", wire.unit)?;
        Capacity::new(wire.value, unit).map_err(|source| WireError::invalid("value", source))
    }
}

impl From<Meter> for v1::Meter {
    fn from(meter: Meter) -> v1::Meter {
        v1::Meter {
            meter_number: meter.number.to_string(),
            smart: meter.smart,
            half_hourly_values: meter.half_hourly_values,
            automatic_reading: meter.automatic_reading,
        }
    }
}

impl TryFrom<v1::Meter> for Meter {
    type Error = WireError;

    fn try_from(wire: v1::Meter) -> Result<Meter, WireError> {
        Ok(Meter {
            number: required_text("meter_number", &wire.meter_number, MeterNumber::parse)?,
            smart: wire.smart,
            half_hourly_values: wire.half_hourly_values,
            automatic_reading: wire.automatic_reading,
        })
    }
}

impl From<Facility> for v1::Facility {
    fn from(facility: Facility) -> v1::Facility {
        v1::Facility {
            voltage: facility.voltage.wire_number(),
            contract_kind: facility.contract_kind.wire_number(),
            decision_method: facility.decision_method.wire_number(),
            capacity: Some(facility.capacity.into()),
            meters: facility.meters.into_iter().map(Into::into).collect(),
            reading_day: u32::from(facility.reading_day),
        }
    }
}

impl TryFrom<v1::Facility> for Facility {
    type Error = WireError;

    /// Converts every field, then applies the domain's combination rules
    /// ([`Facility::validate`]): a facility that exists is a coherent one.
    fn try_from(wire: v1::Facility) -> Result<Facility, WireError> {
        let voltage = required_enum("voltage", wire.voltage)?;
        let contract_kind = required_enum("contract_kind", wire.contract_kind)?;
        let decision_method = required_enum("decision_method", wire.decision_method)?;
        let capacity = required_converted("capacity", wire.capacity)?;
        if wire.meters.is_empty() {
            return Err(WireError::missing("meters"));
        }
        let meters = bounded_list("meters", wire.meters, METERS_MAX, each)?;
        let reading_day = u8::try_from(wire.reading_day)
            .ok()
            .filter(|day| (1..=28).contains(day))
            .ok_or_else(|| {
                WireError::out_of_range(
                    "reading_day",
                    format!("{} is not in 1..=28", wire.reading_day),
                )
            })?;
        let facility = Facility {
            voltage,
            contract_kind,
            decision_method,
            capacity,
            meters,
            reading_day,
        };
        facility
            .validate()
            .map_err(|source| WireError::invalid(facility_rule_field(&source), source))?;
        Ok(facility)
    }
}

/// The wire field a failed [`Facility::validate`] is about, from the kind the domain reports. A
/// combination that involves the whole facility (high voltage rules) is reported on `voltage`,
/// the field that imposes it; an unforeseen kind is reported on the facility itself (an empty
/// path, which the caller's nesting turns into `facility`).
fn facility_rule_field(error: &ValueError) -> &'static str {
    let kind = match error {
        ValueError::Malformed { kind, .. } | ValueError::OutOfRange { kind, .. } => kind,
    };
    match kind.as_str() {
        "capacity" => "capacity",
        "meters" => "meters",
        "reading day" => "reading_day",
        "facility" => "voltage",
        _ => "",
    }
}

impl From<SupplyState> for v1::SupplyState {
    fn from(state: SupplyState) -> v1::SupplyState {
        match state {
            SupplyState::Supplying { retailer, since } => v1::SupplyState {
                status: v1::SupplyStatus::Supplying.into(),
                retailer_code: Some(retailer.to_string()),
                since_date: Some(since.to_string()),
            },
            SupplyState::Stopped => v1::SupplyState {
                status: v1::SupplyStatus::Stopped.into(),
                retailer_code: None,
                since_date: None,
            },
        }
    }
}

impl TryFrom<v1::SupplyState> for SupplyState {
    type Error = WireError;

    fn try_from(wire: v1::SupplyState) -> Result<SupplyState, WireError> {
        match v1::SupplyStatus::try_from(wire.status) {
            Ok(v1::SupplyStatus::Supplying) => {
                let retailer = optional_text(
                    "retailer_code",
                    wire.retailer_code.as_deref(),
                    RetailerCode::parse,
                )?
                .ok_or_else(|| WireError::missing("retailer_code"))?;
                let since = optional_date_from_wire("since_date", wire.since_date.as_deref())?
                    .ok_or_else(|| WireError::missing("since_date"))?;
                Ok(SupplyState::Supplying { retailer, since })
            }
            Ok(v1::SupplyStatus::Stopped) => {
                const STOPPED: &str = "a stopped supply point has no retailer";
                if wire.retailer_code.is_some() {
                    return Err(WireError::Unexpected {
                        field: "retailer_code".to_owned(),
                        reason: STOPPED,
                    });
                }
                if wire.since_date.is_some() {
                    return Err(WireError::Unexpected {
                        field: "since_date".to_owned(),
                        reason: STOPPED,
                    });
                }
                Ok(SupplyState::Stopped)
            }
            Ok(v1::SupplyStatus::Unspecified) | Err(_) => Err(WireError::UnknownEnum {
                field: "status".to_owned(),
                value: wire.status,
            }),
        }
    }
}

impl From<SupplyPeriod> for v1::SupplyPeriod {
    fn from(period: SupplyPeriod) -> v1::SupplyPeriod {
        v1::SupplyPeriod {
            retailer_code: period.retailer.to_string(),
            from_date: period.from.to_string(),
            until_date: period.until.to_string(),
            ended_by: period.ended_by.wire_number(),
        }
    }
}

impl TryFrom<v1::SupplyPeriod> for SupplyPeriod {
    type Error = WireError;

    fn try_from(wire: v1::SupplyPeriod) -> Result<SupplyPeriod, WireError> {
        let from = date_from_wire("from_date", &wire.from_date)?;
        let until = date_from_wire("until_date", &wire.until_date)?;
        if until < from {
            return Err(WireError::out_of_range(
                "until_date",
                format!("{until} is before from_date {from}"),
            ));
        }
        Ok(SupplyPeriod {
            retailer: required_text("retailer_code", &wire.retailer_code, RetailerCode::parse)?,
            from,
            until,
            ended_by: required_enum("ended_by", wire.ended_by)?,
        })
    }
}

impl From<SupplyPoint> for v1::SupplyPoint {
    /// The full view, as the current retailer, the area's TSO and operators see it; see
    /// [`v1::SupplyPoint::hide_supplier_identity`] for everyone else.
    fn from(point: SupplyPoint) -> v1::SupplyPoint {
        v1::SupplyPoint {
            supply_point_number: point.number.to_string(),
            area: point.area().wire_number(),
            has_current_retailer: point.current_retailer().is_some(),
            facility: Some(point.facility.into()),
            supply: Some(point.supply.into()),
            history: point.history.into_iter().map(Into::into).collect(),
            open_application_numbers: point
                .open_applications
                .iter()
                .map(ToString::to_string)
                .collect(),
            pending_stop_on_behalf_numbers: point
                .pending_stop_on_behalf
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }
}

impl TryFrom<v1::SupplyPoint> for SupplyPoint {
    type Error = WireError;

    /// Rebuilds the full record; a view whose supplier identity was hidden cannot be rebuilt
    /// and is refused as missing `supply.retailer_code`. `area` and `has_current_retailer` are
    /// derived values and are ignored.
    fn try_from(wire: v1::SupplyPoint) -> Result<SupplyPoint, WireError> {
        Ok(SupplyPoint {
            number: required_text(
                "supply_point_number",
                &wire.supply_point_number,
                SupplyPointNumber::parse,
            )?,
            facility: required_converted("facility", wire.facility)?,
            supply: required_converted("supply", wire.supply)?,
            history: bounded_list("history", wire.history, SupplyPoint::HISTORY_MAX, each)?,
            open_applications: bounded_list(
                "open_application_numbers",
                wire.open_application_numbers,
                OPEN_APPLICATIONS_MAX,
                |text| required_text("", &text, ApplicationNumber::parse),
            )?,
            pending_stop_on_behalf: bounded_list(
                "pending_stop_on_behalf_numbers",
                wire.pending_stop_on_behalf_numbers,
                SupplyPoint::PENDING_STOP_ON_BEHALF_MAX,
                |text| required_text("", &text, StopOnBehalfNumber::parse),
            )?,
        })
    }
}

impl v1::SupplyPoint {
    /// Removes who supplies the point (the current retailer, since when, and the history of
    /// earlier retailers), keeping `has_current_retailer`. Applied to look-ups by any party other
    /// than the current retailer, the area's TSO and operators.
    pub fn hide_supplier_identity(&mut self) {
        if let Some(supply) = &mut self.supply {
            supply.retailer_code = None;
            supply.since_date = None;
        }
        self.history.clear();
    }
}

impl From<SupplyPointImport> for v1::SupplyPointRecord {
    fn from(import: SupplyPointImport) -> v1::SupplyPointRecord {
        v1::SupplyPointRecord {
            supply_point_number: import.number.to_string(),
            facility: Some(import.facility.into()),
            initial_supply: Some(import.supply.into()),
        }
    }
}

impl TryFrom<v1::SupplyPointRecord> for SupplyPointImport {
    type Error = WireError;

    fn try_from(wire: v1::SupplyPointRecord) -> Result<SupplyPointImport, WireError> {
        Ok(SupplyPointImport {
            number: required_text(
                "supply_point_number",
                &wire.supply_point_number,
                SupplyPointNumber::parse,
            )?,
            facility: required_converted("facility", wire.facility)?,
            supply: required_converted("initial_supply", wire.initial_supply)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::convert::samples;

    fn round_trip<Domain, Wire>(value: Domain) -> Domain
    where
        Domain: Clone + Into<Wire> + TryFrom<Wire, Error = WireError>,
    {
        Domain::try_from(value.into()).unwrap()
    }

    fn every_facility() -> Vec<Facility> {
        let mut facilities = vec![
            samples::low_voltage_facility(),
            samples::high_voltage_facility(),
            samples::main_switch_facility(),
        ];
        facilities.extend(samples::other_facilities());
        facilities
    }

    /// Every voltage class, contract kind, decision method, unit and period end survives
    /// domain -> wire -> domain.
    #[test]
    fn enum_round_trips() {
        use crate::convert::required_enum as parse;
        for value in [VoltageClass::Low, VoltageClass::High] {
            assert_eq!(
                parse::<VoltageClass>("f", value.wire_number()).unwrap(),
                value
            );
        }
        for value in [
            ContractKind::Lighting,
            ContractKind::Power,
            ContractKind::Night,
            ContractKind::Temporary,
        ] {
            assert_eq!(
                parse::<ContractKind>("f", value.wire_number()).unwrap(),
                value
            );
        }
        for value in [
            DecisionMethod::AmpereBreaker,
            DecisionMethod::MainSwitch,
            DecisionMethod::MeasuredDemand,
            DecisionMethod::ConnectedLoad,
        ] {
            assert_eq!(
                parse::<DecisionMethod>("f", value.wire_number()).unwrap(),
                value
            );
        }
        for value in [
            CapacityUnit::Ampere,
            CapacityUnit::KiloVoltAmpere,
            CapacityUnit::KiloWatt,
        ] {
            assert_eq!(
                parse::<CapacityUnit>("f", value.wire_number()).unwrap(),
                value
            );
        }
        for value in [PeriodEnd::Switched, PeriodEnd::Stopped] {
            assert_eq!(parse::<PeriodEnd>("f", value.wire_number()).unwrap(), value);
        }
    }

    /// Capacities of every unit survive domain -> wire -> domain.
    #[test]
    fn capacity_round_trip() {
        for capacity in [
            Capacity::new(60, CapacityUnit::Ampere).unwrap(),
            Capacity::new(49, CapacityUnit::KiloVoltAmpere).unwrap(),
            Capacity::new(499, CapacityUnit::KiloWatt).unwrap(),
        ] {
            assert_eq!(round_trip::<_, v1::Capacity>(capacity), capacity);
        }
    }

    /// Meters survive domain -> wire -> domain with every flag combination the domain allows.
    #[test]
    fn meter_round_trip() {
        for meter in [samples::meter("M1", true), samples::meter("OLD-7", false)] {
            assert_eq!(round_trip::<_, v1::Meter>(meter.clone()), meter);
        }
    }

    /// Facilities of every kind survive domain -> wire -> domain.
    #[test]
    fn facility_round_trip() {
        for facility in every_facility() {
            assert_eq!(round_trip::<_, v1::Facility>(facility.clone()), facility);
        }
    }

    /// Both supply states survive domain -> wire -> domain.
    #[test]
    fn supply_state_round_trip() {
        for state in [
            samples::supplied_point().supply,
            samples::stopped_point().supply,
        ] {
            assert_eq!(round_trip::<_, v1::SupplyState>(state.clone()), state);
        }
    }

    /// Closed supply periods survive domain -> wire -> domain.
    #[test]
    fn supply_period_round_trip() {
        for period in samples::supplied_point().history {
            assert_eq!(round_trip::<_, v1::SupplyPeriod>(period.clone()), period);
        }
    }

    /// Whole supply points, supplied and stopped, survive domain -> wire -> bytes -> wire ->
    /// domain, and the wire form carries the derived area and has_current_retailer.
    #[test]
    fn supply_point_round_trip() {
        for point in [samples::supplied_point(), samples::stopped_point()] {
            let wire = v1::SupplyPoint::from(point.clone());
            assert_eq!(wire.area, point.area().wire_number());
            assert_eq!(
                wire.has_current_retailer,
                point.current_retailer().is_some()
            );
            let wire = samples::through_bytes(wire);
            assert_eq!(SupplyPoint::try_from(wire).unwrap(), point);
        }
    }

    /// Import records survive domain -> wire -> domain.
    #[test]
    fn import_record_round_trip() {
        let point = samples::supplied_point();
        let import = SupplyPointImport {
            number: point.number,
            facility: point.facility,
            supply: point.supply,
        };
        assert_eq!(
            round_trip::<_, v1::SupplyPointRecord>(import.clone()),
            import
        );
    }

    /// Hiding the supplier identity keeps has_current_retailer and removes the retailer, the
    /// since date and the history; the hidden view no longer converts back to a full record.
    #[test]
    fn hidden_supplier_identity() {
        let mut wire = v1::SupplyPoint::from(samples::supplied_point());
        wire.hide_supplier_identity();
        assert!(wire.has_current_retailer);
        let supply = wire.supply.clone().unwrap();
        assert_eq!((supply.retailer_code, supply.since_date), (None, None));
        assert!(wire.history.is_empty());
        assert_eq!(
            SupplyPoint::try_from(wire).unwrap_err(),
            WireError::missing("supply.retailer_code")
        );
    }

    /// A facility without capacity is missing `capacity`.
    #[test]
    fn missing_capacity() {
        let mut wire = v1::Facility::from(samples::low_voltage_facility());
        wire.capacity = None;
        assert_eq!(
            Facility::try_from(wire).unwrap_err(),
            WireError::missing("capacity")
        );
    }

    /// An unspecified voltage class is refused as an unknown enum naming `voltage`.
    #[test]
    fn unspecified_voltage() {
        let mut wire = v1::Facility::from(samples::low_voltage_facility());
        wire.voltage = 0;
        assert_eq!(
            Facility::try_from(wire).unwrap_err(),
            WireError::UnknownEnum {
                field: "voltage".to_owned(),
                value: 0
            }
        );
    }

    /// A capacity unit number this build does not know is refused, naming `capacity.unit`.
    #[test]
    fn unknown_capacity_unit() {
        let mut wire = v1::Facility::from(samples::low_voltage_facility());
        wire.capacity.as_mut().unwrap().unit = 9;
        assert_eq!(
            Facility::try_from(wire).unwrap_err(),
            WireError::UnknownEnum {
                field: "capacity.unit".to_owned(),
                value: 9
            }
        );
    }

    /// A 35 A breaker is not a real size: invalid `capacity.value`.
    #[test]
    fn capacity_out_of_range() {
        let mut wire = v1::Facility::from(samples::low_voltage_facility());
        wire.capacity.as_mut().unwrap().value = 35;
        let error = Facility::try_from(wire).unwrap_err();
        assert!(matches!(error, WireError::Invalid { .. }));
        assert_eq!(error.field(), "capacity.value");
    }

    /// Five meters exceed the maximum of four: too many `meters`.
    #[test]
    fn too_many_meters() {
        let mut wire = v1::Facility::from(samples::low_voltage_facility());
        wire.meters = (0..5)
            .map(|index| samples::meter(&format!("M{index}"), true).into())
            .collect();
        assert_eq!(
            Facility::try_from(wire).unwrap_err(),
            WireError::TooMany {
                field: "meters".to_owned(),
                count: 5,
                max: 4
            }
        );
    }

    /// A facility with no meter is missing `meters`.
    #[test]
    fn no_meters() {
        let mut wire = v1::Facility::from(samples::low_voltage_facility());
        wire.meters.clear();
        assert_eq!(
            Facility::try_from(wire).unwrap_err(),
            WireError::missing("meters")
        );
    }

    /// A meter without a number is missing, with the index of the meter in the path.
    #[test]
    fn meter_without_number() {
        let mut wire = v1::Facility::from(samples::high_voltage_facility());
        wire.meters[1].meter_number.clear();
        assert_eq!(
            Facility::try_from(wire).unwrap_err(),
            WireError::missing("meters[1].meter_number")
        );
    }

    /// A reading day of 29 (or a value beyond u8) is out of range, naming `reading_day`.
    #[test]
    fn reading_day_out_of_range() {
        for day in [0, 29, 300] {
            let mut wire = v1::Facility::from(samples::low_voltage_facility());
            wire.reading_day = day;
            let error = Facility::try_from(wire).unwrap_err();
            assert_eq!(error.field(), "reading_day", "{day}");
        }
    }

    /// A combination the domain refuses (kVA behind an ampere breaker) is invalid `capacity`.
    #[test]
    fn incoherent_facility() {
        let mut wire = v1::Facility::from(samples::low_voltage_facility());
        wire.capacity = Some(
            Capacity::new(10, CapacityUnit::KiloVoltAmpere)
                .unwrap()
                .into(),
        );
        let error = Facility::try_from(wire).unwrap_err();
        assert!(matches!(error, WireError::Invalid { .. }));
        assert_eq!(error.field(), "capacity");
    }

    /// A high-voltage lighting contract breaks the high-voltage combination rule, reported on
    /// `voltage`, the field that imposes it.
    #[test]
    fn incoherent_high_voltage() {
        let mut wire = v1::Facility::from(samples::high_voltage_facility());
        wire.contract_kind = v1::ContractKind::Lighting.into();
        let error = Facility::try_from(wire).unwrap_err();
        assert!(matches!(error, WireError::Invalid { .. }));
        assert_eq!(error.field(), "voltage");
    }

    /// Supplying without a retailer is missing `retailer_code`; stopped with one is unexpected.
    #[test]
    fn supply_state_shape() {
        let mut supplying = v1::SupplyState::from(samples::supplied_point().supply);
        supplying.retailer_code = None;
        assert_eq!(
            SupplyState::try_from(supplying).unwrap_err(),
            WireError::missing("retailer_code")
        );
        let mut stopped = v1::SupplyState::from(SupplyState::Stopped);
        stopped.retailer_code = Some("A0001".to_owned());
        assert!(matches!(
            SupplyState::try_from(stopped).unwrap_err(),
            WireError::Unexpected { field, .. } if field == "retailer_code"
        ));
        let unspecified = v1::SupplyState::default();
        assert_eq!(
            SupplyState::try_from(unspecified).unwrap_err(),
            WireError::UnknownEnum {
                field: "status".to_owned(),
                value: 0
            }
        );
    }

    /// A period that ends before it starts is invalid `until_date`.
    #[test]
    fn period_ends_before_it_starts() {
        let mut wire = v1::SupplyPeriod::from(samples::supplied_point().history[0].clone());
        wire.until_date = "2018-12-31".to_owned();
        assert_eq!(
            SupplyPeriod::try_from(wire).unwrap_err().field(),
            "until_date"
        );
    }

    /// A bad supply point number in an import record is invalid `supply_point_number`, and a
    /// bad open application number names its index.
    #[test]
    fn bad_numbers_in_records() {
        let point = samples::supplied_point();
        let mut record = v1::SupplyPointRecord::from(SupplyPointImport {
            number: point.number,
            facility: point.facility.clone(),
            supply: point.supply.clone(),
        });
        record.supply_point_number = "0000111122223333444455".to_owned();
        assert!(matches!(
            SupplyPointImport::try_from(record).unwrap_err(),
            WireError::Invalid { field, .. } if field == "supply_point_number"
        ));
        let mut wire = v1::SupplyPoint::from(point);
        wire.open_application_numbers[1] = "AP12".to_owned();
        assert_eq!(
            SupplyPoint::try_from(wire).unwrap_err().field(),
            "open_application_numbers[1]"
        );
    }

    /// An import record without its initial supply state is missing `initial_supply`.
    #[test]
    fn record_without_initial_supply() {
        let point = samples::stopped_point();
        let mut record = v1::SupplyPointRecord::from(SupplyPointImport {
            number: point.number,
            facility: point.facility,
            supply: point.supply,
        });
        record.initial_supply = None;
        assert_eq!(
            SupplyPointImport::try_from(record).unwrap_err(),
            WireError::missing("initial_supply")
        );
    }

    fn ampere_facility() -> impl Strategy<Value = Facility> {
        (
            prop::sample::select(Capacity::AMPERE_STEPS.to_vec()),
            prop::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 1..=4),
            1u8..=28,
            prop::sample::select(vec![ContractKind::Lighting, ContractKind::Power]),
        )
            .prop_map(
                |(amperes, meter_flags, reading_day, contract_kind)| Facility {
                    voltage: VoltageClass::Low,
                    contract_kind,
                    decision_method: DecisionMethod::AmpereBreaker,
                    capacity: Capacity::new(amperes, CapacityUnit::Ampere).unwrap(),
                    meters: meter_flags
                        .into_iter()
                        .enumerate()
                        .map(|(index, (smart, half_hourly, automatic))| Meter {
                            number: MeterNumber::parse(&format!("M-{index}")).unwrap(),
                            smart,
                            half_hourly_values: smart && half_hourly,
                            automatic_reading: automatic,
                        })
                        .collect(),
                    reading_day,
                },
            )
    }

    proptest! {
        /// Any valid low-voltage breaker facility survives domain -> wire -> domain.
        #[test]
        fn any_breaker_facility_round_trips(facility in ampere_facility()) {
            prop_assert_eq!(round_trip::<_, v1::Facility>(facility.clone()), facility);
        }

        /// Any valid supply point number survives domain -> wire -> domain.
        #[test]
        fn any_supply_point_number_round_trips(area in 1u8..=10, rest in "[0-9]{20}") {
            let number = SupplyPointNumber::parse(&format!("{area:02}{rest}")).unwrap();
            let point = SupplyPoint { number, ..samples::stopped_point() };
            prop_assert_eq!(round_trip::<_, v1::SupplyPoint>(point.clone()), point);
        }
    }
}
