//! Notices operators publish to every participant.

use switchyard_domain::{
    LongText, Notice, NoticeNumber, OperatorId, Severity, ShortText, Timestamp,
};

use super::{WireEnum, enum_mapping, required_enum, required_text};
use crate::{WireError, v1};

enum_mapping!(Severity => v1::Severity {
    Info => Info,
    Warning => Warning,
    Critical => Critical,
});

impl From<Notice> for v1::Notice {
    fn from(notice: Notice) -> v1::Notice {
        v1::Notice {
            notice_number: notice.number.to_string(),
            severity: notice.severity.wire_number(),
            title: notice.title.to_string(),
            body: notice.body.to_string(),
            published_by_operator_id: notice.published_by.to_string(),
            published_at_unix_ms: notice.published_at.milliseconds(),
        }
    }
}

impl TryFrom<v1::Notice> for Notice {
    type Error = WireError;

    fn try_from(wire: v1::Notice) -> Result<Notice, WireError> {
        Ok(Notice {
            number: required_text("notice_number", &wire.notice_number, NoticeNumber::parse)?,
            severity: required_enum("severity", wire.severity)?,
            title: required_text("title", &wire.title, ShortText::parse)?,
            body: required_text("body", &wire.body, LongText::parse)?,
            published_by: required_text(
                "published_by_operator_id",
                &wire.published_by_operator_id,
                OperatorId::parse,
            )?,
            published_at: Timestamp(wire.published_at_unix_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::samples;

    /// A notice of every severity survives domain -> wire -> domain, newlines in the body
    /// included.
    #[test]
    fn notice_round_trip() {
        for severity in [Severity::Info, Severity::Warning, Severity::Critical] {
            let notice = Notice {
                severity,
                ..samples::notice()
            };
            assert_eq!(
                Notice::try_from(v1::Notice::from(notice.clone())).unwrap(),
                notice
            );
        }
    }

    /// An unspecified severity is refused, naming `severity`.
    #[test]
    fn unspecified_severity() {
        let mut wire = v1::Notice::from(samples::notice());
        wire.severity = 0;
        assert_eq!(
            Notice::try_from(wire).unwrap_err(),
            WireError::UnknownEnum {
                field: "severity".to_owned(),
                value: 0
            }
        );
    }

    /// A title with a newline or over 200 characters is invalid `title`.
    #[test]
    fn bad_title() {
        for title in ["two\nlines".to_owned(), "x".repeat(201)] {
            let mut wire = v1::Notice::from(samples::notice());
            wire.title = title;
            assert!(matches!(
                Notice::try_from(wire).unwrap_err(),
                WireError::Invalid { field, .. } if field == "title"
            ));
        }
    }
}
