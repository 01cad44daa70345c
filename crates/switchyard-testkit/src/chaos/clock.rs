//! Time inside the replicated state never goes backwards, whatever the leaders' clocks do.
//!
//! Every entry carries its leader's timestamp, and the state keeps a clock that an entry moves
//! forward only. So on every replica: records numbered in log order carry non-decreasing
//! timestamps (applications by number: `submitted_at`; stop-on-behalf requests by number:
//! `registered_at`); the request records of the history's fresh writes, ordered by the revision
//! that applied them, carry non-decreasing `recorded_at`; and the state's clock is at or after
//! every timestamp the state holds.

use switchyard_domain::{MemoryState, RequestKey, Timestamp};

use super::history::{History, Observed, Outcome, ReplicaFinalState, request_key};
use super::report::{Checker, OperationReference, Report};

/// Checks every replica's timestamps (see the module documentation).
pub fn check_timestamps(history: &History, replicas: &[ReplicaFinalState]) -> Report {
    let mut report = Report::default();
    // The fresh writes of the history with the revision that applied them.
    let mut fresh: Vec<(u64, usize, RequestKey)> = Vec::new();
    for (index, record) in history.operations.iter().enumerate() {
        let (revision, replayed) = match &record.outcome {
            Outcome::Ok(Observed::Application(answer)) => (answer.revision, answer.replayed),
            Outcome::Ok(Observed::StopOnBehalf(answer)) => (answer.revision, answer.replayed),
            _ => continue,
        };
        if let (Some(revision), Some(false), Some(key)) = (revision, replayed, request_key(record))
        {
            fresh.push((revision, index, key));
        }
    }
    fresh.sort_by_key(|(revision, index, _)| (*revision, *index));
    let mut compared = 0usize;
    for replica in replicas {
        let state = replica.to_memory_state();
        compared += check_replica(history, &fresh, &replica.node, &state, &mut report);
    }
    report.notes.push(format!(
        "timestamps: {} replica(s), {compared} timestamp(s) compared in log order",
        replicas.len()
    ));
    report
}

/// Checks one replica; returns how many timestamps it compared.
fn check_replica(
    history: &History,
    fresh: &[(u64, usize, RequestKey)],
    node: &str,
    state: &MemoryState,
    report: &mut Report,
) -> usize {
    let mut compared = 0;
    let mut latest: Option<Timestamp> = None;
    let mut previous: Option<(String, Timestamp)> = None;
    for application in state.applications.values() {
        compared += 1;
        latest = latest.max(Some(application.submitted_at).max(Some(application.updated_at)));
        if let Some((earlier, at)) = &previous
            && application.submitted_at < *at
        {
            report.violation(
                Checker::TimeWentBack,
                Some(application.supply_point),
                format!(
                    "replica {node}: application {} was submitted at {} ms, before {earlier} (an earlier number) at {} ms",
                    application.number,
                    application.submitted_at.milliseconds(),
                    at.milliseconds()
                ),
                Vec::new(),
            );
        }
        previous = Some((application.number.to_string(), application.submitted_at));
    }
    previous = None;
    for request in state.stop_on_behalf.values() {
        compared += 1;
        latest = latest
            .max(Some(request.registered_at))
            .max(request.decided_at);
        if let Some((earlier, at)) = &previous
            && request.registered_at < *at
        {
            report.violation(
                Checker::TimeWentBack,
                Some(request.supply_point),
                format!(
                    "replica {node}: stop-on-behalf request {} was registered at {} ms, before {earlier} (an earlier number) at {} ms",
                    request.number,
                    request.registered_at.milliseconds(),
                    at.milliseconds()
                ),
                Vec::new(),
            );
        }
        previous = Some((request.number.to_string(), request.registered_at));
    }
    let mut previous_write: Option<(u64, usize, Timestamp)> = None;
    for (revision, index, key) in fresh {
        let Some(record) = state.requests.get(key) else {
            // A missing request record is the retry checker's to report.
            continue;
        };
        compared += 1;
        latest = latest.max(Some(record.recorded_at));
        if let Some((earlier_revision, earlier_index, at)) = previous_write
            && earlier_revision < *revision
            && record.recorded_at < at
        {
            report.violation(
                Checker::TimeWentBack,
                Some(history.operations[*index].operation.supply_point()),
                format!(
                    "replica {node}: the write applied at revision {revision} is stamped {} ms, before the write applied at revision {earlier_revision} ({} ms)",
                    record.recorded_at.milliseconds(),
                    at.milliseconds()
                ),
                vec![
                    OperationReference::new(history, *index),
                    OperationReference::new(history, earlier_index),
                ],
            );
        }
        previous_write = Some((*revision, *index, record.recorded_at));
    }
    if let (Some(latest), clock) = (latest, state.clock)
        && clock.is_none_or(|clock| clock < latest)
    {
        report.violation(
            Checker::TimeWentBack,
            None,
            format!(
                "replica {node}: the state's clock ({:?} ms) is behind a timestamp it holds ({} ms)",
                clock.map(Timestamp::milliseconds),
                latest.milliseconds()
            ),
            Vec::new(),
        );
    }
    compared
}
