//! One test per transition, and a table that triggers every rejection rule.

use std::collections::BTreeSet;

use crate::fixtures::*;
use crate::*;

fn application_number(accepted: &Accepted) -> ApplicationNumber {
    match accepted {
        Accepted::Application { number, .. } => *number,
        other => panic!("not an application answer: {other:?}"),
    }
}

fn submit(supply_point: &str, effective: &str, request: ProcedureRequest) -> Command {
    Command::SubmitApplication {
        supply_point: point(supply_point),
        effective_date: date(effective),
        request,
    }
}

fn switch_in(number: StopOnBehalfNumber) -> ProcedureRequest {
    ProcedureRequest::SwitchIn {
        stop_on_behalf: number,
    }
}

fn details() -> CustomerDetails {
    CustomerDetails {
        holder_name: PersonName::parse("Suzuki Hanako").unwrap(),
        supply_address: PostalAddress::parse("2-2 Kita-ku, Osaka").unwrap(),
    }
}

fn short(text: &str) -> ShortText {
    ShortText::parse(text).unwrap()
}

/// Submits a switch-out by R1 and a switch-in by R2 on SMART for 2026-12-10, matched.
fn matched_switch(world: &mut World) -> (ApplicationNumber, ApplicationNumber) {
    let request = world.stop_on_behalf_ok(SMART, R2);
    let out = application_number(&world.ok(
        retailer(R1),
        submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
    ));
    let incoming = application_number(&world.ok(
        retailer(R2),
        submit(SMART, "2026-12-10", switch_in(request)),
    ));
    (incoming, out)
}

fn last_events(world: &World, count: usize) -> Vec<EventKind> {
    let events = &world.state.events;
    events[events.len() - count..]
        .iter()
        .map(|stored| stored.event.kind.clone())
        .collect()
}

/// Registering a stop-on-behalf request puts it in the current retailer's inbox, visible to both
/// retailers only, with an answer deadline five business days out.
#[test]
fn stop_on_behalf_register() {
    let mut world = World::new();
    let accepted = world.ok(
        retailer(R2),
        Command::RegisterStopOnBehalf {
            supply_point: point(SMART),
            customer: customer(),
            wished_date: date("2026-12-10"),
        },
    );
    let Accepted::StopOnBehalf { number, state } = accepted else {
        panic!("{accepted:?}")
    };
    assert_eq!(state, StopOnBehalfState::Registered);
    let request = &world.state.stop_on_behalf[&number];
    assert_eq!(request.addressee, code(R1));
    assert_eq!(request.answer_deadline, date("2026-12-03"));
    assert_eq!(
        world.state.supply_points[&point(SMART)].pending_stop_on_behalf,
        vec![number]
    );
    let event = &world.state.events.last().unwrap().event;
    assert!(event.audience.includes(&PartyId::Retailer(code(R1))));
    assert!(event.audience.includes(&PartyId::Retailer(code(R2))));
    assert!(!event.audience.includes(&PartyId::Retailer(code(R3))));
    assert!(!event.audience.includes(&PartyId::parse("T03").unwrap()));
}

/// The addressee's OK and NG are final states and clear the pending list.
#[test]
fn stop_on_behalf_judge_ok_and_ng() {
    let mut world = World::new();
    let number = world.stop_on_behalf_ok(SMART, R2);
    assert_eq!(
        world.state.stop_on_behalf[&number].state,
        StopOnBehalfState::Ok
    );
    assert!(
        world.state.supply_points[&point(SMART)]
            .pending_stop_on_behalf
            .is_empty()
    );

    let Accepted::StopOnBehalf { number, .. } = world.ok(
        retailer(R3),
        Command::RegisterStopOnBehalf {
            supply_point: point(SMART),
            customer: customer(),
            wished_date: date("2026-12-10"),
        },
    ) else {
        panic!()
    };
    let reasons = NgReasons::new(vec![NgReason::NameMismatch, NgReason::AddressMismatch]).unwrap();
    world.ok(
        retailer(R1),
        Command::JudgeStopOnBehalf {
            number,
            verdict: Verdict::Ng(reasons.clone()),
        },
    );
    assert_eq!(
        world.state.stop_on_behalf[&number].state,
        StopOnBehalfState::Ng(reasons)
    );
}

/// The requester may withdraw a pending request.
#[test]
fn stop_on_behalf_cancel() {
    let mut world = World::new();
    let Accepted::StopOnBehalf { number, .. } = world.ok(
        retailer(R2),
        Command::RegisterStopOnBehalf {
            supply_point: point(SMART),
            customer: customer(),
            wished_date: date("2026-12-10"),
        },
    ) else {
        panic!()
    };
    world.ok(retailer(R2), Command::CancelStopOnBehalf { number });
    assert_eq!(
        world.state.stop_on_behalf[&number].state,
        StopOnBehalfState::Cancelled
    );
    assert!(
        world.state.supply_points[&point(SMART)]
            .pending_stop_on_behalf
            .is_empty()
    );
}

/// A request not judged by its deadline expires on the first tick after the deadline day, not
/// on the deadline day itself.
#[test]
fn stop_on_behalf_expires() {
    let mut world = World::new();
    let Accepted::StopOnBehalf { number, .. } = world.ok(
        retailer(R2),
        Command::RegisterStopOnBehalf {
            supply_point: point(SMART),
            customer: customer(),
            wished_date: date("2026-12-10"),
        },
    ) else {
        panic!()
    };
    world.set_date("2026-12-03");
    world.tick();
    assert_eq!(
        world.state.stop_on_behalf[&number].state,
        StopOnBehalfState::Registered
    );
    world.set_date("2026-12-04");
    world.tick();
    assert_eq!(
        world.state.stop_on_behalf[&number].state,
        StopOnBehalfState::Expired
    );
    assert!(
        world.state.supply_points[&point(SMART)]
            .pending_stop_on_behalf
            .is_empty()
    );
}

/// A switch-out waits for its counterpart; the switch-in with the same date matches it at once,
/// locking both and telling both retailers and the TSO.
#[test]
fn switching_pair_matches() {
    let mut world = World::new();
    let (incoming, out) = matched_switch(&mut world);
    let incoming_record = &world.state.applications[&incoming];
    let out_record = &world.state.applications[&out];
    assert_eq!(incoming_record.state, ApplicationState::Matched);
    assert_eq!(out_record.state, ApplicationState::Matched);
    assert_eq!(incoming_record.matched_with, Some(out));
    assert_eq!(out_record.matched_with, Some(incoming));
    assert_eq!(out_record.revision, 2);
    assert_eq!(incoming_record.deadline, date("2026-12-07"));
    assert!(
        world
            .state
            .due
            .iter()
            .all(|entry| !matches!(entry.item, DueItem::Application(_)))
    );
    let matched = world.state.events.last().unwrap();
    assert!(matches!(
        matched.event.kind,
        EventKind::ApplicationsMatched { .. }
    ));
    for party in [R1, R2, "T03"] {
        assert!(
            matched
                .event
                .audience
                .includes(&PartyId::parse(party).unwrap())
        );
    }
}

/// A switch-out waiting alone can be amended (new date, new revision, new deadline) and then
/// cancelled.
#[test]
fn amend_then_cancel() {
    let mut world = World::new();
    let out = application_number(&world.ok(
        retailer(R1),
        submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
    ));
    let accepted = world.ok(
        retailer(R1),
        Command::AmendApplication {
            number: out,
            revision: 1,
            effective_date: date("2026-12-17"),
            request: ProcedureRequest::SwitchOut,
        },
    );
    assert!(matches!(
        accepted,
        Accepted::Application { revision: 2, .. }
    ));
    let record = &world.state.applications[&out];
    assert_eq!(record.effective_date, date("2026-12-17"));
    assert_eq!(record.deadline, date("2026-12-14"));
    assert!(world.state.due.contains(&DueEntry {
        date: date("2026-12-14"),
        item: DueItem::Application(out)
    }));
    assert!(!world.state.due.contains(&DueEntry {
        date: date("2026-12-07"),
        item: DueItem::Application(out)
    }));
    world.ok(
        retailer(R1),
        Command::CancelApplication {
            number: out,
            revision: 2,
        },
    );
    let record = &world.state.applications[&out];
    assert_eq!(record.state, ApplicationState::Cancelled);
    assert_eq!(record.revision, 3);
    assert!(
        world.state.supply_points[&point(SMART)]
            .open_applications
            .is_empty()
    );
}

/// A switch-out with no counterpart by its deadline becomes Unmatched on the next day's tick.
#[test]
fn unmatched_after_deadline() {
    let mut world = World::new();
    let out = application_number(&world.ok(
        retailer(R1),
        submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
    ));
    world.set_date("2026-12-07");
    world.tick();
    assert_eq!(
        world.state.applications[&out].state,
        ApplicationState::AwaitingMatch
    );
    world.set_date("2026-12-08");
    world.tick();
    assert_eq!(
        world.state.applications[&out].state,
        ApplicationState::Unmatched
    );
    assert!(
        world.state.supply_points[&point(SMART)]
            .open_applications
            .is_empty()
    );
}

/// Completing a matched pair makes the switch-in's retailer the supplier from the actual date,
/// closes the old period the day before, and marks the OK request used.
#[test]
fn completion_changes_the_supplier() {
    let mut world = World::new();
    let (incoming, out) = matched_switch(&mut world);
    world.set_date("2026-12-11");
    world.ok(
        tso(3),
        Command::CompleteApplication {
            number: out,
            actual_date: date("2026-12-11"),
        },
    );
    let supply_point = &world.state.supply_points[&point(SMART)];
    assert_eq!(
        supply_point.supply,
        SupplyState::Supplying {
            retailer: code(R2),
            since: date("2026-12-11")
        }
    );
    let period = supply_point.history.last().unwrap();
    assert_eq!(
        (period.retailer, period.until),
        (code(R1), date("2026-12-10"))
    );
    assert_eq!(period.ended_by, PeriodEnd::Switched);
    for number in [incoming, out] {
        let record = &world.state.applications[&number];
        assert_eq!(record.state, ApplicationState::Completed);
        assert_eq!(record.completed_on, Some(date("2026-12-11")));
    }
    let ProcedureRequest::SwitchIn { stop_on_behalf } = world.state.applications[&incoming].request
    else {
        panic!()
    };
    assert_eq!(
        world.state.stop_on_behalf[&stop_on_behalf].used_by,
        Some(incoming)
    );
    assert!(last_events(&world, 3).iter().any(|kind| matches!(
        kind,
        EventKind::SupplierChanged { to, .. } if *to == code(R2)
    )));
}

/// The TSO's rejection of a matched pair marks both halves TsoRejected; the supplier stays.
#[test]
fn tso_rejects_matched_pair() {
    let mut world = World::new();
    let (incoming, out) = matched_switch(&mut world);
    world.ok(
        tso(3),
        Command::RejectApplication {
            number: incoming,
            reason: short("meter works impossible"),
        },
    );
    for number in [incoming, out] {
        assert_eq!(
            world.state.applications[&number].state,
            ApplicationState::TsoRejected
        );
    }
    assert_eq!(
        world.state.supply_points[&point(SMART)].current_retailer(),
        Some(code(R1))
    );
}

/// A stop is Received, Accepted at its deadline, and completed: supply stops the day before.
/// A restart on the stopped point is then completed by its retailer's TSO.
#[test]
fn stop_then_restart() {
    let mut world = World::new();
    let stop = application_number(&world.ok(
        retailer(R1),
        submit(
            SMART,
            "2026-12-10",
            ProcedureRequest::StopSupply {
                meter_removal: true,
            },
        ),
    ));
    assert_eq!(
        world.state.applications[&stop].state,
        ApplicationState::Received
    );
    assert_eq!(
        world.state.applications[&stop].procedure(),
        Procedure::StopSupplyWithRemoval
    );
    world.set_date("2026-12-08");
    world.tick();
    assert_eq!(
        world.state.applications[&stop].state,
        ApplicationState::Accepted
    );
    world.set_date("2026-12-10");
    world.ok(
        tso(3),
        Command::CompleteApplication {
            number: stop,
            actual_date: date("2026-12-10"),
        },
    );
    let supply_point = &world.state.supply_points[&point(SMART)];
    assert_eq!(supply_point.supply, SupplyState::Stopped);
    assert_eq!(
        supply_point.history.last().unwrap().until,
        date("2026-12-09")
    );

    let restart = application_number(&world.ok(
        retailer(R3),
        submit(
            SMART,
            "2026-12-21",
            ProcedureRequest::Restart {
                customer: details(),
            },
        ),
    ));
    world.set_date("2026-12-21");
    world.tick();
    world.ok(
        tso(3),
        Command::CompleteApplication {
            number: restart,
            actual_date: date("2026-12-21"),
        },
    );
    assert_eq!(
        world.state.supply_points[&point(SMART)].current_retailer(),
        Some(code(R3))
    );
}

/// An ampere change completed by the TSO changes the breaker; a customer information change
/// completes without touching the facility.
#[test]
fn ampere_and_customer_changes() {
    let mut world = World::new();
    let capacity = Capacity::new(60, CapacityUnit::Ampere).unwrap();
    let ampere = application_number(&world.ok(
        retailer(R1),
        submit(
            SMART,
            "2026-12-10",
            ProcedureRequest::AmpereChange { capacity },
        ),
    ));
    let customer_change = application_number(&world.ok(
        retailer(R1),
        submit(
            SMART,
            "2026-12-11",
            ProcedureRequest::CustomerInfoChange {
                customer: details(),
            },
        ),
    ));
    world.set_date("2026-12-11");
    world.tick();
    for (number, day) in [(ampere, "2026-12-10"), (customer_change, "2026-12-11")] {
        world.ok(
            tso(3),
            Command::CompleteApplication {
                number,
                actual_date: date(day),
            },
        );
    }
    assert_eq!(
        world.state.supply_points[&point(SMART)].facility.capacity,
        capacity
    );
    assert_eq!(
        world.state.applications[&customer_change].state,
        ApplicationState::Completed
    );
}

/// The TSO may refuse another procedure while it is received.
#[test]
fn tso_rejects_other_procedure() {
    let mut world = World::new();
    let stop = application_number(&world.ok(
        retailer(R1),
        submit(
            SMART,
            "2026-12-10",
            ProcedureRequest::StopSupply {
                meter_removal: false,
            },
        ),
    ));
    world.ok(
        tso(3),
        Command::RejectApplication {
            number: stop,
            reason: short("customer still moving in"),
        },
    );
    let record = &world.state.applications[&stop];
    assert_eq!(record.state, ApplicationState::Rejected);
    assert_eq!(
        record.rejection_reason,
        Some(short("customer still moving in"))
    );
}

/// Re-importing a supply point updates its facility data and keeps its supply state and work.
#[test]
fn import_updates_facility_only() {
    let mut world = World::new();
    world.stop_on_behalf_ok(SMART, R2);
    let accepted = world.ok(
        tso(3),
        Command::ImportSupplyPoints {
            points: vec![
                import(SMART, low_voltage(40, true), None),
                import("0399999999999999999999", low_voltage(20, true), Some(R3)),
            ],
        },
    );
    assert_eq!(
        accepted,
        Accepted::SupplyPointsImported {
            created: 1,
            updated: 1
        }
    );
    let supply_point = &world.state.supply_points[&point(SMART)];
    assert_eq!(supply_point.facility.capacity.value(), 40);
    assert_eq!(supply_point.current_retailer(), Some(code(R1)));
}

/// Participants update their own contacts; operators configure the policy and publish notices
/// seen by everyone.
#[test]
fn directory_policy_and_notices() {
    let mut world = World::new();
    world.ok(
        retailer(R1),
        Command::UpdateContacts {
            contacts: vec![contact("Ito Ren"), contact("Kato Mei")],
        },
    );
    assert_eq!(
        world.state.participants[&PartyId::Retailer(code(R1))]
            .contacts
            .len(),
        2
    );

    let mut policy = Policy::default();
    policy.calendar.holidays.insert(date("2026-12-07"));
    world.ok(operator(), Command::ConfigurePolicy { policy });
    // With Monday 12-07 a holiday, the deadline for 12-10 moves back to Friday 12-04.
    let out = application_number(&world.ok(
        retailer(R1),
        submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
    ));
    assert_eq!(world.state.applications[&out].deadline, date("2026-12-04"));

    let accepted = world.ok(
        operator(),
        Command::PublishNotice {
            severity: Severity::Critical,
            title: short("Tokyo site lost"),
            body: LongText::parse("Service continues from Osaka.\nNo action needed.").unwrap(),
        },
    );
    assert!(matches!(accepted, Accepted::NoticePublished { .. }));
    let event = &world.state.events.last().unwrap().event;
    assert_eq!(event.audience, Audience::Everyone);
    assert!(event.audience.includes(&PartyId::Retailer(code(R3))));
}

/// A retry with the same request id returns the first answer and writes nothing; the same id
/// with another command is refused; a remembered rejection is returned again even after the state
/// would allow the command.
#[test]
fn request_id_idempotency() {
    let mut world = World::new();
    let id = RequestId::parse("gateway-42").unwrap();
    let command = submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut);
    let first = world.run_with_id(retailer(R1), id.clone(), command.clone());
    let before = world.state.clone();
    let envelope = Envelope {
        actor: retailer(R1),
        request_id: id.clone(),
        command: command.clone(),
    };
    let decision = decide(&world.state, &envelope, world.now);
    assert!(decision.replayed);
    assert_eq!(decision.outcome, first);
    assert!(decision.changes.writes.is_empty() && decision.changes.events.is_empty());
    assert_eq!(world.run_with_id(retailer(R1), id.clone(), command), first);
    assert_eq!(world.state.applications, before.applications);

    let other = submit(SMART, "2026-12-17", ProcedureRequest::SwitchOut);
    let reused = world.run_with_id(retailer(R1), id.clone(), other);
    assert_eq!(reused.unwrap_err().rule(), "request_id_reused");

    // The same id from another party is another key.
    let rejected = world.run_with_id(
        retailer(R2),
        id.clone(),
        submit(KANSAI, "2026-12-17", ProcedureRequest::SwitchOut),
    );
    assert_eq!(rejected.clone().unwrap_err().rule(), "not_current_retailer");
    assert_eq!(
        world.run_with_id(
            retailer(R2),
            id,
            submit(KANSAI, "2026-12-17", ProcedureRequest::SwitchOut)
        ),
        rejected
    );
}

/// Request ids are forgotten after the retention period, on a tick.
#[test]
fn request_ids_expire() {
    let mut world = World::new();
    let key = RequestKey {
        party: PartyId::Retailer(code(R1)),
        request_id: RequestId::parse("gateway-7").unwrap(),
    };
    world
        .run_with_id(
            retailer(R1),
            key.request_id.clone(),
            Command::UpdateContacts {
                contacts: vec![contact("Ito Ren")],
            },
        )
        .unwrap();
    assert!(world.state.requests.contains_key(&key));
    world.set_date("2026-12-03");
    world.tick();
    assert!(world.state.requests.contains_key(&key));
    world.set_date("2026-12-04");
    world.tick();
    assert!(!world.state.requests.contains_key(&key));
}

/// Replaying an amend with the same revision and content under a new request id returns the
/// first answer (invariant 6); a different amend at the old revision is stale.
#[test]
fn transition_replay() {
    let mut world = World::new();
    let out = application_number(&world.ok(
        retailer(R1),
        submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
    ));
    let amend = Command::AmendApplication {
        number: out,
        revision: 1,
        effective_date: date("2026-12-17"),
        request: ProcedureRequest::SwitchOut,
    };
    let first = world.ok(retailer(R1), amend.clone());
    let again = world.ok(retailer(R1), amend);
    assert_eq!(first, again);
    assert_eq!(world.state.applications[&out].revision, 2);
    assert_eq!(world.state.applications[&out].transitions.len(), 1);
    let stale = world.run(
        retailer(R1),
        Command::AmendApplication {
            number: out,
            revision: 1,
            effective_date: date("2026-12-24"),
            request: ProcedureRequest::SwitchOut,
        },
    );
    assert_eq!(stale.unwrap_err().rule(), "stale_revision");
}

/// A log timestamp older than one already applied counts as the newer one: time never goes back.
#[test]
fn clock_never_goes_back() {
    let mut world = World::new();
    world.set_date("2026-12-20");
    world.tick();
    world.set_date("2026-11-26");
    let late = world.run(
        retailer(R1),
        submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
    );
    assert_eq!(late.unwrap_err().rule(), "lead_time_not_met");
    assert_eq!(world.state.clock.unwrap().jst_date(), date("2026-12-20"));
}

/// The same commands at the same timestamps give the same state, byte for byte.
#[test]
fn deterministic_replay() {
    let build = || {
        let mut world = World::new();
        matched_switch(&mut world);
        world.set_date("2026-12-11");
        world.tick();
        world
    };
    let first = build();
    let second = build();
    assert_eq!(first.state.state_hash(), second.state.state_hash());
    assert_eq!(
        serde_json::to_vec(&first.state).unwrap(),
        serde_json::to_vec(&second.state).unwrap()
    );
}

type Scenario = fn(&mut World) -> Outcome;

fn register(world: &mut World, requester: &str, supply_point: &str, wished: &str) -> Outcome {
    world.run(
        retailer(requester),
        Command::RegisterStopOnBehalf {
            supply_point: point(supply_point),
            customer: customer(),
            wished_date: date(wished),
        },
    )
}

fn pending_request(world: &mut World) -> StopOnBehalfNumber {
    match register(world, R2, SMART, "2026-12-10") {
        Ok(Accepted::StopOnBehalf { number, .. }) => number,
        other => panic!("{other:?}"),
    }
}

/// Each scenario must be refused by the named rule; together they cover every rule.
const REJECTIONS: &[(&str, Scenario)] = &[
    ("not_permitted", |world| {
        world.run(retailer(R1), Command::Tick)
    }),
    ("not_permitted", |world| {
        world.run(
            tso(3),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        )
    }),
    ("not_permitted", |world| {
        let number = pending_request(world);
        world.run(
            retailer(R3),
            Command::JudgeStopOnBehalf {
                number,
                verdict: Verdict::Ok,
            },
        )
    }),
    ("not_permitted", |world| {
        let (incoming, _) = matched_switch(world);
        world.run(
            operator(),
            Command::CompleteApplication {
                number: incoming,
                actual_date: date("2026-12-10"),
            },
        )
    }),
    ("not_permitted", |world| {
        let out = application_number(&world.ok(
            retailer(R1),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        ));
        world.run(
            retailer(R2),
            Command::CancelApplication {
                number: out,
                revision: 1,
            },
        )
    }),
    ("unknown_participant", |world| {
        world.run(
            retailer("A0999"),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        )
    }),
    ("request_id_reused", |world| {
        let id = RequestId::parse("same").unwrap();
        world.run_with_id(
            retailer(R1),
            id.clone(),
            Command::UpdateContacts {
                contacts: vec![contact("Ito Ren")],
            },
        )?;
        world.run_with_id(
            retailer(R1),
            id,
            Command::UpdateContacts {
                contacts: vec![contact("Kato Mei")],
            },
        )
    }),
    ("supply_point_not_found", |world| {
        world.run(
            retailer(R1),
            submit(
                "0311111111111111111111",
                "2026-12-10",
                ProcedureRequest::SwitchOut,
            ),
        )
    }),
    ("application_not_found", |world| {
        world.run(
            retailer(R1),
            Command::CancelApplication {
                number: ApplicationNumber::new(99).unwrap(),
                revision: 1,
            },
        )
    }),
    ("stop_on_behalf_not_found", |world| {
        world.run(
            retailer(R1),
            Command::CancelStopOnBehalf {
                number: StopOnBehalfNumber::new(99).unwrap(),
            },
        )
    }),
    ("stop_on_behalf_not_found", |world| {
        world.run(
            retailer(R2),
            submit(
                SMART,
                "2026-12-10",
                switch_in(StopOnBehalfNumber::new(99).unwrap()),
            ),
        )
    }),
    ("outside_area", |world| {
        world.run(
            tso(6),
            Command::ImportSupplyPoints {
                points: vec![import(SMART, low_voltage(30, true), Some(R1))],
            },
        )
    }),
    ("outside_area", |world| {
        let (incoming, _) = matched_switch(world);
        world.run(
            tso(6),
            Command::RejectApplication {
                number: incoming,
                reason: short("no"),
            },
        )
    }),
    ("batch_size", |world| {
        world.run(tso(3), Command::ImportSupplyPoints { points: vec![] })
    }),
    ("duplicate_in_batch", |world| {
        let one = import(SMART, low_voltage(30, true), Some(R1));
        world.run(
            tso(3),
            Command::ImportSupplyPoints {
                points: vec![one.clone(), one],
            },
        )
    }),
    ("invalid_import", |world| {
        let mut bad = low_voltage(30, true);
        bad.reading_day = 0;
        world.run(
            tso(3),
            Command::ImportSupplyPoints {
                points: vec![import(SMART, bad, Some(R1))],
            },
        )
    }),
    ("invalid_import", |world| {
        world.run(
            tso(3),
            Command::ImportSupplyPoints {
                points: vec![import(SMART, low_voltage(30, true), Some("A0999"))],
            },
        )
    }),
    ("invalid_field", |world| {
        register(world, R2, SMART, "2026-11-25")
    }),
    ("invalid_field", |world| {
        world.run(retailer(R1), Command::UpdateContacts { contacts: vec![] })
    }),
    ("invalid_field", |world| {
        let policy = Policy {
            request_id_retention_days: 0,
            ..Policy::default()
        };
        world.run(operator(), Command::ConfigurePolicy { policy })
    }),
    ("not_supplying", |world| {
        register(world, R2, STOPPED, "2026-12-10")
    }),
    ("not_supplying", |world| {
        world.run(
            retailer(R1),
            submit(
                STOPPED,
                "2026-12-10",
                ProcedureRequest::StopSupply {
                    meter_removal: false,
                },
            ),
        )
    }),
    ("not_stopped", |world| {
        world.run(
            retailer(R3),
            submit(
                SMART,
                "2026-12-10",
                ProcedureRequest::Restart {
                    customer: details(),
                },
            ),
        )
    }),
    ("not_current_retailer", |world| {
        world.run(
            retailer(R2),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        )
    }),
    ("not_current_retailer", |world| {
        // The addressee lost the point to another switch before judging.
        let pending = match register(world, R3, SMART, "2026-12-10") {
            Ok(Accepted::StopOnBehalf { number, .. }) => number,
            other => panic!("{other:?}"),
        };
        let ok = world.stop_on_behalf_ok(SMART, R2);
        world.ok(
            retailer(R1),
            submit(SMART, "2026-11-30", ProcedureRequest::SwitchOut),
        );
        let incoming =
            application_number(&world.ok(retailer(R2), submit(SMART, "2026-11-30", switch_in(ok))));
        world.set_date("2026-11-30");
        world.ok(
            tso(3),
            Command::CompleteApplication {
                number: incoming,
                actual_date: date("2026-11-30"),
            },
        );
        world.run(
            retailer(R1),
            Command::JudgeStopOnBehalf {
                number: pending,
                verdict: Verdict::Ok,
            },
        )
    }),
    ("already_current_retailer", |world| {
        register(world, R1, SMART, "2026-12-10")
    }),
    ("stop_on_behalf_already_pending", |world| {
        pending_request(world);
        register(world, R2, SMART, "2026-12-11")
    }),
    ("too_many_pending_stop_on_behalf", |world| {
        for index in 0..SupplyPoint::PENDING_STOP_ON_BEHALF_MAX {
            let code = format!("A{:04}", 100 + index);
            world.ok(
                operator(),
                Command::SaveParticipant {
                    participant: Participant {
                        party: PartyId::parse(&code).unwrap(),
                        name: PersonName::parse("Filler").unwrap(),
                        contacts: vec![contact("Ito Ren")],
                    },
                },
            );
            register(world, &code, SMART, "2026-12-10")?;
        }
        register(world, R2, SMART, "2026-12-10")
    }),
    ("stop_on_behalf_wrong_state", |world| {
        let number = world.stop_on_behalf_ok(SMART, R2);
        world.run(retailer(R2), Command::CancelStopOnBehalf { number })
    }),
    ("stop_on_behalf_deadline_passed", |world| {
        let number = pending_request(world);
        world.set_date("2026-12-04");
        world.run(
            retailer(R1),
            Command::JudgeStopOnBehalf {
                number,
                verdict: Verdict::Ok,
            },
        )
    }),
    ("stop_on_behalf_not_usable", |world| {
        let number = pending_request(world);
        world.run(retailer(R2), submit(SMART, "2026-12-10", switch_in(number)))
    }),
    ("stop_on_behalf_not_usable", |world| {
        let number = world.stop_on_behalf_ok(SMART, R2);
        world.run(
            retailer(R2),
            submit(OLD_METER, "2026-12-24", switch_in(number)),
        )
    }),
    ("open_application_exists", |world| {
        world.ok(
            retailer(R1),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        );
        world.run(
            retailer(R1),
            submit(SMART, "2026-12-17", ProcedureRequest::SwitchOut),
        )
    }),
    ("effective_date_taken", |world| {
        world.ok(
            retailer(R1),
            submit(
                SMART,
                "2026-12-10",
                ProcedureRequest::StopSupply {
                    meter_removal: false,
                },
            ),
        );
        world.run(
            retailer(R1),
            submit(
                SMART,
                "2026-12-10",
                ProcedureRequest::CustomerInfoChange {
                    customer: details(),
                },
            ),
        )
    }),
    ("counterpart_date_mismatch", |world| {
        let number = world.stop_on_behalf_ok(SMART, R2);
        world.ok(
            retailer(R1),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        );
        world.run(retailer(R2), submit(SMART, "2026-12-17", switch_in(number)))
    }),
    ("timeline_conflict", |world| {
        // A stop on 12-10, then a customer change by the same retailer on 12-17: stopped by then.
        world.ok(
            retailer(R1),
            submit(
                SMART,
                "2026-12-10",
                ProcedureRequest::StopSupply {
                    meter_removal: false,
                },
            ),
        );
        world.run(
            retailer(R1),
            submit(
                SMART,
                "2026-12-17",
                ProcedureRequest::CustomerInfoChange {
                    customer: details(),
                },
            ),
        )
    }),
    ("lead_time_not_met", |world| {
        world.run(
            retailer(R1),
            submit(SMART, "2026-11-28", ProcedureRequest::SwitchOut),
        )
    }),
    ("lead_time_not_met", |world| {
        // An old meter needs 8 business days + 2: 12-04 is too soon.
        world.run(
            retailer(R1),
            submit(OLD_METER, "2026-12-04", ProcedureRequest::SwitchOut),
        )
    }),
    ("effective_date_too_far", |world| {
        world.run(
            retailer(R1),
            submit(SMART, "2027-12-31", ProcedureRequest::SwitchOut),
        )
    }),
    ("ampere_change_not_applicable", |world| {
        let capacity = Capacity::new(30, CapacityUnit::Ampere).unwrap();
        world.run(
            retailer(R1),
            submit(
                SMART,
                "2026-12-10",
                ProcedureRequest::AmpereChange { capacity },
            ),
        )
    }),
    ("ampere_change_not_applicable", |world| {
        let capacity = Capacity::new(60, CapacityUnit::Ampere).unwrap();
        world.run(
            retailer(R2),
            submit(
                HIGH_VOLTAGE,
                "2026-12-10",
                ProcedureRequest::AmpereChange { capacity },
            ),
        )
    }),
    ("procedure_changed", |world| {
        let out = application_number(&world.ok(
            retailer(R1),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        ));
        world.run(
            retailer(R1),
            Command::AmendApplication {
                number: out,
                revision: 1,
                effective_date: date("2026-12-10"),
                request: ProcedureRequest::StopSupply {
                    meter_removal: false,
                },
            },
        )
    }),
    ("application_locked", |world| {
        let (_, out) = matched_switch(world);
        world.run(
            retailer(R1),
            Command::CancelApplication {
                number: out,
                revision: 2,
            },
        )
    }),
    ("application_locked", |world| {
        let (incoming, _) = matched_switch(world);
        world.run(
            retailer(R2),
            Command::AmendApplication {
                number: incoming,
                revision: 1,
                effective_date: date("2026-12-17"),
                request: world.state.applications[&incoming].request.clone(),
            },
        )
    }),
    ("stale_revision", |world| {
        let out = application_number(&world.ok(
            retailer(R1),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        ));
        world.run(
            retailer(R1),
            Command::CancelApplication {
                number: out,
                revision: 7,
            },
        )
    }),
    ("too_many_amends", |world| {
        let out = application_number(&world.ok(
            retailer(R1),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        ));
        for revision in 1..=Application::TRANSITIONS_MAX as u32 {
            let effective_date = date("2026-12-10").add_days(revision as i32);
            world.run(
                retailer(R1),
                Command::AmendApplication {
                    number: out,
                    revision,
                    effective_date,
                    request: ProcedureRequest::SwitchOut,
                },
            )?;
        }
        world.run(
            retailer(R1),
            Command::AmendApplication {
                number: out,
                revision: 17,
                effective_date: date("2026-12-31"),
                request: ProcedureRequest::SwitchOut,
            },
        )
    }),
    ("not_awaiting_tso", |world| {
        let out = application_number(&world.ok(
            retailer(R1),
            submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        ));
        world.run(
            tso(3),
            Command::CompleteApplication {
                number: out,
                actual_date: date("2026-11-26"),
            },
        )
    }),
    ("actual_date_invalid", |world| {
        let (incoming, _) = matched_switch(world);
        world.run(
            tso(3),
            Command::CompleteApplication {
                number: incoming,
                actual_date: date("2026-12-10"),
            },
        )
    }),
    ("actual_date_invalid", |world| {
        let (incoming, _) = matched_switch(world);
        world.set_date("2026-12-20");
        world.run(
            tso(3),
            Command::CompleteApplication {
                number: incoming,
                actual_date: date("2026-12-09"),
            },
        )
    }),
    ("invariant_would_break", |world| {
        // Corrupt the stored history behind the rules' back: the next write to the point is
        // refused rather than building on a broken state.
        let supply_point = world.state.supply_points.get_mut(&point(SMART)).unwrap();
        supply_point.history.push(SupplyPeriod {
            retailer: code(R3),
            from: date("2021-01-01"),
            until: date("2020-06-01"),
            ended_by: PeriodEnd::Stopped,
        });
        let envelope = Envelope {
            actor: retailer(R1),
            request_id: RequestId::parse("corrupt").unwrap(),
            command: submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
        };
        let decision = decide(&world.state, &envelope, world.now);
        assert!(
            decision
                .changes
                .writes
                .iter()
                .all(|write| matches!(write, Write::Request(_) | Write::Due(_)))
        );
        decision.outcome
    }),
];

/// Every rule in [`Rejection::RULES`] is triggered by at least one scenario, each scenario is
/// refused by exactly the rule it names, and a refusal changes no record.
#[test]
fn every_rejection_rule() {
    let mut covered = BTreeSet::new();
    for (index, (rule, scenario)) in REJECTIONS.iter().enumerate() {
        let mut world = World::new();
        let outcome = scenario(&mut world);
        match outcome {
            Err(rejection) => {
                assert_eq!(rejection.rule(), *rule, "scenario {index}: {rejection}");
                assert!(!rejection.to_string().is_empty());
            }
            Ok(accepted) => panic!("scenario {index} ({rule}) was accepted: {accepted:?}"),
        }
        covered.insert(*rule);
    }
    let all: BTreeSet<&str> = Rejection::RULES.into_iter().collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "rules without a scenario: {missing:?}");
}

/// A refused command leaves every record as it was; only its request record and the clock change.
#[test]
fn refusal_changes_nothing() {
    let mut world = World::new();
    let before = world.state.clone();
    let refused = world.run(
        retailer(R2),
        submit(SMART, "2026-12-10", ProcedureRequest::SwitchOut),
    );
    assert!(refused.is_err());
    assert_eq!(world.state.supply_points, before.supply_points);
    assert_eq!(world.state.applications, before.applications);
    assert_eq!(world.state.counters, before.counters);
    assert_eq!(world.state.events, before.events);
    assert_eq!(world.state.requests.len(), before.requests.len() + 1);
}
