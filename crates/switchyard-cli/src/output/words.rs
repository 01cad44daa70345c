//! Enums and instants as the words the output uses.
//!
//! An enum value prints as its proto name without the enum's prefix, in lower case with hyphens:
//! `APPLICATION_STATE_AWAITING_MATCH` is `awaiting-match`, `PROCEDURE_SWITCH_IN` is `switch-in`.
//! These are also the values the command line accepts (`--state awaiting-match`), in human and
//! JSON output alike. A number this build does not know prints as `unknown-<number>`.
//!
//! Instants (`*_unix_ms`) print in Japan time, as `YYYY-MM-DDTHH:MM:SS+09:00`, like the dates of
//! the contracts, which are calendar dates in Japan.

use switchyard_proto::admin::v1 as admin;
use switchyard_proto::v1;

fn word_of(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .to_ascii_lowercase()
        .replace('_', "-")
}

macro_rules! enum_words {
    ($($function:ident => $package:ident::$wire:ident, $prefix:literal;)+) => {$(
        #[doc = concat!("The word for a `", stringify!($wire), "` number.")]
        pub(crate) fn $function(value: i32) -> String {
            match $package::$wire::try_from(value) {
                Ok(known) => word_of(known.as_str_name(), $prefix),
                Err(_) => format!("unknown-{value}"),
            }
        }
    )+};
}

enum_words! {
    area => v1::Area, "AREA_";
    voltage_class => v1::VoltageClass, "VOLTAGE_CLASS_";
    contract_kind => v1::ContractKind, "CONTRACT_KIND_";
    decision_method => v1::DecisionMethod, "DECISION_METHOD_";
    capacity_unit => v1::CapacityUnit, "CAPACITY_UNIT_";
    supply_status => v1::SupplyStatus, "SUPPLY_STATUS_";
    period_end => v1::PeriodEnd, "PERIOD_END_";
    ng_reason => v1::NgReason, "NG_REASON_";
    stop_on_behalf_state => v1::StopOnBehalfState, "STOP_ON_BEHALF_STATE_";
    procedure => v1::Procedure, "PROCEDURE_";
    application_state => v1::ApplicationState, "APPLICATION_STATE_";
    update_flag => v1::UpdateFlag, "UPDATE_FLAG_";
    severity => v1::Severity, "SEVERITY_";
    site => admin::Site, "SITE_";
    node_role => admin::NodeRole, "NODE_ROLE_";
    node_health => admin::NodeHealth, "NODE_HEALTH_";
}

/// The words of several NG reasons, comma-separated.
pub(crate) fn ng_reasons(reasons: &[i32]) -> String {
    reasons
        .iter()
        .map(|reason| ng_reason(*reason))
        .collect::<Vec<_>>()
        .join(",")
}

/// A capacity with its unit symbol: `30 A`, `6 kVA`, `120 kW`.
pub(crate) fn capacity(capacity: &v1::Capacity) -> String {
    let unit = match v1::CapacityUnit::try_from(capacity.unit) {
        Ok(v1::CapacityUnit::Ampere) => "A".to_owned(),
        Ok(v1::CapacityUnit::KiloVoltAmpere) => "kVA".to_owned(),
        Ok(v1::CapacityUnit::KiloWatt) => "kW".to_owned(),
        _ => capacity_unit(capacity.unit),
    };
    format!("{} {unit}", capacity.value)
}

/// `yes` or `no`.
pub(crate) fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

/// Milliseconds since the Unix epoch as a Japan-time instant, `2026-11-26T09:30:00+09:00`.
pub(crate) fn instant(unix_ms: i64) -> String {
    const DAY_MS: i64 = 86_400_000;
    const JST_OFFSET_MS: i64 = 9 * 3_600_000;
    let local = unix_ms.saturating_add(JST_OFFSET_MS);
    let (year, month, day) = civil_from_days(local.div_euclid(DAY_MS));
    let seconds_of_day = local.rem_euclid(DAY_MS) / 1_000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+09:00",
        seconds_of_day / 3_600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}

/// Year, month and day of a day count since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A count with thousands separators: `1234567` is `1,234,567`.
pub(crate) fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;
    use crate::args::{ApplicationStateArg, NgReasonArg, PartyKindArg, ProcedureArg, SiteArg};

    /// Enum numbers print as lower-case hyphenated words without the enum's prefix; unknown
    /// numbers say so.
    #[test]
    fn enum_words() {
        assert_eq!(
            application_state(v1::ApplicationState::AwaitingMatch as i32),
            "awaiting-match"
        );
        assert_eq!(procedure(v1::Procedure::SwitchIn as i32), "switch-in");
        assert_eq!(area(3), "tokyo");
        assert_eq!(decision_method(1), "ampere-breaker");
        assert_eq!(stop_on_behalf_state(3), "ng");
        assert_eq!(severity(3), "critical");
        assert_eq!(procedure(0), "unspecified");
        assert_eq!(procedure(99), "unknown-99");
        assert_eq!(ng_reasons(&[3, 9]), "name-mismatch,other");
        assert_eq!(site(admin::Site::Witness as i32), "witness");
        assert_eq!(node_role(admin::NodeRole::Leader as i32), "leader");
        assert_eq!(
            node_health(admin::NodeHealth::StorageStalled as i32),
            "storage-stalled"
        );
    }

    /// The values the command line accepts are exactly the words the output prints, for every
    /// procedure, state, NG reason and party kind.
    #[test]
    fn command_line_values_are_output_words() {
        for value in ProcedureArg::value_variants() {
            let name = value.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(procedure(value.wire() as i32), name);
        }
        for value in ApplicationStateArg::value_variants() {
            let name = value.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(application_state(value.wire() as i32), name);
        }
        for value in NgReasonArg::value_variants() {
            let name = value.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(ng_reason(value.wire() as i32), name);
        }
        for value in PartyKindArg::value_variants() {
            let name = value.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(word_of(value.wire().as_str_name(), "PARTY_KIND_"), name);
        }
        for value in SiteArg::value_variants() {
            let name = value.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(site(value.wire() as i32), name);
        }
        assert_eq!(ProcedureArg::value_variants().len(), 7);
        assert_eq!(ApplicationStateArg::value_variants().len(), 9);
        assert_eq!(NgReasonArg::value_variants().len(), 9);
    }

    /// Capacities print with their unit symbol.
    #[test]
    fn capacities() {
        let amperes = v1::Capacity {
            value: 30,
            unit: v1::CapacityUnit::Ampere as i32,
        };
        assert_eq!(capacity(&amperes), "30 A");
        let kilowatts = v1::Capacity {
            value: 120,
            unit: v1::CapacityUnit::KiloWatt as i32,
        };
        assert_eq!(capacity(&kilowatts), "120 kW");
    }

    /// Instants print in Japan time, across day, month, leap-day and epoch boundaries.
    #[test]
    fn instants_in_japan_time() {
        assert_eq!(instant(0), "1970-01-01T09:00:00+09:00");
        assert_eq!(instant(-1), "1970-01-01T08:59:59+09:00");
        // 2026-11-26T00:30:00Z.
        assert_eq!(instant(1_795_653_000_000), "2026-11-26T09:30:00+09:00");
        // 2024-02-28T15:00:00Z is midnight of the leap day in Japan.
        assert_eq!(instant(1_709_132_400_000), "2024-02-29T00:00:00+09:00");
        // 2026-12-31T15:00:00Z is New Year in Japan.
        assert_eq!(instant(1_798_729_200_000), "2027-01-01T00:00:00+09:00");
        // The extremes do not panic.
        instant(i64::MIN);
        instant(i64::MAX);
    }
}
