//! Checks on the replicas' final states: every acknowledged write is there, no request id took
//! effect twice, the domain's invariants hold, and every replica holds the same state.

use std::collections::{BTreeMap, BTreeSet};

use switchyard_domain::{
    ApplicationState, MemoryState, Procedure, RequestKey, RetailerCode, SupplyPointNumber,
    invariants,
};

use super::history::{
    ApplicationAnswer, History, Observed, Operation, OperationRecord, Outcome, ReplicaFinalState,
    StopOnBehalfAnswer, request_key,
};
use super::report::{Checker, OperationReference, Report, describe_outcome};

/// Refusals that come from the rules (and so are remembered for retries): every domain rule
/// except `request_id_reused` (never remembered) and `invalid_field` (also given by the service
/// for malformed requests, which are not remembered).
const REMEMBERED_RULES: &[&str] = &[
    "not_permitted",
    "unknown_participant",
    "supply_point_not_found",
    "application_not_found",
    "stop_on_behalf_not_found",
    "outside_area",
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

/// Every acknowledged write's effect is present on every replica.
pub fn check_acknowledged_writes(history: &History, replicas: &[ReplicaFinalState]) -> Report {
    let mut report = Report::default();
    let states: Vec<(String, MemoryState)> = replicas
        .iter()
        .map(|replica| (replica.node.clone(), replica.to_memory_state()))
        .collect();
    let mut checked = 0usize;
    for (index, record) in history.operations.iter().enumerate() {
        let Outcome::Ok(observed) = &record.outcome else {
            continue;
        };
        if !record.operation.is_write() {
            continue;
        }
        checked += 1;
        for (node, state) in &states {
            if let Some(missing) = missing_effect(record, observed, state) {
                report.violation(
                    Checker::LostWrite,
                    Some(record.operation.supply_point()),
                    format!(
                        "the acknowledged write #{index} is missing on replica {node}: {missing}"
                    ),
                    vec![OperationReference::new(history, index)],
                );
            }
        }
    }
    report.notes.push(format!(
        "acknowledged writes: {checked} checked on {} replica(s)",
        replicas.len()
    ));
    report
}

/// What of the write's effect `state` lacks, if anything.
fn missing_effect(
    record: &OperationRecord,
    observed: &Observed,
    state: &MemoryState,
) -> Option<String> {
    let point = record.operation.supply_point();
    match (&record.operation, observed) {
        (
            Operation::RegisterStopOnBehalf { .. },
            Observed::StopOnBehalf(StopOnBehalfAnswer { number, .. }),
        ) => match state.stop_on_behalf.get(number) {
            None => Some(format!("stop-on-behalf request {number} does not exist")),
            Some(request) if request.supply_point != point => Some(format!(
                "{number} is on supply point {}, not {point}",
                request.supply_point
            )),
            Some(request) if Some(request.requester) != record.actor.retailer() => Some(format!(
                "{number} was registered by {}, not {}",
                request.requester, record.actor
            )),
            Some(_) => None,
        },
        (
            Operation::JudgeStopOnBehalf { number, .. }
            | Operation::CancelStopOnBehalf { number, .. },
            Observed::StopOnBehalf(StopOnBehalfAnswer {
                state: answered, ..
            }),
        ) => match state.stop_on_behalf.get(number) {
            None => Some(format!("stop-on-behalf request {number} does not exist")),
            // Judged and cancelled are final states.
            Some(request) if request.state != *answered => Some(format!(
                "{number} is {:?}, but the write answered {answered:?}",
                request.state
            )),
            Some(_) => None,
        },
        (
            Operation::SubmitSwitchOut { effective_date, .. }
            | Operation::SubmitSwitchIn { effective_date, .. },
            Observed::Application(ApplicationAnswer {
                number,
                application_revision,
                ..
            }),
        ) => {
            let procedure = if matches!(record.operation, Operation::SubmitSwitchIn { .. }) {
                Procedure::SwitchIn
            } else {
                Procedure::SwitchOut
            };
            match state.applications.get(number) {
                None => Some(format!("application {number} does not exist")),
                Some(application)
                    if application.supply_point != point
                        || application.procedure() != procedure
                        || Some(application.applicant) != record.actor.retailer()
                        || application.effective_date != *effective_date =>
                {
                    Some(format!(
                        "{number} is a {:?} by {} on {} effective {}, not what was submitted",
                        application.procedure(),
                        application.applicant,
                        application.supply_point,
                        application.effective_date
                    ))
                }
                Some(application) if application.revision < *application_revision => Some(format!(
                    "{number} is at application revision {}, behind the answered {application_revision}",
                    application.revision
                )),
                Some(_) => None,
            }
        }
        (Operation::CancelApplication { number, .. }, Observed::Application(_)) => {
            expect_application_state(state, *number, ApplicationState::Cancelled, None)
        }
        (Operation::CompleteApplication { number, .. }, Observed::Application(answer)) => {
            let actual_date = match &record.operation {
                Operation::CompleteApplication { actual_date, .. } => Some(*actual_date),
                _ => None,
            };
            expect_application_state(state, *number, ApplicationState::Completed, actual_date)
                .or_else(|| {
                    answer.matched_with.and_then(|counterpart| {
                        expect_application_state(
                            state,
                            counterpart,
                            ApplicationState::Completed,
                            actual_date,
                        )
                    })
                })
        }
        (Operation::RejectApplication { number, .. }, Observed::Application(_)) => {
            expect_application_state(state, *number, ApplicationState::TsoRejected, None)
        }
        (operation, observed) => Some(format!(
            "the history records answer {} to a {}, which cannot be checked",
            describe_outcome(&Outcome::Ok(observed.clone())),
            operation.name()
        )),
    }
}

fn expect_application_state(
    state: &MemoryState,
    number: switchyard_domain::ApplicationNumber,
    expected: ApplicationState,
    completed_on: Option<switchyard_domain::Date>,
) -> Option<String> {
    match state.applications.get(&number) {
        None => Some(format!("application {number} does not exist")),
        Some(application) if application.state != expected => Some(format!(
            "{number} is {:?}, not {expected:?}",
            application.state
        )),
        Some(application) if completed_on.is_some() && application.completed_on != completed_on => {
            Some(format!(
                "{number} was completed on {:?}, not on the acknowledged date",
                application.completed_on
            ))
        }
        Some(_) => None,
    }
}

/// The first answer of a request id, in a comparable form (without the log revision and the
/// replayed flag, which differ between attempts).
fn comparable_answer(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Ok(Observed::Application(answer)) => Some(format!(
            "ok {} application revision {} {:?} matched {:?}",
            answer.number, answer.application_revision, answer.state, answer.matched_with
        )),
        Outcome::Ok(Observed::StopOnBehalf(answer)) => {
            Some(format!("ok {} {:?}", answer.number, answer.state))
        }
        Outcome::Refused(refusal) if REMEMBERED_RULES.contains(&refusal.rule.as_str()) => {
            Some(format!("refused {}", refusal.rule))
        }
        _ => None,
    }
}

/// No request id took effect twice: attempts with one id got one answer, no attempt after the
/// first effective one was applied afresh, no replica holds more records of a kind on a point
/// than there were request ids that could create them, and every replica's request record
/// agrees with the answers clients saw.
pub fn check_retries(history: &History, replicas: &[ReplicaFinalState]) -> Report {
    let mut report = Report::default();
    let mut attempts: BTreeMap<RequestKey, Vec<usize>> = BTreeMap::new();
    for (index, record) in history.operations.iter().enumerate() {
        if let Some(key) = request_key(record) {
            attempts.entry(key).or_default().push(index);
        }
    }
    let mut retried = 0usize;
    for (key, indices) in &attempts {
        if indices.len() > 1 {
            retried += 1;
        }
        let answered: Vec<(usize, String)> = indices
            .iter()
            .filter_map(|index| {
                comparable_answer(&history.operations[*index].outcome)
                    .map(|answer| (*index, answer))
            })
            .collect();
        if let Some((first_index, first)) = answered.first() {
            for (index, answer) in &answered[1..] {
                if answer != first {
                    report.violation(
                        Checker::RetryAppliedTwice,
                        Some(history.operations[*index].operation.supply_point()),
                        format!(
                            "request {key} was answered \"{first}\" by #{first_index} and \"{answer}\" by #{index}: one request id, two different effects"
                        ),
                        vec![
                            OperationReference::new(history, *index),
                            OperationReference::new(history, *first_index),
                        ],
                    );
                }
            }
        }
        let fresh: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|index| match &history.operations[*index].outcome {
                Outcome::Ok(Observed::Application(answer)) => answer.replayed == Some(false),
                Outcome::Ok(Observed::StopOnBehalf(answer)) => answer.replayed == Some(false),
                _ => false,
            })
            .collect();
        if fresh.len() > 1 {
            report.violation(
                Checker::RetryAppliedTwice,
                Some(history.operations[fresh[0]].operation.supply_point()),
                format!(
                    "request {key} was applied afresh (not replayed) {} times",
                    fresh.len()
                ),
                fresh
                    .iter()
                    .map(|index| OperationReference::new(history, *index))
                    .collect(),
            );
        }
    }

    for replica in replicas {
        let state = replica.to_memory_state();
        check_creations(history, &attempts, &replica.node, &state, &mut report);
        check_request_records(history, &attempts, &replica.node, &state, &mut report);
    }
    report.notes.push(format!(
        "retries: {} request id(s), {retried} sent more than once",
        attempts.len()
    ));
    report
}

/// What a request id may create on a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Creation {
    StopOnBehalf,
    Application(Procedure),
}

fn creation(operation: &Operation) -> Option<Creation> {
    match operation {
        Operation::RegisterStopOnBehalf { .. } => Some(Creation::StopOnBehalf),
        Operation::SubmitSwitchOut { .. } => Some(Creation::Application(Procedure::SwitchOut)),
        Operation::SubmitSwitchIn { .. } => Some(Creation::Application(Procedure::SwitchIn)),
        _ => None,
    }
}

/// On each point of the history, a replica holds at most as many records of a kind by a retailer
/// as there were request ids that could have created them (ids refused by a rule create none).
fn check_creations(
    history: &History,
    attempts: &BTreeMap<RequestKey, Vec<usize>>,
    node: &str,
    state: &MemoryState,
    report: &mut Report,
) {
    type Group = (SupplyPointNumber, RetailerCode, Creation);
    let mut allowed: BTreeMap<Group, Vec<(RequestKey, usize)>> = BTreeMap::new();
    for (key, indices) in attempts {
        let first = &history.operations[indices[0]];
        let (Some(kind), Some(retailer)) = (creation(&first.operation), first.actor.retailer())
        else {
            continue;
        };
        let refused = indices.iter().any(|index| {
            matches!(&history.operations[*index].outcome, Outcome::Refused(refusal) if REMEMBERED_RULES.contains(&refusal.rule.as_str()))
        });
        if !refused {
            allowed
                .entry((first.operation.supply_point(), retailer, kind))
                .or_default()
                .push((key.clone(), indices[0]));
        }
    }
    let points: BTreeSet<SupplyPointNumber> = history
        .initial_points
        .iter()
        .map(|initial| initial.supply_point)
        .collect();
    let mut held: BTreeMap<Group, Vec<String>> = BTreeMap::new();
    for request in state.stop_on_behalf.values() {
        if points.contains(&request.supply_point) {
            held.entry((
                request.supply_point,
                request.requester,
                Creation::StopOnBehalf,
            ))
            .or_default()
            .push(request.number.to_string());
        }
    }
    for application in state.applications.values() {
        if points.contains(&application.supply_point) && application.procedure().is_switching() {
            held.entry((
                application.supply_point,
                application.applicant,
                Creation::Application(application.procedure()),
            ))
            .or_default()
            .push(application.number.to_string());
        }
    }
    for (group, records) in held {
        let keys = allowed.get(&group).cloned().unwrap_or_default();
        if records.len() > keys.len() {
            let (point, retailer, kind) = group;
            report.violation(
                Checker::RetryAppliedTwice,
                Some(point),
                format!(
                    "replica {node} holds {} {} by {retailer} on this point ({}), but only {} request id(s) could have created them ({}): a request took effect more than once, or a write nobody sent did",
                    records.len(),
                    match kind {
                        Creation::StopOnBehalf => "stop-on-behalf requests".to_owned(),
                        Creation::Application(procedure) => format!("{procedure:?} applications"),
                    },
                    records.join(", "),
                    keys.len(),
                    keys.iter()
                        .map(|(key, _)| key.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                keys.iter()
                    .map(|(_, index)| OperationReference::new(history, *index))
                    .collect(),
            );
        }
    }
}

/// A replica's remembered answer to a request id must be the one clients saw.
fn check_request_records(
    history: &History,
    attempts: &BTreeMap<RequestKey, Vec<usize>>,
    node: &str,
    state: &MemoryState,
    report: &mut Report,
) {
    for (key, indices) in attempts {
        let Some(record) = state.requests.get(key) else {
            // Forgotten after the retention period, or never decided: nothing to compare.
            continue;
        };
        let remembered = Outcome::from_domain(&record.outcome, None, None);
        let Some(remembered_answer) = comparable_answer(&remembered) else {
            continue;
        };
        for index in indices {
            let Some(answer) = comparable_answer(&history.operations[*index].outcome) else {
                continue;
            };
            if answer != remembered_answer {
                report.violation(
                    Checker::RetryAppliedTwice,
                    Some(history.operations[*index].operation.supply_point()),
                    format!(
                        "replica {node} remembers request {key} as \"{remembered_answer}\", but #{index} was answered \"{answer}\""
                    ),
                    vec![OperationReference::new(history, *index)],
                );
            }
        }
    }
}

/// Every replica's state keeps the domain's invariants, replicas hold the same state (the same
/// state hash, the same applied revision, the same events), and a hash a node reported matches
/// its records.
pub fn check_replicas(replicas: &[ReplicaFinalState]) -> Report {
    let mut report = Report::default();
    let mut hashes: Vec<(String, u64, String)> = Vec::new();
    for replica in replicas {
        let state = replica.to_memory_state();
        if let Err(violation) = invariants::check_all(&state) {
            report.violation(
                Checker::Invariant,
                None,
                format!("replica {}: {violation}", replica.node),
                Vec::new(),
            );
        }
        let hash = state.state_hash();
        if let Some(reported) = &replica.reported_state_hash
            && *reported != hash
        {
            report.violation(
                Checker::ReplicaDivergence,
                None,
                format!(
                    "replica {} reported state hash {reported}, but its records hash to {hash}",
                    replica.node
                ),
                Vec::new(),
            );
        }
        hashes.push((replica.node.clone(), replica.applied_revision, hash));
    }
    let distinct: BTreeSet<&String> = hashes.iter().map(|(_, _, hash)| hash).collect();
    if distinct.len() > 1 {
        let listing: Vec<String> = hashes
            .iter()
            .map(|(node, revision, hash)| {
                format!(
                    "{node} at revision {revision}: {}",
                    &hash[..hash.len().min(16)]
                )
            })
            .collect();
        report.violation(
            Checker::ReplicaDivergence,
            None,
            format!(
                "replicas hold different states after the run: {}",
                listing.join("; ")
            ),
            Vec::new(),
        );
    }
    if let Some((first, rest)) = replicas.split_first() {
        for replica in rest {
            if let Some(difference) = first_event_difference(first, replica) {
                report.violation(
                    Checker::ReplicaDivergence,
                    None,
                    format!(
                        "replicas {} and {} hold different event logs: {difference}",
                        first.node, replica.node
                    ),
                    Vec::new(),
                );
            }
        }
    }
    report.notes.push(format!(
        "replicas: {} compared, invariants checked on each",
        replicas.len()
    ));
    report
}

/// The first event position where two replicas' logs differ, over the revisions both retain.
fn first_event_difference(left: &ReplicaFinalState, right: &ReplicaFinalState) -> Option<String> {
    let oldest = |replica: &ReplicaFinalState| replica.events.first().map(|event| event.revision);
    let from = oldest(left).max(oldest(right)).unwrap_or(0);
    let retained = |replica: &ReplicaFinalState| {
        replica
            .events
            .iter()
            .filter(|event| event.revision >= from)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (left_events, right_events) = (retained(left), retained(right));
    for (left_event, right_event) in left_events.iter().zip(&right_events) {
        if left_event != right_event {
            return Some(format!(
                "at {}.{} one has {:?}, the other {}.{} {:?}",
                left_event.revision,
                left_event.index,
                left_event.event.kind,
                right_event.revision,
                right_event.index,
                right_event.event.kind
            ));
        }
    }
    if left_events.len() != right_events.len() {
        return Some(format!(
            "one has {} events from revision {from} on, the other {}",
            left_events.len(),
            right_events.len()
        ));
    }
    None
}
