//! Read requests: consistency, paging, filters and the validated form of the reads whose
//! arguments are more than a page and a consistency.
//!
//! Reads have no domain command; these small types are what the service hands to the store.

use switchyard_domain::{
    Application, ApplicationNumber, ApplicationState, Date, Procedure, StopOnBehalfNumber,
    SupplyPointNumber,
};

use super::dates::date_from_wire;
use super::{optional_enum, required_text, text_or_empty};
use crate::limits::{PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, PAGE_TOKEN_BYTES_MAX};
use crate::{WireError, v1};

/// How fresh a read must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Consistency {
    /// From the answering node's applied state.
    Local,
    /// Confirmed with the leader first.
    Linearizable,
}

impl Consistency {
    /// The `consistency` field of a read: `_UNSPECIFIED` gives the method's `default`, unknown
    /// numbers are refused.
    pub fn from_wire(
        field: &str,
        value: i32,
        default: Consistency,
    ) -> Result<Consistency, WireError> {
        match v1::ReadConsistency::try_from(value) {
            Ok(v1::ReadConsistency::Unspecified) => Ok(default),
            Ok(v1::ReadConsistency::Local) => Ok(Consistency::Local),
            Ok(v1::ReadConsistency::Linearizable) => Ok(Consistency::Linearizable),
            Err(_) => Err(WireError::UnknownEnum {
                field: field.to_owned(),
                value,
            }),
        }
    }
}

impl From<Consistency> for v1::ReadConsistency {
    fn from(consistency: Consistency) -> v1::ReadConsistency {
        match consistency {
            Consistency::Local => v1::ReadConsistency::Local,
            Consistency::Linearizable => v1::ReadConsistency::Linearizable,
        }
    }
}

/// One page of a list read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Entries wanted, 1..=[`PAGE_SIZE_MAX`].
    pub size: usize,
    /// Where the previous page ended; `None` for the first page. Opaque to this crate.
    pub token: Option<String>,
}

impl PageRequest {
    /// The `page_size` and `page_token` fields: 0 means [`PAGE_SIZE_DEFAULT`], more than
    /// [`PAGE_SIZE_MAX`] is refused, and so is a token longer than [`PAGE_TOKEN_BYTES_MAX`].
    pub fn from_wire(page_size: u32, page_token: &str) -> Result<PageRequest, WireError> {
        let size = match usize::try_from(page_size) {
            Ok(0) => PAGE_SIZE_DEFAULT,
            Ok(size) if size <= PAGE_SIZE_MAX => size,
            _ => {
                return Err(WireError::out_of_range(
                    "page_size",
                    format!("{page_size} is more than {PAGE_SIZE_MAX}"),
                ));
            }
        };
        if page_token.len() > PAGE_TOKEN_BYTES_MAX {
            return Err(WireError::out_of_range(
                "page_token",
                format!(
                    "{} bytes is longer than {PAGE_TOKEN_BYTES_MAX}",
                    page_token.len()
                ),
            ));
        }
        Ok(PageRequest {
            size,
            token: (!page_token.is_empty()).then(|| page_token.to_owned()),
        })
    }
}

/// A facility look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookUpSupplyPointQuery {
    pub supply_point: SupplyPointNumber,
    pub consistency: Consistency,
}

impl TryFrom<v1::LookUpSupplyPointRequest> for LookUpSupplyPointQuery {
    type Error = WireError;

    /// Look-ups default to local reads: they are the bulk of the traffic and decide nothing.
    fn try_from(wire: v1::LookUpSupplyPointRequest) -> Result<LookUpSupplyPointQuery, WireError> {
        Ok(LookUpSupplyPointQuery {
            supply_point: required_text(
                "supply_point_number",
                &wire.supply_point_number,
                SupplyPointNumber::parse,
            )?,
            consistency: Consistency::from_wire(
                "consistency",
                wire.consistency,
                Consistency::Local,
            )?,
        })
    }
}

/// One application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetApplicationQuery {
    pub number: ApplicationNumber,
    pub consistency: Consistency,
}

impl TryFrom<v1::GetApplicationRequest> for GetApplicationQuery {
    type Error = WireError;

    fn try_from(wire: v1::GetApplicationRequest) -> Result<GetApplicationQuery, WireError> {
        Ok(GetApplicationQuery {
            number: required_text(
                "application_number",
                &wire.application_number,
                ApplicationNumber::parse,
            )?,
            consistency: Consistency::from_wire(
                "consistency",
                wire.consistency,
                Consistency::Linearizable,
            )?,
        })
    }
}

/// One stop-on-behalf request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetStopOnBehalfQuery {
    pub number: StopOnBehalfNumber,
    pub consistency: Consistency,
}

impl TryFrom<v1::GetStopOnBehalfRequest> for GetStopOnBehalfQuery {
    type Error = WireError;

    fn try_from(wire: v1::GetStopOnBehalfRequest) -> Result<GetStopOnBehalfQuery, WireError> {
        Ok(GetStopOnBehalfQuery {
            number: required_text(
                "stop_on_behalf_number",
                &wire.stop_on_behalf_number,
                StopOnBehalfNumber::parse,
            )?,
            consistency: Consistency::from_wire(
                "consistency",
                wire.consistency,
                Consistency::Linearizable,
            )?,
        })
    }
}

/// Which applications a list read returns; every `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationFilter {
    pub supply_point: Option<SupplyPointNumber>,
    pub procedure: Option<Procedure>,
    pub state: Option<ApplicationState>,
    /// Effective on or after this date.
    pub effective_from: Option<Date>,
    /// Effective on or before this date.
    pub effective_until: Option<Date>,
}

impl ApplicationFilter {
    /// Whether `application` passes every filter.
    pub fn matches(&self, application: &Application) -> bool {
        self.supply_point
            .is_none_or(|number| application.supply_point == number)
            && self
                .procedure
                .is_none_or(|procedure| application.procedure() == procedure)
            && self.state.is_none_or(|state| application.state == state)
            && self
                .effective_from
                .is_none_or(|from| application.effective_date >= from)
            && self
                .effective_until
                .is_none_or(|until| application.effective_date <= until)
    }
}

/// A list of applications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListApplicationsQuery {
    pub filter: ApplicationFilter,
    pub page: PageRequest,
    pub consistency: Consistency,
}

impl TryFrom<v1::ListApplicationsRequest> for ListApplicationsQuery {
    type Error = WireError;

    fn try_from(wire: v1::ListApplicationsRequest) -> Result<ListApplicationsQuery, WireError> {
        let effective_from = text_or_empty(
            "effective_from_date",
            &wire.effective_from_date,
            Date::parse,
        )?;
        let effective_until = text_or_empty(
            "effective_until_date",
            &wire.effective_until_date,
            Date::parse,
        )?;
        if let (Some(from), Some(until)) = (effective_from, effective_until)
            && until < from
        {
            return Err(WireError::out_of_range(
                "effective_until_date",
                format!("{until} is before effective_from_date {from}"),
            ));
        }
        Ok(ListApplicationsQuery {
            filter: ApplicationFilter {
                supply_point: text_or_empty(
                    "supply_point_number",
                    &wire.supply_point_number,
                    SupplyPointNumber::parse,
                )?,
                procedure: optional_enum("procedure", wire.procedure)?,
                state: optional_enum("state", wire.state)?,
                effective_from,
                effective_until,
            },
            page: PageRequest::from_wire(wire.page_size, &wire.page_token)?,
            consistency: Consistency::from_wire(
                "consistency",
                wire.consistency,
                Consistency::Linearizable,
            )?,
        })
    }
}

/// The TSO's work list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListApplicationsNeedingActionQuery {
    /// Effective on or before this date.
    pub effective_until: Option<Date>,
    pub page: PageRequest,
    pub consistency: Consistency,
}

impl TryFrom<v1::ListApplicationsNeedingActionRequest> for ListApplicationsNeedingActionQuery {
    type Error = WireError;

    fn try_from(
        wire: v1::ListApplicationsNeedingActionRequest,
    ) -> Result<ListApplicationsNeedingActionQuery, WireError> {
        Ok(ListApplicationsNeedingActionQuery {
            effective_until: if wire.effective_until_date.is_empty() {
                None
            } else {
                Some(date_from_wire(
                    "effective_until_date",
                    &wire.effective_until_date,
                )?)
            },
            page: PageRequest::from_wire(wire.page_size, &wire.page_token)?,
            consistency: Consistency::from_wire(
                "consistency",
                wire.consistency,
                Consistency::Linearizable,
            )?,
        })
    }
}

/// Where an event stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchEventsQuery {
    /// After the revision the node has applied now: live events only.
    Live,
    /// At this position, inclusive.
    From {
        revision: u64,
        index_in_revision: u32,
    },
}

impl TryFrom<v1::WatchEventsRequest> for WatchEventsQuery {
    type Error = WireError;

    fn try_from(wire: v1::WatchEventsRequest) -> Result<WatchEventsQuery, WireError> {
        match (wire.start_revision, wire.start_index_in_revision) {
            (0, 0) => Ok(WatchEventsQuery::Live),
            (0, _) => Err(WireError::Unexpected {
                field: "start_index_in_revision".to_owned(),
                reason: "a live stream (start_revision 0) has no start index",
            }),
            (revision, index_in_revision) => Ok(WatchEventsQuery::From {
                revision,
                index_in_revision,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::samples;

    /// Unspecified consistency gives the method's default; both explicit values survive
    /// domain -> wire -> domain; an unknown value is refused.
    #[test]
    fn consistency() {
        for default in [Consistency::Local, Consistency::Linearizable] {
            assert_eq!(
                Consistency::from_wire("consistency", 0, default).unwrap(),
                default
            );
        }
        for consistency in [Consistency::Local, Consistency::Linearizable] {
            let wire = i32::from(v1::ReadConsistency::from(consistency));
            assert_eq!(
                Consistency::from_wire("consistency", wire, Consistency::Local).unwrap(),
                consistency
            );
        }
        assert_eq!(
            Consistency::from_wire("consistency", 7, Consistency::Local).unwrap_err(),
            WireError::UnknownEnum {
                field: "consistency".to_owned(),
                value: 7
            }
        );
    }

    /// Page size 0 is the default, 500 is allowed, 501 is refused; long tokens are refused.
    #[test]
    fn paging() {
        assert_eq!(
            PageRequest::from_wire(0, "").unwrap(),
            PageRequest {
                size: PAGE_SIZE_DEFAULT,
                token: None
            }
        );
        assert_eq!(
            PageRequest::from_wire(500, "abc").unwrap().token.as_deref(),
            Some("abc")
        );
        assert_eq!(
            PageRequest::from_wire(501, "").unwrap_err().field(),
            "page_size"
        );
        assert_eq!(
            PageRequest::from_wire(10, &"t".repeat(513))
                .unwrap_err()
                .field(),
            "page_token"
        );
    }

    /// A look-up defaults to a local read and needs a valid supply point number.
    #[test]
    fn look_up() {
        let query = LookUpSupplyPointQuery::try_from(v1::LookUpSupplyPointRequest {
            supply_point_number: "0300111122223333444455".to_owned(),
            consistency: 0,
        })
        .unwrap();
        assert_eq!(query.consistency, Consistency::Local);
        assert_eq!(query.supply_point, samples::supply_point_number());
        let error = LookUpSupplyPointQuery::try_from(v1::LookUpSupplyPointRequest {
            supply_point_number: String::new(),
            consistency: 0,
        })
        .unwrap_err();
        assert_eq!(error, WireError::missing("supply_point_number"));
    }

    /// Single-record reads default to linearizable and validate their numbers.
    #[test]
    fn single_record_reads() {
        let query = GetApplicationQuery::try_from(v1::GetApplicationRequest {
            application_number: "AP0000000042".to_owned(),
            consistency: 0,
        })
        .unwrap();
        assert_eq!(query.consistency, Consistency::Linearizable);
        let error = GetStopOnBehalfQuery::try_from(v1::GetStopOnBehalfRequest {
            stop_on_behalf_number: "AP0000000042".to_owned(),
            consistency: 0,
        })
        .unwrap_err();
        assert_eq!(error.field(), "stop_on_behalf_number");
    }

    fn list_request() -> v1::ListApplicationsRequest {
        v1::ListApplicationsRequest {
            page_size: 50,
            page_token: String::new(),
            supply_point_number: "0300111122223333444455".to_owned(),
            procedure: v1::Procedure::SwitchIn.into(),
            state: 0,
            effective_from_date: "2026-12-01".to_owned(),
            effective_until_date: "2026-12-31".to_owned(),
            consistency: 0,
        }
    }

    /// Filters parse, unspecified enums mean any, and the filter matches what it should.
    #[test]
    fn application_filters() {
        let query = ListApplicationsQuery::try_from(list_request()).unwrap();
        assert_eq!(query.filter.procedure, Some(Procedure::SwitchIn));
        assert_eq!(query.filter.state, None);
        assert_eq!(query.page.size, 50);
        let application = samples::completed_application();
        assert!(query.filter.matches(&application));
        let later = Application {
            effective_date: samples::date("2027-01-01"),
            ..application.clone()
        };
        assert!(!query.filter.matches(&later));
        assert!(ApplicationFilter::default().matches(&later));
    }

    /// An unknown procedure filter, a bad date or a reversed range is refused, naming the field.
    #[test]
    fn bad_application_filters() {
        let mut unknown = list_request();
        unknown.procedure = 8;
        assert_eq!(
            ListApplicationsQuery::try_from(unknown).unwrap_err(),
            WireError::UnknownEnum {
                field: "procedure".to_owned(),
                value: 8
            }
        );
        let mut bad_date = list_request();
        bad_date.effective_from_date = "2026-12".to_owned();
        assert_eq!(
            ListApplicationsQuery::try_from(bad_date)
                .unwrap_err()
                .field(),
            "effective_from_date"
        );
        let mut reversed = list_request();
        reversed.effective_until_date = "2026-11-30".to_owned();
        assert_eq!(
            ListApplicationsQuery::try_from(reversed)
                .unwrap_err()
                .field(),
            "effective_until_date"
        );
    }

    /// The TSO's work list takes an optional date bound.
    #[test]
    fn needing_action() {
        let query = ListApplicationsNeedingActionQuery::try_from(
            v1::ListApplicationsNeedingActionRequest {
                page_size: 0,
                page_token: String::new(),
                effective_until_date: String::new(),
                consistency: 0,
            },
        )
        .unwrap();
        assert_eq!(query.effective_until, None);
        let error = ListApplicationsNeedingActionQuery::try_from(
            v1::ListApplicationsNeedingActionRequest {
                page_size: 0,
                page_token: String::new(),
                effective_until_date: "31/12/2026".to_owned(),
                consistency: 0,
            },
        )
        .unwrap_err();
        assert_eq!(error.field(), "effective_until_date");
    }

    /// Revision 0 is a live stream; a position resumes; an index without a revision is refused.
    #[test]
    fn watch_start() {
        let live = v1::WatchEventsRequest {
            start_revision: 0,
            start_index_in_revision: 0,
        };
        assert_eq!(
            WatchEventsQuery::try_from(live).unwrap(),
            WatchEventsQuery::Live
        );
        let resume = v1::WatchEventsRequest {
            start_revision: 1234,
            start_index_in_revision: 2,
        };
        assert_eq!(
            WatchEventsQuery::try_from(resume).unwrap(),
            WatchEventsQuery::From {
                revision: 1234,
                index_in_revision: 2
            }
        );
        let contradictory = v1::WatchEventsRequest {
            start_revision: 0,
            start_index_in_revision: 3,
        };
        assert_eq!(
            WatchEventsQuery::try_from(contradictory)
                .unwrap_err()
                .field(),
            "start_index_in_revision"
        );
    }
}
