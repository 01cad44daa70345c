//! The recorded history: what each client asked, when, and what it saw; the watch streams it
//! read; and what every replica held at the end. Everything is serde, so that a failing run can
//! be saved as JSON and checked again.

use std::fmt;

use serde::{Deserialize, Serialize};
use switchyard_domain::{
    Accepted, ApplicationNumber, ApplicationState, Date, MemoryState, PartyId, Procedure,
    RejectionKind, RequestId, RequestKey, RetailerCode, StateView, StopOnBehalfNumber,
    StopOnBehalfState, StoredEvent, SupplyPointNumber, SupplyState, Verdict, Write,
};

/// A client of the workload: one logical caller issuing one operation at a time.
pub type ClientId = u32;

/// Everything a chaos run recorded on the client side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The supply points the workload works on, as they were before its first operation. Only
    /// these points are checked for linearizability.
    pub initial_points: Vec<InitialPoint>,
    /// Every operation, in any order (the checkers order them by time).
    pub operations: Vec<OperationRecord>,
    /// Every event stream a client read.
    pub watch_streams: Vec<WatchStream>,
}

/// A supply point before the run: who supplied it. The workload must be the only writer on it,
/// and it must carry no open application and no pending stop-on-behalf request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialPoint {
    pub supply_point: SupplyPointNumber,
    pub current_retailer: Option<RetailerCode>,
}

/// One operation: who asked what, when, and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRecord {
    pub client: ClientId,
    /// The party the client authenticates as.
    pub actor: PartyId,
    pub operation: Operation,
    /// When the client sent the request, in nanoseconds since the run began (one clock for every
    /// client of the run).
    pub invoked_at_ns: u64,
    /// When the answer arrived, or when the client gave up on an `Unknown` outcome.
    pub completed_at_ns: u64,
    pub outcome: Outcome,
}

/// What the client asked, in terms of the public API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operation {
    /// `LookUpSupplyPoint`.
    LookUp {
        supply_point: SupplyPointNumber,
        consistency: ReadConsistency,
    },
    /// `RegisterStopOnBehalf` (the customer identity is not modelled).
    RegisterStopOnBehalf {
        request_id: RequestId,
        supply_point: SupplyPointNumber,
        wished_date: Date,
    },
    /// `JudgeStopOnBehalf`.
    JudgeStopOnBehalf {
        request_id: RequestId,
        supply_point: SupplyPointNumber,
        number: StopOnBehalfNumber,
        verdict: Verdict,
    },
    /// `CancelStopOnBehalf`.
    CancelStopOnBehalf {
        request_id: RequestId,
        supply_point: SupplyPointNumber,
        number: StopOnBehalfNumber,
    },
    /// `SubmitApplication` of a switch-out (procedure 03).
    SubmitSwitchOut {
        request_id: RequestId,
        supply_point: SupplyPointNumber,
        effective_date: Date,
    },
    /// `SubmitApplication` of a switch-in (procedure 05) backed by an OK stop-on-behalf request.
    SubmitSwitchIn {
        request_id: RequestId,
        supply_point: SupplyPointNumber,
        effective_date: Date,
        stop_on_behalf: StopOnBehalfNumber,
    },
    /// `CancelApplication` (update flag 3) at the application revision the client saw.
    CancelApplication {
        request_id: RequestId,
        supply_point: SupplyPointNumber,
        number: ApplicationNumber,
        application_revision: u32,
    },
    /// `TsoService.CompleteApplication`.
    CompleteApplication {
        request_id: RequestId,
        supply_point: SupplyPointNumber,
        number: ApplicationNumber,
        actual_date: Date,
    },
    /// `TsoService.RejectApplication`.
    RejectApplication {
        request_id: RequestId,
        supply_point: SupplyPointNumber,
        number: ApplicationNumber,
    },
}

/// The consistency a look-up asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadConsistency {
    /// Served from the answering node's applied state; may lag. Not checked for linearizability.
    Local,
    /// Confirmed with the leader first.
    Linearizable,
}

impl Operation {
    /// The supply point the operation works on.
    pub fn supply_point(&self) -> SupplyPointNumber {
        match self {
            Operation::LookUp { supply_point, .. }
            | Operation::RegisterStopOnBehalf { supply_point, .. }
            | Operation::JudgeStopOnBehalf { supply_point, .. }
            | Operation::CancelStopOnBehalf { supply_point, .. }
            | Operation::SubmitSwitchOut { supply_point, .. }
            | Operation::SubmitSwitchIn { supply_point, .. }
            | Operation::CancelApplication { supply_point, .. }
            | Operation::CompleteApplication { supply_point, .. }
            | Operation::RejectApplication { supply_point, .. } => *supply_point,
        }
    }

    /// The request id of a write; `None` for a read.
    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            Operation::LookUp { .. } => None,
            Operation::RegisterStopOnBehalf { request_id, .. }
            | Operation::JudgeStopOnBehalf { request_id, .. }
            | Operation::CancelStopOnBehalf { request_id, .. }
            | Operation::SubmitSwitchOut { request_id, .. }
            | Operation::SubmitSwitchIn { request_id, .. }
            | Operation::CancelApplication { request_id, .. }
            | Operation::CompleteApplication { request_id, .. }
            | Operation::RejectApplication { request_id, .. } => Some(request_id),
        }
    }

    /// Whether the operation writes.
    pub fn is_write(&self) -> bool {
        self.request_id().is_some()
    }

    /// A short name for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::LookUp { .. } => "look-up",
            Operation::RegisterStopOnBehalf { .. } => "register stop-on-behalf",
            Operation::JudgeStopOnBehalf { .. } => "judge stop-on-behalf",
            Operation::CancelStopOnBehalf { .. } => "cancel stop-on-behalf",
            Operation::SubmitSwitchOut { .. } => "submit switch-out",
            Operation::SubmitSwitchIn { .. } => "submit switch-in",
            Operation::CancelApplication { .. } => "cancel application",
            Operation::CompleteApplication { .. } => "complete application",
            Operation::RejectApplication { .. } => "reject application",
        }
    }

    /// The same operation with the request id left out: two attempts with one request id must
    /// carry equal contents, or the second is `request_id_reused`.
    pub(crate) fn content_without_request_id(&self) -> String {
        let mut value = serde_json::to_value(self).expect("operations serialize");
        if let Some(fields) = value
            .as_object_mut()
            .and_then(|variant| variant.values_mut().next())
            .and_then(|fields| fields.as_object_mut())
        {
            fields.remove("request_id");
        }
        value.to_string()
    }
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// The call succeeded, with what it answered.
    Ok(Observed),
    /// The call was refused: it did not take effect.
    Refused(Refusal),
    /// Timeout or transport error (or `UNAVAILABLE outcome_unknown`): it may or may not have
    /// taken effect, at any time after it was sent.
    Unknown { error: String },
}

/// A refused call: the gRPC code and the reason Switchyard named (`x-switchyard-rule`, the
/// domain's rule name for a business rule; empty when there was none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: String,
    pub rule: String,
}

/// What a successful call answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observed {
    LookUp(LookUpResult),
    StopOnBehalf(StopOnBehalfAnswer),
    Application(ApplicationAnswer),
}

/// A stop-on-behalf write's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopOnBehalfAnswer {
    pub number: StopOnBehalfNumber,
    pub state: StopOnBehalfState,
    /// The log revision of the entry that answered, when the response said.
    pub revision: Option<u64>,
    /// `x-switchyard-replayed`, when the client read it.
    pub replayed: Option<bool>,
}

/// An application write's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationAnswer {
    pub number: ApplicationNumber,
    pub application_revision: u32,
    pub state: ApplicationState,
    pub matched_with: Option<ApplicationNumber>,
    /// The log revision of the entry that answered, when the response said.
    pub revision: Option<u64>,
    /// `x-switchyard-replayed`, when the client read it.
    pub replayed: Option<bool>,
}

/// What a look-up showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookUpResult {
    pub supply: ObservedSupply,
    /// The applications in progress (open), in any order.
    pub open_applications: Vec<ApplicationInProgress>,
    /// The stop-on-behalf requests awaiting judgement, in any order.
    pub pending_stop_on_behalf: Vec<StopOnBehalfNumber>,
    /// The revision the answering node had applied.
    pub served_at_revision: Option<u64>,
}

/// The supply state a look-up showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObservedSupply {
    Stopped,
    /// `retailer` is `None` when the caller may not see who supplies the point.
    Supplying {
        retailer: Option<RetailerCode>,
    },
}

/// One application in progress, as a look-up shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationInProgress {
    pub number: ApplicationNumber,
    pub procedure: Procedure,
    pub state: ApplicationState,
    pub effective_date: Date,
}

impl Outcome {
    /// The outcome of a write decided by the rules, as a client of the public API would record
    /// it: for workloads that drive the domain or a node in-process, and for tests.
    pub fn from_domain(
        outcome: &switchyard_domain::Outcome,
        revision: Option<u64>,
        replayed: Option<bool>,
    ) -> Outcome {
        match outcome {
            Ok(Accepted::Application {
                number,
                revision: application_revision,
                state,
                matched_with,
            }) => Outcome::Ok(Observed::Application(ApplicationAnswer {
                number: *number,
                application_revision: *application_revision,
                state: *state,
                matched_with: *matched_with,
                revision,
                replayed,
            })),
            Ok(Accepted::StopOnBehalf { number, state }) => {
                Outcome::Ok(Observed::StopOnBehalf(StopOnBehalfAnswer {
                    number: *number,
                    state: state.clone(),
                    revision,
                    replayed,
                }))
            }
            Ok(other) => Outcome::Unknown {
                error: format!("an answer outside the chaos model: {other:?}"),
            },
            Err(rejection) => Outcome::Refused(Refusal {
                code: grpc_code(rejection.kind()).to_owned(),
                rule: rejection.rule().to_owned(),
            }),
        }
    }
}

/// The gRPC code name the service maps a rejection kind to (see the errors documentation).
fn grpc_code(kind: RejectionKind) -> &'static str {
    match kind {
        RejectionKind::InvalidArgument => "INVALID_ARGUMENT",
        RejectionKind::NotFound => "NOT_FOUND",
        RejectionKind::AlreadyExists => "ALREADY_EXISTS",
        RejectionKind::PermissionDenied => "PERMISSION_DENIED",
        RejectionKind::FailedPrecondition => "FAILED_PRECONDITION",
        RejectionKind::Aborted => "ABORTED",
        RejectionKind::Internal => "INTERNAL",
    }
}

impl LookUpResult {
    /// What a look-up by a party that may see the current retailer (the TSO, an operator)
    /// shows of `supply_point` in `state`; `None` when the point does not exist.
    pub fn observe<S: StateView + ?Sized>(
        state: &S,
        supply_point: &SupplyPointNumber,
        served_at_revision: Option<u64>,
    ) -> Option<LookUpResult> {
        let point = state.supply_point(supply_point)?;
        let supply = match point.supply {
            SupplyState::Supplying { retailer, .. } => ObservedSupply::Supplying {
                retailer: Some(retailer),
            },
            SupplyState::Stopped => ObservedSupply::Stopped,
        };
        let open_applications = point
            .open_applications
            .iter()
            .filter_map(|number| state.application(*number))
            .map(|application| ApplicationInProgress {
                number: application.number,
                procedure: application.procedure(),
                state: application.state,
                effective_date: application.effective_date,
            })
            .collect();
        Some(LookUpResult {
            supply,
            open_applications,
            pending_stop_on_behalf: point.pending_stop_on_behalf.clone(),
            served_at_revision,
        })
    }
}

/// One event stream a client read, possibly over several connections (resumptions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchStream {
    pub client: ClientId,
    /// The party the stream was opened as: it sees the events whose audience includes it.
    pub party: PartyId,
    /// The connections, in the order the client opened them.
    pub connections: Vec<WatchConnection>,
}

/// One `WatchEvents` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchConnection {
    /// The node the client connected to (for the report only).
    pub node: String,
    /// The first position asked for. For a live stream (start revision 0) record the first
    /// progress message's applied revision + 1, index 0.
    pub start: EventPosition,
    /// The positions of the events received, in the order they arrived.
    pub delivered: Vec<EventPosition>,
    /// The highest `applied_revision` of a message received on this connection: every visible
    /// event up to it has been delivered. 0 when none arrived.
    pub covered_through_revision: u64,
    pub opened_at_ns: u64,
    pub closed_at_ns: u64,
}

/// An event's place in the log: the revision that produced it and its index within it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct EventPosition {
    pub revision: u64,
    pub index: u32,
}

impl EventPosition {
    /// The first position after every event of `revision`.
    pub fn after_revision(revision: u64) -> EventPosition {
        EventPosition {
            revision: revision + 1,
            index: 0,
        }
    }
}

impl fmt::Display for EventPosition {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}", self.revision, self.index)
    }
}

/// What one replica held at the end of a run, after the faults healed and it caught up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaFinalState {
    /// The node's name, e.g. `tokyo-1`.
    pub node: String,
    /// The last revision it applied.
    pub applied_revision: u64,
    /// Every record it holds: supply points, applications, stop-on-behalf requests, participants,
    /// notices, request records, due entries, policy, counters, clock.
    pub records: Vec<Write>,
    /// Its event log, oldest first (possibly compacted at the front).
    pub events: Vec<StoredEvent>,
    /// The state hash the node reported about itself, if it was asked.
    pub reported_state_hash: Option<String>,
}

impl ReplicaFinalState {
    /// A replica's final state from an in-memory state (tests, in-process harnesses).
    pub fn from_memory_state(node: &str, state: &MemoryState) -> ReplicaFinalState {
        let mut records = Vec::new();
        records.extend(
            state
                .supply_points
                .values()
                .cloned()
                .map(Write::SupplyPoint),
        );
        records.extend(state.applications.values().cloned().map(Write::Application));
        records.extend(
            state
                .stop_on_behalf
                .values()
                .cloned()
                .map(Write::StopOnBehalf),
        );
        records.extend(state.participants.values().cloned().map(Write::Participant));
        records.extend(state.notices.values().cloned().map(Write::Notice));
        records.extend(state.requests.values().cloned().map(Write::Request));
        records.extend(state.due.iter().cloned().map(Write::Due));
        records.extend(state.policy.clone().map(Write::Policy));
        records.push(Write::Counters(state.counters));
        records.extend(state.clock.map(Write::Clock));
        ReplicaFinalState {
            node: node.to_owned(),
            applied_revision: state.revision,
            records,
            events: state.events.clone(),
            reported_state_hash: None,
        }
    }

    /// The records as an in-memory state (for the invariant checks and the state hash).
    pub fn to_memory_state(&self) -> MemoryState {
        let mut state = MemoryState::default();
        state.apply(
            &switchyard_domain::Changes {
                writes: self.records.clone(),
                events: Vec::new(),
            },
            self.applied_revision,
        );
        state.events = self.events.clone();
        state
    }
}

/// The idempotency key of a write in the history.
pub(crate) fn request_key(record: &OperationRecord) -> Option<RequestKey> {
    record.operation.request_id().map(|request_id| RequestKey {
        party: record.actor.clone(),
        request_id: request_id.clone(),
    })
}
