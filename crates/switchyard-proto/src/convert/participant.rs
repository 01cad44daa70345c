//! Participants and their contacts: the directory that must outlive any outage.

use switchyard_domain::{
    Contact, EmailAddress, Participant, PartyId, PersonName, PhoneNumber, ShortText,
};

use super::{bounded_list, each, required_text};
use crate::limits::CONTACTS_MAX;
use crate::{WireError, v1};

impl From<Contact> for v1::Contact {
    fn from(contact: Contact) -> v1::Contact {
        v1::Contact {
            name: contact.name.to_string(),
            role: contact.role.to_string(),
            email: contact.email.to_string(),
            phone: contact.phone.to_string(),
        }
    }
}

impl TryFrom<v1::Contact> for Contact {
    type Error = WireError;

    fn try_from(wire: v1::Contact) -> Result<Contact, WireError> {
        Ok(Contact {
            name: required_text("name", &wire.name, PersonName::parse)?,
            role: required_text("role", &wire.role, ShortText::parse)?,
            email: required_text("email", &wire.email, EmailAddress::parse)?,
            phone: required_text("phone", &wire.phone, PhoneNumber::parse)?,
        })
    }
}

/// A `contacts` list: 1..=16 contacts, each converted, errors naming the entry.
pub(crate) fn contacts_from_wire(
    field: &str,
    contacts: Vec<v1::Contact>,
) -> Result<Vec<Contact>, WireError> {
    if contacts.is_empty() {
        return Err(WireError::missing(field));
    }
    let contacts = bounded_list(field, contacts, CONTACTS_MAX, each)?;
    Participant::validate_contacts(&contacts)
        .map_err(|source| WireError::invalid(field, source))?;
    Ok(contacts)
}

impl From<Participant> for v1::Participant {
    fn from(participant: Participant) -> v1::Participant {
        v1::Participant {
            party_id: participant.party.to_string(),
            name: participant.name.to_string(),
            contacts: participant.contacts.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<v1::Participant> for Participant {
    type Error = WireError;

    fn try_from(wire: v1::Participant) -> Result<Participant, WireError> {
        Ok(Participant {
            party: required_text("party_id", &wire.party_id, PartyId::parse)?,
            name: required_text("name", &wire.name, PersonName::parse)?,
            contacts: contacts_from_wire("contacts", wire.contacts)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use switchyard_domain::{OperatorId, RetailerCode};

    use super::*;
    use crate::convert::samples;

    /// A contact survives domain -> wire -> domain, Japanese names included.
    #[test]
    fn contact_round_trip() {
        let contact = samples::contact("佐藤 花子");
        assert_eq!(
            Contact::try_from(v1::Contact::from(contact.clone())).unwrap(),
            contact
        );
    }

    /// Participants of every kind survive domain -> wire -> domain.
    #[test]
    fn participant_round_trip() {
        let retailer = samples::participant();
        let tso = Participant {
            party: PartyId::Tso(switchyard_domain::Area::Chugoku),
            ..samples::participant()
        };
        let operator = Participant {
            party: PartyId::Operator(OperatorId::parse("occto.ops").unwrap()),
            contacts: (0..16)
                .map(|index| samples::contact(&format!("Ops {index}")))
                .collect(),
            ..samples::participant()
        };
        for participant in [retailer, tso, operator] {
            assert_eq!(
                Participant::try_from(v1::Participant::from(participant.clone())).unwrap(),
                participant
            );
        }
        assert_eq!(
            PartyId::Retailer(RetailerCode::from_number(123).unwrap()).to_string(),
            "A0123"
        );
    }

    /// Seventeen contacts exceed the maximum of sixteen: too many `contacts`.
    #[test]
    fn too_many_contacts() {
        let mut wire = v1::Participant::from(samples::participant());
        wire.contacts = (0..17)
            .map(|index| samples::contact(&format!("Desk {index}")).into())
            .collect();
        assert_eq!(
            Participant::try_from(wire).unwrap_err(),
            WireError::TooMany {
                field: "contacts".to_owned(),
                count: 17,
                max: 16
            }
        );
    }

    /// A participant without contacts is missing `contacts`.
    #[test]
    fn no_contacts() {
        let mut wire = v1::Participant::from(samples::participant());
        wire.contacts.clear();
        assert_eq!(
            Participant::try_from(wire).unwrap_err(),
            WireError::missing("contacts")
        );
    }

    /// A malformed e-mail address is invalid, naming the contact's index.
    #[test]
    fn bad_email() {
        let mut wire = v1::Participant::from(samples::participant());
        wire.contacts[1].email = "no-at-sign".to_owned();
        let error = Participant::try_from(wire).unwrap_err();
        assert!(matches!(error, WireError::Invalid { .. }));
        assert_eq!(error.field(), "contacts[1].email");
    }

    /// A malformed party id ("B0123") is invalid `party_id`; an empty one is missing.
    #[test]
    fn bad_party_id() {
        let mut wire = v1::Participant::from(samples::participant());
        wire.party_id = "B0123".to_owned();
        assert_eq!(
            Participant::try_from(wire.clone()).unwrap_err().field(),
            "party_id"
        );
        wire.party_id.clear();
        assert_eq!(
            Participant::try_from(wire).unwrap_err(),
            WireError::missing("party_id")
        );
    }
}
