//! The one entry point that decides: [`decide`].
//!
//! `mod.rs` holds the frame every command goes through — the request-id check, the clock, the
//! invariant check and the request record — and the [`Tx`] overlay the rules write into. The rules
//! themselves live one family per file: `directory.rs` (supply points, participants, policy,
//! notices), `stop_on_behalf.rs`, `applications.rs` and `tick.rs`.

mod applications;
mod directory;
mod stop_on_behalf;
mod tick;

use std::collections::{BTreeMap, BTreeSet};

use crate::application::Application;
use crate::command::{Command, Envelope, Outcome};
use crate::event::Event;
use crate::facility::SupplyPoint;
use crate::ids::{
    Actor, ApplicationNumber, Area, NoticeNumber, PartyId, RetailerCode, StopOnBehalfNumber,
    SupplyPointNumber,
};
use crate::invariants;
use crate::notice::Notice;
use crate::party::Participant;
use crate::policy::Policy;
use crate::rejection::Rejection;
use crate::state::{
    Changes, Counters, DueEntry, DueItem, RequestKey, RequestRecord, StateView, Write,
};
use crate::stop_on_behalf::StopOnBehalfRequest;
use crate::time::{Date, Timestamp};

/// The result of deciding one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The answer for the client.
    pub outcome: Outcome,
    /// What to write, atomically with the log position. Empty for a replayed retry.
    pub changes: Changes,
    /// Whether this answer is the remembered first answer to a retried request id.
    pub replayed: bool,
}

/// Decides `envelope` against `state`, with `at` the timestamp stamped on its log entry.
///
/// Pure and deterministic: the same state, envelope and timestamp give the same decision. Time
/// never goes backwards: a timestamp older than the latest one applied counts as that one.
///
/// A retry (same actor, request id and command) returns the recorded first answer and changes
/// nothing; the same request id with a different command is refused without being recorded.
/// Every other answer, acceptance or rejection, is recorded for retries.
pub fn decide<S: StateView + ?Sized>(state: &S, envelope: &Envelope, at: Timestamp) -> Decision {
    let fingerprint = envelope.command.fingerprint();
    let request_key = match &envelope.actor {
        Actor::Party(party) => Some(RequestKey {
            party: party.clone(),
            request_id: envelope.request_id.clone(),
        }),
        // The system's ticks are idempotent by nature and are not recorded.
        Actor::System => None,
    };
    if let Some(key) = &request_key
        && let Some(record) = state.request(key)
    {
        let outcome = if record.fingerprint == fingerprint {
            record.outcome
        } else {
            Err(Rejection::RequestIdReused {
                request_id: envelope.request_id.clone(),
            })
        };
        return Decision {
            outcome,
            changes: Changes::default(),
            replayed: true,
        };
    }

    let now = state.clock().map_or(at, |clock| clock.max(at));
    let policy = state.policy();
    let retention_days = i32::from(policy.request_id_retention_days);
    let mut tx = Tx::new(state, &envelope.actor, now, policy);
    let outcome = match execute(&mut tx, &envelope.command) {
        Ok(accepted) => match invariants::check_touched(&tx) {
            Ok(()) => Ok(accepted),
            Err(violation) => Err(Rejection::InvariantWouldBreak {
                invariant: violation.invariant,
                detail: violation.detail,
            }),
        },
        Err(rejection) => Err(rejection),
    };
    let mut changes = match &outcome {
        Ok(_) => tx.into_changes(),
        // A refused command changes nothing but the clock and its request record.
        Err(_) => Changes::default(),
    };
    if state.clock() != Some(now) {
        changes.writes.push(Write::Clock(now));
    }
    if let Some(key) = request_key {
        changes.writes.push(Write::Due(DueEntry {
            date: now.jst_date().add_days(retention_days),
            item: DueItem::Request(key.clone()),
        }));
        changes.writes.push(Write::Request(RequestRecord {
            key,
            fingerprint,
            outcome: outcome.clone(),
            recorded_at: now,
        }));
    }
    Decision {
        outcome,
        changes,
        replayed: false,
    }
}

fn execute<S: StateView + ?Sized>(tx: &mut Tx<'_, S>, command: &Command) -> Outcome {
    match command {
        Command::ImportSupplyPoints { points } => directory::import_supply_points(tx, points),
        Command::SaveParticipant { participant } => directory::save_participant(tx, participant),
        Command::UpdateContacts { contacts } => directory::update_contacts(tx, contacts),
        Command::ConfigurePolicy { policy } => directory::configure_policy(tx, policy),
        Command::PublishNotice {
            severity,
            title,
            body,
        } => directory::publish_notice(tx, *severity, title, body),
        Command::RegisterStopOnBehalf {
            supply_point,
            customer,
            wished_date,
        } => stop_on_behalf::register(tx, supply_point, customer, *wished_date),
        Command::JudgeStopOnBehalf { number, verdict } => {
            stop_on_behalf::judge(tx, *number, verdict)
        }
        Command::CancelStopOnBehalf { number } => stop_on_behalf::cancel(tx, *number),
        Command::SubmitApplication {
            supply_point,
            effective_date,
            request,
        } => applications::submit(tx, supply_point, *effective_date, request),
        Command::AmendApplication {
            number,
            revision,
            effective_date,
            request,
        } => applications::amend(tx, command, *number, *revision, *effective_date, request),
        Command::CancelApplication { number, revision } => {
            applications::cancel(tx, command, *number, *revision)
        }
        Command::CompleteApplication {
            number,
            actual_date,
        } => applications::complete(tx, *number, *actual_date),
        Command::RejectApplication { number, reason } => applications::reject(tx, *number, reason),
        Command::Tick => tick::tick(tx),
    }
}

/// A transaction over a [`StateView`]: reads see the transaction's own writes, and the writes
/// come out in a deterministic order.
pub(crate) struct Tx<'a, S: ?Sized> {
    base: &'a S,
    pub(crate) actor: &'a Actor,
    /// The entry's time (never behind the state's clock).
    pub(crate) now: Timestamp,
    /// The business date of `now` in Japan.
    pub(crate) today: Date,
    pub(crate) policy: Policy,
    supply_points: BTreeMap<SupplyPointNumber, SupplyPoint>,
    applications: BTreeMap<ApplicationNumber, Application>,
    stop_on_behalf: BTreeMap<StopOnBehalfNumber, StopOnBehalfRequest>,
    participants: BTreeMap<PartyId, Participant>,
    notices: BTreeMap<NoticeNumber, Notice>,
    new_policy: Option<Policy>,
    counters: Counters,
    counters_changed: bool,
    due_added: BTreeSet<DueEntry>,
    due_removed: BTreeSet<DueEntry>,
    requests_removed: BTreeSet<RequestKey>,
    events: Vec<Event>,
}

impl<'a, S: StateView + ?Sized> Tx<'a, S> {
    fn new(base: &'a S, actor: &'a Actor, now: Timestamp, policy: Policy) -> Tx<'a, S> {
        Tx {
            base,
            actor,
            now,
            today: now.jst_date(),
            policy,
            supply_points: BTreeMap::new(),
            applications: BTreeMap::new(),
            stop_on_behalf: BTreeMap::new(),
            participants: BTreeMap::new(),
            notices: BTreeMap::new(),
            new_policy: None,
            counters: base.counters(),
            counters_changed: false,
            due_added: BTreeSet::new(),
            due_removed: BTreeSet::new(),
            requests_removed: BTreeSet::new(),
            events: Vec::new(),
        }
    }

    pub(crate) fn supply_point(&self, number: &SupplyPointNumber) -> Option<SupplyPoint> {
        self.supply_points
            .get(number)
            .cloned()
            .or_else(|| self.base.supply_point(number))
    }

    /// The supply point, or a `supply_point_not_found` rejection.
    pub(crate) fn existing_supply_point(
        &self,
        number: &SupplyPointNumber,
    ) -> Result<SupplyPoint, Rejection> {
        self.supply_point(number)
            .ok_or(Rejection::SupplyPointNotFound {
                supply_point: *number,
            })
    }

    pub(crate) fn application(&self, number: ApplicationNumber) -> Option<Application> {
        self.applications
            .get(&number)
            .cloned()
            .or_else(|| self.base.application(number))
    }

    /// The application, or an `application_not_found` rejection.
    pub(crate) fn existing_application(
        &self,
        number: ApplicationNumber,
    ) -> Result<Application, Rejection> {
        self.application(number)
            .ok_or(Rejection::ApplicationNotFound { number })
    }

    pub(crate) fn stop_on_behalf(&self, number: StopOnBehalfNumber) -> Option<StopOnBehalfRequest> {
        self.stop_on_behalf
            .get(&number)
            .cloned()
            .or_else(|| self.base.stop_on_behalf(number))
    }

    pub(crate) fn participant(&self, party: &PartyId) -> Option<Participant> {
        self.participants
            .get(party)
            .cloned()
            .or_else(|| self.base.participant(party))
    }

    pub(crate) fn put_supply_point(&mut self, record: SupplyPoint) {
        self.supply_points.insert(record.number, record);
    }

    pub(crate) fn put_application(&mut self, record: Application) {
        self.applications.insert(record.number, record);
    }

    pub(crate) fn put_stop_on_behalf(&mut self, record: StopOnBehalfRequest) {
        self.stop_on_behalf.insert(record.number, record);
    }

    pub(crate) fn put_participant(&mut self, record: Participant) {
        self.participants.insert(record.party.clone(), record);
    }

    pub(crate) fn put_notice(&mut self, record: Notice) {
        self.notices.insert(record.number, record);
    }

    pub(crate) fn put_policy(&mut self, policy: Policy) {
        self.new_policy = Some(policy);
    }

    pub(crate) fn add_due(&mut self, entry: DueEntry) {
        self.due_removed.remove(&entry);
        self.due_added.insert(entry);
    }

    pub(crate) fn remove_due(&mut self, entry: DueEntry) {
        self.due_added.remove(&entry);
        self.due_removed.insert(entry);
    }

    pub(crate) fn remove_request(&mut self, key: RequestKey) {
        self.requests_removed.insert(key);
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Due entries before `date`, from the base state (a tick reads them before writing).
    pub(crate) fn due_before(&self, date: Date, limit: usize) -> Vec<DueEntry> {
        self.base.due_before(date, limit)
    }

    pub(crate) fn next_application_number(&mut self) -> Result<ApplicationNumber, Rejection> {
        self.counters.last_application += 1;
        self.counters_changed = true;
        ApplicationNumber::new(self.counters.last_application).map_err(exhausted)
    }

    pub(crate) fn next_stop_on_behalf_number(&mut self) -> Result<StopOnBehalfNumber, Rejection> {
        self.counters.last_stop_on_behalf += 1;
        self.counters_changed = true;
        StopOnBehalfNumber::new(self.counters.last_stop_on_behalf).map_err(exhausted)
    }

    pub(crate) fn next_notice_number(&mut self) -> Result<NoticeNumber, Rejection> {
        self.counters.last_notice += 1;
        self.counters_changed = true;
        NoticeNumber::new(self.counters.last_notice).map_err(exhausted)
    }

    /// The supply points this transaction wrote, directly or through an application or request.
    pub(crate) fn touched_supply_points(&self) -> BTreeSet<SupplyPointNumber> {
        let mut touched: BTreeSet<SupplyPointNumber> = self.supply_points.keys().copied().collect();
        touched.extend(self.applications.values().map(|record| record.supply_point));
        touched.extend(
            self.stop_on_behalf
                .values()
                .map(|record| record.supply_point),
        );
        touched
    }

    /// The applications this transaction wrote.
    pub(crate) fn touched_applications(&self) -> impl Iterator<Item = &Application> {
        self.applications.values()
    }

    fn into_changes(self) -> Changes {
        let mut writes = Vec::new();
        writes.extend(self.supply_points.into_values().map(Write::SupplyPoint));
        writes.extend(self.applications.into_values().map(Write::Application));
        writes.extend(self.stop_on_behalf.into_values().map(Write::StopOnBehalf));
        writes.extend(self.participants.into_values().map(Write::Participant));
        writes.extend(self.notices.into_values().map(Write::Notice));
        writes.extend(self.new_policy.map(Write::Policy));
        if self.counters_changed {
            writes.push(Write::Counters(self.counters));
        }
        writes.extend(self.due_removed.into_iter().map(Write::DeleteDue));
        writes.extend(self.due_added.into_iter().map(Write::Due));
        writes.extend(self.requests_removed.into_iter().map(Write::DeleteRequest));
        Changes {
            writes,
            events: self.events,
        }
    }
}

impl<S: StateView + ?Sized> invariants::View for Tx<'_, S> {
    fn supply_point(&self, number: &SupplyPointNumber) -> Option<SupplyPoint> {
        Tx::supply_point(self, number)
    }
    fn application(&self, number: ApplicationNumber) -> Option<Application> {
        Tx::application(self, number)
    }
    fn stop_on_behalf(&self, number: StopOnBehalfNumber) -> Option<StopOnBehalfRequest> {
        Tx::stop_on_behalf(self, number)
    }
}

fn exhausted(error: crate::ids::ValueError) -> Rejection {
    Rejection::InvariantWouldBreak {
        invariant: 6,
        detail: format!("number space exhausted: {error}"),
    }
}

// Who may do what. Retailers and TSOs must be registered participants; operators are OCCTO staff
// authenticated by the service layer and need no directory entry.

/// The acting retailer, registered.
pub(crate) fn acting_retailer<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    action: &str,
) -> Result<RetailerCode, Rejection> {
    match tx.actor {
        Actor::Party(party @ PartyId::Retailer(code)) => {
            registered(tx, party)?;
            Ok(*code)
        }
        _ => Err(not_permitted(tx, action)),
    }
}

/// The acting TSO's area, registered.
pub(crate) fn acting_tso<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    action: &str,
) -> Result<Area, Rejection> {
    match tx.actor {
        Actor::Party(party @ PartyId::Tso(area)) => {
            registered(tx, party)?;
            Ok(*area)
        }
        _ => Err(not_permitted(tx, action)),
    }
}

/// Requires an operator.
pub(crate) fn acting_operator<S: StateView + ?Sized>(
    tx: &Tx<'_, S>,
    action: &str,
) -> Result<crate::ids::OperatorId, Rejection> {
    match tx.actor {
        Actor::Party(PartyId::Operator(operator)) => Ok(operator.clone()),
        _ => Err(not_permitted(tx, action)),
    }
}

fn registered<S: StateView + ?Sized>(tx: &Tx<'_, S>, party: &PartyId) -> Result<(), Rejection> {
    match tx.participant(party) {
        Some(_) => Ok(()),
        None => Err(Rejection::UnknownParticipant {
            party: party.clone(),
        }),
    }
}

pub(crate) fn not_permitted<S: StateView + ?Sized>(tx: &Tx<'_, S>, action: &str) -> Rejection {
    Rejection::NotPermitted {
        actor: tx.actor.clone(),
        action: action.to_owned(),
    }
}

/// The TSO of `area` as a party.
pub(crate) fn tso(area: Area) -> PartyId {
    PartyId::Tso(area)
}

/// A retailer as a party.
pub(crate) fn retailer(code: RetailerCode) -> PartyId {
    PartyId::Retailer(code)
}

#[cfg(test)]
mod tests;
