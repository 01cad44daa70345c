//! The order rules of one supply point's open applications (invariants 2 and 3 of `DOMAIN.md`).
//!
//! Any open application may still be cancelled, lapse or be refused by the TSO, so no open
//! application may depend on another one happening. Hence:
//!
//! - every open application is valid against the point's *current* supply state: a switch-out,
//!   stop, ampere change or customer information change comes from the current retailer of a
//!   supplied point; a switch-in from another retailer of a supplied point; a restart needs a
//!   stopped point;
//! - open applications have distinct effective dates, except the two halves of one switch (at
//!   most one open switch-in and one open switch-out, and both on the same date);
//! - at most one open *supply change* (a switch, a stop or a restart), and nothing open is dated
//!   after it, because after it the current state no longer holds.
//!
//! Whatever subset of open applications later fails, the rest still satisfies these rules, and
//! the TSO completes them in date order (completion refuses to skip an earlier open one).

use crate::application::{Application, Procedure};
use crate::facility::SupplyState;
use crate::ids::{ApplicationNumber, RetailerCode};
use crate::time::Date;

/// Why the order breaks, at which application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub(crate) application: ApplicationNumber,
    pub(crate) date: Date,
    pub(crate) problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Two open applications (not the halves of one switch) share a date.
    DateTaken {
        other: ApplicationNumber,
    },
    /// Two switch-ins, two switch-outs, or a switch-in and switch-out of different dates.
    SwitchHalvesDisagree {
        other: ApplicationNumber,
    },
    NotSupplying,
    NotStopped,
    /// The applicant must be the current retailer but is not.
    NotSupplier {
        supplier: Option<RetailerCode>,
    },
    /// A switch-in from the current retailer.
    AlreadySupplier,
    /// A second open supply change.
    SecondSupplyChange {
        other: ApplicationNumber,
    },
    /// Dated after the open supply change `change`.
    AfterSupplyChange {
        change: ApplicationNumber,
    },
}

impl Problem {
    /// Whether the problem is the application against the current supply state (as opposed to
    /// its place among the other open applications).
    pub(crate) fn is_against_current_state(&self) -> bool {
        matches!(
            self,
            Problem::NotSupplying
                | Problem::NotStopped
                | Problem::NotSupplier { .. }
                | Problem::AlreadySupplier
        )
    }
}

impl Conflict {
    /// A sentence for a rejection message.
    pub(crate) fn describe(&self) -> String {
        let subject = format!("{} on {}", self.application, self.date);
        match &self.problem {
            Problem::DateTaken { other } => format!("{subject} shares its date with {other}"),
            Problem::SwitchHalvesDisagree { other } => {
                format!("{subject} and {other} cannot form one switch")
            }
            Problem::NotSupplying => format!("{subject} needs the point supplied"),
            Problem::NotStopped => format!("{subject} needs the point stopped"),
            Problem::NotSupplier {
                supplier: Some(supplier),
            } => format!("{subject} must come from the current retailer, {supplier}"),
            Problem::NotSupplier { supplier: None } => {
                format!("{subject} must come from the current retailer, and there is none")
            }
            Problem::AlreadySupplier => {
                format!("{subject} is a switch-in from the current retailer")
            }
            Problem::SecondSupplyChange { other } => format!(
                "{subject} would be a second open supply change beside {other}; one switch, stop or restart at a time"
            ),
            Problem::AfterSupplyChange { change } => format!(
                "{subject} lies after the open supply change {change}; submit it once that one is completed"
            ),
        }
    }
}

fn changes_supply(procedure: Procedure) -> bool {
    matches!(
        procedure,
        Procedure::SwitchIn
            | Procedure::SwitchOut
            | Procedure::StopSupply
            | Procedure::StopSupplyWithRemoval
            | Procedure::Restart
    )
}

/// Checks `open` (any order) against `supply`.
pub(crate) fn check(supply: &SupplyState, open: &[&Application]) -> Result<(), Conflict> {
    let conflict = |application: &Application, problem| Conflict {
        application: application.number,
        date: application.effective_date,
        problem,
    };
    let current = match supply {
        SupplyState::Supplying { retailer, .. } => Some(*retailer),
        SupplyState::Stopped => None,
    };
    for application in open {
        let problem = match application.procedure() {
            Procedure::Restart => current.is_some().then_some(Problem::NotStopped),
            _ if current.is_none() => Some(Problem::NotSupplying),
            Procedure::SwitchIn => {
                (current == Some(application.applicant)).then_some(Problem::AlreadySupplier)
            }
            Procedure::SwitchOut
            | Procedure::StopSupply
            | Procedure::StopSupplyWithRemoval
            | Procedure::AmpereChange
            | Procedure::CustomerInfoChange => (current != Some(application.applicant))
                .then_some(Problem::NotSupplier { supplier: current }),
        };
        if let Some(problem) = problem {
            return Err(conflict(application, problem));
        }
    }

    let mut sorted: Vec<&Application> = open.to_vec();
    sorted.sort_by_key(|application| (application.effective_date, application.number));
    for pair in sorted.windows(2) {
        let (first, second) = (pair[0], pair[1]);
        let both_switching = first.procedure().is_switching() && second.procedure().is_switching();
        if both_switching && first.procedure() == second.procedure() {
            return Err(conflict(
                second,
                Problem::SwitchHalvesDisagree {
                    other: first.number,
                },
            ));
        }
        if first.effective_date == second.effective_date && !both_switching {
            return Err(conflict(
                second,
                Problem::DateTaken {
                    other: first.number,
                },
            ));
        }
    }
    let switching: Vec<&&Application> = sorted
        .iter()
        .filter(|application| application.procedure().is_switching())
        .collect();
    if let [first, second, ..] = switching[..]
        && (switching.len() > 2 || first.effective_date != second.effective_date)
    {
        return Err(conflict(
            second,
            Problem::SwitchHalvesDisagree {
                other: first.number,
            },
        ));
    }

    // The supply change, if any, comes last; a switch's two halves count as one change.
    let mut change: Option<&Application> = None;
    for application in &sorted {
        if let Some(change) = change {
            let other_half_of_switch =
                change.procedure().is_switching() && application.procedure().is_switching();
            if !other_half_of_switch {
                let problem = if changes_supply(application.procedure()) {
                    Problem::SecondSupplyChange {
                        other: change.number,
                    }
                } else {
                    Problem::AfterSupplyChange {
                        change: change.number,
                    }
                };
                return Err(conflict(application, problem));
            }
        } else if changes_supply(application.procedure()) {
            change = Some(application);
        }
    }
    Ok(())
}
