//! The business policy: holidays, lead times per TSO, deadlines and retention.
//!
//! Bounds are the domain's ([`Policy::validate`]). Each scalar is checked on its own against a
//! default policy so that a refused value is reported on its own wire field.

use std::collections::BTreeSet;

use switchyard_domain::{Area, Calendar, LeadTime, Policy, TsoLeadTimes};

use super::dates::date_from_wire;
use super::{WireEnum, check_count, required_converted, required_enum};
use crate::limits::HOLIDAYS_MAX;
use crate::{WireError, v1};

impl From<LeadTime> for v1::LeadTime {
    fn from(lead_time: LeadTime) -> v1::LeadTime {
        v1::LeadTime {
            business_days: u32::from(lead_time.business_days),
            calendar_days: u32::from(lead_time.calendar_days),
        }
    }
}

fn lead_time_component(field: &str, days: u32) -> Result<u8, WireError> {
    u8::try_from(days)
        .ok()
        .filter(|days| *days <= LeadTime::COMPONENT_MAX)
        .ok_or_else(|| {
            WireError::out_of_range(
                field,
                format!("{days} days is more than {}", LeadTime::COMPONENT_MAX),
            )
        })
}

impl TryFrom<v1::LeadTime> for LeadTime {
    type Error = WireError;

    fn try_from(wire: v1::LeadTime) -> Result<LeadTime, WireError> {
        Ok(LeadTime {
            business_days: lead_time_component("business_days", wire.business_days)?,
            calendar_days: lead_time_component("calendar_days", wire.calendar_days)?,
        })
    }
}

impl From<(Area, TsoLeadTimes)> for v1::TsoLeadTimes {
    fn from((area, lead_times): (Area, TsoLeadTimes)) -> v1::TsoLeadTimes {
        v1::TsoLeadTimes {
            area: area.wire_number(),
            switching: Some(lead_times.switching.into()),
            switching_with_meter_works: Some(lead_times.switching_with_meter_works.into()),
            other: Some(lead_times.other.into()),
        }
    }
}

impl TryFrom<v1::TsoLeadTimes> for (Area, TsoLeadTimes) {
    type Error = WireError;

    fn try_from(wire: v1::TsoLeadTimes) -> Result<(Area, TsoLeadTimes), WireError> {
        let area = required_enum("area", wire.area)?;
        Ok((
            area,
            TsoLeadTimes {
                switching: required_converted("switching", wire.switching)?,
                switching_with_meter_works: required_converted(
                    "switching_with_meter_works",
                    wire.switching_with_meter_works,
                )?,
                other: required_converted("other", wire.other)?,
            },
        ))
    }
}

impl From<Policy> for v1::Policy {
    fn from(policy: Policy) -> v1::Policy {
        v1::Policy {
            holiday_dates: policy
                .calendar
                .holidays
                .iter()
                .map(ToString::to_string)
                .collect(),
            lead_times: Area::ALL
                .into_iter()
                .zip(policy.lead_times)
                .map(Into::into)
                .collect(),
            stop_on_behalf_answer_business_days: u32::from(
                policy.stop_on_behalf_answer_business_days,
            ),
            effective_date_horizon_days: u32::from(policy.effective_date_horizon_days),
            request_id_retention_days: u32::from(policy.request_id_retention_days),
        }
    }
}

/// Narrows a scalar and checks it with the domain's own bounds, on a default policy where only
/// this field differs, so that the error names this field.
fn policy_scalar<T: TryFrom<u32> + Copy>(
    field: &str,
    value: u32,
    place: impl FnOnce(&mut Policy, T),
) -> Result<T, WireError> {
    let narrowed = T::try_from(value)
        .map_err(|_| WireError::out_of_range(field, format!("{value} is too large")))?;
    let mut probe = Policy::default();
    place(&mut probe, narrowed);
    probe
        .validate()
        .map_err(|source| WireError::invalid(field, source))?;
    Ok(narrowed)
}

fn lead_times_from_wire(entries: Vec<v1::TsoLeadTimes>) -> Result<[TsoLeadTimes; 10], WireError> {
    const FIELD: &str = "lead_times";
    check_count(FIELD, entries.len(), Area::ALL.len())?;
    let mut by_area: [Option<TsoLeadTimes>; 10] = [None; 10];
    for (index, entry) in entries.into_iter().enumerate() {
        let (area, lead_times) = <(Area, TsoLeadTimes)>::try_from(entry)
            .map_err(|error| error.at_index(FIELD, index))?;
        let slot = &mut by_area[usize::from(area.number() - 1)];
        if slot.is_some() {
            return Err(WireError::out_of_range(
                format!("{FIELD}[{index}].area"),
                format!("area {area} appears twice"),
            ));
        }
        *slot = Some(lead_times);
    }
    let mut lead_times = [TsoLeadTimes::default(); 10];
    for (area, (slot, found)) in Area::ALL.iter().zip(lead_times.iter_mut().zip(by_area)) {
        *slot = found.ok_or_else(|| {
            WireError::out_of_range(
                FIELD,
                format!("no entry for area {area}; all 10 are required"),
            )
        })?;
    }
    Ok(lead_times)
}

impl TryFrom<v1::Policy> for Policy {
    type Error = WireError;

    fn try_from(wire: v1::Policy) -> Result<Policy, WireError> {
        check_count("holiday_dates", wire.holiday_dates.len(), HOLIDAYS_MAX)?;
        let holidays = wire
            .holiday_dates
            .iter()
            .enumerate()
            .map(|(index, text)| {
                date_from_wire("", text).map_err(|error| error.at_index("holiday_dates", index))
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        let policy = Policy {
            calendar: Calendar { holidays },
            lead_times: lead_times_from_wire(wire.lead_times)?,
            stop_on_behalf_answer_business_days: policy_scalar(
                "stop_on_behalf_answer_business_days",
                wire.stop_on_behalf_answer_business_days,
                |policy, days| policy.stop_on_behalf_answer_business_days = days,
            )?,
            effective_date_horizon_days: policy_scalar(
                "effective_date_horizon_days",
                wire.effective_date_horizon_days,
                |policy, days| policy.effective_date_horizon_days = days,
            )?,
            request_id_retention_days: policy_scalar(
                "request_id_retention_days",
                wire.request_id_retention_days,
                |policy, days| policy.request_id_retention_days = days,
            )?,
        };
        // Every part was checked above; this catches rules the domain may add later.
        policy
            .validate()
            .map_err(|source| WireError::invalid("", source))?;
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use switchyard_domain::Date;

    use super::*;
    use crate::convert::samples;

    fn sample_policy() -> Policy {
        let mut policy = Policy::default();
        for holiday in ["2026-12-31", "2027-01-01", "2027-01-02", "2027-01-11"] {
            policy.calendar.holidays.insert(samples::date(holiday));
        }
        policy.lead_times[6].switching_with_meter_works = LeadTime {
            business_days: 8,
            calendar_days: 2,
        };
        policy.lead_times[2].other = LeadTime {
            business_days: 0,
            calendar_days: 30,
        };
        policy.stop_on_behalf_answer_business_days = 3;
        policy.effective_date_horizon_days = 730;
        policy.request_id_retention_days = 90;
        policy
    }

    /// The default policy and a customised one survive domain -> wire -> bytes -> wire -> domain.
    #[test]
    fn policy_round_trip() {
        for policy in [Policy::default(), sample_policy()] {
            let wire = samples::through_bytes(v1::Policy::from(policy.clone()));
            assert_eq!(Policy::try_from(wire).unwrap(), policy);
        }
    }

    /// A lead time and one TSO's lead times survive domain -> wire -> domain.
    #[test]
    fn lead_time_round_trip() {
        let lead_time = LeadTime {
            business_days: 30,
            calendar_days: 0,
        };
        assert_eq!(
            LeadTime::try_from(v1::LeadTime::from(lead_time)).unwrap(),
            lead_time
        );
        let entry = (Area::Okinawa, TsoLeadTimes::default());
        assert_eq!(
            <(Area, TsoLeadTimes)>::try_from(v1::TsoLeadTimes::from(entry)).unwrap(),
            entry
        );
    }

    /// Lead time entries in any order give the same policy.
    #[test]
    fn lead_time_order_does_not_matter() {
        let policy = sample_policy();
        let mut wire = v1::Policy::from(policy.clone());
        wire.lead_times.reverse();
        assert_eq!(Policy::try_from(wire).unwrap(), policy);
    }

    /// Duplicate holidays on input are ignored.
    #[test]
    fn duplicate_holidays_are_ignored() {
        let policy = sample_policy();
        let mut wire = v1::Policy::from(policy.clone());
        wire.holiday_dates.push("2027-01-01".to_owned());
        assert_eq!(Policy::try_from(wire).unwrap(), policy);
    }

    /// 401 holidays exceed the maximum of 400: too many `holiday_dates`.
    #[test]
    fn too_many_holidays() {
        let mut wire = v1::Policy::from(Policy::default());
        wire.holiday_dates = (0..401)
            .map(|day| Date::MIN.add_days(day).to_string())
            .collect();
        assert_eq!(
            Policy::try_from(wire).unwrap_err(),
            WireError::TooMany {
                field: "holiday_dates".to_owned(),
                count: 401,
                max: 400
            }
        );
    }

    /// A malformed holiday names its index.
    #[test]
    fn bad_holiday() {
        let mut wire = v1::Policy::from(sample_policy());
        wire.holiday_dates[2] = "2027-02-30".to_owned();
        assert_eq!(
            Policy::try_from(wire).unwrap_err().field(),
            "holiday_dates[2]"
        );
    }

    /// Nine entries leave an area without lead times; eleven are too many; a repeated area and
    /// an unspecified area are refused, each naming the field.
    #[test]
    fn bad_lead_time_lists() {
        let wire = v1::Policy::from(Policy::default());
        let mut nine = wire.clone();
        nine.lead_times.remove(4);
        let error = Policy::try_from(nine).unwrap_err();
        assert_eq!(error.field(), "lead_times");
        assert!(error.to_string().contains("area 05"), "{error}");
        let mut eleven = wire.clone();
        eleven.lead_times.push(eleven.lead_times[0]);
        assert!(matches!(
            Policy::try_from(eleven).unwrap_err(),
            WireError::TooMany { field, count: 11, max: 10 } if field == "lead_times"
        ));
        let mut repeated = wire.clone();
        repeated.lead_times[9].area = repeated.lead_times[0].area;
        assert_eq!(
            Policy::try_from(repeated).unwrap_err().field(),
            "lead_times[9].area"
        );
        let mut unspecified = wire;
        unspecified.lead_times[3].area = 0;
        assert_eq!(
            Policy::try_from(unspecified).unwrap_err(),
            WireError::UnknownEnum {
                field: "lead_times[3].area".to_owned(),
                value: 0
            }
        );
    }

    /// A lead time component over 30 days, or a missing lead time, names its path.
    #[test]
    fn bad_lead_times() {
        let mut too_long = v1::Policy::from(Policy::default());
        too_long.lead_times[7]
            .switching
            .as_mut()
            .unwrap()
            .calendar_days = 31;
        assert_eq!(
            Policy::try_from(too_long).unwrap_err().field(),
            "lead_times[7].switching.calendar_days"
        );
        let mut absent = v1::Policy::from(Policy::default());
        absent.lead_times[1].other = None;
        assert_eq!(
            Policy::try_from(absent).unwrap_err(),
            WireError::missing("lead_times[1].other")
        );
    }

    /// Each scalar outside its domain bounds is reported on its own field.
    #[test]
    fn scalars_out_of_range() {
        let base = v1::Policy::from(Policy::default());
        type Change = fn(&mut v1::Policy);
        let cases: [(&str, Change); 4] = [
            ("stop_on_behalf_answer_business_days", |wire| {
                wire.stop_on_behalf_answer_business_days = 0
            }),
            ("stop_on_behalf_answer_business_days", |wire| {
                wire.stop_on_behalf_answer_business_days = 256
            }),
            ("effective_date_horizon_days", |wire| {
                wire.effective_date_horizon_days = 29
            }),
            ("request_id_retention_days", |wire| {
                wire.request_id_retention_days = 91
            }),
        ];
        for (field, change) in cases {
            let mut wire = base.clone();
            change(&mut wire);
            assert_eq!(Policy::try_from(wire).unwrap_err().field(), field);
        }
    }

    proptest! {
        /// Any policy within the domain's bounds survives domain -> wire -> domain.
        #[test]
        fn any_policy_round_trips(
            holiday_offsets in prop::collection::btree_set(0i32..3650, 0..40),
            components in prop::collection::vec(0u8..=30, 60),
            answer_days in 1u8..=30,
            horizon in 30u16..=730,
            retention in 1u16..=90,
        ) {
            let start = samples::date("2026-01-01");
            let mut policy = Policy {
                calendar: Calendar {
                    holidays: holiday_offsets.into_iter().map(|days| start.add_days(days)).collect(),
                },
                stop_on_behalf_answer_business_days: answer_days,
                effective_date_horizon_days: horizon,
                request_id_retention_days: retention,
                ..Policy::default()
            };
            for (lead_times, parts) in policy.lead_times.iter_mut().zip(components.chunks(6)) {
                let lead = |index: usize| LeadTime {
                    business_days: parts[index],
                    calendar_days: parts[index + 1],
                };
                *lead_times = TsoLeadTimes {
                    switching: lead(0),
                    switching_with_meter_works: lead(2),
                    other: lead(4),
                };
            }
            prop_assert_eq!(Policy::try_from(v1::Policy::from(policy.clone())).unwrap(), policy);
        }
    }
}
