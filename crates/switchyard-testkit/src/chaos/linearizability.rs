//! Linearizability per supply point, with `stateright`'s [`LinearizabilityTester`] and the
//! [`PointModel`] specification.
//!
//! The history is split by supply point (every operation names its point, and the workload's
//! points are independent, so the whole is linearizable when each point is). Each point's
//! operations are fed to the tester in real-time order: invocations and answers sorted by time,
//! an invocation before an answer at the same instant (so that touching operations count as
//! concurrent, never as ordered). An operation with an `Unknown` outcome is invoked and never
//! answered: the tester may place it anywhere after its invocation, or leave it out.
//!
//! The tester wants one operation in flight per thread, and an operation that never returns keeps
//! its thread busy forever; so every client gets a new thread after an `Unknown` outcome, and for
//! any operation it sent before its previous one was answered.
//!
//! When a point's history is not linearizable, a binary search over prefixes finds the first
//! answer that no order explains; the report names that operation, the ones it must follow and
//! the ones concurrent with it, and the model's state in the best order found just before it.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use switchyard_domain::SupplyPointNumber;

use super::history::{History, InitialPoint, Observed, Operation, Outcome, ReadConsistency};
use super::report::{Checker, OperationReference, Report};
use super::spec::{PointModel, SpecOperation, modelled_rules};

/// How many earlier and concurrent operations a violation names besides the culprit.
const RELATED_OPERATIONS_MAX: usize = 6;

/// Most steps of the model one search may take. The tester's search is exhaustive when no order
/// fits; past this bound the point is reported as inconclusive instead of running for hours.
pub const SEARCH_STEPS_MAX: u64 = 2_000_000;

/// What one search of the tester found.
enum Search {
    /// An order that explains everything, as (operation, outcome) pairs.
    Consistent(Vec<(SpecOperation, Outcome)>),
    Inconsistent,
    /// The step budget ran out first.
    Exhausted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    // Invocations sort first at equal times.
    Invoke,
    Return,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    time_ns: u64,
    kind: EventKind,
    /// Index in the history.
    index: usize,
}

/// One point's operations, ready for the tester.
struct PointHistory<'a> {
    history: &'a History,
    initial: &'a InitialPoint,
    events: Vec<Event>,
    threads: BTreeMap<usize, u64>,
}

/// Checks every supply point of `history` that has an initial state.
pub fn check_linearizability(history: &History) -> Report {
    let mut report = Report::default();
    let mut by_point: BTreeMap<SupplyPointNumber, Vec<usize>> = BTreeMap::new();
    for (index, record) in history.operations.iter().enumerate() {
        by_point
            .entry(record.operation.supply_point())
            .or_default()
            .push(index);
    }
    let mut checked = 0usize;
    let mut local_reads = 0usize;
    let mut outside_model = 0usize;
    for (point, indices) in &by_point {
        let Some(initial) = history
            .initial_points
            .iter()
            .find(|initial| initial.supply_point == *point)
        else {
            report.violation(
                Checker::MalformedHistory,
                Some(*point),
                format!(
                    "{} operation(s) work on a supply point whose initial state the history does not give, so they cannot be checked",
                    indices.len()
                ),
                indices
                    .iter()
                    .take(RELATED_OPERATIONS_MAX)
                    .map(|index| OperationReference::new(history, *index))
                    .collect(),
            );
            continue;
        };
        let mut fed = Vec::new();
        for index in indices {
            let record = &history.operations[*index];
            let include = match (&record.operation, &record.outcome) {
                (
                    Operation::LookUp {
                        consistency: ReadConsistency::Linearizable,
                        ..
                    },
                    Outcome::Ok(Observed::LookUp(_)),
                ) => true,
                (Operation::LookUp { consistency, .. }, _) => {
                    if *consistency == ReadConsistency::Local {
                        local_reads += 1;
                    }
                    false
                }
                (operation, Outcome::Refused(refusal)) => {
                    let modelled = modelled_rules(operation).contains(&refusal.rule.as_str());
                    if !modelled {
                        outside_model += 1;
                    }
                    modelled
                }
                (_, Outcome::Ok(_) | Outcome::Unknown { .. }) => true,
            };
            if include {
                fed.push(*index);
            }
        }
        checked += fed.len();
        let point_history = PointHistory::new(history, initial, &fed);
        point_history.check(&mut report);
    }
    report.notes.push(format!(
        "linearizability: {checked} operation(s) on {} supply point(s) checked; left out {local_reads} local look-up(s) and {outside_model} refusal(s) by rules outside the model",
        by_point.len()
    ));
    report
}

impl<'a> PointHistory<'a> {
    fn new(history: &'a History, initial: &'a InitialPoint, indices: &[usize]) -> Self {
        let mut events = Vec::new();
        for index in indices {
            let record = &history.operations[*index];
            events.push(Event {
                time_ns: record.invoked_at_ns,
                kind: EventKind::Invoke,
                index: *index,
            });
            if !matches!(record.outcome, Outcome::Unknown { .. }) {
                events.push(Event {
                    time_ns: record.completed_at_ns.max(record.invoked_at_ns),
                    kind: EventKind::Return,
                    index: *index,
                });
            }
        }
        events.sort();

        // Threads: a client's operations share one while each was answered before the next was
        // sent; an unknown outcome or an overlap starts a new one.
        let mut by_client: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for index in indices {
            by_client
                .entry(history.operations[*index].client)
                .or_default()
                .push(*index);
        }
        let mut threads = BTreeMap::new();
        let mut next_thread = 0u64;
        for client_indices in by_client.values_mut() {
            client_indices.sort_by_key(|index| (history.operations[*index].invoked_at_ns, *index));
            let mut previous: Option<usize> = None;
            for index in client_indices.iter() {
                let record = &history.operations[*index];
                let reuse = previous.is_some_and(|previous| {
                    let earlier = &history.operations[previous];
                    !matches!(earlier.outcome, Outcome::Unknown { .. })
                        && earlier.completed_at_ns.max(earlier.invoked_at_ns) < record.invoked_at_ns
                });
                if !reuse {
                    next_thread += 1;
                }
                threads.insert(*index, next_thread);
                previous = Some(*index);
            }
        }
        PointHistory {
            history,
            initial,
            events,
            threads,
        }
    }

    fn model(&self, budget: Rc<Cell<u64>>) -> PointModel {
        PointModel::new(
            self.initial.supply_point,
            self.initial.current_retailer,
            budget,
        )
    }

    fn spec_operation(&self, index: usize) -> SpecOperation {
        let record = &self.history.operations[index];
        SpecOperation {
            index,
            actor: record.actor.clone(),
            operation: record.operation.clone(),
        }
    }

    /// Feeds `events` to a tester, leaving out every event of the operation `without`, and
    /// searches for an order.
    fn search(&self, events: &[Event], without: Option<usize>) -> Result<Search, String> {
        let budget = Rc::new(Cell::new(SEARCH_STEPS_MAX));
        let mut tester = LinearizabilityTester::new(self.model(budget.clone()));
        for event in events {
            if Some(event.index) == without {
                continue;
            }
            let thread = self.threads[&event.index];
            match event.kind {
                EventKind::Invoke => {
                    tester.on_invoke(thread, self.spec_operation(event.index))?;
                }
                EventKind::Return => {
                    let outcome = self.history.operations[event.index].outcome.clone();
                    tester.on_return(thread, outcome)?;
                }
            }
        }
        Ok(match tester.serialized_history() {
            Some(order) => Search::Consistent(order),
            None if budget.get() == 0 => Search::Exhausted,
            None => Search::Inconsistent,
        })
    }

    fn check(&self, report: &mut Report) {
        let point = self.initial.supply_point;
        match self.search(&self.events, None) {
            Ok(Search::Consistent(_)) => return,
            Ok(Search::Inconsistent) => {}
            Ok(Search::Exhausted) => {
                report.violation(
                    Checker::Inconclusive,
                    Some(point),
                    format!(
                        "the search for an order of the {} operation(s) on this point took more than {SEARCH_STEPS_MAX} steps without an answer; spread the workload over more points or fewer concurrent clients",
                        self.threads.len()
                    ),
                    Vec::new(),
                );
                return;
            }
            Err(error) => {
                report.violation(
                    Checker::MalformedHistory,
                    Some(point),
                    format!("the tester refused the history: {error}"),
                    Vec::new(),
                );
                return;
            }
        }
        // The shortest inconsistent prefix: the empty one is consistent, the whole one is not.
        let (mut consistent, mut inconsistent) = (0usize, self.events.len());
        while inconsistent - consistent > 1 {
            let middle = consistent + (inconsistent - consistent) / 2;
            // A search that runs out of budget counts as inconsistent: the culprit found is then
            // the first answer the search could not place in time.
            if matches!(
                self.search(&self.events[..middle], None),
                Ok(Search::Consistent(_))
            ) {
                consistent = middle;
            } else {
                inconsistent = middle;
            }
        }
        let culprit = self.events[inconsistent - 1].index;
        let explanation = self.explain(culprit, &self.events[..inconsistent - 1]);
        let mut operations = vec![OperationReference::new(self.history, culprit)];
        operations.extend(self.related(culprit));
        report.violation(
            Checker::Linearizability,
            Some(point),
            explanation,
            operations,
        );
    }

    /// Why the culprit's answer fits no order: the model's state in the best order found for
    /// everything answered before it, and what goes wrong when the culprit is placed there.
    fn explain(&self, culprit: usize, before: &[Event]) -> String {
        let record = &self.history.operations[culprit];
        let mut text = format!(
            "no order of the operations on this point explains what #{culprit} ({}, client {}) saw",
            record.operation.name(),
            record.client
        );
        let Ok(Search::Consistent(order)) = self.search(before, Some(culprit)) else {
            text.push_str(
                ", and the operations answered before it admit no order without it either",
            );
            return text;
        };
        let mut model = self.model(Rc::new(Cell::new(u64::MAX)));
        for (operation, outcome) in &order {
            if let Outcome::Unknown { .. } = outcome {
                stateright::semantics::SequentialSpec::invoke(&mut model, operation);
            } else if model.step(operation, outcome).is_err() {
                return text;
            }
        }
        let placed: Vec<String> = order
            .iter()
            .map(|(operation, outcome)| match outcome {
                Outcome::Unknown { .. } => format!("#{} (unknown outcome, taken)", operation.index),
                _ => format!("#{}", operation.index),
            })
            .collect();
        text.push_str(&format!(
            ". In the best order found for the operations before it ({}), the point is {}",
            if placed.is_empty() {
                "none".to_owned()
            } else {
                placed.join(", ")
            },
            model.describe()
        ));
        if let Err(reason) = model.step(&self.spec_operation(culprit), &record.outcome) {
            text.push_str(&format!("; placed there, {reason}"));
        }
        text
    }

    /// The operations answered before the culprit was sent (latest first), then those
    /// concurrent with it.
    fn related(&self, culprit: usize) -> Vec<OperationReference> {
        let record = &self.history.operations[culprit];
        let fed: Vec<usize> = self
            .events
            .iter()
            .filter(|event| event.kind == EventKind::Invoke && event.index != culprit)
            .map(|event| event.index)
            .collect();
        let answered = |index: usize| {
            let other = &self.history.operations[index];
            !matches!(other.outcome, Outcome::Unknown { .. })
        };
        let mut before: Vec<usize> = fed
            .iter()
            .copied()
            .filter(|index| {
                let other = &self.history.operations[*index];
                answered(*index)
                    && other.operation.is_write()
                    && other.completed_at_ns < record.invoked_at_ns
            })
            .collect();
        before.sort_by_key(|index| {
            std::cmp::Reverse(self.history.operations[*index].completed_at_ns)
        });
        let concurrent = fed.iter().copied().filter(|index| {
            let other = &self.history.operations[*index];
            let other_end = if answered(*index) {
                other.completed_at_ns
            } else {
                u64::MAX
            };
            other.invoked_at_ns <= record.completed_at_ns && other_end >= record.invoked_at_ns
        });
        let mut related: Vec<OperationReference> = before
            .into_iter()
            .take(RELATED_OPERATIONS_MAX / 2)
            .chain(concurrent.take(RELATED_OPERATIONS_MAX / 2))
            .map(|index| OperationReference::new(self.history, index))
            .collect();
        related.dedup_by_key(|reference| reference.index);
        related
    }
}
