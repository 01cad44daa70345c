//! Ticks: the cluster moves time forward and deadlines that passed take effect.
//!
//! A deadline takes effect on the first tick dated after it: an application still waiting for its
//! counterpart becomes `Unmatched`; another procedure still `Received` becomes `Accepted` (locked,
//! waiting for the TSO); a stop-on-behalf request still `Registered` becomes `Expired`; a request
//! id past its retention is forgotten. One tick handles at most [`TICK_ENTRIES_MAX`] entries and
//! says whether more are due, so a tick never grows into an unbounded log entry.

use crate::application::ApplicationState;
use crate::command::{Accepted, Outcome};
use crate::decide::applications::close;
use crate::decide::stop_on_behalf::decide_request;
use crate::decide::{Tx, not_permitted};
use crate::ids::{Actor, ShortText};
use crate::state::{DueItem, StateView};
use crate::stop_on_behalf::StopOnBehalfState;

/// Most due entries one tick handles.
pub(crate) const TICK_ENTRIES_MAX: usize = 256;

pub(crate) fn tick<S: StateView + ?Sized>(tx: &mut Tx<'_, S>) -> Outcome {
    if *tx.actor != Actor::System {
        return Err(not_permitted(tx, "send ticks"));
    }
    let mut due = tx.due_before(tx.today, TICK_ENTRIES_MAX + 1);
    let more_due = due.len() > TICK_ENTRIES_MAX;
    due.truncate(TICK_ENTRIES_MAX);
    let mut changed = 0;
    for entry in due {
        tx.remove_due(entry.clone());
        match entry.item {
            DueItem::Application(number) => {
                let Some(mut application) = tx.application(number) else {
                    continue;
                };
                let next_state = match application.state {
                    ApplicationState::AwaitingMatch => ApplicationState::Unmatched,
                    ApplicationState::Received => ApplicationState::Accepted,
                    _ => continue,
                };
                let Some(mut supply_point) = tx.supply_point(&application.supply_point) else {
                    continue;
                };
                let reason = (next_state == ApplicationState::Unmatched).then(|| {
                    ShortText::parse("no counterpart by the matching deadline")
                        .expect("a valid constant")
                });
                close(tx, &mut supply_point, &mut application, next_state, reason);
                tx.put_supply_point(supply_point);
                tx.put_application(application);
                changed += 1;
            }
            DueItem::StopOnBehalf(number) => {
                let Some(request) = tx.stop_on_behalf(number) else {
                    continue;
                };
                if request.is_pending() {
                    decide_request(tx, request, StopOnBehalfState::Expired)?;
                    changed += 1;
                }
            }
            DueItem::Request(key) => {
                tx.remove_request(key);
                changed += 1;
            }
        }
    }
    Ok(Accepted::Ticked { changed, more_due })
}
