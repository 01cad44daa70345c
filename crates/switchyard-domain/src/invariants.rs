//! The invariants of `DOMAIN.md`, checked after every accepted command on what it touched, and
//! on a whole state by tests and by replicas comparing themselves.
//!
//! Numbers follow `DOMAIN.md`: 1 valid supply points, 2 open applications consistent (at most one
//! open switch-in and switch-out, distinct dates, an order consistent with the supply state),
//! 3 who may send a switch-out or switch-in, 4 matched pairs, 5 one supplier per day without
//! overlap or gap. 6 and 7 (idempotency, nothing lost) are properties of the decision frame and
//! the store; the property tests check them.

use std::collections::BTreeSet;

use crate::application::{Application, ApplicationState, Procedure};
use crate::facility::{PeriodEnd, SupplyPoint, SupplyState};
use crate::ids::{ApplicationNumber, StopOnBehalfNumber, SupplyPointNumber};
use crate::state::{MemoryState, StateView};
use crate::stop_on_behalf::StopOnBehalfRequest;
use crate::timeline::{self, Problem};

/// An invariant that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant {invariant} broken: {detail}")]
pub struct Violation {
    /// The invariant's number in `DOMAIN.md`.
    pub invariant: u8,
    pub detail: String,
}

fn violation(invariant: u8, detail: String) -> Violation {
    Violation { invariant, detail }
}

/// What the checks read; implemented by every [`StateView`] and by the decision's transaction.
pub(crate) trait View {
    fn supply_point(&self, number: &SupplyPointNumber) -> Option<SupplyPoint>;
    fn application(&self, number: ApplicationNumber) -> Option<Application>;
    fn stop_on_behalf(&self, number: StopOnBehalfNumber) -> Option<StopOnBehalfRequest>;
}

struct StateViewAdapter<'a, S: ?Sized>(&'a S);

impl<S: StateView + ?Sized> View for StateViewAdapter<'_, S> {
    fn supply_point(&self, number: &SupplyPointNumber) -> Option<SupplyPoint> {
        self.0.supply_point(number)
    }
    fn application(&self, number: ApplicationNumber) -> Option<Application> {
        self.0.application(number)
    }
    fn stop_on_behalf(&self, number: StopOnBehalfNumber) -> Option<StopOnBehalfRequest> {
        self.0.stop_on_behalf(number)
    }
}

/// Checks what a decision touched: every supply point it wrote (directly or through an
/// application or request) and every application it wrote.
pub(crate) fn check_touched<S: StateView + ?Sized>(
    tx: &crate::decide::Tx<'_, S>,
) -> Result<(), Violation> {
    for number in tx.touched_supply_points() {
        supply_point(tx, &number)?;
    }
    for application in tx.touched_applications() {
        application_pair(tx, application)?;
    }
    Ok(())
}

/// Checks invariants 1, 2, 3 and 5 on one supply point of `state`.
pub fn check_supply_point<S: StateView + ?Sized>(
    state: &S,
    number: &SupplyPointNumber,
) -> Result<(), Violation> {
    supply_point(&StateViewAdapter(state), number)
}

/// Checks every invariant on every record of `state`, including that every open application is
/// listed on its supply point.
pub fn check_all(state: &MemoryState) -> Result<(), Violation> {
    let view = StateViewAdapter(state);
    for number in state.supply_points.keys() {
        supply_point(&view, number)?;
    }
    for application in state.applications.values() {
        application_pair(&view, application)?;
        if application.state.is_open() {
            let listed = state
                .supply_points
                .get(&application.supply_point)
                .is_some_and(|point| point.open_applications.contains(&application.number));
            if !listed {
                return Err(violation(
                    2,
                    format!(
                        "open application {} is not listed on supply point {}",
                        application.number, application.supply_point
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn supply_point(view: &impl View, number: &SupplyPointNumber) -> Result<(), Violation> {
    let Some(point) = view.supply_point(number) else {
        return Err(violation(1, format!("supply point {number} is missing")));
    };
    if point.number != *number {
        return Err(violation(
            1,
            format!("supply point {number} is stored as {}", point.number),
        ));
    }
    point
        .facility
        .validate()
        .map_err(|error| violation(1, format!("supply point {number}: {error}")))?;

    let mut seen = BTreeSet::new();
    let mut open = Vec::new();
    for application_number in &point.open_applications {
        if !seen.insert(*application_number) {
            return Err(violation(
                2,
                format!("{application_number} is listed twice on {number}"),
            ));
        }
        let Some(application) = view.application(*application_number) else {
            return Err(violation(
                2,
                format!("{application_number} on {number} is missing"),
            ));
        };
        if !application.state.is_open() || application.supply_point != *number {
            return Err(violation(
                2,
                format!(
                    "{application_number} is listed open on {number} but is {:?} on {}",
                    application.state, application.supply_point
                ),
            ));
        }
        open.push(application);
    }
    let open_references: Vec<&Application> = open.iter().collect();
    if let Err(conflict) = timeline::check(&point.supply, &open_references) {
        let invariant = match conflict.problem {
            Problem::NotSupplier { .. } | Problem::AlreadySupplier => 3,
            _ => 2,
        };
        debug_assert!(conflict.problem.is_against_current_state() || invariant == 2);
        return Err(violation(
            invariant,
            format!("on {number}: {}", conflict.describe()),
        ));
    }

    for request_number in &point.pending_stop_on_behalf {
        let pending = view
            .stop_on_behalf(*request_number)
            .is_some_and(|request| request.is_pending() && request.supply_point == *number);
        if !pending {
            return Err(violation(
                2,
                format!("{request_number} is listed pending on {number} but is not"),
            ));
        }
    }

    supply_history(&point)
}

/// Invariant 5: closed periods in order without overlap, a switch followed the next day by the
/// next supplier, and the current supply after the last closed period.
fn supply_history(point: &SupplyPoint) -> Result<(), Violation> {
    let number = point.number;
    for period in &point.history {
        if period.from > period.until {
            return Err(violation(
                5,
                format!(
                    "on {number}: period of {} ends before it starts",
                    period.retailer
                ),
            ));
        }
    }
    for pair in point.history.windows(2) {
        let (previous, next) = (&pair[0], &pair[1]);
        check_boundary(number, previous.until, previous.ended_by, Some(next.from))?;
    }
    if let Some(last) = point.history.last() {
        let next_start = match point.supply {
            SupplyState::Supplying { since, .. } => Some(since),
            SupplyState::Stopped => None,
        };
        check_boundary(number, last.until, last.ended_by, next_start)?;
    }
    Ok(())
}

fn check_boundary(
    number: SupplyPointNumber,
    until: crate::time::Date,
    ended_by: PeriodEnd,
    next_start: Option<crate::time::Date>,
) -> Result<(), Violation> {
    match (ended_by, next_start) {
        (PeriodEnd::Switched, Some(next)) if next != until.add_days(1) => Err(violation(
            5,
            format!("on {number}: a switch ended supply on {until} but the next began on {next}"),
        )),
        (PeriodEnd::Switched, None) => Err(violation(
            5,
            format!("on {number}: a switch ended supply on {until} but nobody supplies after it"),
        )),
        (PeriodEnd::Stopped, Some(next)) if next <= until => Err(violation(
            5,
            format!("on {number}: supply began on {next}, overlapping a period ending {until}"),
        )),
        _ => Ok(()),
    }
}

/// Invariant 4 and state/procedure consistency of one application.
fn application_pair(view: &impl View, application: &Application) -> Result<(), Violation> {
    let number = application.number;
    let switching = application.procedure().is_switching();
    let state_fits = match application.state {
        ApplicationState::AwaitingMatch
        | ApplicationState::Matched
        | ApplicationState::Unmatched
        | ApplicationState::TsoRejected => switching,
        ApplicationState::Received | ApplicationState::Accepted | ApplicationState::Rejected => {
            !switching
        }
        ApplicationState::Cancelled | ApplicationState::Completed => true,
    };
    if !state_fits {
        return Err(violation(
            4,
            format!(
                "{number}: a {:?} cannot be {:?}",
                application.procedure(),
                application.state
            ),
        ));
    }
    let needs_counterpart = matches!(
        application.state,
        ApplicationState::Matched | ApplicationState::TsoRejected
    ) || (switching && application.state == ApplicationState::Completed);
    let Some(counterpart_number) = application.matched_with else {
        if needs_counterpart {
            return Err(violation(
                4,
                format!("{number} is {:?} without a counterpart", application.state),
            ));
        }
        return Ok(());
    };
    let Some(counterpart) = view.application(counterpart_number) else {
        return Err(violation(
            4,
            format!("{number} is matched with missing {counterpart_number}"),
        ));
    };
    let opposite = match application.procedure() {
        Procedure::SwitchIn => Procedure::SwitchOut,
        Procedure::SwitchOut => Procedure::SwitchIn,
        other => other,
    };
    let consistent = switching
        && counterpart.matched_with == Some(number)
        && counterpart.procedure() == opposite
        && counterpart.supply_point == application.supply_point
        && counterpart.effective_date == application.effective_date
        && counterpart.state == application.state
        && counterpart.completed_on == application.completed_on;
    if !consistent {
        return Err(violation(
            4,
            format!(
                "{number} and {counterpart_number} do not form one switch of the same point, date and state"
            ),
        ));
    }
    Ok(())
}
