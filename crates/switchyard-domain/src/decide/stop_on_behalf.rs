//! Stop-on-behalf requests: register, judge, cancel (expiry is in `tick.rs`).

use crate::command::{Accepted, Outcome};
use crate::decide::{Tx, acting_retailer, not_permitted, retailer};
use crate::event::{Audience, Event, EventKind};
use crate::facility::SupplyPoint;
use crate::ids::{StopOnBehalfNumber, SupplyPointNumber};
use crate::rejection::Rejection;
use crate::state::{DueEntry, DueItem, StateView};
use crate::stop_on_behalf::{CustomerIdentity, StopOnBehalfRequest, StopOnBehalfState, Verdict};
use crate::time::Date;

/// The new retailer registers a request to the current retailer. It must not supply the point
/// itself, may have one pending request per point, and the wished date must not be past or
/// beyond the policy's horizon. The current retailer has the policy's number of business days to
/// answer.
pub(crate) fn register<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    supply_point_number: &SupplyPointNumber,
    customer: &CustomerIdentity,
    wished_date: Date,
) -> Outcome {
    let requester = acting_retailer(tx, "register stop-on-behalf requests")?;
    let mut supply_point = tx.existing_supply_point(supply_point_number)?;
    let Some(addressee) = supply_point.current_retailer() else {
        return Err(Rejection::NotSupplying {
            supply_point: *supply_point_number,
        });
    };
    if addressee == requester {
        return Err(Rejection::AlreadyCurrentRetailer {
            supply_point: *supply_point_number,
            retailer: requester,
        });
    }
    if wished_date < tx.today {
        return Err(Rejection::InvalidField {
            field: "wished_date".to_owned(),
            reason: format!("{wished_date} is before today, {}", tx.today),
        });
    }
    let latest = tx
        .today
        .add_days(i32::from(tx.policy.effective_date_horizon_days));
    if wished_date > latest {
        return Err(Rejection::EffectiveDateTooFar {
            date: wished_date,
            latest,
        });
    }
    for pending in &supply_point.pending_stop_on_behalf {
        if let Some(existing) = tx.stop_on_behalf(*pending)
            && existing.requester == requester
        {
            return Err(Rejection::StopOnBehalfAlreadyPending {
                supply_point: *supply_point_number,
                retailer: requester,
                existing: existing.number,
            });
        }
    }
    if supply_point.pending_stop_on_behalf.len() >= SupplyPoint::PENDING_STOP_ON_BEHALF_MAX {
        return Err(Rejection::TooManyPendingStopOnBehalf {
            supply_point: *supply_point_number,
            max: SupplyPoint::PENDING_STOP_ON_BEHALF_MAX,
        });
    }

    let number = tx.next_stop_on_behalf_number()?;
    let answer_deadline = tx
        .policy
        .calendar
        .business_days_after(tx.today, tx.policy.stop_on_behalf_answer_business_days);
    let request = StopOnBehalfRequest {
        number,
        supply_point: *supply_point_number,
        requester,
        addressee,
        customer: customer.clone(),
        wished_date,
        state: StopOnBehalfState::Registered,
        registered_at: tx.now,
        answer_deadline,
        decided_at: None,
        used_by: None,
    };
    tx.add_due(DueEntry {
        date: answer_deadline,
        item: DueItem::StopOnBehalf(number),
    });
    supply_point.pending_stop_on_behalf.push(number);
    tx.put_supply_point(supply_point);
    tx.put_stop_on_behalf(request);
    tx.emit(Event {
        kind: EventKind::StopOnBehalfRegistered {
            number,
            supply_point: *supply_point_number,
            requester,
            addressee,
        },
        audience: Audience::parties([retailer(requester), retailer(addressee)]),
    });
    Ok(Accepted::StopOnBehalf {
        number,
        state: StopOnBehalfState::Registered,
    })
}

/// The addressee judges a pending request, by its answer deadline, while it still supplies the
/// point. NG is final.
pub(crate) fn judge<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    number: StopOnBehalfNumber,
    verdict: &Verdict,
) -> Outcome {
    let judge = acting_retailer(tx, "judge stop-on-behalf requests")?;
    let request = existing(tx, number)?;
    if request.addressee != judge {
        return Err(not_permitted(
            tx,
            // The addressee (the current retailer) stays unnamed to a stranger.
            &format!("judge {number}, which is addressed to another retailer"),
        ));
    }
    require_pending(&request, "Registered to be judged")?;
    if tx.today > request.answer_deadline {
        return Err(Rejection::StopOnBehalfDeadlinePassed {
            number,
            deadline: request.answer_deadline,
        });
    }
    let supply_point = tx.existing_supply_point(&request.supply_point)?;
    if supply_point.current_retailer() != Some(judge) {
        return Err(Rejection::NotCurrentRetailer {
            supply_point: request.supply_point,
            retailer: judge,
        });
    }
    let state = match verdict {
        Verdict::Ok => StopOnBehalfState::Ok,
        Verdict::Ng(reasons) => StopOnBehalfState::Ng(reasons.clone()),
    };
    decide_request(tx, request, state)
}

/// The requester withdraws a request not yet judged.
pub(crate) fn cancel<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    number: StopOnBehalfNumber,
) -> Outcome {
    let requester = acting_retailer(tx, "cancel stop-on-behalf requests")?;
    let request = existing(tx, number)?;
    if request.requester != requester {
        return Err(not_permitted(
            tx,
            &format!("cancel {number}, which another retailer registered"),
        ));
    }
    require_pending(&request, "Registered to be cancelled")?;
    decide_request(tx, request, StopOnBehalfState::Cancelled)
}

fn existing<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    number: StopOnBehalfNumber,
) -> Result<StopOnBehalfRequest, Rejection> {
    tx.stop_on_behalf(number)
        .ok_or(Rejection::StopOnBehalfNotFound { number })
}

fn require_pending(request: &StopOnBehalfRequest, needed: &str) -> Result<(), Rejection> {
    if request.is_pending() {
        Ok(())
    } else {
        Err(Rejection::StopOnBehalfWrongState {
            number: request.number,
            state: request.state.clone(),
            needed: needed.to_owned(),
        })
    }
}

/// Moves a pending request to its final `state`: off the supply point's pending list, its
/// deadline dropped, both retailers told. Used by judge, cancel and expiry.
pub(crate) fn decide_request<S: StateView + ?Sized>(
    tx: &mut Tx<'_, S>,
    mut request: StopOnBehalfRequest,
    state: StopOnBehalfState,
) -> Outcome {
    let number = request.number;
    if let Some(mut supply_point) = tx.supply_point(&request.supply_point) {
        supply_point
            .pending_stop_on_behalf
            .retain(|pending| *pending != number);
        tx.put_supply_point(supply_point);
    }
    tx.remove_due(DueEntry {
        date: request.answer_deadline,
        item: DueItem::StopOnBehalf(number),
    });
    request.state = state.clone();
    request.decided_at = Some(tx.now);
    let audience = Audience::parties([retailer(request.requester), retailer(request.addressee)]);
    tx.put_stop_on_behalf(request);
    tx.emit(Event {
        kind: EventKind::StopOnBehalfDecided {
            number,
            state: state.clone(),
        },
        audience,
    });
    Ok(Accepted::StopOnBehalf { number, state })
}
