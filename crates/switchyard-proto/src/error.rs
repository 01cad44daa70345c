//! [`WireError`]: why a wire message could not become a domain value, naming the field.

use switchyard_domain::ValueError;

/// Why a wire message could not be turned into a domain value.
///
/// Every variant names the offending field by its dotted path in the wire message, using the
/// proto field names and `[index]` for list entries, e.g. `points[3].facility.capacity`. Errors
/// are built at the innermost field and the path grows outwards with [`WireError::at`] as the
/// conversion unwinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A required field is absent: an empty string, an unset message, a zero where zero is not
    /// allowed, or an unset `oneof`.
    #[error("{field} is missing")]
    Missing {
        /// Dotted path of the field.
        field: String,
    },
    /// A field is present but its value is refused by the domain type's validation.
    #[error("{field} is invalid: {source}")]
    Invalid {
        /// Dotted path of the field.
        field: String,
        /// What the domain type objected to.
        source: ValueError,
    },
    /// An enum field holds its `_UNSPECIFIED` value (0) where a value is required, or a number
    /// this build does not know.
    #[error("{field} {}", describe_enum_value(*value))]
    UnknownEnum {
        /// Dotted path of the field.
        field: String,
        /// The number received.
        value: i32,
    },
    /// A list holds more entries than allowed.
    #[error("{field} has {count} entries; at most {max} are allowed")]
    TooMany {
        /// Dotted path of the field.
        field: String,
        /// Entries received.
        count: usize,
        /// Largest allowed number of entries.
        max: usize,
    },
    /// A field is set where it must be absent, e.g. NG reasons with an OK verdict.
    #[error("{field} must be empty here: {reason}")]
    Unexpected {
        /// Dotted path of the field.
        field: String,
        /// Why it must be empty.
        reason: &'static str,
    },
}

fn describe_enum_value(value: i32) -> String {
    if value == 0 {
        "is unspecified (0); a value is required".to_owned()
    } else {
        format!("has unknown enum value {value}")
    }
}

impl WireError {
    /// The stable name carried at the start of the gRPC status message of every malformed
    /// request, matching the domain's `invalid_field` rule.
    pub const RULE: &'static str = "invalid_field";

    /// The metadata key under which the status carries the field path.
    pub const FIELD_METADATA_KEY: &'static str = "x-switchyard-field";

    /// The metadata key under which every refusal carries its rule.
    pub const RULE_METADATA_KEY: &'static str = "x-switchyard-rule";

    /// A missing field.
    pub fn missing(field: impl Into<String>) -> WireError {
        WireError::Missing {
            field: field.into(),
        }
    }

    /// A field refused by a domain type.
    pub fn invalid(field: impl Into<String>, source: ValueError) -> WireError {
        WireError::Invalid {
            field: field.into(),
            source,
        }
    }

    /// A field whose value lies outside `detail`'s range, for bounds this crate checks itself.
    pub fn out_of_range(field: impl Into<String>, detail: impl Into<String>) -> WireError {
        let field = field.into();
        WireError::Invalid {
            source: ValueError::OutOfRange {
                kind: field.clone(),
                detail: detail.into(),
            },
            field,
        }
    }

    /// The dotted path of the offending field.
    pub fn field(&self) -> &str {
        match self {
            WireError::Missing { field }
            | WireError::Invalid { field, .. }
            | WireError::UnknownEnum { field, .. }
            | WireError::TooMany { field, .. }
            | WireError::Unexpected { field, .. } => field,
        }
    }

    fn field_mut(&mut self) -> &mut String {
        match self {
            WireError::Missing { field }
            | WireError::Invalid { field, .. }
            | WireError::UnknownEnum { field, .. }
            | WireError::TooMany { field, .. }
            | WireError::Unexpected { field, .. } => field,
        }
    }

    /// Places the error inside `parent`: `capacity` at `facility` becomes `facility.capacity`.
    #[must_use]
    pub fn at(mut self, parent: &str) -> WireError {
        let field = self.field_mut();
        *field = if field.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{field}")
        };
        self
    }

    /// Places the error inside entry `index` of the list `parent`: `facility` at (`points`, 3)
    /// becomes `points[3].facility`.
    #[must_use]
    pub fn at_index(self, parent: &str, index: usize) -> WireError {
        self.at(&format!("{parent}[{index}]"))
    }
}

impl From<WireError> for tonic::Status {
    /// A malformed request is the client's mistake: `INVALID_ARGUMENT`, with a message that starts
    /// with [`WireError::RULE`] and the field path, and the path again in the
    /// [`WireError::FIELD_METADATA_KEY`] metadata entry.
    fn from(error: WireError) -> tonic::Status {
        let mut status = tonic::Status::invalid_argument(format!("{}: {error}", WireError::RULE));
        status.metadata_mut().insert(
            WireError::RULE_METADATA_KEY,
            tonic::metadata::MetadataValue::from_static(WireError::RULE),
        );
        // A path is built from proto field names, digits and brackets, which are all valid
        // metadata characters; should that ever change the header is simply left out.
        if let Ok(value) = error.field().parse() {
            status
                .metadata_mut()
                .insert(WireError::FIELD_METADATA_KEY, value);
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nesting prepends parents to the field path, with list indices in brackets.
    #[test]
    fn nesting_builds_dotted_paths() {
        let error = WireError::missing("capacity")
            .at("facility")
            .at_index("points", 3);
        assert_eq!(error.field(), "points[3].facility.capacity");
        assert_eq!(error.to_string(), "points[3].facility.capacity is missing");
    }

    /// An unspecified enum and an unknown enum value read differently but both name the field.
    #[test]
    fn enum_errors_explain_the_value() {
        let unspecified = WireError::UnknownEnum {
            field: "voltage".to_owned(),
            value: 0,
        };
        assert!(unspecified.to_string().contains("unspecified"));
        let unknown = WireError::UnknownEnum {
            field: "voltage".to_owned(),
            value: 42,
        };
        assert!(unknown.to_string().contains("42"));
    }

    /// The gRPC status is INVALID_ARGUMENT, starts with the rule name and carries the field path.
    #[test]
    fn status_names_rule_and_field() {
        let status = tonic::Status::from(WireError::missing("customer.holder_name"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status
                .message()
                .starts_with("invalid_field: customer.holder_name")
        );
        assert_eq!(
            status
                .metadata()
                .get(WireError::FIELD_METADATA_KEY)
                .unwrap(),
            "customer.holder_name"
        );
    }
}
