//! Typed rejections: which rule refused a command, and why.
//!
//! Each rejection has a stable rule name ([`Rejection::rule`]) that operators and clients can
//! match on, and a [`RejectionKind`] from which the service layer picks the gRPC status.

use serde::{Deserialize, Serialize};

use crate::application::{ApplicationState, Procedure};
use crate::ids::{
    Actor, ApplicationNumber, Area, PartyId, RequestId, RetailerCode, StopOnBehalfNumber,
    SupplyPointNumber,
};
use crate::stop_on_behalf::StopOnBehalfState;
use crate::time::Date;

/// The family of a rejection, for mapping to a transport status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionKind {
    /// The request itself is wrong, whatever the state.
    InvalidArgument,
    /// A record the command names does not exist.
    NotFound,
    /// The thing to create exists already, or the request id was used for another command.
    AlreadyExists,
    /// The actor may not do this.
    PermissionDenied,
    /// The state does not allow it now; a business rule refused.
    FailedPrecondition,
    /// A concurrent change got there first (stale revision); re-read and retry.
    Aborted,
    /// The rules would have broken an invariant: a bug, refused to protect the state.
    Internal,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Rejection {
    #[error("{actor} may not {action}")]
    NotPermitted { actor: Actor, action: String },
    #[error("party {party} is not a registered participant")]
    UnknownParticipant { party: PartyId },
    #[error("request id {request_id} was already used for a different command")]
    RequestIdReused { request_id: RequestId },
    #[error("supply point {supply_point} does not exist")]
    SupplyPointNotFound { supply_point: SupplyPointNumber },
    #[error("application {number} does not exist")]
    ApplicationNotFound { number: ApplicationNumber },
    #[error("stop-on-behalf request {number} does not exist")]
    StopOnBehalfNotFound { number: StopOnBehalfNumber },
    #[error("supply point {supply_point} is in area {supply_point_area}, not {actor_area}")]
    OutsideArea {
        supply_point: SupplyPointNumber,
        supply_point_area: Area,
        actor_area: Area,
    },
    #[error("import batch has {count} supply points; allowed 1..={max}")]
    BatchSize { count: usize, max: usize },
    #[error("supply point {supply_point} appears twice in the batch")]
    DuplicateInBatch { supply_point: SupplyPointNumber },
    #[error("supply point {index} of the batch is invalid: {reason}")]
    InvalidImport { index: usize, reason: String },
    #[error("{field} is invalid: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("supply point {supply_point} is not being supplied")]
    NotSupplying { supply_point: SupplyPointNumber },
    #[error("supply point {supply_point} is being supplied; a restart needs a stopped point")]
    NotStopped { supply_point: SupplyPointNumber },
    #[error("{retailer} is not the current retailer of supply point {supply_point}")]
    NotCurrentRetailer {
        supply_point: SupplyPointNumber,
        retailer: RetailerCode,
    },
    #[error("{retailer} already supplies supply point {supply_point}")]
    AlreadyCurrentRetailer {
        supply_point: SupplyPointNumber,
        retailer: RetailerCode,
    },
    #[error(
        "{retailer} already has stop-on-behalf request {existing} pending on supply point {supply_point}"
    )]
    StopOnBehalfAlreadyPending {
        supply_point: SupplyPointNumber,
        retailer: RetailerCode,
        existing: StopOnBehalfNumber,
    },
    #[error("supply point {supply_point} has {max} pending stop-on-behalf requests already")]
    TooManyPendingStopOnBehalf {
        supply_point: SupplyPointNumber,
        max: usize,
    },
    #[error("stop-on-behalf request {number} is {state:?}; this needs it {needed}")]
    StopOnBehalfWrongState {
        number: StopOnBehalfNumber,
        state: StopOnBehalfState,
        needed: String,
    },
    #[error("the answer deadline of stop-on-behalf request {number} ({deadline}) has passed")]
    StopOnBehalfDeadlinePassed {
        number: StopOnBehalfNumber,
        deadline: Date,
    },
    #[error("stop-on-behalf request {number} cannot back this switch-in: {reason}")]
    StopOnBehalfNotUsable {
        number: StopOnBehalfNumber,
        reason: String,
    },
    #[error(
        "supply point {supply_point} already has an open {procedure:?} application, {existing}"
    )]
    OpenApplicationExists {
        supply_point: SupplyPointNumber,
        procedure: Procedure,
        existing: ApplicationNumber,
    },
    #[error("supply point {supply_point} already has open application {existing} effective {date}")]
    EffectiveDateTaken {
        supply_point: SupplyPointNumber,
        date: Date,
        existing: ApplicationNumber,
    },
    #[error(
        "the open {counterpart_procedure:?} {counterpart} on the same supply point is effective {counterpart_date}, not {date}"
    )]
    CounterpartDateMismatch {
        counterpart: ApplicationNumber,
        counterpart_procedure: Procedure,
        counterpart_date: Date,
        date: Date,
    },
    #[error(
        "{procedure:?} effective {date} conflicts with the open applications on supply point {supply_point}: {reason}"
    )]
    TimelineConflict {
        supply_point: SupplyPointNumber,
        procedure: Procedure,
        date: Date,
        reason: String,
    },
    #[error("effective date {date} is too soon: the lead time allows {earliest} at the earliest")]
    LeadTimeNotMet { date: Date, earliest: Date },
    #[error("effective date {date} is too far ahead: {latest} at the latest")]
    EffectiveDateTooFar { date: Date, latest: Date },
    #[error("ampere change: {reason}")]
    AmpereChangeNotApplicable { reason: String },
    #[error("an amend cannot change the procedure from {from:?} to {to:?}")]
    ProcedureChanged { from: Procedure, to: Procedure },
    #[error("application {number} is {state:?} and can no longer be {action}")]
    ApplicationLocked {
        number: ApplicationNumber,
        state: ApplicationState,
        action: String,
    },
    #[error("application {number} is at revision {current}, not {given}: re-read it and retry")]
    StaleRevision {
        number: ApplicationNumber,
        given: u32,
        current: u32,
    },
    #[error("application {number} has reached its limit of {max} amends")]
    TooManyAmends {
        number: ApplicationNumber,
        max: usize,
    },
    #[error(
        "application {number} is {state:?}; the TSO acts only on matched or accepted applications"
    )]
    NotAwaitingTso {
        number: ApplicationNumber,
        state: ApplicationState,
    },
    #[error("actual date {actual_date} is not allowed: {reason}")]
    ActualDateInvalid { actual_date: Date, reason: String },
    #[error("invariant {invariant} would break: {detail}")]
    InvariantWouldBreak { invariant: u8, detail: String },
}

impl Rejection {
    /// Every rule name [`Rejection::rule`] can return, for docs and for the test that proves each
    /// one can be triggered.
    pub const RULES: [&'static str; 34] = [
        "not_permitted",
        "unknown_participant",
        "request_id_reused",
        "supply_point_not_found",
        "application_not_found",
        "stop_on_behalf_not_found",
        "outside_area",
        "batch_size",
        "duplicate_in_batch",
        "invalid_import",
        "invalid_field",
        "not_supplying",
        "not_stopped",
        "not_current_retailer",
        "already_current_retailer",
        "stop_on_behalf_already_pending",
        "too_many_pending_stop_on_behalf",
        "stop_on_behalf_wrong_state",
        "stop_on_behalf_deadline_passed",
        "stop_on_behalf_not_usable",
        "open_application_exists",
        "effective_date_taken",
        "counterpart_date_mismatch",
        "timeline_conflict",
        "lead_time_not_met",
        "effective_date_too_far",
        "ampere_change_not_applicable",
        "procedure_changed",
        "application_locked",
        "stale_revision",
        "too_many_amends",
        "not_awaiting_tso",
        "actual_date_invalid",
        "invariant_would_break",
    ];

    /// The stable name of the rule that refused, for clients, logs and docs.
    pub fn rule(&self) -> &'static str {
        match self {
            Rejection::NotPermitted { .. } => "not_permitted",
            Rejection::UnknownParticipant { .. } => "unknown_participant",
            Rejection::RequestIdReused { .. } => "request_id_reused",
            Rejection::SupplyPointNotFound { .. } => "supply_point_not_found",
            Rejection::ApplicationNotFound { .. } => "application_not_found",
            Rejection::StopOnBehalfNotFound { .. } => "stop_on_behalf_not_found",
            Rejection::OutsideArea { .. } => "outside_area",
            Rejection::BatchSize { .. } => "batch_size",
            Rejection::DuplicateInBatch { .. } => "duplicate_in_batch",
            Rejection::InvalidImport { .. } => "invalid_import",
            Rejection::InvalidField { .. } => "invalid_field",
            Rejection::NotSupplying { .. } => "not_supplying",
            Rejection::NotStopped { .. } => "not_stopped",
            Rejection::NotCurrentRetailer { .. } => "not_current_retailer",
            Rejection::AlreadyCurrentRetailer { .. } => "already_current_retailer",
            Rejection::StopOnBehalfAlreadyPending { .. } => "stop_on_behalf_already_pending",
            Rejection::TooManyPendingStopOnBehalf { .. } => "too_many_pending_stop_on_behalf",
            Rejection::StopOnBehalfWrongState { .. } => "stop_on_behalf_wrong_state",
            Rejection::StopOnBehalfDeadlinePassed { .. } => "stop_on_behalf_deadline_passed",
            Rejection::StopOnBehalfNotUsable { .. } => "stop_on_behalf_not_usable",
            Rejection::OpenApplicationExists { .. } => "open_application_exists",
            Rejection::EffectiveDateTaken { .. } => "effective_date_taken",
            Rejection::CounterpartDateMismatch { .. } => "counterpart_date_mismatch",
            Rejection::TimelineConflict { .. } => "timeline_conflict",
            Rejection::LeadTimeNotMet { .. } => "lead_time_not_met",
            Rejection::EffectiveDateTooFar { .. } => "effective_date_too_far",
            Rejection::AmpereChangeNotApplicable { .. } => "ampere_change_not_applicable",
            Rejection::ProcedureChanged { .. } => "procedure_changed",
            Rejection::ApplicationLocked { .. } => "application_locked",
            Rejection::StaleRevision { .. } => "stale_revision",
            Rejection::TooManyAmends { .. } => "too_many_amends",
            Rejection::NotAwaitingTso { .. } => "not_awaiting_tso",
            Rejection::ActualDateInvalid { .. } => "actual_date_invalid",
            Rejection::InvariantWouldBreak { .. } => "invariant_would_break",
        }
    }

    /// The family, for the transport's status code.
    pub fn kind(&self) -> RejectionKind {
        match self {
            Rejection::NotPermitted { .. }
            | Rejection::UnknownParticipant { .. }
            | Rejection::OutsideArea { .. } => RejectionKind::PermissionDenied,
            Rejection::RequestIdReused { .. } | Rejection::StopOnBehalfAlreadyPending { .. } => {
                RejectionKind::AlreadyExists
            }
            Rejection::SupplyPointNotFound { .. }
            | Rejection::ApplicationNotFound { .. }
            | Rejection::StopOnBehalfNotFound { .. } => RejectionKind::NotFound,
            Rejection::BatchSize { .. }
            | Rejection::DuplicateInBatch { .. }
            | Rejection::InvalidImport { .. }
            | Rejection::InvalidField { .. }
            | Rejection::ProcedureChanged { .. } => RejectionKind::InvalidArgument,
            Rejection::StaleRevision { .. } => RejectionKind::Aborted,
            Rejection::InvariantWouldBreak { .. } => RejectionKind::Internal,
            Rejection::NotSupplying { .. }
            | Rejection::NotStopped { .. }
            | Rejection::NotCurrentRetailer { .. }
            | Rejection::AlreadyCurrentRetailer { .. }
            | Rejection::TooManyPendingStopOnBehalf { .. }
            | Rejection::StopOnBehalfWrongState { .. }
            | Rejection::StopOnBehalfDeadlinePassed { .. }
            | Rejection::StopOnBehalfNotUsable { .. }
            | Rejection::OpenApplicationExists { .. }
            | Rejection::EffectiveDateTaken { .. }
            | Rejection::CounterpartDateMismatch { .. }
            | Rejection::TimelineConflict { .. }
            | Rejection::LeadTimeNotMet { .. }
            | Rejection::EffectiveDateTooFar { .. }
            | Rejection::AmpereChangeNotApplicable { .. }
            | Rejection::ApplicationLocked { .. }
            | Rejection::TooManyAmends { .. }
            | Rejection::NotAwaitingTso { .. }
            | Rejection::ActualDateInvalid { .. } => RejectionKind::FailedPrecondition,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rejection;

    /// Every rule is listed in the operators' table in `docs/RULES.md`, so the docs stay true.
    #[test]
    fn every_rule_is_documented() {
        let table = include_str!("../../../docs/RULES.md");
        for rule in Rejection::RULES {
            assert!(
                table.contains(&format!("| `{rule}` |")),
                "docs/RULES.md lacks {rule}"
            );
        }
    }
}
