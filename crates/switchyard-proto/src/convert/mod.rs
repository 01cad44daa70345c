//! Conversions between the generated wire types and the domain types, one file per family.
//!
//! Direction and fallibility:
//!
//! - domain -> wire is infallible: `From<DomainType> for WireType`;
//! - wire -> domain validates: `TryFrom<WireType> for DomainType` with [`crate::WireError`], whose
//!   field path is relative to the message converted (callers nest it with
//!   [`crate::WireError::at`]).
//!
//! Conventions on the wire side: an empty required string or an unset required message is
//! `Missing`; an enum at `_UNSPECIFIED` or unknown is `UnknownEnum`; lists are bounded before
//! their entries are converted. The helpers below implement those conventions once.

mod application;
mod command;
mod dates;
mod event;
mod facility;
mod ids;
mod notice;
mod participant;
mod policy;
mod query;
mod stop_on_behalf;

#[cfg(test)]
pub(crate) mod samples;

pub use command::{IncomingWrite, UnexpectedAnswer, WriteRequest};
pub use dates::{date_from_wire, optional_date_from_wire};
pub use ids::request_id_from_wire;
pub use query::{
    ApplicationFilter, Consistency, GetApplicationQuery, GetStopOnBehalfQuery,
    ListApplicationsNeedingActionQuery, ListApplicationsQuery, LookUpSupplyPointQuery, PageRequest,
    WatchEventsQuery,
};

use switchyard_domain::ValueError;

use crate::WireError;

/// A domain enum with a generated wire counterpart. Implemented by [`enum_mapping!`].
pub(crate) trait WireEnum: Sized {
    /// The generated enum.
    type Wire: TryFrom<i32>;

    /// The domain value of a wire value; `None` for `_UNSPECIFIED`.
    fn from_wire(wire: Self::Wire) -> Option<Self>;

    /// The wire number of a domain value.
    fn wire_number(self) -> i32;
}

/// Declares the one-to-one mapping between a domain enum and a generated enum: `From` for the
/// domain -> wire direction and [`WireEnum`] for the other. The generated enum's
/// `Unspecified` maps to no domain value.
macro_rules! enum_mapping {
    ($domain:ident => $module:ident :: $wire:ident { $($domain_variant:ident => $wire_variant:ident),+ $(,)? }) => {
        impl From<$domain> for $module::$wire {
            fn from(value: $domain) -> $module::$wire {
                match value {
                    $($domain::$domain_variant => $module::$wire::$wire_variant,)+
                }
            }
        }

        impl crate::convert::WireEnum for $domain {
            type Wire = $module::$wire;

            fn from_wire(wire: $module::$wire) -> Option<$domain> {
                match wire {
                    $($module::$wire::$wire_variant => Some($domain::$domain_variant),)+
                    $module::$wire::Unspecified => None,
                }
            }

            fn wire_number(self) -> i32 {
                i32::from($module::$wire::from(self))
            }
        }
    };
}
pub(crate) use enum_mapping;

/// A required enum field: refuses `_UNSPECIFIED` and numbers this build does not know.
pub(crate) fn required_enum<Domain: WireEnum>(
    field: &str,
    value: i32,
) -> Result<Domain, WireError> {
    Domain::Wire::try_from(value)
        .ok()
        .and_then(Domain::from_wire)
        .ok_or_else(|| WireError::UnknownEnum {
            field: field.to_owned(),
            value,
        })
}

/// An optional enum field (a filter): `_UNSPECIFIED` means absent; unknown numbers are refused.
pub(crate) fn optional_enum<Domain: WireEnum>(
    field: &str,
    value: i32,
) -> Result<Option<Domain>, WireError> {
    if value == 0 {
        return Ok(None);
    }
    required_enum(field, value).map(Some)
}

/// A required text field parsed by a domain constructor: empty is missing.
pub(crate) fn required_text<T>(
    field: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<T, WireError> {
    if text.is_empty() {
        return Err(WireError::missing(field));
    }
    parse(text).map_err(|source| WireError::invalid(field, source))
}

/// A text field where empty means absent (filters, plain-string optionals).
pub(crate) fn text_or_empty<T>(
    field: &str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, WireError> {
    if text.is_empty() {
        return Ok(None);
    }
    required_text(field, text, parse).map(Some)
}

/// A proto3 `optional string` field: unset is absent; set but empty is missing.
pub(crate) fn optional_text<T>(
    field: &str,
    text: Option<&str>,
    parse: impl FnOnce(&str) -> Result<T, ValueError>,
) -> Result<Option<T>, WireError> {
    text.map(|text| required_text(field, text, parse))
        .transpose()
}

/// A required message field.
pub(crate) fn required_message<T>(field: &str, message: Option<T>) -> Result<T, WireError> {
    message.ok_or_else(|| WireError::missing(field))
}

/// A required message field converted to its domain type, with errors nested under `field`.
pub(crate) fn required_converted<Wire, Domain>(
    field: &str,
    message: Option<Wire>,
) -> Result<Domain, WireError>
where
    Domain: TryFrom<Wire, Error = WireError>,
{
    Domain::try_from(required_message(field, message)?).map_err(|error| error.at(field))
}

/// A repeated field of at most `max` entries, each converted with `convert`; errors name the
/// entry, e.g. `meters[2].meter_number`.
pub(crate) fn bounded_list<Wire, Domain>(
    field: &str,
    entries: Vec<Wire>,
    max: usize,
    mut convert: impl FnMut(Wire) -> Result<Domain, WireError>,
) -> Result<Vec<Domain>, WireError> {
    check_count(field, entries.len(), max)?;
    entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| convert(entry).map_err(|error| error.at_index(field, index)))
        .collect()
}

/// Refuses a list longer than `max`.
pub(crate) fn check_count(field: &str, count: usize, max: usize) -> Result<(), WireError> {
    if count > max {
        return Err(WireError::TooMany {
            field: field.to_owned(),
            count,
            max,
        });
    }
    Ok(())
}

/// Converts entries with their own `TryFrom`, for [`bounded_list`].
pub(crate) fn each<Wire, Domain>(entry: Wire) -> Result<Domain, WireError>
where
    Domain: TryFrom<Wire, Error = WireError>,
{
    Domain::try_from(entry)
}
