//! What the checkers found: violations with sentences a person can act on, and notes on what
//! was not checked.

use std::fmt;

use serde::{Deserialize, Serialize};
use switchyard_domain::SupplyPointNumber;

use super::history::{History, Observed, Operation, OperationRecord, Outcome};

/// Which checker found a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Checker {
    /// No order of a supply point's operations explains what the clients saw.
    Linearizability,
    /// An acknowledged write is missing from a replica's final state.
    LostWrite,
    /// One request id took effect more than once.
    RetryAppliedTwice,
    /// An event stream skipped or repeated an event.
    WatchStream,
    /// A replica's final state breaks an invariant of the domain.
    Invariant,
    /// Replicas ended with different states.
    ReplicaDivergence,
    /// A timestamp inside the replicated state is behind one written before it.
    TimeWentBack,
    /// The history cannot be checked as recorded.
    MalformedHistory,
    /// The linearizability search gave up within its bound: neither passed nor failed.
    Inconclusive,
}

impl fmt::Display for Checker {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Checker::Linearizability => "linearizability",
            Checker::LostWrite => "lost acknowledged write",
            Checker::RetryAppliedTwice => "retry applied twice",
            Checker::WatchStream => "watch stream",
            Checker::Invariant => "final-state invariant",
            Checker::ReplicaDivergence => "replica divergence",
            Checker::TimeWentBack => "time went back",
            Checker::MalformedHistory => "malformed history",
            Checker::Inconclusive => "inconclusive",
        })
    }
}

/// One operation named in a violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationReference {
    /// Its index in [`History::operations`].
    pub index: usize,
    pub client: u32,
    pub invoked_at_ns: u64,
    pub completed_at_ns: u64,
    /// A one-line description: who, what, when, what came back.
    pub summary: String,
}

impl OperationReference {
    pub(crate) fn new(history: &History, index: usize) -> OperationReference {
        let record = &history.operations[index];
        OperationReference {
            index,
            client: record.client,
            invoked_at_ns: record.invoked_at_ns,
            completed_at_ns: record.completed_at_ns,
            summary: describe(index, record),
        }
    }
}

/// Something that must never happen, and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub checker: Checker,
    pub supply_point: Option<SupplyPointNumber>,
    /// What went wrong, in sentences.
    pub explanation: String,
    /// The operations involved, the culprit first.
    pub operations: Vec<OperationReference>,
}

/// What the checkers found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub violations: Vec<Violation>,
    /// What was checked and what was left out (not failures).
    pub notes: Vec<String>,
}

impl Report {
    /// Whether no checker found a violation.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }

    /// The violations of one checker.
    pub fn of(&self, checker: Checker) -> Vec<&Violation> {
        self.violations
            .iter()
            .filter(|violation| violation.checker == checker)
            .collect()
    }

    /// Adds another report's findings.
    pub fn merge(&mut self, other: Report) {
        self.violations.extend(other.violations);
        self.notes.extend(other.notes);
    }

    pub(crate) fn violation(
        &mut self,
        checker: Checker,
        supply_point: Option<SupplyPointNumber>,
        explanation: String,
        operations: Vec<OperationReference>,
    ) {
        self.violations.push(Violation {
            checker,
            supply_point,
            explanation,
            operations,
        });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.violations.is_empty() {
            writeln!(formatter, "chaos checks passed")?;
        } else {
            writeln!(
                formatter,
                "chaos checks FAILED: {} violation(s)",
                self.violations.len()
            )?;
        }
        for (number, violation) in self.violations.iter().enumerate() {
            write!(formatter, "{}. [{}]", number + 1, violation.checker)?;
            if let Some(point) = &violation.supply_point {
                write!(formatter, " supply point {point}")?;
            }
            writeln!(formatter, ": {}", violation.explanation)?;
            for operation in &violation.operations {
                writeln!(formatter, "     {}", operation.summary)?;
            }
        }
        for note in &self.notes {
            writeln!(formatter, "note: {note}")?;
        }
        Ok(())
    }
}

/// Nanoseconds as seconds with microseconds, for reports.
pub(crate) fn seconds(nanoseconds: u64) -> String {
    format!(
        "{}.{:06}s",
        nanoseconds / 1_000_000_000,
        (nanoseconds % 1_000_000_000) / 1_000
    )
}

/// One line: `#12 client 3 (A0001) [1.200000s..1.350000s] submit switch-in on P (request r-5,
/// SB0000000002, effective 2026-12-10) -> ok AP0000000007 rev 1 Matched`.
pub(crate) fn describe(index: usize, record: &OperationRecord) -> String {
    format!(
        "#{index} client {} ({}) [{}..{}] {} -> {}",
        record.client,
        record.actor,
        seconds(record.invoked_at_ns),
        seconds(record.completed_at_ns),
        describe_operation(&record.operation),
        describe_outcome(&record.outcome),
    )
}

pub(crate) fn describe_operation(operation: &Operation) -> String {
    let point = operation.supply_point();
    match operation {
        Operation::LookUp { consistency, .. } => {
            format!("look-up of {point} ({consistency:?})")
        }
        Operation::RegisterStopOnBehalf {
            request_id,
            wished_date,
            ..
        } => format!(
            "register stop-on-behalf on {point} (request {request_id}, wished {wished_date})"
        ),
        Operation::JudgeStopOnBehalf {
            request_id,
            number,
            verdict,
            ..
        } => format!(
            "judge {number} {} on {point} (request {request_id})",
            match verdict {
                switchyard_domain::Verdict::Ok => "OK",
                switchyard_domain::Verdict::Ng(_) => "NG",
            }
        ),
        Operation::CancelStopOnBehalf {
            request_id, number, ..
        } => format!("cancel {number} on {point} (request {request_id})"),
        Operation::SubmitSwitchOut {
            request_id,
            effective_date,
            ..
        } => format!(
            "submit switch-out on {point} effective {effective_date} (request {request_id})"
        ),
        Operation::SubmitSwitchIn {
            request_id,
            effective_date,
            stop_on_behalf,
            ..
        } => format!(
            "submit switch-in on {point} effective {effective_date} with {stop_on_behalf} (request {request_id})"
        ),
        Operation::CancelApplication {
            request_id,
            number,
            application_revision,
            ..
        } => format!(
            "cancel {number} at revision {application_revision} on {point} (request {request_id})"
        ),
        Operation::CompleteApplication {
            request_id,
            number,
            actual_date,
            ..
        } => format!("complete {number} on {actual_date} on {point} (request {request_id})"),
        Operation::RejectApplication {
            request_id, number, ..
        } => format!("TSO-reject {number} on {point} (request {request_id})"),
    }
}

pub(crate) fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(Observed::LookUp(result)) => {
            let supply = match result.supply {
                super::history::ObservedSupply::Stopped => "stopped".to_owned(),
                super::history::ObservedSupply::Supplying {
                    retailer: Some(retailer),
                } => format!("supplied by {retailer}"),
                super::history::ObservedSupply::Supplying { retailer: None } => {
                    "supplied (retailer hidden)".to_owned()
                }
            };
            let open: Vec<String> = result
                .open_applications
                .iter()
                .map(|application| {
                    format!(
                        "{} {:?} {:?} {}",
                        application.number,
                        application.procedure,
                        application.state,
                        application.effective_date
                    )
                })
                .collect();
            let pending: Vec<String> = result
                .pending_stop_on_behalf
                .iter()
                .map(ToString::to_string)
                .collect();
            format!(
                "ok: {supply}; open [{}]; pending [{}]{}",
                open.join(", "),
                pending.join(", "),
                revision_suffix("served at revision", result.served_at_revision)
            )
        }
        Outcome::Ok(Observed::StopOnBehalf(answer)) => format!(
            "ok {} {:?}{}{}",
            answer.number,
            answer.state,
            revision_suffix("at revision", answer.revision),
            replayed_suffix(answer.replayed)
        ),
        Outcome::Ok(Observed::Application(answer)) => format!(
            "ok {} application revision {} {:?}{}{}{}",
            answer.number,
            answer.application_revision,
            answer.state,
            answer
                .matched_with
                .map(|counterpart| format!(" matched with {counterpart}"))
                .unwrap_or_default(),
            revision_suffix("at revision", answer.revision),
            replayed_suffix(answer.replayed)
        ),
        Outcome::Refused(refusal) => format!("refused {} {}", refusal.code, refusal.rule),
        Outcome::Unknown { error } => format!("unknown ({error})"),
    }
}

fn revision_suffix(label: &str, revision: Option<u64>) -> String {
    revision
        .map(|revision| format!(", {label} {revision}"))
        .unwrap_or_default()
}

fn replayed_suffix(replayed: Option<bool>) -> String {
    match replayed {
        Some(true) => ", replayed".to_owned(),
        _ => String::new(),
    }
}
