//! Stop-on-behalf requests (廃止取次): the new retailer asks the current retailer, through the
//! system, to end its contract so that the customer can switch.

use serde::{Deserialize, Serialize};

use crate::ids::{
    ApplicationNumber, ContractNumber, PersonName, PostalAddress, RetailerCode, StopOnBehalfNumber,
    SupplyPointNumber, ValueError, out_of_range,
};
use crate::time::{Date, Timestamp};

/// The identity data the customer gave the new retailer, checked by the current retailer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerIdentity {
    /// Contract number with the current retailer.
    pub contract_number: ContractNumber,
    /// The contract holder's name.
    pub holder_name: PersonName,
    /// The supply address.
    pub supply_address: PostalAddress,
}

/// Why the current retailer refused a request (NG); up to nine flags at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NgReason {
    SupplyPointNumberMismatch,
    ContractNumberMismatch,
    NameMismatch,
    AddressMismatch,
    ContractInDispute,
    ContractAlreadyEnding,
    SwitchAlreadyInProgress,
    CustomerUnreachable,
    Other,
}

impl NgReason {
    /// All nine reasons, in flag order.
    pub const ALL: [NgReason; 9] = [
        NgReason::SupplyPointNumberMismatch,
        NgReason::ContractNumberMismatch,
        NgReason::NameMismatch,
        NgReason::AddressMismatch,
        NgReason::ContractInDispute,
        NgReason::ContractAlreadyEnding,
        NgReason::SwitchAlreadyInProgress,
        NgReason::CustomerUnreachable,
        NgReason::Other,
    ];
}

/// A non-empty set of distinct NG reasons, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<NgReason>", into = "Vec<NgReason>")]
pub struct NgReasons(Vec<NgReason>);

impl NgReasons {
    /// At least one reason, duplicates refused.
    pub fn new(mut reasons: Vec<NgReason>) -> Result<NgReasons, ValueError> {
        let count = reasons.len();
        reasons.sort();
        reasons.dedup();
        if reasons.is_empty() || reasons.len() != count {
            return Err(out_of_range(
                "ng reasons",
                "give 1..=9 distinct reasons for an NG judgement",
            ));
        }
        Ok(NgReasons(reasons))
    }

    /// The reasons, sorted.
    pub fn reasons(&self) -> &[NgReason] {
        &self.0
    }
}

impl TryFrom<Vec<NgReason>> for NgReasons {
    type Error = ValueError;
    fn try_from(reasons: Vec<NgReason>) -> Result<NgReasons, ValueError> {
        NgReasons::new(reasons)
    }
}

impl From<NgReasons> for Vec<NgReason> {
    fn from(reasons: NgReasons) -> Vec<NgReason> {
        reasons.0
    }
}

/// The current retailer's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Ok,
    Ng(NgReasons),
}

/// Where a stop-on-behalf request stands: `Registered -> Ok | Ng | Cancelled | Expired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StopOnBehalfState {
    /// Waiting in the current retailer's inbox.
    Registered,
    /// The current retailer agreed; the new retailer may submit a switch-in.
    Ok,
    /// The current retailer refused. Final; the new retailer may register again.
    Ng(NgReasons),
    /// Withdrawn by the new retailer.
    Cancelled,
    /// Not judged in time.
    Expired,
}

/// A stop-on-behalf request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopOnBehalfRequest {
    pub number: StopOnBehalfNumber,
    pub supply_point: SupplyPointNumber,
    /// The new retailer, who registered the request.
    pub requester: RetailerCode,
    /// The current retailer when the request was registered, who judges it.
    pub addressee: RetailerCode,
    pub customer: CustomerIdentity,
    /// The date the customer wishes to switch on.
    pub wished_date: Date,
    pub state: StopOnBehalfState,
    pub registered_at: Timestamp,
    /// Last day on which it may be judged; after it the request expires.
    pub answer_deadline: Date,
    /// When it left `Registered`.
    pub decided_at: Option<Timestamp>,
    /// The completed switch-in that used this OK, if any. A used OK backs no further switch-in.
    pub used_by: Option<ApplicationNumber>,
}

impl StopOnBehalfRequest {
    /// Whether the request still waits for a judgement.
    pub fn is_pending(&self) -> bool {
        self.state == StopOnBehalfState::Registered
    }
}
