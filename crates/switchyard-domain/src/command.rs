//! Commands: every write the replicated log carries, and what an accepted one answers.
//!
//! A command travels inside an [`Envelope`] with the authenticated actor and the client's request
//! id. The envelope is versioned ([`VersionedEnvelope`]) because log entries outlive the code that
//! wrote them: a new variant or field goes into a new version, and old versions keep decoding.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::application::{ApplicationState, ProcedureRequest};
use crate::facility::{Facility, SupplyState};
use crate::ids::Actor;
use crate::ids::{
    ApplicationNumber, LongText, NoticeNumber, PartyId, RequestId, ShortText, StopOnBehalfNumber,
    SupplyPointNumber,
};
use crate::notice::Severity;
use crate::party::{Contact, Participant};
use crate::policy::Policy;
use crate::rejection::Rejection;
use crate::stop_on_behalf::{CustomerIdentity, StopOnBehalfState, Verdict};
use crate::time::Date;

/// One supply point in a TSO's import batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplyPointImport {
    pub number: SupplyPointNumber,
    pub facility: Facility,
    /// Only used when the supply point is new; an existing point keeps its supply state.
    pub supply: SupplyState,
}

/// Every write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A TSO (or an operator seeding a cluster) creates supply points or updates their facility
    /// data. The batch is applied whole or not at all.
    ImportSupplyPoints { points: Vec<SupplyPointImport> },
    /// An operator registers or replaces a participant.
    SaveParticipant { participant: Participant },
    /// A participant replaces its own contacts.
    UpdateContacts { contacts: Vec<Contact> },
    /// An operator replaces the business configuration.
    ConfigurePolicy { policy: Policy },
    /// The new retailer asks the current retailer to end the customer's contract.
    RegisterStopOnBehalf {
        supply_point: SupplyPointNumber,
        customer: CustomerIdentity,
        wished_date: Date,
    },
    /// The current retailer answers a request in its inbox.
    JudgeStopOnBehalf {
        number: StopOnBehalfNumber,
        verdict: Verdict,
    },
    /// The new retailer withdraws a request not yet judged.
    CancelStopOnBehalf { number: StopOnBehalfNumber },
    /// Update flag 1: a retailer registers an application.
    SubmitApplication {
        supply_point: SupplyPointNumber,
        effective_date: Date,
        request: ProcedureRequest,
    },
    /// Update flag 2: the applicant changes an application it saw at `revision`.
    AmendApplication {
        number: ApplicationNumber,
        revision: u32,
        effective_date: Date,
        request: ProcedureRequest,
    },
    /// Update flag 3: the applicant withdraws an application it saw at `revision`.
    CancelApplication {
        number: ApplicationNumber,
        revision: u32,
    },
    /// The TSO reports a matched or accepted application carried out on `actual_date`.
    CompleteApplication {
        number: ApplicationNumber,
        actual_date: Date,
    },
    /// The TSO cannot carry out a matched or accepted application.
    RejectApplication {
        number: ApplicationNumber,
        reason: ShortText,
    },
    /// An operator publishes a notice to every participant.
    PublishNotice {
        severity: Severity,
        title: ShortText,
        body: LongText,
    },
    /// The cluster moves time forward: deadlines that passed take effect. Only the system sends
    /// it; a tick does bounded work and reports whether more is due.
    Tick,
}

impl Command {
    /// Largest import batch, in supply points. Bulk imports are cut into batches of this size so
    /// that one log entry stays far below the transport's message limit.
    pub const IMPORT_BATCH_MAX: usize = 1_000;

    /// A stable fingerprint of the command's content (hex SHA-256 of its canonical JSON), used to
    /// tell a retry from a different command reusing a request id.
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("commands always serialize");
        let digest = Sha256::digest(&canonical);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(digest.len() * 2);
        for byte in digest {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        text
    }

    /// A short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Command::ImportSupplyPoints { .. } => "import_supply_points",
            Command::SaveParticipant { .. } => "save_participant",
            Command::UpdateContacts { .. } => "update_contacts",
            Command::ConfigurePolicy { .. } => "configure_policy",
            Command::RegisterStopOnBehalf { .. } => "register_stop_on_behalf",
            Command::JudgeStopOnBehalf { .. } => "judge_stop_on_behalf",
            Command::CancelStopOnBehalf { .. } => "cancel_stop_on_behalf",
            Command::SubmitApplication { .. } => "submit_application",
            Command::AmendApplication { .. } => "amend_application",
            Command::CancelApplication { .. } => "cancel_application",
            Command::CompleteApplication { .. } => "complete_application",
            Command::RejectApplication { .. } => "reject_application",
            Command::PublishNotice { .. } => "publish_notice",
            Command::Tick => "tick",
        }
    }
}

/// A command with who sent it and its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub actor: Actor,
    /// The client's request id: a retry with the same id and the same command gets the first
    /// answer back; the same id with another command is refused.
    pub request_id: RequestId,
    pub command: Command,
}

/// The serialized form of an envelope in the log. Add a version, never change one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionedEnvelope {
    V1(Envelope),
}

impl From<Envelope> for VersionedEnvelope {
    fn from(envelope: Envelope) -> VersionedEnvelope {
        VersionedEnvelope::V1(envelope)
    }
}

impl VersionedEnvelope {
    /// The envelope in the current version.
    pub fn into_current(self) -> Envelope {
        match self {
            VersionedEnvelope::V1(envelope) => envelope,
        }
    }
}

/// What an accepted command answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Accepted {
    SupplyPointsImported {
        created: u32,
        updated: u32,
    },
    ParticipantSaved {
        party: PartyId,
    },
    ContactsUpdated {
        party: PartyId,
    },
    PolicyConfigured,
    StopOnBehalf {
        number: StopOnBehalfNumber,
        state: StopOnBehalfState,
    },
    Application {
        number: ApplicationNumber,
        revision: u32,
        state: ApplicationState,
        /// The counterpart, when this write matched a pair.
        matched_with: Option<ApplicationNumber>,
    },
    NoticePublished {
        number: NoticeNumber,
    },
    Ticked {
        /// Deadlines that took effect.
        changed: u32,
        /// Whether more deadlines are due than one tick handles.
        more_due: bool,
    },
}

/// The answer to a command: accepted, or refused by a rule.
pub type Outcome = Result<Accepted, Rejection>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Fingerprints are stored in request records and compared when a request id comes back, so
    /// their text must never change: a retry after an upgrade would be taken for another command.
    #[test]
    fn a_fingerprint_is_the_lower_case_hex_sha256_of_the_canonical_json() {
        assert_eq!(
            Command::Tick.fingerprint(),
            "4d2056aa0612bb0cd4f648d6f4265a28f756c9723c504f9052c3d192f068871d"
        );
        let command = Command::PublishNotice {
            severity: Severity::Info,
            title: ShortText::parse("maintenance").expect("valid"),
            body: LongText::parse("tonight, 02:00 to 03:00").expect("valid"),
        };
        let canonical = serde_json::to_vec(&command).expect("serializes");
        let expected: String = Sha256::digest(&canonical)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(command.fingerprint(), expected);
    }
}
