//! Applications: the procedures retailers send to a TSO (codes 01..07) and their states.

use serde::{Deserialize, Serialize};

use crate::facility::Capacity;
use crate::ids::{
    ApplicationNumber, PersonName, PostalAddress, RetailerCode, ShortText, StopOnBehalfNumber,
    SupplyPointNumber,
};
use crate::time::{Date, Timestamp};

/// The procedure codes of `DOMAIN.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Procedure {
    /// 01: stop supply, meter stays.
    StopSupply = 1,
    /// 02: stop supply and remove the meter.
    StopSupplyWithRemoval = 2,
    /// 03: switch-out, sent by the current retailer.
    SwitchOut = 3,
    /// 04: restart on move-in (再点).
    Restart = 4,
    /// 05: switch-in, sent by the new retailer.
    SwitchIn = 5,
    /// 06: ampere change (low voltage only).
    AmpereChange = 6,
    /// 07: customer information change.
    CustomerInfoChange = 7,
}

impl Procedure {
    /// All seven procedures in code order.
    pub const ALL: [Procedure; 7] = [
        Procedure::StopSupply,
        Procedure::StopSupplyWithRemoval,
        Procedure::SwitchOut,
        Procedure::Restart,
        Procedure::SwitchIn,
        Procedure::AmpereChange,
        Procedure::CustomerInfoChange,
    ];

    /// The two-digit code as a number.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Switch-in and switch-out are matched in pairs; the others are accepted alone.
    pub fn is_switching(self) -> bool {
        matches!(self, Procedure::SwitchIn | Procedure::SwitchOut)
    }
}

/// The update flag every write carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum UpdateFlag {
    Register = 1,
    Amend = 2,
    Cancel = 3,
}

/// The new customer's data on a restart or a customer information change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerDetails {
    pub holder_name: PersonName,
    pub supply_address: PostalAddress,
}

/// What an application asks for, with the data its procedure needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcedureRequest {
    /// 01 / 02.
    StopSupply { meter_removal: bool },
    /// 03.
    SwitchOut,
    /// 04.
    Restart { customer: CustomerDetails },
    /// 05: must name an OK stop-on-behalf request of the same retailer and supply point.
    SwitchIn { stop_on_behalf: StopOnBehalfNumber },
    /// 06: the new ampere breaker size.
    AmpereChange { capacity: Capacity },
    /// 07.
    CustomerInfoChange { customer: CustomerDetails },
}

impl ProcedureRequest {
    /// The procedure code this request belongs to.
    pub fn procedure(&self) -> Procedure {
        match self {
            ProcedureRequest::StopSupply {
                meter_removal: false,
            } => Procedure::StopSupply,
            ProcedureRequest::StopSupply {
                meter_removal: true,
            } => Procedure::StopSupplyWithRemoval,
            ProcedureRequest::SwitchOut => Procedure::SwitchOut,
            ProcedureRequest::Restart { .. } => Procedure::Restart,
            ProcedureRequest::SwitchIn { .. } => Procedure::SwitchIn,
            ProcedureRequest::AmpereChange { .. } => Procedure::AmpereChange,
            ProcedureRequest::CustomerInfoChange { .. } => Procedure::CustomerInfoChange,
        }
    }
}

/// Where an application stands.
///
/// Switching: `AwaitingMatch -> Matched -> Completed | TsoRejected`, or `AwaitingMatch ->
/// Cancelled | Unmatched`. Other procedures: `Received -> Accepted -> Completed | Rejected`, or
/// `Received -> Cancelled | Rejected`. A submission that fails its checks is refused outright and
/// never becomes an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ApplicationState {
    /// Other procedures: registered, still amendable.
    Received,
    /// Switching: waiting for its counterpart.
    AwaitingMatch,
    /// Switching: paired with its counterpart; locked.
    Matched,
    /// Other procedures: the deadline passed; locked, waiting for the TSO.
    Accepted,
    /// Withdrawn by the applicant (update flag 3).
    Cancelled,
    /// Switching: no counterpart by the deadline.
    Unmatched,
    /// Carried out by the TSO.
    Completed,
    /// Switching: the TSO could not carry out a matched pair.
    TsoRejected,
    /// Other procedures: refused by the TSO.
    Rejected,
}

impl ApplicationState {
    /// Whether the application still occupies its supply point.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ApplicationState::Received
                | ApplicationState::AwaitingMatch
                | ApplicationState::Matched
                | ApplicationState::Accepted
        )
    }

    /// Whether the applicant may still amend or cancel.
    pub fn is_amendable(self) -> bool {
        matches!(
            self,
            ApplicationState::Received | ApplicationState::AwaitingMatch
        )
    }

    /// Whether the TSO is expected to act (complete or reject).
    pub fn awaits_tso(self) -> bool {
        matches!(self, ApplicationState::Matched | ApplicationState::Accepted)
    }
}

/// One accepted amend or cancel, remembered so that a replay of the same transition (same update
/// flag, same revision, same content) returns the first answer instead of a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub flag: UpdateFlag,
    /// The revision the transition was applied to.
    pub from_revision: u32,
    /// Fingerprint of the command's content.
    pub fingerprint: String,
}

/// An application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub number: ApplicationNumber,
    pub supply_point: SupplyPointNumber,
    pub applicant: RetailerCode,
    pub request: ProcedureRequest,
    pub effective_date: Date,
    /// Last day on which it may be matched (switching) or stay amendable (others).
    pub deadline: Date,
    /// Starts at 1 and grows with every change; amends and cancels name the revision they saw.
    pub revision: u32,
    pub state: ApplicationState,
    pub submitted_at: Timestamp,
    pub updated_at: Timestamp,
    /// The counterpart, once matched.
    pub matched_with: Option<ApplicationNumber>,
    /// The date the TSO carried it out, once completed.
    pub completed_on: Option<Date>,
    /// Why the TSO refused it, or why it lapsed.
    pub rejection_reason: Option<ShortText>,
    /// Accepted amends and cancels, oldest first.
    pub transitions: Vec<Transition>,
}

impl Application {
    /// Most amends (and the one cancel) an application accepts.
    pub const TRANSITIONS_MAX: usize = 16;

    /// The procedure code.
    pub fn procedure(&self) -> Procedure {
        self.request.procedure()
    }
}
