//! Participants and their contacts: the directory that must outlive any outage (in 2022 the
//! contacts lived only inside the failed system).

use serde::{Deserialize, Serialize};

use crate::ids::{
    EmailAddress, PartyId, PersonName, PhoneNumber, ShortText, ValueError, out_of_range,
};

/// Someone to reach at a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: PersonName,
    /// What this contact is for, e.g. "operations desk" or "outage notices".
    pub role: ShortText,
    pub email: EmailAddress,
    pub phone: PhoneNumber,
}

/// A retailer, TSO or operator organisation with its contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub party: PartyId,
    /// The organisation's name.
    pub name: PersonName,
    pub contacts: Vec<Contact>,
}

impl Participant {
    /// Most contacts per participant.
    pub const CONTACTS_MAX: usize = 16;

    /// At least one contact and at most [`Participant::CONTACTS_MAX`].
    pub fn validate_contacts(contacts: &[Contact]) -> Result<(), ValueError> {
        if contacts.is_empty() || contacts.len() > Self::CONTACTS_MAX {
            return Err(out_of_range(
                "contacts",
                format!("{} contacts; a participant has 1..=16", contacts.len()),
            ));
        }
        Ok(())
    }
}
