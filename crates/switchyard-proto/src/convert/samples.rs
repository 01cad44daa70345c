//! Synthetic domain values for the conversion tests: fictional retailers and generated supply
//! point numbers, covering every variant of every record that crosses the wire.

use switchyard_domain::{
    Application, ApplicationNumber, ApplicationState, Capacity, CapacityUnit, Contact,
    ContractKind, ContractNumber, CustomerDetails, CustomerIdentity, Date, DecisionMethod,
    EmailAddress, Facility, LongText, Meter, MeterNumber, NgReason, NgReasons, Notice,
    NoticeNumber, OperatorId, Participant, PartyId, PeriodEnd, PersonName, PhoneNumber,
    PostalAddress, ProcedureRequest, RetailerCode, Severity, ShortText, StopOnBehalfNumber,
    StopOnBehalfRequest, StopOnBehalfState, SupplyPeriod, SupplyPoint, SupplyPointNumber,
    SupplyState, Timestamp, Transition, UpdateFlag, VoltageClass,
};

/// Encodes a wire message to protobuf bytes and decodes it again, as a real transport would.
pub(crate) fn through_bytes<Message: prost::Message + Default>(message: Message) -> Message {
    Message::decode(message.encode_to_vec().as_slice()).expect("a message just encoded decodes")
}

pub(crate) fn date(text: &str) -> Date {
    Date::parse(text).unwrap()
}

pub(crate) fn supply_point_number() -> SupplyPointNumber {
    SupplyPointNumber::parse("0300111122223333444455").unwrap()
}

pub(crate) fn retailer(number: u16) -> RetailerCode {
    RetailerCode::from_number(number).unwrap()
}

pub(crate) fn application_number(value: u64) -> ApplicationNumber {
    ApplicationNumber::new(value).unwrap()
}

pub(crate) fn stop_on_behalf_number(value: u64) -> StopOnBehalfNumber {
    StopOnBehalfNumber::new(value).unwrap()
}

pub(crate) fn meter(number: &str, smart: bool) -> Meter {
    Meter {
        number: MeterNumber::parse(number).unwrap(),
        smart,
        half_hourly_values: smart,
        automatic_reading: smart,
    }
}

/// A household: low voltage lighting behind a 30 A breaker, one smart meter.
pub(crate) fn low_voltage_facility() -> Facility {
    Facility {
        voltage: VoltageClass::Low,
        contract_kind: ContractKind::Lighting,
        decision_method: DecisionMethod::AmpereBreaker,
        capacity: Capacity::new(30, CapacityUnit::Ampere).unwrap(),
        meters: vec![meter("M-0001", true)],
        reading_day: 12,
    }
}

/// A factory: high voltage power, 300 kW measured demand, two meters, one of them old.
pub(crate) fn high_voltage_facility() -> Facility {
    Facility {
        voltage: VoltageClass::High,
        contract_kind: ContractKind::Power,
        decision_method: DecisionMethod::MeasuredDemand,
        capacity: Capacity::new(300, CapacityUnit::KiloWatt).unwrap(),
        meters: vec![meter("HV-1", true), meter("HV-2", false)],
        reading_day: 28,
    }
}

/// A shop: low voltage power decided by its main switch, in kVA.
pub(crate) fn main_switch_facility() -> Facility {
    Facility {
        voltage: VoltageClass::Low,
        contract_kind: ContractKind::Power,
        decision_method: DecisionMethod::MainSwitch,
        capacity: Capacity::new(12, CapacityUnit::KiloVoltAmpere).unwrap(),
        meters: vec![meter("S1", true)],
        reading_day: 1,
    }
}

/// A site with a temporary contract and a night-time one, to cover the remaining enum values.
pub(crate) fn other_facilities() -> Vec<Facility> {
    vec![
        Facility {
            voltage: VoltageClass::Low,
            contract_kind: ContractKind::Night,
            decision_method: DecisionMethod::ConnectedLoad,
            capacity: Capacity::new(6, CapacityUnit::KiloVoltAmpere).unwrap(),
            meters: vec![meter("N1", false)],
            reading_day: 20,
        },
        Facility {
            voltage: VoltageClass::High,
            contract_kind: ContractKind::Temporary,
            decision_method: DecisionMethod::ConnectedLoad,
            capacity: Capacity::new(120, CapacityUnit::KiloWatt).unwrap(),
            meters: vec![
                meter("T1", true),
                meter("T2", true),
                meter("T3", false),
                meter("T4", false),
            ],
            reading_day: 5,
        },
    ]
}

/// A supplied point with history and work in progress.
pub(crate) fn supplied_point() -> SupplyPoint {
    SupplyPoint {
        number: supply_point_number(),
        facility: low_voltage_facility(),
        supply: SupplyState::Supplying {
            retailer: retailer(123),
            since: date("2024-04-01"),
        },
        history: vec![
            SupplyPeriod {
                retailer: retailer(7),
                from: date("2019-01-01"),
                until: date("2021-06-30"),
                ended_by: PeriodEnd::Stopped,
            },
            SupplyPeriod {
                retailer: retailer(8),
                from: date("2021-08-01"),
                until: date("2024-03-31"),
                ended_by: PeriodEnd::Switched,
            },
        ],
        open_applications: vec![application_number(41), application_number(42)],
        pending_stop_on_behalf: vec![stop_on_behalf_number(5)],
    }
}

/// A stopped point with nothing in progress.
pub(crate) fn stopped_point() -> SupplyPoint {
    SupplyPoint {
        number: SupplyPointNumber::parse("1000000000000000000001").unwrap(),
        facility: high_voltage_facility(),
        supply: SupplyState::Stopped,
        history: Vec::new(),
        open_applications: Vec::new(),
        pending_stop_on_behalf: Vec::new(),
    }
}

pub(crate) fn customer_identity() -> CustomerIdentity {
    CustomerIdentity {
        contract_number: ContractNumber::parse("C-2024-0001").unwrap(),
        holder_name: PersonName::parse("山田 太郎").unwrap(),
        supply_address: PostalAddress::parse("東京都千代田区丸の内1-1-1 サンプルビル 3F").unwrap(),
    }
}

pub(crate) fn customer_details() -> CustomerDetails {
    CustomerDetails {
        holder_name: PersonName::parse("Sample Trading Co., Ltd.").unwrap(),
        supply_address: PostalAddress::parse("大阪府大阪市北区梅田9-9-9").unwrap(),
    }
}

pub(crate) fn ng_reasons() -> NgReasons {
    NgReasons::new(vec![NgReason::NameMismatch, NgReason::AddressMismatch]).unwrap()
}

/// Every state a stop-on-behalf request can be in.
pub(crate) fn stop_on_behalf_states() -> Vec<StopOnBehalfState> {
    vec![
        StopOnBehalfState::Registered,
        StopOnBehalfState::Ok,
        StopOnBehalfState::Ng(ng_reasons()),
        StopOnBehalfState::Ng(NgReasons::new(NgReason::ALL.to_vec()).unwrap()),
        StopOnBehalfState::Cancelled,
        StopOnBehalfState::Expired,
    ]
}

pub(crate) fn stop_on_behalf_request(state: StopOnBehalfState) -> StopOnBehalfRequest {
    let decided = state != StopOnBehalfState::Registered;
    StopOnBehalfRequest {
        number: stop_on_behalf_number(5),
        supply_point: supply_point_number(),
        requester: retailer(456),
        addressee: retailer(123),
        customer: customer_identity(),
        wished_date: date("2026-12-12"),
        used_by: (state == StopOnBehalfState::Ok).then(|| application_number(77)),
        state,
        registered_at: Timestamp(1_764_100_000_000),
        answer_deadline: date("2026-12-03"),
        decided_at: decided.then_some(Timestamp(1_764_200_000_000)),
    }
}

/// One procedure request of every kind.
pub(crate) fn procedure_requests() -> Vec<ProcedureRequest> {
    vec![
        ProcedureRequest::StopSupply {
            meter_removal: false,
        },
        ProcedureRequest::StopSupply {
            meter_removal: true,
        },
        ProcedureRequest::SwitchOut,
        ProcedureRequest::Restart {
            customer: customer_details(),
        },
        ProcedureRequest::SwitchIn {
            stop_on_behalf: stop_on_behalf_number(5),
        },
        ProcedureRequest::AmpereChange {
            capacity: Capacity::new(40, CapacityUnit::Ampere).unwrap(),
        },
        ProcedureRequest::CustomerInfoChange {
            customer: customer_details(),
        },
    ]
}

/// Every application state.
pub(crate) const APPLICATION_STATES: [ApplicationState; 9] = [
    ApplicationState::Received,
    ApplicationState::AwaitingMatch,
    ApplicationState::Matched,
    ApplicationState::Accepted,
    ApplicationState::Cancelled,
    ApplicationState::Unmatched,
    ApplicationState::Completed,
    ApplicationState::TsoRejected,
    ApplicationState::Rejected,
];

/// A completed switch-in with an amend in its past, every optional field set.
pub(crate) fn completed_application() -> Application {
    Application {
        number: application_number(42),
        supply_point: supply_point_number(),
        applicant: retailer(456),
        request: ProcedureRequest::SwitchIn {
            stop_on_behalf: stop_on_behalf_number(5),
        },
        effective_date: date("2026-12-12"),
        deadline: date("2026-12-09"),
        revision: 4,
        state: ApplicationState::Completed,
        submitted_at: Timestamp(1_764_300_000_000),
        updated_at: Timestamp(1_765_400_000_000),
        matched_with: Some(application_number(43)),
        completed_on: Some(date("2026-12-13")),
        rejection_reason: None,
        transitions: vec![Transition {
            flag: UpdateFlag::Amend,
            from_revision: 1,
            fingerprint: "ab".repeat(32),
        }],
    }
}

/// A freshly received application of each procedure, optional fields unset.
pub(crate) fn received_applications() -> Vec<Application> {
    procedure_requests()
        .into_iter()
        .enumerate()
        .map(|(index, request)| Application {
            number: application_number(100 + index as u64),
            supply_point: supply_point_number(),
            applicant: retailer(123),
            state: if request.procedure().is_switching() {
                ApplicationState::AwaitingMatch
            } else {
                ApplicationState::Received
            },
            request,
            effective_date: date("2027-01-15"),
            deadline: date("2027-01-12"),
            revision: 1,
            submitted_at: Timestamp(1_764_300_000_000),
            updated_at: Timestamp(1_764_300_000_000),
            matched_with: None,
            completed_on: None,
            rejection_reason: None,
            transitions: Vec::new(),
        })
        .collect()
}

/// A rejected application with a reason and a cancel attempt recorded.
pub(crate) fn rejected_application() -> Application {
    Application {
        state: ApplicationState::TsoRejected,
        rejection_reason: Some(ShortText::parse("meter works impossible on that date").unwrap()),
        completed_on: None,
        transitions: vec![
            Transition {
                flag: UpdateFlag::Amend,
                from_revision: 1,
                fingerprint: "0123456789abcdef".repeat(4),
            },
            Transition {
                flag: UpdateFlag::Cancel,
                from_revision: 2,
                fingerprint: "fedcba9876543210".repeat(4),
            },
        ],
        ..completed_application()
    }
}

pub(crate) fn contact(name: &str) -> Contact {
    Contact {
        name: PersonName::parse(name).unwrap(),
        role: ShortText::parse("operations desk").unwrap(),
        email: EmailAddress::parse("desk@retailer-sample.example.jp").unwrap(),
        phone: PhoneNumber::parse("+81 3-0000-0000").unwrap(),
    }
}

pub(crate) fn participant() -> Participant {
    Participant {
        party: PartyId::Retailer(retailer(123)),
        name: PersonName::parse("Sample Denryoku K.K.").unwrap(),
        contacts: vec![contact("佐藤 花子"), contact("Night Shift")],
    }
}

pub(crate) fn notice() -> Notice {
    Notice {
        number: NoticeNumber::new(3).unwrap(),
        severity: Severity::Critical,
        title: ShortText::parse("Tokyo site unavailable; service continues from Osaka").unwrap(),
        body: LongText::parse("The Tokyo nodes are down.\nNo action is needed.").unwrap(),
        published_by: OperatorId::parse("sato").unwrap(),
        published_at: Timestamp(1_764_500_000_000),
    }
}
