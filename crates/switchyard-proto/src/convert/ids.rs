//! Identifiers: the area enum and the text forms of numbers, codes and party ids.
//!
//! Identifiers travel as their canonical text (`Display` of the domain type) and come back through
//! the domain's `parse`, so the wire never holds a form the domain would not print.

use switchyard_domain::{Area, RequestId};

use super::{enum_mapping, required_text};
use crate::{WireError, v1};

enum_mapping!(Area => v1::Area {
    Hokkaido => Hokkaido,
    Tohoku => Tohoku,
    Tokyo => Tokyo,
    Chubu => Chubu,
    Hokuriku => Hokuriku,
    Kansai => Kansai,
    Chugoku => Chugoku,
    Shikoku => Shikoku,
    Kyushu => Kyushu,
    Okinawa => Okinawa,
});

/// The `request_id` field every write request carries: required, 1..=64 characters of
/// `A-Z a-z 0-9 . _ : -`.
pub fn request_id_from_wire(text: &str) -> Result<RequestId, WireError> {
    required_text("request_id", text, RequestId::parse)
}

#[cfg(test)]
mod tests {
    use switchyard_domain::{
        ApplicationNumber, NoticeNumber, PartyId, RetailerCode, StopOnBehalfNumber,
        SupplyPointNumber, ValueError,
    };

    use super::*;
    use crate::convert::{WireEnum, required_enum};

    fn parse_field<T>(
        field: &str,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Result<T, WireError> {
        required_text(field, text, parse)
    }

    /// Every area survives domain -> wire -> domain, and its wire number is its area code.
    #[test]
    fn area_round_trip() {
        for area in Area::ALL {
            let number = area.wire_number();
            assert_eq!(number, i32::from(area.number()));
            assert_eq!(required_enum::<Area>("area", number).unwrap(), area);
        }
    }

    /// An unspecified area and an area number beyond 10 are refused, naming the field.
    #[test]
    fn area_unspecified_and_unknown_are_refused() {
        for value in [0, 11, -1] {
            let error = required_enum::<Area>("lead_times[0].area", value).unwrap_err();
            assert_eq!(
                error,
                WireError::UnknownEnum {
                    field: "lead_times[0].area".to_owned(),
                    value
                }
            );
        }
    }

    /// Every identifier type survives domain -> text -> domain.
    #[test]
    fn identifier_text_round_trip() {
        let supply_point = SupplyPointNumber::parse("0300111122223333444455").unwrap();
        assert_eq!(
            parse_field("n", &supply_point.to_string(), SupplyPointNumber::parse).unwrap(),
            supply_point
        );
        let retailer = RetailerCode::from_number(123).unwrap();
        assert_eq!(
            parse_field("n", &retailer.to_string(), RetailerCode::parse).unwrap(),
            retailer
        );
        for party in ["A0123", "T03", "op:sato"] {
            let party = PartyId::parse(party).unwrap();
            assert_eq!(
                parse_field("n", &party.to_string(), PartyId::parse).unwrap(),
                party
            );
        }
        let application = ApplicationNumber::new(42).unwrap();
        assert_eq!(
            parse_field("n", &application.to_string(), ApplicationNumber::parse).unwrap(),
            application
        );
        let stop_on_behalf = StopOnBehalfNumber::new(7).unwrap();
        assert_eq!(
            parse_field("n", &stop_on_behalf.to_string(), StopOnBehalfNumber::parse).unwrap(),
            stop_on_behalf
        );
        let notice = NoticeNumber::new(9_999_999_999).unwrap();
        assert_eq!(
            parse_field("n", &notice.to_string(), NoticeNumber::parse).unwrap(),
            notice
        );
        let request_id = RequestId::parse("gateway-7:2026-11-26.0001").unwrap();
        assert_eq!(
            request_id_from_wire(request_id.as_str()).unwrap(),
            request_id
        );
    }

    /// A supply point number with 21 digits, a letter or area prefix 11 is invalid, and the error
    /// names the field.
    #[test]
    fn bad_supply_point_numbers_are_invalid() {
        for bad in [
            "030011112222333344445",
            "03001111222233334444a5",
            "1100111122223333444455",
        ] {
            let error =
                parse_field("supply_point_number", bad, SupplyPointNumber::parse).unwrap_err();
            assert!(
                matches!(&error, WireError::Invalid { field, .. } if field == "supply_point_number"),
                "{error:?}"
            );
        }
    }

    /// An empty request id is missing; a request id with a space or 65 characters is invalid.
    #[test]
    fn bad_request_ids_are_refused() {
        assert_eq!(
            request_id_from_wire("").unwrap_err(),
            WireError::missing("request_id")
        );
        for bad in ["has space".to_owned(), "x".repeat(65), "ünïcode".to_owned()] {
            let error = request_id_from_wire(&bad).unwrap_err();
            assert!(
                matches!(&error, WireError::Invalid { field, .. } if field == "request_id"),
                "{error:?}"
            );
        }
    }

    /// A malformed application number (wrong prefix, zero) is invalid.
    #[test]
    fn bad_serial_numbers_are_invalid() {
        for bad in ["SB0000000001", "AP0000000000", "AP123"] {
            let error =
                parse_field("application_number", bad, ApplicationNumber::parse).unwrap_err();
            assert_eq!(error.field(), "application_number");
            assert!(matches!(error, WireError::Invalid { .. }));
        }
    }
}
