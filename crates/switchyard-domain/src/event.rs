//! Events: what every accepted transition tells the participants who may see it.
//!
//! The domain decides each event's content and audience; the store numbers them with the log
//! index of the entry that produced them (the revision) and their position within it.

use serde::{Deserialize, Serialize};

use crate::application::{ApplicationState, Procedure};
use crate::ids::{
    ApplicationNumber, Area, LongText, NoticeNumber, PartyId, RetailerCode, ShortText,
    StopOnBehalfNumber, SupplyPointNumber,
};
use crate::notice::Severity;
use crate::stop_on_behalf::StopOnBehalfState;
use crate::time::Date;

/// Who may see an event. Operators see every event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// Every participant (notices).
    Everyone,
    /// These parties only, sorted and without duplicates.
    Parties(Vec<PartyId>),
}

impl Audience {
    /// An audience of the given parties.
    pub fn parties(parties: impl IntoIterator<Item = PartyId>) -> Audience {
        let mut parties: Vec<PartyId> = parties.into_iter().collect();
        parties.sort();
        parties.dedup();
        Audience::Parties(parties)
    }

    /// Whether `party` may see the event.
    pub fn includes(&self, party: &PartyId) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Parties(parties) => {
                matches!(party, PartyId::Operator(_)) || parties.binary_search(party).is_ok()
            }
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    SupplyPointsImported {
        area: Area,
        created: u32,
        updated: u32,
    },
    ParticipantChanged {
        party: PartyId,
    },
    PolicyChanged,
    StopOnBehalfRegistered {
        number: StopOnBehalfNumber,
        supply_point: SupplyPointNumber,
        requester: RetailerCode,
        addressee: RetailerCode,
    },
    /// A request was judged, cancelled or expired.
    StopOnBehalfDecided {
        number: StopOnBehalfNumber,
        state: StopOnBehalfState,
    },
    ApplicationSubmitted {
        number: ApplicationNumber,
        procedure: Procedure,
        supply_point: SupplyPointNumber,
        applicant: RetailerCode,
        effective_date: Date,
    },
    /// An application changed state or content (amended, cancelled, accepted, unmatched,
    /// completed or rejected).
    ApplicationChanged {
        number: ApplicationNumber,
        revision: u32,
        state: ApplicationState,
        effective_date: Date,
    },
    ApplicationsMatched {
        switch_in: ApplicationNumber,
        switch_out: ApplicationNumber,
        supply_point: SupplyPointNumber,
        effective_date: Date,
    },
    /// A completed switch or restart changed who supplies the point.
    SupplierChanged {
        supply_point: SupplyPointNumber,
        from: Option<RetailerCode>,
        to: RetailerCode,
        since: Date,
    },
    SupplyStopped {
        supply_point: SupplyPointNumber,
        last_day: Date,
    },
    NoticePublished {
        number: NoticeNumber,
        severity: Severity,
        title: ShortText,
        body: LongText,
    },
}

/// An event and who may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub audience: Audience,
}
