//! Applications: submit (flag 1), amend (flag 2), cancel (flag 3), matching, and the TSO's
//! complete and reject. Deadlines are in `tick.rs`.

use crate::application::{
    Application, ApplicationState, Procedure, ProcedureRequest, Transition, UpdateFlag,
};
use crate::command::{Accepted, Command, Outcome};
use crate::decide::{Tx, acting_retailer, acting_tso, not_permitted, retailer, tso};
use crate::event::{Audience, Event, EventKind};
use crate::facility::{
    CapacityUnit, DecisionMethod, PeriodEnd, SupplyPoint, SupplyState, VoltageClass,
};
use crate::ids::{ApplicationNumber, Area, ShortText, SupplyPointNumber};
use crate::rejection::Rejection;
use crate::state::{DueEntry, DueItem, StateView};
use crate::stop_on_behalf::StopOnBehalfState;
use crate::time::Date;
use crate::timeline::{self, Conflict, Problem};

/// Most open applications one supply point carries at once.
pub(crate) const OPEN_APPLICATIONS_MAX: usize = 8;

/// Update flag 1. Checks the request, the lead time, the open applications and their order on
/// the supply point; a switching application whose counterpart is waiting with the same date is
/// matched at once.
pub(crate) fn submit<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    supply_point_number: &SupplyPointNumber,
    effective_date: Date,
    request: &ProcedureRequest,
) -> Outcome {
    let applicant = acting_retailer(tx, "submit applications")?;
    let mut supply_point = tx.existing_supply_point(supply_point_number)?;
    let procedure = request.procedure();
    let open = open_applications(tx, &supply_point);
    if procedure.is_switching()
        && let Some(existing) = open.iter().find(|other| other.procedure() == procedure)
    {
        return Err(Rejection::OpenApplicationExists {
            supply_point: *supply_point_number,
            procedure,
            existing: existing.number,
        });
    }
    if open.len() >= OPEN_APPLICATIONS_MAX {
        return Err(Rejection::TimelineConflict {
            supply_point: *supply_point_number,
            procedure,
            date: effective_date,
            reason: format!("the point already has {OPEN_APPLICATIONS_MAX} open applications"),
        });
    }
    validate_request(tx, &supply_point, applicant, request)?;
    let deadline = check_dates(tx, &supply_point, procedure, effective_date)?;
    let counterpart = waiting_counterpart(&open, procedure, effective_date)?;

    let number = tx.next_application_number()?;
    let mut application = Application {
        number,
        supply_point: *supply_point_number,
        applicant,
        request: request.clone(),
        effective_date,
        deadline,
        revision: 1,
        state: if procedure.is_switching() {
            ApplicationState::AwaitingMatch
        } else {
            ApplicationState::Received
        },
        submitted_at: tx.now,
        updated_at: tx.now,
        matched_with: None,
        completed_on: None,
        rejection_reason: None,
        transitions: Vec::new(),
    };
    check_timeline(&supply_point, &open, &application)?;

    supply_point.open_applications.push(number);
    tx.put_supply_point(supply_point);
    tx.emit(Event {
        kind: EventKind::ApplicationSubmitted {
            number,
            procedure,
            supply_point: *supply_point_number,
            applicant,
            effective_date,
        },
        audience: application_audience(&application),
    });
    match counterpart {
        Some(counterpart) => match_pair(tx, &mut application, counterpart),
        None => tx.add_due(deadline_entry(&application)),
    }
    let accepted = answer(&application);
    tx.put_application(application);
    Ok(accepted)
}

/// Update flag 2: the applicant changes the date or the details of an application it saw at
/// `revision`, while it is still amendable. The same checks as a submission apply again.
pub(crate) fn amend<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    command: &Command,
    number: ApplicationNumber,
    revision: u32,
    effective_date: Date,
    request: &ProcedureRequest,
) -> Outcome {
    let applicant = acting_retailer(tx, "amend applications")?;
    let mut application = own_application(tx, number, applicant, "amend")?;
    let fingerprint = command.fingerprint();
    if let Some(first_answer) = replayed(&application, UpdateFlag::Amend, revision, &fingerprint) {
        return Ok(first_answer);
    }
    check_revision(&application, revision)?;
    if !application.state.is_amendable() {
        return Err(Rejection::ApplicationLocked {
            number,
            state: application.state,
            action: "amended".to_owned(),
        });
    }
    if request.procedure() != application.procedure() {
        return Err(Rejection::ProcedureChanged {
            from: application.procedure(),
            to: request.procedure(),
        });
    }
    if application.transitions.len() >= Application::TRANSITIONS_MAX {
        return Err(Rejection::TooManyAmends {
            number,
            max: Application::TRANSITIONS_MAX,
        });
    }
    let supply_point = tx.existing_supply_point(&application.supply_point)?;
    let procedure = application.procedure();
    validate_request(tx, &supply_point, applicant, request)?;
    let deadline = check_dates(tx, &supply_point, procedure, effective_date)?;
    let others: Vec<Application> = open_applications(tx, &supply_point)
        .into_iter()
        .filter(|other| other.number != number)
        .collect();
    let counterpart = waiting_counterpart(&others, procedure, effective_date)?;

    tx.remove_due(deadline_entry(&application));
    application.effective_date = effective_date;
    application.request = request.clone();
    application.deadline = deadline;
    application.revision += 1;
    application.updated_at = tx.now;
    application.transitions.push(Transition {
        flag: UpdateFlag::Amend,
        from_revision: revision,
        fingerprint,
    });
    check_timeline(&supply_point, &others, &application)?;

    tx.emit(changed_event(&application));
    match counterpart {
        Some(counterpart) => match_pair(tx, &mut application, counterpart),
        None => tx.add_due(deadline_entry(&application)),
    }
    let accepted = answer(&application);
    tx.put_application(application);
    Ok(accepted)
}

/// Update flag 3: the applicant withdraws an application it saw at `revision`, while it is still
/// amendable (matched and accepted applications are locked).
pub(crate) fn cancel<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    command: &Command,
    number: ApplicationNumber,
    revision: u32,
) -> Outcome {
    let applicant = acting_retailer(tx, "cancel applications")?;
    let mut application = own_application(tx, number, applicant, "cancel")?;
    let fingerprint = command.fingerprint();
    if let Some(first_answer) = replayed(&application, UpdateFlag::Cancel, revision, &fingerprint) {
        return Ok(first_answer);
    }
    check_revision(&application, revision)?;
    if !application.state.is_amendable() {
        return Err(Rejection::ApplicationLocked {
            number,
            state: application.state,
            action: "cancelled".to_owned(),
        });
    }
    let mut supply_point = tx.existing_supply_point(&application.supply_point)?;
    application.transitions.push(Transition {
        flag: UpdateFlag::Cancel,
        from_revision: revision,
        fingerprint,
    });
    close(
        tx,
        &mut supply_point,
        &mut application,
        ApplicationState::Cancelled,
        None,
    );
    tx.put_supply_point(supply_point);
    let accepted = answer(&application);
    tx.put_application(application);
    Ok(accepted)
}

/// The TSO of the area reports a matched pair or an accepted application carried out on
/// `actual_date`: not before its effective date, not after today, after the current supply period
/// began, and before every other open application on the point. A completed switch makes the
/// switch-in's retailer the supplier from `actual_date`, the day after the old one's last day.
pub(crate) fn complete<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    number: ApplicationNumber,
    actual_date: Date,
) -> Outcome {
    let area = acting_tso(tx, "complete applications")?;
    let mut application = tso_application(tx, number, area)?;
    if !application.state.awaits_tso() {
        return Err(Rejection::NotAwaitingTso {
            number,
            state: application.state,
        });
    }
    let mut counterpart = match application.matched_with {
        Some(counterpart) => Some(tx.existing_application(counterpart)?),
        None => None,
    };
    let invalid = |reason: String| Rejection::ActualDateInvalid {
        actual_date,
        reason,
    };
    if actual_date > tx.today {
        return Err(invalid(format!("it is after today, {}", tx.today)));
    }
    if actual_date < application.effective_date {
        return Err(invalid(format!(
            "it is before the effective date, {}",
            application.effective_date
        )));
    }
    let mut supply_point = tx.existing_supply_point(&application.supply_point)?;
    let pair = [Some(number), application.matched_with];
    for other in open_applications(tx, &supply_point) {
        if !pair.contains(&Some(other.number)) && other.effective_date <= actual_date {
            return Err(invalid(format!(
                "open application {} is effective {}; it comes first",
                other.number, other.effective_date
            )));
        }
    }
    match &supply_point.supply {
        SupplyState::Supplying { since, .. } if *since >= actual_date => {
            return Err(invalid(format!("the current supply began on {since}")));
        }
        SupplyState::Stopped => {
            if let Some(last) = supply_point.history.last()
                && last.until >= actual_date
            {
                return Err(invalid(format!("the last supply ended on {}", last.until)));
            }
        }
        SupplyState::Supplying { .. } => {}
    }

    let supply_point_number = supply_point.number;
    match application.procedure() {
        Procedure::SwitchIn | Procedure::SwitchOut => {
            let Some(counterpart) = counterpart.as_mut() else {
                return Err(Rejection::InvariantWouldBreak {
                    invariant: 4,
                    detail: format!("matched application {number} has no counterpart"),
                });
            };
            let (switch_in, switch_out) = if application.procedure() == Procedure::SwitchIn {
                (&application, &*counterpart)
            } else {
                (&*counterpart, &application)
            };
            let incoming = switch_in.applicant;
            let outgoing = switch_out.applicant;
            let switch_in_number = switch_in.number;
            if let ProcedureRequest::SwitchIn { stop_on_behalf } = switch_in.request
                && let Some(mut request) = tx.stop_on_behalf(stop_on_behalf)
            {
                request.used_by = Some(switch_in_number);
                tx.put_stop_on_behalf(request);
            }
            supply_point.begin_period(incoming, actual_date, PeriodEnd::Switched);
            close(
                tx,
                &mut supply_point,
                counterpart,
                ApplicationState::Completed,
                None,
            );
            counterpart.completed_on = Some(actual_date);
            tx.put_application(counterpart.clone());
            tx.emit(Event {
                kind: EventKind::SupplierChanged {
                    supply_point: supply_point_number,
                    from: Some(outgoing),
                    to: incoming,
                    since: actual_date,
                },
                audience: Audience::parties([retailer(outgoing), retailer(incoming), tso(area)]),
            });
        }
        Procedure::StopSupply | Procedure::StopSupplyWithRemoval => {
            supply_point.stop_after(actual_date.add_days(-1));
            tx.emit(Event {
                kind: EventKind::SupplyStopped {
                    supply_point: supply_point_number,
                    last_day: actual_date.add_days(-1),
                },
                audience: Audience::parties([retailer(application.applicant), tso(area)]),
            });
        }
        Procedure::Restart => {
            supply_point.begin_period(application.applicant, actual_date, PeriodEnd::Stopped);
            tx.emit(Event {
                kind: EventKind::SupplierChanged {
                    supply_point: supply_point_number,
                    from: None,
                    to: application.applicant,
                    since: actual_date,
                },
                audience: Audience::parties([retailer(application.applicant), tso(area)]),
            });
        }
        Procedure::AmpereChange => {
            if let ProcedureRequest::AmpereChange { capacity } = application.request {
                supply_point.facility.capacity = capacity;
            }
        }
        Procedure::CustomerInfoChange => {}
    }
    application.completed_on = Some(actual_date);
    close(
        tx,
        &mut supply_point,
        &mut application,
        ApplicationState::Completed,
        None,
    );
    tx.put_supply_point(supply_point);
    let accepted = answer(&application);
    tx.put_application(application);
    Ok(accepted)
}

/// The TSO of the area cannot carry out a matched pair (both become `TsoRejected`) or refuses
/// another procedure that is received or accepted (`Rejected`).
pub(crate) fn reject<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    number: ApplicationNumber,
    reason: &ShortText,
) -> Outcome {
    let area = acting_tso(tx, "reject applications")?;
    let mut application = tso_application(tx, number, area)?;
    let mut supply_point = tx.existing_supply_point(&application.supply_point)?;
    let final_state = match (application.procedure().is_switching(), application.state) {
        (true, ApplicationState::Matched) => ApplicationState::TsoRejected,
        (false, ApplicationState::Received | ApplicationState::Accepted) => {
            ApplicationState::Rejected
        }
        (_, state) => return Err(Rejection::NotAwaitingTso { number, state }),
    };
    if let Some(counterpart) = application.matched_with {
        let mut counterpart = tx.existing_application(counterpart)?;
        close(
            tx,
            &mut supply_point,
            &mut counterpart,
            final_state,
            Some(reason.clone()),
        );
        tx.put_application(counterpart);
    }
    close(
        tx,
        &mut supply_point,
        &mut application,
        final_state,
        Some(reason.clone()),
    );
    tx.put_supply_point(supply_point);
    let accepted = answer(&application);
    tx.put_application(application);
    Ok(accepted)
}

/// Moves an application to a final state (or to `Accepted`, which stays open): revision bumped,
/// off the point's open list when final, its deadline dropped, applicant and TSO told.
pub(crate) fn close<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    supply_point: &mut SupplyPoint,
    application: &mut Application,
    state: ApplicationState,
    reason: Option<ShortText>,
) {
    tx.remove_due(deadline_entry(application));
    application.state = state;
    application.revision += 1;
    application.updated_at = tx.now;
    if reason.is_some() {
        application.rejection_reason = reason;
    }
    if !state.is_open() {
        supply_point
            .open_applications
            .retain(|open| *open != application.number);
    }
    tx.emit(changed_event(application));
}

fn own_application<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    number: ApplicationNumber,
    applicant: crate::ids::RetailerCode,
    action: &str,
) -> Result<Application, Rejection> {
    let application = tx.existing_application(number)?;
    if application.applicant != applicant {
        return Err(not_permitted(
            tx,
            // The applicant stays unnamed: a stranger may not learn who works on a point.
            &format!("{action} {number}, which another retailer submitted"),
        ));
    }
    Ok(application)
}

fn tso_application<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    number: ApplicationNumber,
    area: Area,
) -> Result<Application, Rejection> {
    let application = tx.existing_application(number)?;
    if application.supply_point.area() != area {
        return Err(Rejection::OutsideArea {
            supply_point: application.supply_point,
            supply_point_area: application.supply_point.area(),
            actor_area: area,
        });
    }
    Ok(application)
}

/// An amend or cancel already applied at `revision` with the same content: the answer it got.
fn replayed(
    application: &Application,
    flag: UpdateFlag,
    revision: u32,
    fingerprint: &str,
) -> Option<Accepted> {
    application
        .transitions
        .iter()
        .find(|transition| {
            transition.flag == flag
                && transition.from_revision == revision
                && transition.fingerprint == fingerprint
        })
        .map(|transition| Accepted::Application {
            number: application.number,
            revision: transition.from_revision + 1,
            state: application.state,
            matched_with: application.matched_with,
        })
}

fn check_revision(application: &Application, revision: u32) -> Result<(), Rejection> {
    if revision != application.revision {
        return Err(Rejection::StaleRevision {
            number: application.number,
            given: revision,
            current: application.revision,
        });
    }
    Ok(())
}

fn open_applications<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    supply_point: &SupplyPoint,
) -> Vec<Application> {
    supply_point
        .open_applications
        .iter()
        .filter_map(|number| tx.application(*number))
        .collect()
}

/// Procedure-specific checks that do not depend on the order of open applications.
fn validate_request<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    supply_point: &SupplyPoint,
    applicant: crate::ids::RetailerCode,
    request: &ProcedureRequest,
) -> Result<(), Rejection> {
    match request {
        ProcedureRequest::SwitchIn { stop_on_behalf } => {
            let number = *stop_on_behalf;
            let request = tx
                .stop_on_behalf(number)
                .ok_or(Rejection::StopOnBehalfNotFound { number })?;
            let unusable = |reason: String| Rejection::StopOnBehalfNotUsable { number, reason };
            if request.requester != applicant {
                return Err(unusable(format!("{} registered it", request.requester)));
            }
            if request.supply_point != supply_point.number {
                return Err(unusable(format!(
                    "it is for supply point {}",
                    request.supply_point
                )));
            }
            if request.state != StopOnBehalfState::Ok {
                return Err(unusable(format!("it is {:?}, not Ok", request.state)));
            }
            if let Some(used_by) = request.used_by {
                return Err(unusable(format!("switch-in {used_by} already used it")));
            }
            if supply_point.current_retailer().is_some()
                && supply_point.current_retailer() != Some(request.addressee)
            {
                return Err(unusable(format!(
                    "its addressee {} no longer supplies the point",
                    request.addressee
                )));
            }
        }
        ProcedureRequest::AmpereChange { capacity } => {
            let facility = &supply_point.facility;
            let reason = if facility.voltage != VoltageClass::Low {
                Some("the supply point is not low voltage".to_owned())
            } else if facility.decision_method != DecisionMethod::AmpereBreaker {
                Some("the capacity is not decided by an ampere breaker".to_owned())
            } else if capacity.unit() != CapacityUnit::Ampere {
                Some("the new capacity must be in amperes".to_owned())
            } else if *capacity == facility.capacity {
                Some(format!("the breaker is already {} A", capacity.value()))
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(Rejection::AmpereChangeNotApplicable { reason });
            }
        }
        ProcedureRequest::StopSupply { .. }
        | ProcedureRequest::SwitchOut
        | ProcedureRequest::Restart { .. }
        | ProcedureRequest::CustomerInfoChange { .. } => {}
    }
    Ok(())
}

/// The lead time must still allow locking the application in (its deadline is not before today),
/// and the date must lie within the policy's horizon. Returns the deadline.
fn check_dates<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    supply_point: &SupplyPoint,
    procedure: Procedure,
    effective_date: Date,
) -> Result<Date, Rejection> {
    let lead_times = tx.policy.lead_times(supply_point.area());
    let lead_time = if !procedure.is_switching() {
        lead_times.other
    } else if supply_point.facility.needs_meter_replacement() {
        lead_times.switching_with_meter_works
    } else {
        lead_times.switching
    };
    let calendar = &tx.policy.calendar;
    let deadline = lead_time.deadline(calendar, effective_date);
    if deadline < tx.today {
        return Err(Rejection::LeadTimeNotMet {
            date: effective_date,
            earliest: lead_time.earliest_effective_date(calendar, tx.today),
        });
    }
    let latest = tx
        .today
        .add_days(i32::from(tx.policy.effective_date_horizon_days));
    if effective_date > latest {
        return Err(Rejection::EffectiveDateTooFar {
            date: effective_date,
            latest,
        });
    }
    Ok(deadline)
}

/// The other half of a switch waiting to be matched, if any. It must carry the same date.
fn waiting_counterpart(
    open: &[Application],
    procedure: Procedure,
    effective_date: Date,
) -> Result<Option<Application>, Rejection> {
    let wanted = match procedure {
        Procedure::SwitchIn => Procedure::SwitchOut,
        Procedure::SwitchOut => Procedure::SwitchIn,
        _ => return Ok(None),
    };
    let Some(counterpart) = open.iter().find(|other| {
        other.procedure() == wanted && other.state == ApplicationState::AwaitingMatch
    }) else {
        return Ok(None);
    };
    if counterpart.effective_date != effective_date {
        return Err(Rejection::CounterpartDateMismatch {
            counterpart: counterpart.number,
            counterpart_procedure: wanted,
            counterpart_date: counterpart.effective_date,
            date: effective_date,
        });
    }
    Ok(Some(counterpart.clone()))
}

/// The order rules with `candidate` among `others`; a conflict that concerns the candidate alone
/// against the current supply state gets the specific rejection.
fn check_timeline(
    supply_point: &SupplyPoint,
    others: &[Application],
    candidate: &Application,
) -> Result<(), Rejection> {
    let mut all: Vec<&Application> = others.iter().collect();
    all.push(candidate);
    let Err(conflict) = timeline::check(&supply_point.supply, &all) else {
        return Ok(());
    };
    Err(timeline_rejection(
        supply_point.number,
        candidate,
        &conflict,
    ))
}

fn timeline_rejection(
    supply_point: SupplyPointNumber,
    candidate: &Application,
    conflict: &Conflict,
) -> Rejection {
    match conflict.problem {
        Problem::DateTaken { other } => Rejection::EffectiveDateTaken {
            supply_point,
            date: conflict.date,
            existing: if other == candidate.number {
                conflict.application
            } else {
                other
            },
        },
        // Against the current state only the candidate can fail: the others passed before.
        Problem::NotSupplying => Rejection::NotSupplying { supply_point },
        Problem::NotStopped => Rejection::NotStopped { supply_point },
        Problem::NotSupplier { .. } => Rejection::NotCurrentRetailer {
            supply_point,
            retailer: candidate.applicant,
        },
        Problem::AlreadySupplier => Rejection::AlreadyCurrentRetailer {
            supply_point,
            retailer: candidate.applicant,
        },
        Problem::SwitchHalvesDisagree { .. }
        | Problem::SecondSupplyChange { .. }
        | Problem::AfterSupplyChange { .. } => Rejection::TimelineConflict {
            supply_point,
            procedure: candidate.procedure(),
            date: candidate.effective_date,
            reason: conflict.describe(),
        },
    }
}

/// Pairs `application` with its waiting `counterpart`: both `Matched` and locked, deadlines
/// dropped, both retailers and the TSO told.
fn match_pair<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    application: &mut Application,
    mut counterpart: Application,
) {
    tx.remove_due(deadline_entry(&counterpart));
    application.state = ApplicationState::Matched;
    application.matched_with = Some(counterpart.number);
    counterpart.state = ApplicationState::Matched;
    counterpart.matched_with = Some(application.number);
    counterpart.revision += 1;
    counterpart.updated_at = tx.now;
    let (switch_in, switch_out) = if application.procedure() == Procedure::SwitchIn {
        (&*application, &counterpart)
    } else {
        (&counterpart, &*application)
    };
    tx.emit(Event {
        kind: EventKind::ApplicationsMatched {
            switch_in: switch_in.number,
            switch_out: switch_out.number,
            supply_point: application.supply_point,
            effective_date: application.effective_date,
        },
        audience: Audience::parties([
            retailer(switch_in.applicant),
            retailer(switch_out.applicant),
            tso(application.supply_point.area()),
        ]),
    });
    tx.put_application(counterpart);
}

pub(crate) fn deadline_entry(application: &Application) -> DueEntry {
    DueEntry {
        date: application.deadline,
        item: DueItem::Application(application.number),
    }
}

fn application_audience(application: &Application) -> Audience {
    Audience::parties([
        retailer(application.applicant),
        tso(application.supply_point.area()),
    ])
}

fn changed_event(application: &Application) -> Event {
    Event {
        kind: EventKind::ApplicationChanged {
            number: application.number,
            revision: application.revision,
            state: application.state,
            effective_date: application.effective_date,
        },
        audience: application_audience(application),
    }
}

fn answer(application: &Application) -> Accepted {
    Accepted::Application {
        number: application.number,
        revision: application.revision,
        state: application.state,
        matched_with: application.matched_with,
    }
}
