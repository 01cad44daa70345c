//! The sequential specification of one supply point, as the workload sees it from outside: the
//! reference object that `stateright`'s linearizability tester replays candidate orders against.
//!
//! The model follows `DOMAIN.md` and the decisions document for what the workload does on a point
//! (stop-on-behalf requests, switch-out and switch-in, cancel, the TSO's completion or refusal,
//! look-ups), and nothing else:
//!
//! - the current retailer; completion of a matched pair makes the switch-in's retailer current;
//! - stop-on-behalf requests: one pending per requester and point (at most 8 pending), judged only
//!   by the addressee while it still supplies the point, cancelled only by the requester while
//!   pending; an OK backs a switch-in of its requester until a completed switch uses it or its
//!   addressee no longer supplies the point;
//! - at most one open switch-out and one open switch-in per point; halves of different dates are
//!   refused; a half whose counterpart waits with the same date is matched at once, and a matched
//!   pair is locked (no cancel), waiting for the TSO;
//! - application revisions (1 on submission, +1 on every change; the waiting half +1 when
//!   matched), and cancels idempotent by (application, revision);
//! - request ids: a retry with the same id and content gets the first answer and applies nothing;
//!   the same id with other content is `request_id_reused`; an answer marked replayed with no
//!   recorded attempt applied before it is the node's own retry inside the call (its first try
//!   was applied, within the call, at a revision up to the one answered);
//! - numbers are assigned in log order, so on one point later records carry higher numbers;
//! - log revisions: a fresh write at revision `w` comes after everything a read served at a
//!   revision below `w` saw, and a linearizable read served at `r` reflects every write at or
//!   below `r`.
//!
//! Numbers are not predictable per point (they are global), so a record created by an operation
//! whose answer was lost carries no number until a later observation names it (a retry's answer,
//! a look-up, a counterpart's `matched_with`, a TSO's completion). An operation that names a
//! number no record carries yet may mean any unnamed record the number order allows, or one on
//! another point; a refusal often reads the same for several of them, so the model keeps every
//! such world ([`PointModel`]) until later observations leave the ones that fit. A look-up shows
//! everything open, so the numbers it shows tie to the unnamed records in order, with no choice.
//!
//! A refusal by a rule outside the model (lead times, dates, horizons, registration,
//! `actual_date_invalid`, rate limits, malformed requests) is taken as a possible refusal that
//! changed nothing; such operations are not fed to the tester at all. Deadlines are not modelled:
//! the workload must not let a deadline of a point under check pass during the run (ticks would
//! lapse applications and requests behind the model's back).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use stateright::semantics::SequentialSpec;
use switchyard_domain::{
    ApplicationNumber, ApplicationState, Date, PartyId, Procedure, RequestKey, RetailerCode,
    StopOnBehalfNumber, StopOnBehalfState, SupplyPointNumber, Verdict,
};

use super::history::{
    ApplicationAnswer, LookUpResult, Observed, ObservedSupply, Operation, Outcome,
    StopOnBehalfAnswer,
};
use super::report::describe_outcome;

/// Most stop-on-behalf requests pending on one point (`SupplyPoint::PENDING_STOP_ON_BEHALF_MAX`).
const PENDING_STOP_ON_BEHALF_MAX: usize = 8;

const REQUEST_ID_REUSED: &str = "request_id_reused";

/// The refusal rules the model decides for `operation`. A refusal naming any other rule is
/// outside the model.
pub(crate) fn modelled_rules(operation: &Operation) -> &'static [&'static str] {
    match operation {
        Operation::LookUp { .. } => &[],
        Operation::RegisterStopOnBehalf { .. } => &[
            "not_permitted",
            "not_supplying",
            "already_current_retailer",
            "stop_on_behalf_already_pending",
            "too_many_pending_stop_on_behalf",
            REQUEST_ID_REUSED,
        ],
        Operation::JudgeStopOnBehalf { .. } => &[
            "not_permitted",
            "stop_on_behalf_not_found",
            "stop_on_behalf_wrong_state",
            "not_current_retailer",
            REQUEST_ID_REUSED,
        ],
        Operation::CancelStopOnBehalf { .. } => &[
            "not_permitted",
            "stop_on_behalf_not_found",
            "stop_on_behalf_wrong_state",
            REQUEST_ID_REUSED,
        ],
        Operation::SubmitSwitchOut { .. } => &[
            "not_permitted",
            "open_application_exists",
            "not_supplying",
            "not_current_retailer",
            "counterpart_date_mismatch",
            REQUEST_ID_REUSED,
        ],
        Operation::SubmitSwitchIn { .. } => &[
            "not_permitted",
            "open_application_exists",
            "stop_on_behalf_not_found",
            "stop_on_behalf_not_usable",
            "not_supplying",
            "already_current_retailer",
            "counterpart_date_mismatch",
            REQUEST_ID_REUSED,
        ],
        Operation::CancelApplication { .. } => &[
            "not_permitted",
            "application_not_found",
            "stale_revision",
            "application_locked",
            REQUEST_ID_REUSED,
        ],
        Operation::CompleteApplication { .. } | Operation::RejectApplication { .. } => &[
            "not_permitted",
            "outside_area",
            "application_not_found",
            "not_awaiting_tso",
            REQUEST_ID_REUSED,
        ],
    }
}

/// An operation as the tester sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpecOperation {
    /// Its index in the history (for reports only).
    pub(crate) index: usize,
    pub(crate) actor: PartyId,
    pub(crate) operation: Operation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RequestSlot {
    number: Option<StopOnBehalfNumber>,
    requester: RetailerCode,
    addressee: RetailerCode,
    state: StopOnBehalfState,
    used: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ApplicationSlot {
    number: Option<ApplicationNumber>,
    procedure: Procedure,
    applicant: RetailerCode,
    effective_date: Date,
    stop_on_behalf: Option<usize>,
    state: ApplicationState,
    revision: u32,
    matched_with: Option<usize>,
    cancelled_from_revision: Option<u32>,
}

impl ApplicationSlot {
    fn is_open(&self) -> bool {
        self.state.is_open()
    }
}

/// The first answer to a request id.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Application {
        slot: usize,
        revision: u32,
        state: ApplicationState,
        matched_with: Option<usize>,
    },
    StopOnBehalf {
        slot: usize,
        state: StopOnBehalfState,
    },
    /// Refused by one of `rules`: more than one when the answer was never seen and the rules
    /// refuse it several ways in the state it was placed in (a retry shows which).
    Refused { rules: Vec<&'static str> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Remembered {
    content: String,
    answer: Answer,
}

/// What the rules would do with an operation in the model's state.
enum Decision {
    Accept(Effect),
    /// Every modelled rule that refuses it (the system may name any of them).
    Refuse(Vec<&'static str>),
}

enum Effect {
    Register {
        requester: RetailerCode,
        addressee: RetailerCode,
    },
    Judge {
        slot: usize,
        state: StopOnBehalfState,
    },
    CancelRequest {
        slot: usize,
    },
    Submit {
        procedure: Procedure,
        applicant: RetailerCode,
        effective_date: Date,
        stop_on_behalf: Option<usize>,
        counterpart: Option<usize>,
    },
    Cancel {
        slot: usize,
        from_revision: u32,
    },
    /// A cancel already applied at this revision: its answer again, nothing changed.
    ReplayedCancel {
        slot: usize,
        from_revision: u32,
    },
    Complete {
        slot: usize,
    },
    Reject {
        slot: usize,
    },
}

/// Where a number no record carries yet is taken to be, before an operation that names it is
/// decided: on an unnamed slot, or on another point.
#[derive(Debug, Clone, Copy)]
enum Binding {
    Application(usize, ApplicationNumber),
    Request(usize, StopOnBehalfNumber),
    ApplicationElsewhere(ApplicationNumber),
    RequestElsewhere(StopOnBehalfNumber),
}

impl Binding {
    fn bind(self, world: &mut World) {
        match self {
            Binding::Application(slot, number) => world.applications[slot].number = Some(number),
            Binding::Request(slot, number) => world.requests[slot].number = Some(number),
            Binding::ApplicationElsewhere(number) => world.applications_elsewhere.push(number),
            Binding::RequestElsewhere(number) => world.requests_elsewhere.push(number),
        }
    }
}

/// The sequential specification of one supply point: every [`World`] the operations placed so
/// far leave possible.
///
/// There is more than one when an operation names a number no observation has tied to a record
/// yet (its creator's answer was lost) and several records, or none on this point, may carry it:
/// a refusal often reads the same for each, so choosing one would be a guess a later observation
/// can prove wrong. Each step keeps every world the observed outcome fits and drops the others;
/// the history fits while one world is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PointModel {
    worlds: Vec<World>,
    /// Steps left to the tester's search (one per world a step is tried in), shared by every copy
    /// of the model: once spent, every step fails, so that the search ends (and the checker
    /// reports it as inconclusive).
    budget: Rc<Cell<u64>>,
}

impl PointModel {
    pub(crate) fn new(
        supply_point: SupplyPointNumber,
        current: Option<RetailerCode>,
        budget: Rc<Cell<u64>>,
    ) -> Self {
        PointModel {
            worlds: vec![World {
                supply_point,
                current,
                requests: Vec::new(),
                applications: Vec::new(),
                answers: BTreeMap::new(),
                revision_floor: 0,
                last_write_revision: 0,
                applications_elsewhere: Vec::new(),
                requests_elsewhere: Vec::new(),
            }],
            budget,
        }
    }

    /// Places `operation` with the observed `outcome`; `Err` says why it fits no world (the
    /// reason given in the first one).
    pub(crate) fn step(
        &mut self,
        operation: &SpecOperation,
        outcome: &Outcome,
    ) -> Result<(), String> {
        let mut next: Vec<World> = Vec::new();
        let mut error = None;
        for world in &self.worlds {
            if !self.spend() {
                return Err("the search's step budget is spent".to_owned());
            }
            match world.step(operation, outcome) {
                Ok(successors) => merge_worlds(&mut next, successors),
                Err(reason) => {
                    error.get_or_insert(reason);
                }
            }
        }
        if next.is_empty() {
            return Err(error.unwrap_or_else(|| "no world is left".to_owned()));
        }
        self.worlds = next;
        Ok(())
    }

    /// Places an operation whose answer was never seen in every world.
    fn invoke_unobserved(&mut self, operation: &SpecOperation) -> Outcome {
        let mut next: Vec<World> = Vec::new();
        let mut text = None;
        for world in &self.worlds {
            self.spend();
            let (successors, placed) = world.invoke_unobserved(operation);
            text.get_or_insert(placed);
            merge_worlds(&mut next, successors);
        }
        self.worlds = next;
        Outcome::Unknown {
            error: text.unwrap_or_default(),
        }
    }

    /// Takes one step from the budget; false once it is spent.
    fn spend(&self) -> bool {
        let left = self.budget.get();
        self.budget.set(left.saturating_sub(1));
        left > 0
    }

    /// The state in words, for reports: the first world, and how many others are left.
    pub(crate) fn describe(&self) -> String {
        let mut text = self.worlds.first().map(World::describe).unwrap_or_default();
        if self.worlds.len() > 1 {
            let _ = write!(
                text,
                " (or one of {} other ways to tie the numbers seen to the records whose answers were lost)",
                self.worlds.len() - 1
            );
        }
        text
    }
}

/// Adds `successors` to `worlds`, leaving out duplicates.
fn merge_worlds(worlds: &mut Vec<World>, successors: Vec<World>) {
    for world in successors {
        if !worlds.contains(&world) {
            worlds.push(world);
        }
    }
}

/// One way the supply point's externally visible state may be.
#[derive(Debug, Clone, PartialEq, Eq)]
struct World {
    supply_point: SupplyPointNumber,
    current: Option<RetailerCode>,
    requests: Vec<RequestSlot>,
    applications: Vec<ApplicationSlot>,
    answers: BTreeMap<RequestKey, Remembered>,
    /// No fresh write placed from here on may carry a revision at or below this.
    revision_floor: u64,
    /// The highest revision of a fresh write placed so far.
    last_write_revision: u64,
    /// Numbers an operation named that this world takes to be on other points (numbers are
    /// global, and the workload names only numbers it has seen, which exist already): no record
    /// here may carry them later.
    applications_elsewhere: Vec<ApplicationNumber>,
    requests_elsewhere: Vec<StopOnBehalfNumber>,
}

impl World {
    /// The worlds `operation` with the observed `outcome` leads to from this one; `Err` says why
    /// it does not fit here.
    fn step(&self, operation: &SpecOperation, outcome: &Outcome) -> Result<Vec<World>, String> {
        match (&operation.operation, outcome) {
            (Operation::LookUp { .. }, Outcome::Ok(Observed::LookUp(result))) => {
                let mut world = self.clone();
                world.check_look_up(result)?;
                Ok(vec![world])
            }
            // Not fed to the tester: a failed read shows nothing, an unknown write never returns.
            (Operation::LookUp { .. }, _) | (_, Outcome::Unknown { .. }) => Ok(vec![self.clone()]),
            (_, outcome) => self.step_write(operation, outcome),
        }
    }

    /// The state in words, for reports.
    fn describe(&self) -> String {
        let mut text = match self.current {
            Some(retailer) => format!("supplied by {retailer}"),
            None => "stopped".to_owned(),
        };
        let open: Vec<String> = self
            .applications
            .iter()
            .filter(|slot| slot.is_open())
            .map(|slot| {
                format!(
                    "{} {:?} by {} {:?} {} (application revision {})",
                    name_or_unnamed(slot.number),
                    slot.procedure,
                    slot.applicant,
                    slot.state,
                    slot.effective_date,
                    slot.revision
                )
            })
            .collect();
        let pending: Vec<String> = self
            .requests
            .iter()
            .filter(|slot| slot.state == StopOnBehalfState::Registered)
            .map(|slot| format!("{} by {}", name_or_unnamed(slot.number), slot.requester))
            .collect();
        let _ = write!(
            text,
            "; open [{}]; pending [{}]",
            open.join(", "),
            pending.join(", ")
        );
        if self.last_write_revision > 0 {
            let _ = write!(
                text,
                "; last write at revision {}",
                self.last_write_revision
            );
        }
        text
    }

    fn check_look_up(&mut self, result: &LookUpResult) -> Result<(), String> {
        if let Some(served) = result.served_at_revision {
            if served < self.last_write_revision {
                return Err(format!(
                    "the look-up was served at revision {served}, but in this order it follows a write applied at revision {}",
                    self.last_write_revision
                ));
            }
            self.revision_floor = self.revision_floor.max(served);
        }
        let supply_fits = match (result.supply, self.current) {
            (ObservedSupply::Stopped, None) => true,
            (ObservedSupply::Supplying { retailer: None }, Some(_)) => true,
            (
                ObservedSupply::Supplying {
                    retailer: Some(seen),
                },
                Some(current),
            ) => seen == current,
            _ => false,
        };
        if !supply_fits {
            return Err(format!(
                "the look-up shows {}, but the point is {}",
                match result.supply {
                    ObservedSupply::Stopped => "it stopped".to_owned(),
                    ObservedSupply::Supplying {
                        retailer: Some(retailer),
                    } => format!("{retailer} as its current retailer"),
                    ObservedSupply::Supplying { retailer: None } => "a current retailer".to_owned(),
                },
                match self.current {
                    Some(retailer) => format!("supplied by {retailer}"),
                    None => "stopped".to_owned(),
                }
            ));
        }

        let open_in_model = self
            .applications
            .iter()
            .filter(|slot| slot.is_open())
            .count();
        let mut seen_slots = Vec::new();
        let mut shown_sorted = result.open_applications.clone();
        shown_sorted.sort_by_key(|shown| shown.number);
        for shown in &shown_sorted {
            if !shown.procedure.is_switching() {
                return Err(format!(
                    "the look-up shows {} ({:?}), a procedure the workload never submits",
                    shown.number, shown.procedure
                ));
            }
            let Some(slot) = self.resolve_application(
                shown.number,
                &[&|slot: &ApplicationSlot| slot.is_open() && slot.procedure == shown.procedure],
            ) else {
                return Err(format!(
                    "the look-up shows open application {} ({:?}), which no operation on the point created",
                    shown.number, shown.procedure
                ));
            };
            let model = &self.applications[slot];
            if !model.is_open()
                || model.procedure != shown.procedure
                || model.state != shown.state
                || model.effective_date != shown.effective_date
                || seen_slots.contains(&slot)
            {
                return Err(format!(
                    "the look-up shows {} as {:?} {:?} effective {}, but it is {:?} {:?} effective {}",
                    shown.number,
                    shown.procedure,
                    shown.state,
                    shown.effective_date,
                    model.procedure,
                    model.state,
                    model.effective_date
                ));
            }
            seen_slots.push(slot);
        }
        if seen_slots.len() != open_in_model {
            return Err(format!(
                "the look-up shows {} open application(s), but {open_in_model} are open",
                seen_slots.len()
            ));
        }

        let pending_in_model = self
            .requests
            .iter()
            .filter(|slot| slot.state == StopOnBehalfState::Registered)
            .count();
        let mut seen_requests = Vec::new();
        let mut pending_sorted = result.pending_stop_on_behalf.clone();
        pending_sorted.sort();
        for number in &pending_sorted {
            let Some(slot) = self.resolve_request(
                *number,
                &[&|slot: &RequestSlot| slot.state == StopOnBehalfState::Registered],
            ) else {
                return Err(format!(
                    "the look-up shows pending {number}, which no operation on the point created"
                ));
            };
            if self.requests[slot].state != StopOnBehalfState::Registered
                || seen_requests.contains(&slot)
            {
                return Err(format!(
                    "the look-up shows {number} pending, but it is {:?}",
                    self.requests[slot].state
                ));
            }
            seen_requests.push(slot);
        }
        if seen_requests.len() != pending_in_model {
            return Err(format!(
                "the look-up shows {} pending stop-on-behalf request(s), but {pending_in_model} are pending",
                seen_requests.len()
            ));
        }
        Ok(())
    }

    fn step_write(
        &self,
        operation: &SpecOperation,
        outcome: &Outcome,
    ) -> Result<Vec<World>, String> {
        let key = RequestKey {
            party: operation.actor.clone(),
            request_id: operation
                .operation
                .request_id()
                .expect("a write has a request id")
                .clone(),
        };
        let content = operation.operation.content_without_request_id();
        if let Some(remembered) = self.answers.get(&key).cloned() {
            let mut world = self.clone();
            world.step_retry(&key, &content, &remembered, outcome)?;
            return Ok(vec![world]);
        }
        if let Outcome::Refused(refusal) = outcome
            && refusal.rule == REQUEST_ID_REUSED
        {
            // The first use may lie outside this point's history; nothing changed.
            return Ok(vec![self.clone()]);
        }
        let mut worlds = Vec::new();
        let mut error = None;
        for mut trial in self.tied(&operation.operation) {
            match trial.decide_and_check(operation, outcome, &key) {
                Ok(()) => worlds.push(trial),
                Err(reason) => {
                    error.get_or_insert(reason);
                }
            }
        }
        match error {
            Some(reason) if worlds.is_empty() => Err(reason),
            _ => Ok(worlds),
        }
    }

    /// This world once for each way to tie the number `operation` names to a record before
    /// `decide` runs (see [`World::bindings`]); just this world when there is no choice.
    fn tied(&self, operation: &Operation) -> Vec<World> {
        let bindings = self.bindings(operation);
        if bindings.is_empty() {
            return vec![self.clone()];
        }
        bindings
            .into_iter()
            .map(|binding| {
                let mut world = self.clone();
                binding.bind(&mut world);
                world
            })
            .collect()
    }

    /// The ways to tie the number `operation` names to a record: each unnamed slot that may
    /// carry it, given the number order, and last another point. None for a number already
    /// placed, or an operation that names none.
    fn bindings(&self, operation: &Operation) -> Vec<Binding> {
        match operation {
            Operation::CancelApplication { number, .. }
            | Operation::CompleteApplication { number, .. }
            | Operation::RejectApplication { number, .. } => {
                if self.named_application(*number).is_some()
                    || self.applications_elsewhere.contains(number)
                {
                    return Vec::new();
                }
                (0..self.applications.len())
                    .filter(|slot| {
                        self.applications[*slot].number.is_none()
                            && self.application_number_fits(*slot, *number)
                    })
                    .map(|slot| Binding::Application(slot, *number))
                    .chain([Binding::ApplicationElsewhere(*number)])
                    .collect()
            }
            Operation::JudgeStopOnBehalf { number, .. }
            | Operation::CancelStopOnBehalf { number, .. }
            | Operation::SubmitSwitchIn {
                stop_on_behalf: number,
                ..
            } => {
                if self.named_request(*number).is_some() || self.requests_elsewhere.contains(number)
                {
                    return Vec::new();
                }
                (0..self.requests.len())
                    .filter(|slot| {
                        self.requests[*slot].number.is_none()
                            && self.request_number_fits(*slot, *number)
                    })
                    .map(|slot| Binding::Request(slot, *number))
                    .chain([Binding::RequestElsewhere(*number)])
                    .collect()
            }
            Operation::LookUp { .. }
            | Operation::RegisterStopOnBehalf { .. }
            | Operation::SubmitSwitchOut { .. } => Vec::new(),
        }
    }

    /// Decides a fresh write, checks the observed `outcome` against the decision and applies it;
    /// `Err` says why it does not fit.
    fn decide_and_check(
        &mut self,
        operation: &SpecOperation,
        outcome: &Outcome,
        key: &RequestKey,
    ) -> Result<(), String> {
        let key = key.clone();
        let content = operation.operation.content_without_request_id();
        let decision = self.decide(operation);
        match (decision, outcome) {
            (Decision::Accept(effect), Outcome::Ok(observed)) => {
                let (revision, replayed) = answer_revision(observed);
                // Marked replayed, yet no recorded attempt took effect before: the node that
                // served the call retried it itself (a forward that timed out, a leader that
                // changed) and its first try was applied. The effect still falls inside this
                // call; only its revision is unknown — at or before the one answered, which is
                // the entry that answered the node's retry.
                let internally_retried = replayed == Some(true);
                if let Some(revision) = revision
                    && revision <= self.revision_floor
                {
                    return Err(format!(
                        "it was applied at revision {revision}, but in this order it follows an operation that saw revision {}",
                        self.revision_floor
                    ));
                }
                let answer = self.apply(effect);
                self.match_answer(&answer, observed)?;
                if let Some(revision) = revision
                    && !internally_retried
                {
                    self.revision_floor = revision;
                    self.last_write_revision = revision;
                }
                self.answers.insert(key, Remembered { content, answer });
                Ok(())
            }
            (Decision::Accept(_), Outcome::Refused(refusal)) => Err(format!(
                "it was refused ({}), but no modelled rule refuses it in this state",
                refusal.rule
            )),
            (Decision::Refuse(rules), Outcome::Refused(refusal)) => {
                let Some(rule) = rules.iter().find(|rule| **rule == refusal.rule) else {
                    return Err(format!(
                        "it was refused by {}, but in this state the rules refuse it by {}",
                        refusal.rule,
                        rules.join(" or ")
                    ));
                };
                self.answers.insert(
                    key,
                    Remembered {
                        content,
                        answer: Answer::Refused { rules: vec![rule] },
                    },
                );
                Ok(())
            }
            (Decision::Refuse(rules), Outcome::Ok(_)) => Err(format!(
                "it was accepted, but in this state {} refuses it",
                rules.join(" and ")
            )),
            (_, Outcome::Unknown { .. }) => Ok(()),
        }
    }

    fn step_retry(
        &mut self,
        key: &RequestKey,
        content: &str,
        remembered: &Remembered,
        outcome: &Outcome,
    ) -> Result<(), String> {
        if remembered.content != content {
            return match outcome {
                Outcome::Refused(refusal) if refusal.rule == REQUEST_ID_REUSED => Ok(()),
                other => Err(format!(
                    "request id {key} was first used for other content, so this should be refused as {REQUEST_ID_REUSED}, not {}",
                    describe_outcome(other)
                )),
            };
        }
        match (outcome, &remembered.answer) {
            (Outcome::Refused(refusal), Answer::Refused { rules }) => {
                let Some(rule) = rules.iter().find(|rule| **rule == refusal.rule) else {
                    return Err(format!(
                        "request {key} was answered {} the first time; a retry must get that answer again, not {}",
                        self.describe_answer(&remembered.answer),
                        describe_outcome(outcome)
                    ));
                };
                // The first answer is known now: later retries must repeat this one.
                self.answers.insert(
                    key.clone(),
                    Remembered {
                        content: remembered.content.clone(),
                        answer: Answer::Refused { rules: vec![rule] },
                    },
                );
                Ok(())
            }
            (Outcome::Ok(observed), answer @ Answer::Application { .. })
            | (Outcome::Ok(observed), answer @ Answer::StopOnBehalf { .. }) => {
                if answer_revision(observed).1 == Some(false) {
                    return Err(format!(
                        "request {key} took effect earlier in this order, yet this attempt was applied again (not replayed)"
                    ));
                }
                self.match_answer(answer, observed)
                    .map_err(|reason| format!("as a retry of {key}, {reason}"))
            }
            (other, first) => Err(format!(
                "request {key} was answered {} the first time; a retry must get that answer again, not {}",
                self.describe_answer(first),
                describe_outcome(other)
            )),
        }
    }

    fn describe_answer(&self, answer: &Answer) -> String {
        match answer {
            Answer::Application {
                slot,
                revision,
                state,
                ..
            } => format!(
                "ok {} application revision {revision} {state:?}",
                name_or_unnamed(self.applications[*slot].number)
            ),
            Answer::StopOnBehalf { slot, state } => {
                format!(
                    "ok {} {state:?}",
                    name_or_unnamed(self.requests[*slot].number)
                )
            }
            Answer::Refused { rules } => format!("refused {}", rules.join(" or ")),
        }
    }

    /// Checks an observed answer against the model's, naming unnamed records on the way.
    fn match_answer(&mut self, answer: &Answer, observed: &Observed) -> Result<(), String> {
        match (answer, observed) {
            (
                Answer::Application {
                    slot,
                    revision,
                    state,
                    matched_with,
                },
                Observed::Application(ApplicationAnswer {
                    number,
                    application_revision,
                    state: observed_state,
                    matched_with: observed_match,
                    ..
                }),
            ) => {
                self.name_application(*slot, *number)?;
                if revision != application_revision || state != observed_state {
                    return Err(format!(
                        "the answer says {number} is {observed_state:?} at application revision {application_revision}, but it is {state:?} at application revision {revision}"
                    ));
                }
                match (matched_with, observed_match) {
                    (None, None) => Ok(()),
                    (Some(counterpart), Some(observed_counterpart)) => {
                        self.name_application(*counterpart, *observed_counterpart)
                    }
                    (None, Some(observed_counterpart)) => Err(format!(
                        "the answer says {number} matched {observed_counterpart}, but no counterpart was waiting with its date"
                    )),
                    (Some(counterpart), None) => Err(format!(
                        "the answer says {number} did not match, but {} was waiting with the same date",
                        name_or_unnamed(self.applications[*counterpart].number)
                    )),
                }
            }
            (
                Answer::StopOnBehalf { slot, state },
                Observed::StopOnBehalf(StopOnBehalfAnswer {
                    number,
                    state: observed_state,
                    ..
                }),
            ) => {
                self.name_request(*slot, *number)?;
                if state != observed_state {
                    return Err(format!(
                        "the answer says {number} is {observed_state:?}, but it is {state:?}"
                    ));
                }
                Ok(())
            }
            (answer, observed) => Err(format!(
                "the answer {} is not the kind of answer this operation gives ({})",
                describe_outcome(&Outcome::Ok(observed.clone())),
                self.describe_answer(answer)
            )),
        }
    }

    /// Whether `slot` may carry `number`: numbers grow in creation order.
    fn application_number_fits(&self, slot: usize, number: ApplicationNumber) -> bool {
        self.applications
            .iter()
            .enumerate()
            .all(|(other, record)| match record.number {
                Some(existing) if other < slot => existing < number,
                Some(existing) if other > slot => existing > number,
                _ => true,
            })
    }

    fn request_number_fits(&self, slot: usize, number: StopOnBehalfNumber) -> bool {
        self.requests
            .iter()
            .enumerate()
            .all(|(other, record)| match record.number {
                Some(existing) if other < slot => existing < number,
                Some(existing) if other > slot => existing > number,
                _ => true,
            })
    }

    fn name_application(&mut self, slot: usize, number: ApplicationNumber) -> Result<(), String> {
        match self.applications[slot].number {
            Some(existing) if existing == number => Ok(()),
            Some(existing) => Err(format!(
                "the answer names {number}, but the application is {existing}"
            )),
            None if self
                .applications
                .iter()
                .any(|other| other.number == Some(number)) =>
            {
                Err(format!(
                    "the answer names {number}, which is another application"
                ))
            }
            None if self.applications_elsewhere.contains(&number) => Err(format!(
                "the answer names {number}, which an earlier answer showed is not on this point"
            )),
            None if !self.application_number_fits(slot, number) => Err(format!(
                "the answer names {number}, out of log order with the point's other applications"
            )),
            None => {
                self.applications[slot].number = Some(number);
                Ok(())
            }
        }
    }

    fn name_request(&mut self, slot: usize, number: StopOnBehalfNumber) -> Result<(), String> {
        match self.requests[slot].number {
            Some(existing) if existing == number => Ok(()),
            Some(existing) => Err(format!(
                "the answer names {number}, but the request is {existing}"
            )),
            None if self
                .requests
                .iter()
                .any(|other| other.number == Some(number)) =>
            {
                Err(format!(
                    "the answer names {number}, which is another request"
                ))
            }
            None if self.requests_elsewhere.contains(&number) => Err(format!(
                "the answer names {number}, which an earlier answer showed is not on this point"
            )),
            None if !self.request_number_fits(slot, number) => Err(format!(
                "the answer names {number}, out of log order with the point's other requests"
            )),
            None => {
                self.requests[slot].number = Some(number);
                Ok(())
            }
        }
    }

    fn named_application(&self, number: ApplicationNumber) -> Option<usize> {
        self.applications
            .iter()
            .position(|slot| slot.number == Some(number))
    }

    fn named_request(&self, number: StopOnBehalfNumber) -> Option<usize> {
        self.requests
            .iter()
            .position(|slot| slot.number == Some(number))
    }

    /// The application a look-up shows as `number`: the one named so, or else the first unnamed
    /// one that fits the first preference any unnamed one fits (then named `number`). Everything
    /// open is shown, so the numbers shown, in order, go to the unnamed open records in order:
    /// the choice is forced, not a guess.
    fn resolve_application(
        &mut self,
        number: ApplicationNumber,
        preferences: &[&dyn Fn(&ApplicationSlot) -> bool],
    ) -> Option<usize> {
        if let Some(slot) = self
            .applications
            .iter()
            .position(|slot| slot.number == Some(number))
        {
            return Some(slot);
        }
        if self.applications_elsewhere.contains(&number) {
            return None;
        }
        let any: &dyn Fn(&ApplicationSlot) -> bool = &|_| true;
        for fits in preferences.iter().copied().chain([any]) {
            if let Some(slot) = (0..self.applications.len()).find(|slot| {
                let record = &self.applications[*slot];
                record.number.is_none()
                    && fits(record)
                    && self.application_number_fits(*slot, number)
            }) {
                self.applications[slot].number = Some(number);
                return Some(slot);
            }
        }
        None
    }

    /// Like [`World::resolve_application`], for the pending requests a look-up shows.
    fn resolve_request(
        &mut self,
        number: StopOnBehalfNumber,
        preferences: &[&dyn Fn(&RequestSlot) -> bool],
    ) -> Option<usize> {
        if let Some(slot) = self
            .requests
            .iter()
            .position(|slot| slot.number == Some(number))
        {
            return Some(slot);
        }
        if self.requests_elsewhere.contains(&number) {
            return None;
        }
        let any: &dyn Fn(&RequestSlot) -> bool = &|_| true;
        for fits in preferences.iter().copied().chain([any]) {
            if let Some(slot) = (0..self.requests.len()).find(|slot| {
                let record = &self.requests[*slot];
                record.number.is_none() && fits(record) && self.request_number_fits(*slot, number)
            }) {
                self.requests[slot].number = Some(number);
                return Some(slot);
            }
        }
        None
    }

    fn open_application(&self, procedure: Procedure) -> Option<usize> {
        self.applications
            .iter()
            .position(|slot| slot.is_open() && slot.procedure == procedure)
    }

    /// What the rules do with `operation` in this world. A number it names is the record named
    /// so ([`World::tied`] ties an unnamed one first), or else not on this point.
    fn decide(&self, operation: &SpecOperation) -> Decision {
        let actor_retailer = operation.actor.retailer();
        match &operation.operation {
            Operation::LookUp { .. } => Decision::Refuse(Vec::new()),
            Operation::RegisterStopOnBehalf { .. } => {
                let Some(requester) = actor_retailer else {
                    return Decision::Refuse(vec!["not_permitted"]);
                };
                let mut rules = Vec::new();
                match self.current {
                    None => rules.push("not_supplying"),
                    Some(current) if current == requester => rules.push("already_current_retailer"),
                    Some(_) => {}
                }
                let pending: Vec<&RequestSlot> = self
                    .requests
                    .iter()
                    .filter(|slot| slot.state == StopOnBehalfState::Registered)
                    .collect();
                if pending.iter().any(|slot| slot.requester == requester) {
                    rules.push("stop_on_behalf_already_pending");
                }
                if pending.len() >= PENDING_STOP_ON_BEHALF_MAX {
                    rules.push("too_many_pending_stop_on_behalf");
                }
                match (rules.is_empty(), self.current) {
                    (true, Some(addressee)) => Decision::Accept(Effect::Register {
                        requester,
                        addressee,
                    }),
                    _ => Decision::Refuse(rules),
                }
            }
            Operation::JudgeStopOnBehalf {
                number, verdict, ..
            } => {
                let Some(judge) = actor_retailer else {
                    return Decision::Refuse(vec!["not_permitted"]);
                };
                let Some(slot) = self.named_request(*number) else {
                    return Decision::Refuse(vec!["stop_on_behalf_not_found"]);
                };
                let request = &self.requests[slot];
                let mut rules = Vec::new();
                if request.addressee != judge {
                    rules.push("not_permitted");
                }
                if request.state != StopOnBehalfState::Registered {
                    rules.push("stop_on_behalf_wrong_state");
                }
                if self.current != Some(judge) {
                    rules.push("not_current_retailer");
                }
                if !rules.is_empty() {
                    return Decision::Refuse(rules);
                }
                let state = match verdict {
                    Verdict::Ok => StopOnBehalfState::Ok,
                    Verdict::Ng(reasons) => StopOnBehalfState::Ng(reasons.clone()),
                };
                Decision::Accept(Effect::Judge { slot, state })
            }
            Operation::CancelStopOnBehalf { number, .. } => {
                let Some(requester) = actor_retailer else {
                    return Decision::Refuse(vec!["not_permitted"]);
                };
                let Some(slot) = self.named_request(*number) else {
                    return Decision::Refuse(vec!["stop_on_behalf_not_found"]);
                };
                let request = &self.requests[slot];
                let mut rules = Vec::new();
                if request.requester != requester {
                    rules.push("not_permitted");
                }
                if request.state != StopOnBehalfState::Registered {
                    rules.push("stop_on_behalf_wrong_state");
                }
                if rules.is_empty() {
                    Decision::Accept(Effect::CancelRequest { slot })
                } else {
                    Decision::Refuse(rules)
                }
            }
            Operation::SubmitSwitchOut { effective_date, .. } => {
                let Some(applicant) = actor_retailer else {
                    return Decision::Refuse(vec!["not_permitted"]);
                };
                let mut rules = Vec::new();
                if self.open_application(Procedure::SwitchOut).is_some() {
                    rules.push("open_application_exists");
                }
                match self.current {
                    None => rules.push("not_supplying"),
                    Some(current) if current != applicant => rules.push("not_current_retailer"),
                    Some(_) => {}
                }
                let counterpart = self.waiting_counterpart(Procedure::SwitchIn);
                if let Some(counterpart) = counterpart
                    && self.applications[counterpart].effective_date != *effective_date
                {
                    rules.push("counterpart_date_mismatch");
                }
                if !rules.is_empty() {
                    return Decision::Refuse(rules);
                }
                Decision::Accept(Effect::Submit {
                    procedure: Procedure::SwitchOut,
                    applicant,
                    effective_date: *effective_date,
                    stop_on_behalf: None,
                    counterpart,
                })
            }
            Operation::SubmitSwitchIn {
                effective_date,
                stop_on_behalf,
                ..
            } => {
                let Some(applicant) = actor_retailer else {
                    return Decision::Refuse(vec!["not_permitted"]);
                };
                let mut rules = Vec::new();
                if self.open_application(Procedure::SwitchIn).is_some() {
                    rules.push("open_application_exists");
                }
                let request = self.named_request(*stop_on_behalf);
                match request.map(|slot| &self.requests[slot]) {
                    None => rules.push("stop_on_behalf_not_found"),
                    Some(request) => {
                        let addressee_gone = self
                            .current
                            .is_some_and(|current| current != request.addressee);
                        if request.requester != applicant
                            || request.state != StopOnBehalfState::Ok
                            || request.used
                            || addressee_gone
                        {
                            rules.push("stop_on_behalf_not_usable");
                        }
                    }
                }
                match self.current {
                    None => rules.push("not_supplying"),
                    Some(current) if current == applicant => rules.push("already_current_retailer"),
                    Some(_) => {}
                }
                let counterpart = self.waiting_counterpart(Procedure::SwitchOut);
                if let Some(counterpart) = counterpart
                    && self.applications[counterpart].effective_date != *effective_date
                {
                    rules.push("counterpart_date_mismatch");
                }
                if !rules.is_empty() {
                    return Decision::Refuse(rules);
                }
                Decision::Accept(Effect::Submit {
                    procedure: Procedure::SwitchIn,
                    applicant,
                    effective_date: *effective_date,
                    stop_on_behalf: request,
                    counterpart,
                })
            }
            Operation::CancelApplication {
                number,
                application_revision,
                ..
            } => {
                let Some(applicant) = actor_retailer else {
                    return Decision::Refuse(vec!["not_permitted"]);
                };
                let Some(slot) = self.named_application(*number) else {
                    return Decision::Refuse(vec!["application_not_found"]);
                };
                let application = &self.applications[slot];
                if application.applicant != applicant {
                    return Decision::Refuse(vec!["not_permitted"]);
                }
                if application.cancelled_from_revision == Some(*application_revision) {
                    return Decision::Accept(Effect::ReplayedCancel {
                        slot,
                        from_revision: *application_revision,
                    });
                }
                let mut rules = Vec::new();
                if application.revision != *application_revision {
                    rules.push("stale_revision");
                }
                if !application.state.is_amendable() {
                    rules.push("application_locked");
                }
                if rules.is_empty() {
                    Decision::Accept(Effect::Cancel {
                        slot,
                        from_revision: *application_revision,
                    })
                } else {
                    Decision::Refuse(rules)
                }
            }
            Operation::CompleteApplication { number, .. }
            | Operation::RejectApplication { number, .. } => {
                match &operation.actor {
                    PartyId::Tso(area) if *area == self.supply_point.area() => {}
                    PartyId::Tso(_) => return Decision::Refuse(vec!["outside_area"]),
                    _ => return Decision::Refuse(vec!["not_permitted"]),
                }
                let Some(slot) = self.named_application(*number) else {
                    return Decision::Refuse(vec!["application_not_found"]);
                };
                if self.applications[slot].state != ApplicationState::Matched {
                    return Decision::Refuse(vec!["not_awaiting_tso"]);
                }
                if matches!(operation.operation, Operation::CompleteApplication { .. }) {
                    Decision::Accept(Effect::Complete { slot })
                } else {
                    Decision::Accept(Effect::Reject { slot })
                }
            }
        }
    }

    fn waiting_counterpart(&self, procedure: Procedure) -> Option<usize> {
        self.applications.iter().position(|slot| {
            slot.procedure == procedure && slot.state == ApplicationState::AwaitingMatch
        })
    }

    fn apply(&mut self, effect: Effect) -> Answer {
        match effect {
            Effect::Register {
                requester,
                addressee,
            } => {
                self.requests.push(RequestSlot {
                    number: None,
                    requester,
                    addressee,
                    state: StopOnBehalfState::Registered,
                    used: false,
                });
                Answer::StopOnBehalf {
                    slot: self.requests.len() - 1,
                    state: StopOnBehalfState::Registered,
                }
            }
            Effect::Judge { slot, state } => {
                self.requests[slot].state = state.clone();
                Answer::StopOnBehalf { slot, state }
            }
            Effect::CancelRequest { slot } => {
                self.requests[slot].state = StopOnBehalfState::Cancelled;
                Answer::StopOnBehalf {
                    slot,
                    state: StopOnBehalfState::Cancelled,
                }
            }
            Effect::Submit {
                procedure,
                applicant,
                effective_date,
                stop_on_behalf,
                counterpart,
            } => {
                let slot = self.applications.len();
                let mut state = ApplicationState::AwaitingMatch;
                if let Some(counterpart) = counterpart {
                    state = ApplicationState::Matched;
                    let other = &mut self.applications[counterpart];
                    other.state = ApplicationState::Matched;
                    other.revision += 1;
                    other.matched_with = Some(slot);
                }
                self.applications.push(ApplicationSlot {
                    number: None,
                    procedure,
                    applicant,
                    effective_date,
                    stop_on_behalf,
                    state,
                    revision: 1,
                    matched_with: counterpart,
                    cancelled_from_revision: None,
                });
                self.application_answer(slot)
            }
            Effect::Cancel {
                slot,
                from_revision,
            } => {
                let application = &mut self.applications[slot];
                application.state = ApplicationState::Cancelled;
                application.revision += 1;
                application.cancelled_from_revision = Some(from_revision);
                self.application_answer(slot)
            }
            Effect::ReplayedCancel {
                slot,
                from_revision,
            } => {
                let application = &self.applications[slot];
                Answer::Application {
                    slot,
                    revision: from_revision + 1,
                    state: application.state,
                    matched_with: application.matched_with,
                }
            }
            Effect::Complete { slot } | Effect::Reject { slot } => {
                let completing = matches!(effect, Effect::Complete { .. });
                let final_state = if completing {
                    ApplicationState::Completed
                } else {
                    ApplicationState::TsoRejected
                };
                let pair = [Some(slot), self.applications[slot].matched_with];
                for member in pair.into_iter().flatten() {
                    let application = &mut self.applications[member];
                    application.state = final_state;
                    application.revision += 1;
                    if completing && application.procedure == Procedure::SwitchIn {
                        self.current = Some(application.applicant);
                        if let Some(request) = application.stop_on_behalf {
                            self.requests[request].used = true;
                        }
                    }
                }
                self.application_answer(slot)
            }
        }
    }

    fn application_answer(&self, slot: usize) -> Answer {
        let application = &self.applications[slot];
        Answer::Application {
            slot,
            revision: application.revision,
            state: application.state,
            matched_with: application.matched_with,
        }
    }

    /// Places an operation whose answer was never seen: it takes effect as the rules say here,
    /// in each way its number may be tied; also says, for reports, what it did in the first.
    fn invoke_unobserved(&self, operation: &SpecOperation) -> (Vec<World>, String) {
        let Some(request_id) = operation.operation.request_id() else {
            return (
                vec![self.clone()],
                "a read placed here changes nothing".to_owned(),
            );
        };
        let key = RequestKey {
            party: operation.actor.clone(),
            request_id: request_id.clone(),
        };
        if self.answers.contains_key(&key) {
            return (
                vec![self.clone()],
                "a retry placed here changes nothing".to_owned(),
            );
        }
        let content = operation.operation.content_without_request_id();
        let mut worlds = Vec::new();
        let mut text = None;
        for mut trial in self.tied(&operation.operation) {
            let answer = match trial.decide(operation) {
                Decision::Accept(effect) => trial.apply(effect),
                // Any of the rules may be the one the system answered with; a retry tells.
                Decision::Refuse(rules) if !rules.is_empty() => Answer::Refused { rules },
                Decision::Refuse(_) => {
                    text.get_or_insert_with(|| "nothing to place".to_owned());
                    worlds.push(trial);
                    continue;
                }
            };
            text.get_or_insert_with(|| format!("placed here: {}", trial.describe_answer(&answer)));
            trial.answers.insert(
                key.clone(),
                Remembered {
                    content: content.clone(),
                    answer,
                },
            );
            worlds.push(trial);
        }
        (worlds, text.unwrap_or_default())
    }
}

impl SequentialSpec for PointModel {
    type Op = SpecOperation;
    type Ret = Outcome;

    fn invoke(&mut self, operation: &SpecOperation) -> Outcome {
        self.invoke_unobserved(operation)
    }

    fn is_valid_step(&mut self, operation: &SpecOperation, outcome: &Outcome) -> bool {
        self.step(operation, outcome).is_ok()
    }
}

fn answer_revision(observed: &Observed) -> (Option<u64>, Option<bool>) {
    match observed {
        Observed::Application(answer) => (answer.revision, answer.replayed),
        Observed::StopOnBehalf(answer) => (answer.revision, answer.replayed),
        Observed::LookUp(result) => (result.served_at_revision, None),
    }
}

fn name_or_unnamed<N: std::fmt::Display>(number: Option<N>) -> String {
    number.map_or_else(
        || "(number not yet seen)".to_owned(),
        |number| number.to_string(),
    )
}
