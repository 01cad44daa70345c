//! Reference data: supply point imports, the participant directory, the policy and notices.

use std::collections::{BTreeMap, BTreeSet};

use crate::command::{Accepted, Command, Outcome, SupplyPointImport};
use crate::decide::{Tx, acting_operator, not_permitted, tso};
use crate::event::{Audience, Event, EventKind};
use crate::facility::{SupplyPoint, SupplyState};
use crate::ids::{Actor, Area, LongText, PartyId, ShortText};
use crate::notice::{Notice, Severity};
use crate::party::{Contact, Participant};
use crate::policy::Policy;
use crate::rejection::Rejection;
use crate::state::StateView;

/// A TSO imports supply points of its own area; an operator may import any (to seed a cluster).
/// New points take the given supply state; existing ones get the new facility data and keep their
/// supply state, history and work in progress. The batch is all or nothing.
pub(crate) fn import_supply_points<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    points: &[SupplyPointImport],
) -> Outcome {
    let actor_area = match tx.actor {
        Actor::Party(PartyId::Tso(area)) => {
            let area = *area;
            if tx.participant(&tso(area)).is_none() {
                return Err(Rejection::UnknownParticipant { party: tso(area) });
            }
            Some(area)
        }
        Actor::Party(PartyId::Operator(_)) => None,
        _ => return Err(not_permitted(tx, "import supply points")),
    };
    if points.is_empty() || points.len() > Command::IMPORT_BATCH_MAX {
        return Err(Rejection::BatchSize {
            count: points.len(),
            max: Command::IMPORT_BATCH_MAX,
        });
    }
    let mut seen = BTreeSet::new();
    for (index, point) in points.iter().enumerate() {
        if !seen.insert(point.number) {
            return Err(Rejection::DuplicateInBatch {
                supply_point: point.number,
            });
        }
        if let Some(actor_area) = actor_area
            && point.number.area() != actor_area
        {
            return Err(Rejection::OutsideArea {
                supply_point: point.number,
                supply_point_area: point.number.area(),
                actor_area,
            });
        }
        point
            .facility
            .validate()
            .map_err(|error| Rejection::InvalidImport {
                index,
                reason: error.to_string(),
            })?;
        if let SupplyState::Supplying { retailer, since } = point.supply {
            if tx.participant(&PartyId::Retailer(retailer)).is_none() {
                return Err(Rejection::InvalidImport {
                    index,
                    reason: format!("retailer {retailer} is not a registered participant"),
                });
            }
            if since > tx.today {
                return Err(Rejection::InvalidImport {
                    index,
                    reason: format!("supply since {since} lies in the future"),
                });
            }
        }
    }

    let mut counts: BTreeMap<Area, (u32, u32)> = BTreeMap::new();
    for point in points {
        let area_counts = counts.entry(point.number.area()).or_default();
        match tx.supply_point(&point.number) {
            Some(mut existing) => {
                existing.facility = point.facility.clone();
                tx.put_supply_point(existing);
                area_counts.1 += 1;
            }
            None => {
                tx.put_supply_point(SupplyPoint {
                    number: point.number,
                    facility: point.facility.clone(),
                    supply: point.supply.clone(),
                    history: Vec::new(),
                    open_applications: Vec::new(),
                    pending_stop_on_behalf: Vec::new(),
                });
                area_counts.0 += 1;
            }
        }
    }
    let (mut created_total, mut updated_total) = (0, 0);
    for (area, (created, updated)) in counts {
        created_total += created;
        updated_total += updated;
        tx.emit(Event {
            kind: EventKind::SupplyPointsImported {
                area,
                created,
                updated,
            },
            audience: Audience::parties([tso(area)]),
        });
    }
    Ok(Accepted::SupplyPointsImported {
        created: created_total,
        updated: updated_total,
    })
}

/// An operator registers or replaces a participant (retailer or TSO; operators are not listed).
pub(crate) fn save_participant<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    participant: &Participant,
) -> Outcome {
    acting_operator(tx, "register participants")?;
    if matches!(participant.party, PartyId::Operator(_)) {
        return Err(Rejection::InvalidField {
            field: "participant.party".to_owned(),
            reason: "operators are not listed in the participant directory".to_owned(),
        });
    }
    validate_contacts(&participant.contacts)?;
    tx.put_participant(participant.clone());
    tx.emit(directory_changed(&participant.party));
    Ok(Accepted::ParticipantSaved {
        party: participant.party.clone(),
    })
}

/// A registered participant replaces its own contacts.
pub(crate) fn update_contacts<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    contacts: &[Contact],
) -> Outcome {
    let Actor::Party(party) = tx.actor else {
        return Err(not_permitted(tx, "update contacts"));
    };
    let party = party.clone();
    let Some(mut participant) = tx.participant(&party) else {
        return Err(Rejection::UnknownParticipant { party });
    };
    validate_contacts(contacts)?;
    participant.contacts = contacts.to_vec();
    tx.put_participant(participant);
    tx.emit(directory_changed(&party));
    Ok(Accepted::ContactsUpdated { party })
}

fn validate_contacts(contacts: &[Contact]) -> Result<(), Rejection> {
    Participant::validate_contacts(contacts).map_err(|error| Rejection::InvalidField {
        field: "contacts".to_owned(),
        reason: error.to_string(),
    })
}

fn directory_changed(party: &PartyId) -> Event {
    Event {
        kind: EventKind::ParticipantChanged {
            party: party.clone(),
        },
        audience: Audience::Everyone,
    }
}

/// An operator replaces the policy. Deadlines already set keep their dates; the new numbers apply
/// to what is registered or amended from now on.
pub(crate) fn configure_policy<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    policy: &Policy,
) -> Outcome {
    acting_operator(tx, "configure the policy")?;
    policy.validate().map_err(|error| Rejection::InvalidField {
        field: "policy".to_owned(),
        reason: error.to_string(),
    })?;
    tx.put_policy(policy.clone());
    tx.emit(Event {
        kind: EventKind::PolicyChanged,
        audience: Audience::Everyone,
    });
    Ok(Accepted::PolicyConfigured)
}

/// An operator publishes a notice to every participant.
pub(crate) fn publish_notice<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    severity: Severity,
    title: &ShortText,
    body: &LongText,
) -> Outcome {
    let operator = acting_operator(tx, "publish notices")?;
    let number = tx.next_notice_number()?;
    tx.put_notice(Notice {
        number,
        severity,
        title: title.clone(),
        body: body.clone(),
        published_by: operator,
        published_at: tx.now,
    });
    tx.emit(Event {
        kind: EventKind::NoticePublished {
            number,
            severity,
            title: title.clone(),
            body: body.clone(),
        },
        audience: Audience::Everyone,
    });
    Ok(Accepted::NoticePublished { number })
}
