//! Wire messages as human-readable text: key-value blocks for one record, aligned tables for
//! lists, one line per event for `watch`.

use switchyard_proto::v1;
use switchyard_proto::v1::event::Kind;
use switchyard_proto::v1::procedure_request::Procedure;

use super::json::event_kind;
use super::table::{Table, clean_cell, clean_multiline, key_values};
use super::words;

fn or_dash(value: Option<&String>) -> String {
    value.cloned().unwrap_or_default()
}

fn joined(values: &[String]) -> String {
    values.join(", ")
}

/// A titled section after a blank line, for the sub-tables of a record.
fn section(text: &mut String, title: &str, table: &Table) {
    if table.is_empty() {
        return;
    }
    text.push('\n');
    text.push_str(title);
    text.push_str(":\n");
    text.push_str(&table.render());
}

/// The answer of a look-up.
pub(crate) fn look_up(response: &v1::LookUpSupplyPointResponse) -> String {
    let default_point = v1::SupplyPoint::default();
    let point = response.supply_point.as_ref().unwrap_or(&default_point);
    let default_facility = v1::Facility::default();
    let facility = point.facility.as_ref().unwrap_or(&default_facility);
    let default_supply = v1::SupplyState::default();
    let supply = point.supply.as_ref().unwrap_or(&default_supply);
    let current_retailer = match (&supply.retailer_code, point.has_current_retailer) {
        (Some(code), _) => code.clone(),
        (None, true) => "(hidden)".to_owned(),
        (None, false) => "none".to_owned(),
    };
    let mut text = key_values(&[
        ("supply point", point.supply_point_number.clone()),
        ("area", words::area(point.area)),
        ("voltage", words::voltage_class(facility.voltage)),
        (
            "contract kind",
            words::contract_kind(facility.contract_kind),
        ),
        (
            "decision method",
            words::decision_method(facility.decision_method),
        ),
        (
            "capacity",
            facility
                .capacity
                .as_ref()
                .map(words::capacity)
                .unwrap_or_default(),
        ),
        ("reading day", facility.reading_day.to_string()),
        ("next reading date", response.next_reading_date.clone()),
        ("supply", words::supply_status(supply.status)),
        ("current retailer", current_retailer),
        ("supplied since", or_dash(supply.since_date.as_ref())),
        ("open applications", joined(&point.open_application_numbers)),
        (
            "pending stop-on-behalf",
            joined(&point.pending_stop_on_behalf_numbers),
        ),
        (
            "served at revision",
            response.served_at_revision.to_string(),
        ),
    ]);

    let mut meters = Table::new(&["METER", "SMART", "HALF-HOURLY", "AUTOMATIC READING"]);
    for meter in &facility.meters {
        meters.row(vec![
            meter.meter_number.clone(),
            words::yes_no(meter.smart),
            words::yes_no(meter.half_hourly_values),
            words::yes_no(meter.automatic_reading),
        ]);
    }
    section(&mut text, "meters", &meters);

    let mut in_progress = Table::new(&["APPLICATION", "PROCEDURE", "STATE", "EFFECTIVE"]);
    for application in &response.applications_in_progress {
        in_progress.row(vec![
            application.application_number.clone(),
            words::procedure(application.procedure),
            words::application_state(application.state),
            application.effective_date.clone(),
        ]);
    }
    section(&mut text, "applications in progress", &in_progress);

    let mut history = Table::new(&["RETAILER", "FROM", "UNTIL", "ENDED BY"]);
    for period in &point.history {
        history.row(vec![
            period.retailer_code.clone(),
            period.from_date.clone(),
            period.until_date.clone(),
            words::period_end(period.ended_by),
        ]);
    }
    section(&mut text, "supply history", &history);
    text
}

/// The answer of a stop-on-behalf write.
pub(crate) fn stop_on_behalf_result(
    result: &v1::StopOnBehalfWriteResult,
    revision: u64,
    request_id: &str,
) -> String {
    key_values(&[
        ("stop-on-behalf", result.stop_on_behalf_number.clone()),
        ("state", words::stop_on_behalf_state(result.state)),
        ("ng reasons", words::ng_reasons(&result.ng_reasons)),
        ("revision", revision.to_string()),
        ("request id", request_id.to_owned()),
    ])
}

/// One stop-on-behalf request.
pub(crate) fn stop_on_behalf(request: &v1::StopOnBehalfRequest, served_at_revision: u64) -> String {
    let default_customer = v1::CustomerIdentity::default();
    let customer = request.customer.as_ref().unwrap_or(&default_customer);
    key_values(&[
        ("stop-on-behalf", request.stop_on_behalf_number.clone()),
        ("supply point", request.supply_point_number.clone()),
        ("requester", request.requester_retailer_code.clone()),
        ("addressee", request.addressee_retailer_code.clone()),
        ("state", words::stop_on_behalf_state(request.state)),
        ("ng reasons", words::ng_reasons(&request.ng_reasons)),
        ("wished date", request.wished_date.clone()),
        ("answer deadline", request.answer_deadline_date.clone()),
        (
            "registered at",
            words::instant(request.registered_at_unix_ms),
        ),
        (
            "decided at",
            request
                .decided_at_unix_ms
                .map(words::instant)
                .unwrap_or_default(),
        ),
        (
            "used by application",
            or_dash(request.used_by_application_number.as_ref()),
        ),
        ("contract number", customer.contract_number.clone()),
        ("holder name", customer.holder_name.clone()),
        ("supply address", customer.supply_address.clone()),
        ("served at revision", served_at_revision.to_string()),
    ])
}

/// A stop-on-behalf inbox.
pub(crate) fn stop_on_behalf_table(requests: &[v1::StopOnBehalfRequest]) -> String {
    let mut table = Table::new(&[
        "STOP-ON-BEHALF",
        "SUPPLY POINT",
        "REQUESTER",
        "STATE",
        "WISHED",
        "DEADLINE",
        "HOLDER",
    ]);
    for request in requests {
        let state = if request.ng_reasons.is_empty() {
            words::stop_on_behalf_state(request.state)
        } else {
            format!(
                "{} ({})",
                words::stop_on_behalf_state(request.state),
                words::ng_reasons(&request.ng_reasons)
            )
        };
        table.row(vec![
            request.stop_on_behalf_number.clone(),
            request.supply_point_number.clone(),
            request.requester_retailer_code.clone(),
            state,
            request.wished_date.clone(),
            request.answer_deadline_date.clone(),
            request
                .customer
                .as_ref()
                .map(|customer| customer.holder_name.clone())
                .unwrap_or_default(),
        ]);
    }
    table.render()
}

/// The answer of an application write (participant or TSO).
pub(crate) fn application_result(
    result: &v1::ApplicationWriteResult,
    revision: u64,
    request_id: &str,
) -> String {
    key_values(&[
        ("application", result.application_number.clone()),
        (
            "application revision",
            result.application_revision.to_string(),
        ),
        ("state", words::application_state(result.state)),
        (
            "matched with",
            or_dash(result.matched_with_application_number.as_ref()),
        ),
        ("revision", revision.to_string()),
        ("request id", request_id.to_owned()),
    ])
}

/// The procedure-specific data of a request, as `key value` pairs.
fn procedure_details(request: Option<&v1::ProcedureRequest>) -> Vec<(&'static str, String)> {
    let customer = |customer: Option<&v1::CustomerDetails>| {
        let default_customer = v1::CustomerDetails::default();
        let customer = customer.unwrap_or(&default_customer);
        vec![
            ("customer name", customer.holder_name.clone()),
            ("customer address", customer.supply_address.clone()),
        ]
    };
    match request.and_then(|request| request.procedure.as_ref()) {
        Some(Procedure::StopSupply(stop)) => {
            vec![("meter removal", words::yes_no(stop.meter_removal))]
        }
        Some(Procedure::SwitchOut(_)) | None => Vec::new(),
        Some(Procedure::Restart(restart)) => customer(restart.customer.as_ref()),
        Some(Procedure::SwitchIn(switch_in)) => {
            vec![("stop-on-behalf", switch_in.stop_on_behalf_number.clone())]
        }
        Some(Procedure::AmpereChange(change)) => vec![(
            "new capacity",
            change
                .capacity
                .as_ref()
                .map(words::capacity)
                .unwrap_or_default(),
        )],
        Some(Procedure::CustomerInformationChange(change)) => customer(change.customer.as_ref()),
    }
}

/// One application.
pub(crate) fn application(application: &v1::Application, served_at_revision: u64) -> String {
    let mut pairs = vec![
        ("application", application.application_number.clone()),
        ("supply point", application.supply_point_number.clone()),
        ("applicant", application.applicant_retailer_code.clone()),
        ("procedure", words::procedure(application.procedure)),
    ];
    pairs.extend(procedure_details(application.request.as_ref()));
    pairs.extend([
        ("effective date", application.effective_date.clone()),
        ("deadline date", application.deadline_date.clone()),
        (
            "application revision",
            application.application_revision.to_string(),
        ),
        ("state", words::application_state(application.state)),
        (
            "matched with",
            or_dash(application.matched_with_application_number.as_ref()),
        ),
        (
            "completed on",
            or_dash(application.completed_on_date.as_ref()),
        ),
        (
            "rejection reason",
            or_dash(application.rejection_reason.as_ref()),
        ),
        (
            "submitted at",
            words::instant(application.submitted_at_unix_ms),
        ),
        ("updated at", words::instant(application.updated_at_unix_ms)),
        ("served at revision", served_at_revision.to_string()),
    ]);
    let mut text = key_values(&pairs);
    let mut transitions = Table::new(&["FLAG", "FROM REVISION", "FINGERPRINT"]);
    for transition in &application.transitions {
        transitions.row(vec![
            words::update_flag(transition.flag),
            transition.from_application_revision.to_string(),
            transition.fingerprint.clone(),
        ]);
    }
    section(&mut text, "amends and cancels", &transitions);
    text
}

/// A list of applications.
pub(crate) fn application_table(applications: &[v1::Application]) -> String {
    let mut table = Table::new(&[
        "APPLICATION",
        "SUPPLY POINT",
        "APPLICANT",
        "PROCEDURE",
        "STATE",
        "EFFECTIVE",
        "DEADLINE",
        "REV",
        "MATCHED WITH",
    ]);
    for application in applications {
        table.row(vec![
            application.application_number.clone(),
            application.supply_point_number.clone(),
            application.applicant_retailer_code.clone(),
            words::procedure(application.procedure),
            words::application_state(application.state),
            application.effective_date.clone(),
            application.deadline_date.clone(),
            application.application_revision.to_string(),
            or_dash(application.matched_with_application_number.as_ref()),
        ]);
    }
    table.render()
}

/// The directory: one row per contact, the participant's id and name on its first row.
pub(crate) fn participant_table(participants: &[v1::Participant]) -> String {
    let mut table = Table::new(&["PARTY", "NAME", "CONTACT", "ROLE", "EMAIL", "PHONE"]);
    for participant in participants {
        if participant.contacts.is_empty() {
            table.row(vec![participant.party_id.clone(), participant.name.clone()]);
        }
        for (index, contact) in participant.contacts.iter().enumerate() {
            let (party, name) = if index == 0 {
                (participant.party_id.clone(), participant.name.clone())
            } else {
                (String::new(), String::new())
            };
            table.row(vec![
                party,
                name,
                contact.name.clone(),
                contact.role.clone(),
                contact.email.clone(),
                contact.phone.clone(),
            ]);
        }
    }
    table.render()
}

/// Notices as a table of titles.
pub(crate) fn notice_table(notices: &[v1::Notice]) -> String {
    let mut table = Table::new(&["NOTICE", "SEVERITY", "PUBLISHED", "BY", "TITLE"]);
    for notice in notices {
        table.row(vec![
            notice.notice_number.clone(),
            words::severity(notice.severity),
            words::instant(notice.published_at_unix_ms),
            notice.published_by_operator_id.clone(),
            notice.title.clone(),
        ]);
    }
    table.render()
}

/// Notices with their bodies, each a block separated by a blank line.
pub(crate) fn notice_blocks(notices: &[v1::Notice]) -> String {
    let mut text = String::new();
    for (index, notice) in notices.iter().enumerate() {
        if index > 0 {
            text.push('\n');
        }
        text.push_str(&format!(
            "{}  {}  {}  {}\n{}\n",
            notice.notice_number,
            words::severity(notice.severity),
            words::instant(notice.published_at_unix_ms),
            clean_cell(&notice.published_by_operator_id),
            clean_cell(&notice.title),
        ));
        for line in clean_multiline(&notice.body).lines() {
            text.push_str("    ");
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// The lines after a list: where the next page starts, and the revision it was served at.
pub(crate) fn list_footer(next_page_token: &str, served_at_revision: u64) -> String {
    let mut text = String::new();
    if !next_page_token.is_empty() {
        text.push_str(&format!(
            "more: --page-token {}\n",
            clean_cell(next_page_token)
        ));
    }
    text.push_str(&format!("served at revision {served_at_revision}\n"));
    text
}

/// The header line `watch` prints before the events.
pub(crate) fn event_header() -> String {
    format!(
        "{:>10} {:>5}  {:<26}  DETAILS\n",
        "REVISION", "INDEX", "KIND"
    )
}

/// One event as a line: revision, index, kind and the kind's key fields. `None` for a kind this
/// build does not know (skipped, as the contract says).
pub(crate) fn event_line(event: &v1::Event) -> Option<String> {
    let kind = event.kind.as_ref()?;
    let details = match kind {
        Kind::SupplyPointsImported(imported) => format!(
            "area {}: {} created, {} updated",
            words::area(imported.area),
            imported.created,
            imported.updated
        ),
        Kind::ParticipantChanged(changed) => changed.party_id.clone(),
        Kind::PolicyChanged(_) => String::new(),
        Kind::StopOnBehalfRegistered(registered) => format!(
            "{} on {} from {} to {}",
            registered.stop_on_behalf_number,
            registered.supply_point_number,
            registered.requester_retailer_code,
            registered.addressee_retailer_code
        ),
        Kind::StopOnBehalfDecided(decided) => {
            let mut details = format!(
                "{} {}",
                decided.stop_on_behalf_number,
                words::stop_on_behalf_state(decided.state)
            );
            if !decided.ng_reasons.is_empty() {
                details.push_str(&format!(" ({})", words::ng_reasons(&decided.ng_reasons)));
            }
            details
        }
        Kind::ApplicationSubmitted(submitted) => format!(
            "{} {} on {} by {}, effective {}",
            submitted.application_number,
            words::procedure(submitted.procedure),
            submitted.supply_point_number,
            submitted.applicant_retailer_code,
            submitted.effective_date
        ),
        Kind::ApplicationChanged(changed) => format!(
            "{} {} (application revision {}), effective {}",
            changed.application_number,
            words::application_state(changed.state),
            changed.application_revision,
            changed.effective_date
        ),
        Kind::ApplicationsMatched(matched) => format!(
            "switch-in {} with switch-out {} on {}, effective {}",
            matched.switch_in_application_number,
            matched.switch_out_application_number,
            matched.supply_point_number,
            matched.effective_date
        ),
        Kind::SupplierChanged(changed) => format!(
            "{}: {} -> {} since {}",
            changed.supply_point_number,
            changed.from_retailer_code.as_deref().unwrap_or("none"),
            changed.to_retailer_code,
            changed.since_date
        ),
        Kind::SupplyStopped(stopped) => format!(
            "{}: last day {}",
            stopped.supply_point_number, stopped.last_day_date
        ),
        Kind::NoticePublished(notice) => format!(
            "{} {}: {}",
            notice.notice_number,
            words::severity(notice.severity),
            notice.title
        ),
    };
    let details = if details.is_empty() {
        String::new()
    } else {
        clean_cell(&details)
    };
    let line = format!(
        "{:>10} {:>5}  {:<26}  {details}",
        event.revision,
        event.index_in_revision,
        event_kind(kind)
    );
    Some(format!("{}\n", line.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn application_sample() -> v1::Application {
        v1::Application {
            application_number: "AP0000000042".to_owned(),
            supply_point_number: "0300111122223333444455".to_owned(),
            applicant_retailer_code: "A0001".to_owned(),
            procedure: v1::Procedure::AmpereChange as i32,
            request: Some(v1::ProcedureRequest {
                procedure: Some(Procedure::AmpereChange(v1::AmpereChangeProcedure {
                    capacity: Some(v1::Capacity {
                        value: 40,
                        unit: v1::CapacityUnit::Ampere as i32,
                    }),
                })),
            }),
            effective_date: "2026-12-01".to_owned(),
            deadline_date: "2026-11-27".to_owned(),
            application_revision: 1,
            state: v1::ApplicationState::Received as i32,
            submitted_at_unix_ms: 1_795_653_000_000,
            updated_at_unix_ms: 1_795_653_000_000,
            ..v1::Application::default()
        }
    }

    /// A write answer shows the number, revisions, state and the request id used.
    #[test]
    fn application_write_answer() {
        let text = application_result(
            &v1::ApplicationWriteResult {
                application_number: "AP0000000042".to_owned(),
                application_revision: 1,
                state: v1::ApplicationState::AwaitingMatch as i32,
                matched_with_application_number: None,
            },
            1234,
            "swctl-1-ab",
        );
        assert_eq!(
            text,
            "application           AP0000000042\n\
             application revision  1\n\
             state                 awaiting-match\n\
             matched with          -\n\
             revision              1234\n\
             request id            swctl-1-ab\n"
        );
    }

    /// One application shows its procedure data and its instants in Japan time.
    #[test]
    fn application_detail() {
        let text = application(&application_sample(), 77);
        assert!(
            text.contains("procedure             ampere-change\n"),
            "{text}"
        );
        assert!(text.contains("new capacity          40 A\n"), "{text}");
        assert!(
            text.contains("submitted at          2026-11-26T09:30:00+09:00\n"),
            "{text}"
        );
        assert!(text.contains("served at revision    77\n"), "{text}");
    }

    /// A list of applications is one aligned row per application.
    #[test]
    fn application_list() {
        let text = application_table(&[application_sample()]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("APPLICATION   SUPPLY POINT"), "{text}");
        assert!(
            lines[1].starts_with("AP0000000042  0300111122223333444455"),
            "{text}"
        );
        assert!(lines[1].contains("ampere-change  received"), "{text}");
    }

    /// The directory shows one row per contact, the party on the first.
    #[test]
    fn participants() {
        let contact = |name: &str| v1::Contact {
            name: name.to_owned(),
            role: "desk".to_owned(),
            email: "x@example.jp".to_owned(),
            phone: "03".to_owned(),
        };
        let text = participant_table(&[v1::Participant {
            party_id: "T03".to_owned(),
            name: "TEPCO PG".to_owned(),
            contacts: vec![contact("One"), contact("Two")],
        }]);
        assert_eq!(
            text,
            "PARTY  NAME      CONTACT  ROLE  EMAIL         PHONE\n\
             T03    TEPCO PG  One      desk  x@example.jp  03\n\
             -      -         Two      desk  x@example.jp  03\n"
        );
    }

    /// The list footer says how to get the next page and where the read was served.
    #[test]
    fn footer() {
        assert_eq!(
            list_footer("tok", 5),
            "more: --page-token tok\nserved at revision 5\n"
        );
        assert_eq!(list_footer("", 5), "served at revision 5\n");
    }

    /// An event line shows revision, index, kind and details; an unknown kind is skipped.
    #[test]
    fn event_lines() {
        let event = v1::Event {
            revision: 120,
            index_in_revision: 1,
            audience: None,
            kind: Some(Kind::StopOnBehalfDecided(v1::StopOnBehalfDecidedEvent {
                stop_on_behalf_number: "SB0000000001".to_owned(),
                state: v1::StopOnBehalfState::Ng as i32,
                ng_reasons: vec![3],
            })),
        };
        assert_eq!(
            event_line(&event).unwrap(),
            "       120     1  stop-on-behalf-decided      SB0000000001 ng (name-mismatch)\n"
        );
        assert_eq!(
            event_line(&v1::Event {
                kind: None,
                ..event
            }),
            None
        );
        assert!(event_header().starts_with("  REVISION INDEX  KIND"));
    }

    /// Notice bodies keep their line breaks, indented, but no other control characters.
    #[test]
    fn notice_bodies() {
        let text = notice_blocks(&[v1::Notice {
            notice_number: "NT0000000001".to_owned(),
            severity: v1::Severity::Warning as i32,
            title: "Maintenance".to_owned(),
            body: "Line one\nLine\u{1b} two".to_owned(),
            published_by_operator_id: "sato".to_owned(),
            published_at_unix_ms: 0,
        }]);
        assert_eq!(
            text,
            "NT0000000001  warning  1970-01-01T09:00:00+09:00  sato\nMaintenance\n    Line \
             one\n    Line  two\n"
        );
    }

    /// A look-up hides the retailer when the server hides it and lists open work.
    #[test]
    fn look_up_hidden_retailer() {
        let text = look_up(&v1::LookUpSupplyPointResponse {
            supply_point: Some(v1::SupplyPoint {
                supply_point_number: "0300111122223333444455".to_owned(),
                area: 3,
                has_current_retailer: true,
                supply: Some(v1::SupplyState {
                    status: v1::SupplyStatus::Supplying as i32,
                    retailer_code: None,
                    since_date: None,
                }),
                ..v1::SupplyPoint::default()
            }),
            next_reading_date: "2026-12-15".to_owned(),
            applications_in_progress: vec![v1::ApplicationInProgress {
                application_number: "AP0000000001".to_owned(),
                procedure: 3,
                state: 2,
                effective_date: "2026-12-01".to_owned(),
            }],
            served_at_revision: 9,
        });
        assert!(
            text.contains("current retailer        (hidden)\n"),
            "{text}"
        );
        assert!(text.contains("\napplications in progress:\n"), "{text}");
        assert!(
            text.contains("AP0000000001  switch-out  awaiting-match  2026-12-01\n"),
            "{text}"
        );
        assert!(!text.contains("supply history"), "{text}");
    }
}
