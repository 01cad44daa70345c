//! Events: the audience, every kind of event, and the stored event with its position.

use switchyard_domain::{
    ApplicationNumber, Audience, Event, EventKind, LongText, NoticeNumber, PartyId, RetailerCode,
    ShortText, StopOnBehalfNumber, StoredEvent, SupplyPointNumber,
};

use super::application::application_revision_from_wire;
use super::dates::date_from_wire;
use super::stop_on_behalf::{state_from_wire, state_to_wire};
use super::{
    WireEnum, bounded_list, optional_text, required_converted, required_enum, required_message,
    required_text,
};
use crate::limits::EVENT_AUDIENCE_PARTIES_MAX;
use crate::v1::event::Kind;
use crate::{WireError, v1};

impl From<Audience> for v1::EventAudience {
    fn from(audience: Audience) -> v1::EventAudience {
        match audience {
            Audience::Everyone => v1::EventAudience {
                everyone: true,
                party_ids: Vec::new(),
            },
            Audience::Parties(parties) => v1::EventAudience {
                everyone: false,
                party_ids: parties.iter().map(ToString::to_string).collect(),
            },
        }
    }
}

impl TryFrom<v1::EventAudience> for Audience {
    type Error = WireError;

    fn try_from(wire: v1::EventAudience) -> Result<Audience, WireError> {
        if wire.everyone {
            if !wire.party_ids.is_empty() {
                return Err(WireError::Unexpected {
                    field: "party_ids".to_owned(),
                    reason: "an event for everyone names no parties",
                });
            }
            return Ok(Audience::Everyone);
        }
        let parties = bounded_list(
            "party_ids",
            wire.party_ids,
            EVENT_AUDIENCE_PARTIES_MAX,
            |text| required_text("", &text, PartyId::parse),
        )?;
        Ok(Audience::parties(parties))
    }
}

fn supply_point(field: &str, text: &str) -> Result<SupplyPointNumber, WireError> {
    required_text(field, text, SupplyPointNumber::parse)
}

fn retailer(field: &str, text: &str) -> Result<RetailerCode, WireError> {
    required_text(field, text, RetailerCode::parse)
}

fn application(field: &str, text: &str) -> Result<ApplicationNumber, WireError> {
    required_text(field, text, ApplicationNumber::parse)
}

impl From<EventKind> for Kind {
    fn from(kind: EventKind) -> Kind {
        match kind {
            EventKind::SupplyPointsImported {
                area,
                created,
                updated,
            } => Kind::SupplyPointsImported(v1::SupplyPointsImportedEvent {
                area: area.wire_number(),
                created,
                updated,
            }),
            EventKind::ParticipantChanged { party } => {
                Kind::ParticipantChanged(v1::ParticipantChangedEvent {
                    party_id: party.to_string(),
                })
            }
            EventKind::PolicyChanged => Kind::PolicyChanged(v1::PolicyChangedEvent {}),
            EventKind::StopOnBehalfRegistered {
                number,
                supply_point,
                requester,
                addressee,
            } => Kind::StopOnBehalfRegistered(v1::StopOnBehalfRegisteredEvent {
                stop_on_behalf_number: number.to_string(),
                supply_point_number: supply_point.to_string(),
                requester_retailer_code: requester.to_string(),
                addressee_retailer_code: addressee.to_string(),
            }),
            EventKind::StopOnBehalfDecided { number, state } => {
                let (state, ng_reasons) = state_to_wire(&state);
                Kind::StopOnBehalfDecided(v1::StopOnBehalfDecidedEvent {
                    stop_on_behalf_number: number.to_string(),
                    state,
                    ng_reasons,
                })
            }
            EventKind::ApplicationSubmitted {
                number,
                procedure,
                supply_point,
                applicant,
                effective_date,
            } => Kind::ApplicationSubmitted(v1::ApplicationSubmittedEvent {
                application_number: number.to_string(),
                procedure: procedure.wire_number(),
                supply_point_number: supply_point.to_string(),
                applicant_retailer_code: applicant.to_string(),
                effective_date: effective_date.to_string(),
            }),
            EventKind::ApplicationChanged {
                number,
                revision,
                state,
                effective_date,
            } => Kind::ApplicationChanged(v1::ApplicationChangedEvent {
                application_number: number.to_string(),
                application_revision: revision,
                state: state.wire_number(),
                effective_date: effective_date.to_string(),
            }),
            EventKind::ApplicationsMatched {
                switch_in,
                switch_out,
                supply_point,
                effective_date,
            } => Kind::ApplicationsMatched(v1::ApplicationsMatchedEvent {
                switch_in_application_number: switch_in.to_string(),
                switch_out_application_number: switch_out.to_string(),
                supply_point_number: supply_point.to_string(),
                effective_date: effective_date.to_string(),
            }),
            EventKind::SupplierChanged {
                supply_point,
                from,
                to,
                since,
            } => Kind::SupplierChanged(v1::SupplierChangedEvent {
                supply_point_number: supply_point.to_string(),
                from_retailer_code: from.map(|code| code.to_string()),
                to_retailer_code: to.to_string(),
                since_date: since.to_string(),
            }),
            EventKind::SupplyStopped {
                supply_point,
                last_day,
            } => Kind::SupplyStopped(v1::SupplyStoppedEvent {
                supply_point_number: supply_point.to_string(),
                last_day_date: last_day.to_string(),
            }),
            EventKind::NoticePublished {
                number,
                severity,
                title,
                body,
            } => Kind::NoticePublished(v1::NoticePublishedEvent {
                notice_number: number.to_string(),
                severity: severity.wire_number(),
                title: title.to_string(),
                body: body.to_string(),
            }),
        }
    }
}

impl TryFrom<Kind> for EventKind {
    type Error = WireError;

    /// Errors are nested under the `oneof` member's name, e.g. `supplier_changed.since_date`.
    fn try_from(kind: Kind) -> Result<EventKind, WireError> {
        let (member, converted) = match kind {
            Kind::SupplyPointsImported(event) => {
                ("supply_points_imported", supply_points_imported(event))
            }
            Kind::ParticipantChanged(event) => ("participant_changed", participant_changed(event)),
            Kind::PolicyChanged(v1::PolicyChangedEvent {}) => {
                ("policy_changed", Ok(EventKind::PolicyChanged))
            }
            Kind::StopOnBehalfRegistered(event) => (
                "stop_on_behalf_registered",
                stop_on_behalf_registered(event),
            ),
            Kind::StopOnBehalfDecided(event) => {
                ("stop_on_behalf_decided", stop_on_behalf_decided(event))
            }
            Kind::ApplicationSubmitted(event) => {
                ("application_submitted", application_submitted(event))
            }
            Kind::ApplicationChanged(event) => ("application_changed", application_changed(event)),
            Kind::ApplicationsMatched(event) => {
                ("applications_matched", applications_matched(event))
            }
            Kind::SupplierChanged(event) => ("supplier_changed", supplier_changed(event)),
            Kind::SupplyStopped(event) => ("supply_stopped", supply_stopped(event)),
            Kind::NoticePublished(event) => ("notice_published", notice_published(event)),
        };
        converted.map_err(|error| error.at(member))
    }
}

fn supply_points_imported(event: v1::SupplyPointsImportedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::SupplyPointsImported {
        area: required_enum("area", event.area)?,
        created: event.created,
        updated: event.updated,
    })
}

fn participant_changed(event: v1::ParticipantChangedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::ParticipantChanged {
        party: required_text("party_id", &event.party_id, PartyId::parse)?,
    })
}

fn stop_on_behalf_registered(
    event: v1::StopOnBehalfRegisteredEvent,
) -> Result<EventKind, WireError> {
    Ok(EventKind::StopOnBehalfRegistered {
        number: required_text(
            "stop_on_behalf_number",
            &event.stop_on_behalf_number,
            StopOnBehalfNumber::parse,
        )?,
        supply_point: supply_point("supply_point_number", &event.supply_point_number)?,
        requester: retailer("requester_retailer_code", &event.requester_retailer_code)?,
        addressee: retailer("addressee_retailer_code", &event.addressee_retailer_code)?,
    })
}

fn stop_on_behalf_decided(event: v1::StopOnBehalfDecidedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::StopOnBehalfDecided {
        number: required_text(
            "stop_on_behalf_number",
            &event.stop_on_behalf_number,
            StopOnBehalfNumber::parse,
        )?,
        state: state_from_wire(event.state, event.ng_reasons)?,
    })
}

fn application_submitted(event: v1::ApplicationSubmittedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::ApplicationSubmitted {
        number: application("application_number", &event.application_number)?,
        procedure: required_enum("procedure", event.procedure)?,
        supply_point: supply_point("supply_point_number", &event.supply_point_number)?,
        applicant: retailer("applicant_retailer_code", &event.applicant_retailer_code)?,
        effective_date: date_from_wire("effective_date", &event.effective_date)?,
    })
}

fn application_changed(event: v1::ApplicationChangedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::ApplicationChanged {
        number: application("application_number", &event.application_number)?,
        revision: application_revision_from_wire(
            "application_revision",
            event.application_revision,
        )?,
        state: required_enum("state", event.state)?,
        effective_date: date_from_wire("effective_date", &event.effective_date)?,
    })
}

fn applications_matched(event: v1::ApplicationsMatchedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::ApplicationsMatched {
        switch_in: application(
            "switch_in_application_number",
            &event.switch_in_application_number,
        )?,
        switch_out: application(
            "switch_out_application_number",
            &event.switch_out_application_number,
        )?,
        supply_point: supply_point("supply_point_number", &event.supply_point_number)?,
        effective_date: date_from_wire("effective_date", &event.effective_date)?,
    })
}

fn supplier_changed(event: v1::SupplierChangedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::SupplierChanged {
        supply_point: supply_point("supply_point_number", &event.supply_point_number)?,
        from: optional_text(
            "from_retailer_code",
            event.from_retailer_code.as_deref(),
            RetailerCode::parse,
        )?,
        to: retailer("to_retailer_code", &event.to_retailer_code)?,
        since: date_from_wire("since_date", &event.since_date)?,
    })
}

fn supply_stopped(event: v1::SupplyStoppedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::SupplyStopped {
        supply_point: supply_point("supply_point_number", &event.supply_point_number)?,
        last_day: date_from_wire("last_day_date", &event.last_day_date)?,
    })
}

fn notice_published(event: v1::NoticePublishedEvent) -> Result<EventKind, WireError> {
    Ok(EventKind::NoticePublished {
        number: required_text("notice_number", &event.notice_number, NoticeNumber::parse)?,
        severity: required_enum("severity", event.severity)?,
        title: required_text("title", &event.title, ShortText::parse)?,
        body: required_text("body", &event.body, LongText::parse)?,
    })
}

impl From<StoredEvent> for v1::Event {
    fn from(stored: StoredEvent) -> v1::Event {
        v1::Event {
            revision: stored.revision,
            index_in_revision: stored.index,
            audience: Some(stored.event.audience.into()),
            kind: Some(stored.event.kind.into()),
        }
    }
}

impl TryFrom<v1::Event> for StoredEvent {
    type Error = WireError;

    /// An event without a kind (also what a newer server's unknown kind decodes to) is missing
    /// `kind`; clients skip such events and keep their position.
    fn try_from(wire: v1::Event) -> Result<StoredEvent, WireError> {
        if wire.revision == 0 {
            return Err(WireError::missing("revision"));
        }
        Ok(StoredEvent {
            revision: wire.revision,
            index: wire.index_in_revision,
            event: Event {
                audience: required_converted("audience", wire.audience)?,
                kind: EventKind::try_from(required_message("kind", wire.kind)?)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use switchyard_domain::{ApplicationState, Area, NoticeNumber, Procedure, Severity};

    use super::*;
    use crate::convert::samples;

    /// One event of every kind, with both kinds of audience.
    fn every_event() -> Vec<StoredEvent> {
        let point = samples::supply_point_number();
        let notice = samples::notice();
        let mut kinds = vec![
            EventKind::SupplyPointsImported {
                area: Area::Kyushu,
                created: 1000,
                updated: 3,
            },
            EventKind::ParticipantChanged {
                party: PartyId::parse("T07").unwrap(),
            },
            EventKind::PolicyChanged,
            EventKind::StopOnBehalfRegistered {
                number: samples::stop_on_behalf_number(5),
                supply_point: point,
                requester: samples::retailer(456),
                addressee: samples::retailer(123),
            },
            EventKind::ApplicationSubmitted {
                number: samples::application_number(42),
                procedure: Procedure::SwitchIn,
                supply_point: point,
                applicant: samples::retailer(456),
                effective_date: samples::date("2026-12-12"),
            },
            EventKind::ApplicationChanged {
                number: samples::application_number(42),
                revision: 3,
                state: ApplicationState::Cancelled,
                effective_date: samples::date("2026-12-12"),
            },
            EventKind::ApplicationsMatched {
                switch_in: samples::application_number(42),
                switch_out: samples::application_number(43),
                supply_point: point,
                effective_date: samples::date("2026-12-12"),
            },
            EventKind::SupplierChanged {
                supply_point: point,
                from: Some(samples::retailer(123)),
                to: samples::retailer(456),
                since: samples::date("2026-12-12"),
            },
            EventKind::SupplierChanged {
                supply_point: point,
                from: None,
                to: samples::retailer(456),
                since: samples::date("2026-12-12"),
            },
            EventKind::SupplyStopped {
                supply_point: point,
                last_day: samples::date("2027-03-31"),
            },
            EventKind::NoticePublished {
                number: NoticeNumber::new(3).unwrap(),
                severity: Severity::Warning,
                title: notice.title,
                body: notice.body,
            },
        ];
        for state in samples::stop_on_behalf_states() {
            kinds.push(EventKind::StopOnBehalfDecided {
                number: samples::stop_on_behalf_number(5),
                state,
            });
        }
        kinds
            .into_iter()
            .enumerate()
            .map(|(index, kind)| StoredEvent {
                revision: 1000 + index as u64,
                index: index as u32 % 3,
                event: Event {
                    audience: if index % 2 == 0 {
                        Audience::Everyone
                    } else {
                        Audience::parties([
                            PartyId::parse("A0456").unwrap(),
                            PartyId::parse("A0123").unwrap(),
                            PartyId::parse("T03").unwrap(),
                        ])
                    },
                    kind,
                },
            })
            .collect()
    }

    /// Every kind of event, with its position and audience, survives domain -> wire -> bytes ->
    /// wire -> domain.
    #[test]
    fn event_round_trip() {
        for stored in every_event() {
            assert_eq!(
                StoredEvent::try_from(samples::through_bytes(v1::Event::from(stored.clone())))
                    .unwrap(),
                stored
            );
        }
    }

    /// Both kinds of audience survive domain -> wire -> domain.
    #[test]
    fn audience_round_trip() {
        for audience in [
            Audience::Everyone,
            Audience::parties([PartyId::parse("op:sato").unwrap()]),
            Audience::Parties(Vec::new()),
        ] {
            assert_eq!(
                Audience::try_from(v1::EventAudience::from(audience.clone())).unwrap(),
                audience
            );
        }
    }

    /// An event without a kind is missing `kind`; without an audience, `audience`; at revision
    /// 0, `revision`.
    #[test]
    fn incomplete_events() {
        let wire = v1::Event::from(every_event().remove(0));
        let mut no_kind = wire.clone();
        no_kind.kind = None;
        assert_eq!(
            StoredEvent::try_from(no_kind).unwrap_err(),
            WireError::missing("kind")
        );
        let mut no_audience = wire.clone();
        no_audience.audience = None;
        assert_eq!(
            StoredEvent::try_from(no_audience).unwrap_err(),
            WireError::missing("audience")
        );
        let mut no_revision = wire;
        no_revision.revision = 0;
        assert_eq!(
            StoredEvent::try_from(no_revision).unwrap_err(),
            WireError::missing("revision")
        );
    }

    /// Bad content inside an event names the `oneof` member and the field.
    #[test]
    fn bad_event_content() {
        let changed = every_event()
            .into_iter()
            .find(|stored| matches!(stored.event.kind, EventKind::SupplierChanged { .. }))
            .unwrap();
        let mut wire = v1::Event::from(changed);
        if let Some(Kind::SupplierChanged(event)) = &mut wire.kind {
            event.since_date = "tomorrow".to_owned();
        }
        assert_eq!(
            StoredEvent::try_from(wire).unwrap_err().field(),
            "supplier_changed.since_date"
        );
        let decided = v1::Event {
            revision: 1,
            index_in_revision: 0,
            audience: Some(Audience::Everyone.into()),
            kind: Some(Kind::StopOnBehalfDecided(v1::StopOnBehalfDecidedEvent {
                stop_on_behalf_number: "SB0000000001".to_owned(),
                state: 0,
                ng_reasons: Vec::new(),
            })),
        };
        assert_eq!(
            StoredEvent::try_from(decided).unwrap_err(),
            WireError::UnknownEnum {
                field: "stop_on_behalf_decided.state".to_owned(),
                value: 0
            }
        );
    }

    /// An audience with 65 parties is too many; an everyone-audience naming parties is refused.
    #[test]
    fn bad_audiences() {
        let crowded = v1::EventAudience {
            everyone: false,
            party_ids: (0..65).map(|number| format!("A{number:04}")).collect(),
        };
        assert!(matches!(
            Audience::try_from(crowded).unwrap_err(),
            WireError::TooMany { field, count: 65, max: 64 } if field == "party_ids"
        ));
        let contradictory = v1::EventAudience {
            everyone: true,
            party_ids: vec!["A0001".to_owned()],
        };
        assert!(matches!(
            Audience::try_from(contradictory).unwrap_err(),
            WireError::Unexpected { field, .. } if field == "party_ids"
        ));
        let malformed = v1::EventAudience {
            everyone: false,
            party_ids: vec!["A0001".to_owned(), "X9".to_owned()],
        };
        assert_eq!(
            Audience::try_from(malformed).unwrap_err().field(),
            "party_ids[1]"
        );
    }
}
