//! The order rules of one supply point: its open applications, taken in effective-date order from
//! its current supply state, must each find the state they need on their date (invariants 2 and 3
//! of `DOMAIN.md`).
//!
//! - a switch needs the point supplied; its switch-out must come from the retailer supplying on
//!   that date and its switch-in from another retailer;
//! - a stop, an ampere change or a customer information change needs the point supplied by the
//!   applicant on that date;
//! - a restart needs the point stopped on that date;
//! - open applications have distinct effective dates, except the two halves of one switch.

use crate::application::{Application, Procedure};
use crate::facility::SupplyState;
use crate::ids::{ApplicationNumber, RetailerCode};
use crate::time::Date;

/// Who supplies on a projected date. After a switch whose switch-in has not arrived yet, the new
/// retailer is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Projected {
    Stopped,
    Supplying(Option<RetailerCode>),
}

/// Why the order breaks, at which application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conflict {
    pub(crate) application: ApplicationNumber,
    pub(crate) date: Date,
    /// Whether an earlier open application shaped the state this one found.
    pub(crate) after_other_applications: bool,
    pub(crate) problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Two open applications (not the halves of one switch) share a date.
    DateTaken { other: ApplicationNumber },
    /// A switch-in and switch-out of different dates, or two of the same kind.
    SwitchHalvesDisagree { other: ApplicationNumber },
    NotSupplying,
    NotStopped,
    /// The applicant must be the supplying retailer on the date but is not.
    NotSupplier { supplier: Option<RetailerCode> },
    /// A switch-in from the retailer already supplying on the date.
    AlreadySupplier,
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
            Problem::NotSupplying => format!("{subject} needs the point supplied, but it is stopped by then"),
            Problem::NotStopped => format!("{subject} needs the point stopped, but it is supplied by then"),
            Problem::NotSupplier { supplier: Some(supplier) } => {
                format!("{subject} must come from the retailer supplying then, {supplier}")
            }
            Problem::NotSupplier { supplier: None } => {
                format!("{subject} must come from the retailer supplying then, which is not known yet")
            }
            Problem::AlreadySupplier => {
                format!("{subject} is a switch-in from the retailer already supplying then")
            }
        }
    }
}

/// Checks the order of `open` (any order) starting from `supply`.
pub(crate) fn check(supply: &SupplyState, open: &[&Application]) -> Result<(), Conflict> {
    let mut sorted: Vec<&Application> = open.to_vec();
    sorted.sort_by_key(|application| (application.effective_date, application.number));

    // At most one switch-in and one switch-out, and when both are open they share their date.
    let switching: Vec<&Application> = sorted
        .iter()
        .copied()
        .filter(|application| application.procedure().is_switching())
        .collect();
    if let [first, second, ..] = switching[..] {
        if switching.len() > 2
            || first.procedure() == second.procedure()
            || first.effective_date != second.effective_date
        {
            return Err(Conflict {
                application: second.number,
                date: second.effective_date,
                after_other_applications: true,
                problem: Problem::SwitchHalvesDisagree {
                    other: first.number,
                },
            });
        }
    }

    let mut projected = match supply {
        SupplyState::Supplying { retailer, .. } => Projected::Supplying(Some(*retailer)),
        SupplyState::Stopped => Projected::Stopped,
    };
    let mut index = 0;
    let mut steps_taken = 0;
    while index < sorted.len() {
        let first = sorted[index];
        let conflict = |problem| Conflict {
            application: first.number,
            date: first.effective_date,
            after_other_applications: steps_taken > 0,
            problem,
        };
        // Gather the applications sharing this date: at most one switch-in plus one switch-out.
        let same_date: Vec<&Application> = sorted[index..]
            .iter()
            .take_while(|other| other.effective_date == first.effective_date)
            .copied()
            .collect();
        index += same_date.len();
        if same_date.len() > 1 {
            let halves_of_one_switch = same_date.len() == 2
                && same_date[0].procedure().is_switching()
                && same_date[1].procedure().is_switching()
                && same_date[0].procedure() != same_date[1].procedure();
            if !halves_of_one_switch {
                return Err(Conflict {
                    application: same_date[1].number,
                    date: first.effective_date,
                    after_other_applications: steps_taken > 0,
                    problem: Problem::DateTaken {
                        other: same_date[0].number,
                    },
                });
            }
        }
        let supplier = match projected {
            Projected::Supplying(supplier) => supplier,
            Projected::Stopped => {
                if first.procedure() == Procedure::Restart {
                    None
                } else {
                    return Err(conflict(Problem::NotSupplying));
                }
            }
        };
        projected = match first.procedure() {
            Procedure::SwitchIn | Procedure::SwitchOut => {
                let switch_in = same_date
                    .iter()
                    .find(|application| application.procedure() == Procedure::SwitchIn);
                let switch_out = same_date
                    .iter()
                    .find(|application| application.procedure() == Procedure::SwitchOut);
                if let Some(switch_out) = switch_out {
                    if supplier.is_some_and(|supplier| supplier != switch_out.applicant) {
                        return Err(Conflict {
                            application: switch_out.number,
                            ..conflict(Problem::NotSupplier { supplier })
                        });
                    }
                }
                if let Some(switch_in) = switch_in {
                    if supplier == Some(switch_in.applicant) {
                        return Err(Conflict {
                            application: switch_in.number,
                            ..conflict(Problem::AlreadySupplier)
                        });
                    }
                }
                Projected::Supplying(switch_in.map(|switch_in| switch_in.applicant))
            }
            Procedure::Restart => {
                if matches!(projected, Projected::Supplying(_)) {
                    return Err(conflict(Problem::NotStopped));
                }
                Projected::Supplying(Some(first.applicant))
            }
            Procedure::StopSupply
            | Procedure::StopSupplyWithRemoval
            | Procedure::AmpereChange
            | Procedure::CustomerInfoChange => {
                if supplier.is_some_and(|supplier| supplier != first.applicant) {
                    return Err(conflict(Problem::NotSupplier { supplier }));
                }
                if matches!(
                    first.procedure(),
                    Procedure::StopSupply | Procedure::StopSupplyWithRemoval
                ) {
                    Projected::Stopped
                } else {
                    Projected::Supplying(supplier.or(Some(first.applicant)))
                }
            }
        };
        steps_taken += 1;
    }
    Ok(())
}
