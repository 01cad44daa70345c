//! `swctl` end to end against scripted fake nodes: in-process tonic servers on 127.0.0.1:0 that
//! answer the Participant API from a script and record what they received. They stand in for a
//! cluster to prove the client's own behaviour (failover, resuming the event stream, exit codes,
//! paging, metadata) without the real server; tests against a real cluster live in `tests/`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use switchyard_cli::{Exit, run};
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_server::{
    ParticipantService, ParticipantServiceServer,
};
use tonic::codegen::tokio_stream::{self, Stream, StreamExt};
use tonic::metadata::MetadataMap;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Code, Request, Response, Status};

/// One message of a scripted event stream.
enum Scripted {
    Message(v1::WatchEventsResponse),
    Fail(fn() -> Status),
}

/// What a fake node received: the method, the authorization header and the request's key data.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: &'static str,
    authorization: Option<String>,
    /// Whether the caller presented a client certificate (mutual TLS).
    client_certificate: bool,
    detail: String,
}

#[derive(Clone, Default)]
struct Fake {
    /// Every call is refused with this status.
    refuse: Option<fn() -> Status>,
    /// One script per `WatchEvents` call, in order; after its script a stream stays open.
    watch_scripts: Arc<Mutex<VecDeque<Vec<Scripted>>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn record<T>(
        &self,
        method: &'static str,
        request: &Request<T>,
        detail: String,
    ) -> Result<(), Status> {
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let client_certificate = request
            .peer_certs()
            .is_some_and(|certificates| !certificates.is_empty());
        self.seen.lock().unwrap().push(Seen {
            method,
            authorization,
            client_certificate,
            detail,
        });
        match self.refuse {
            Some(refuse) => Err(refuse()),
            None => Ok(()),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn application(number: &str) -> v1::Application {
    v1::Application {
        application_number: number.to_owned(),
        supply_point_number: "0300111122223333444455".to_owned(),
        applicant_retailer_code: "A1001".to_owned(),
        procedure: v1::Procedure::SwitchOut as i32,
        state: v1::ApplicationState::AwaitingMatch as i32,
        effective_date: "2026-12-01".to_owned(),
        application_revision: 1,
        ..v1::Application::default()
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<v1::WatchEventsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ParticipantService for Fake {
    type WatchEventsStream = EventStream;

    async fn look_up_supply_point(
        &self,
        request: Request<v1::LookUpSupplyPointRequest>,
    ) -> Result<Response<v1::LookUpSupplyPointResponse>, Status> {
        let detail = format!("consistency={}", request.get_ref().consistency);
        self.record("LookUpSupplyPoint", &request, detail)?;
        Ok(Response::new(v1::LookUpSupplyPointResponse {
            supply_point: Some(v1::SupplyPoint {
                supply_point_number: request.get_ref().supply_point_number.clone(),
                area: v1::Area::Tokyo as i32,
                ..v1::SupplyPoint::default()
            }),
            next_reading_date: "2026-12-15".to_owned(),
            applications_in_progress: Vec::new(),
            served_at_revision: 42,
        }))
    }

    async fn register_stop_on_behalf(
        &self,
        _request: Request<v1::RegisterStopOnBehalfRequest>,
    ) -> Result<Response<v1::RegisterStopOnBehalfResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn list_stop_on_behalf_inbox(
        &self,
        _request: Request<v1::ListStopOnBehalfInboxRequest>,
    ) -> Result<Response<v1::ListStopOnBehalfInboxResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn judge_stop_on_behalf(
        &self,
        _request: Request<v1::JudgeStopOnBehalfRequest>,
    ) -> Result<Response<v1::JudgeStopOnBehalfResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn cancel_stop_on_behalf(
        &self,
        _request: Request<v1::CancelStopOnBehalfRequest>,
    ) -> Result<Response<v1::CancelStopOnBehalfResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn get_stop_on_behalf(
        &self,
        _request: Request<v1::GetStopOnBehalfRequest>,
    ) -> Result<Response<v1::GetStopOnBehalfResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn submit_application(
        &self,
        request: Request<v1::SubmitApplicationRequest>,
    ) -> Result<Response<v1::SubmitApplicationResponse>, Status> {
        let detail = request.get_ref().request_id.clone();
        self.record("SubmitApplication", &request, detail)?;
        Ok(Response::new(v1::SubmitApplicationResponse {
            result: Some(v1::ApplicationWriteResult {
                application_number: "AP0000000042".to_owned(),
                application_revision: 1,
                state: v1::ApplicationState::AwaitingMatch as i32,
                matched_with_application_number: None,
            }),
            revision: 1234,
        }))
    }

    async fn amend_application(
        &self,
        _request: Request<v1::AmendApplicationRequest>,
    ) -> Result<Response<v1::AmendApplicationResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn cancel_application(
        &self,
        request: Request<v1::CancelApplicationRequest>,
    ) -> Result<Response<v1::CancelApplicationResponse>, Status> {
        let detail = request.get_ref().request_id.clone();
        self.record("CancelApplication", &request, detail)?;
        Err(Status::unimplemented("fake"))
    }

    async fn get_application(
        &self,
        _request: Request<v1::GetApplicationRequest>,
    ) -> Result<Response<v1::GetApplicationResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn list_applications(
        &self,
        request: Request<v1::ListApplicationsRequest>,
    ) -> Result<Response<v1::ListApplicationsResponse>, Status> {
        let wire = request.get_ref().clone();
        let detail = format!(
            "token={} size={} point={}",
            wire.page_token, wire.page_size, wire.supply_point_number
        );
        self.record("ListApplications", &request, detail)?;
        let (applications, next_page_token) = match wire.page_token.as_str() {
            "" => (vec![application("AP0000000001")], "page-2"),
            "page-2" => (vec![application("AP0000000002")], ""),
            other => return Err(Status::invalid_argument(format!("bad token {other}"))),
        };
        Ok(Response::new(v1::ListApplicationsResponse {
            applications,
            next_page_token: next_page_token.to_owned(),
            served_at_revision: 77,
        }))
    }

    async fn watch_events(
        &self,
        request: Request<v1::WatchEventsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let detail = format!(
            "{}:{}",
            request.get_ref().start_revision,
            request.get_ref().start_index_in_revision
        );
        self.record("WatchEvents", &request, detail)?;
        let script = self
            .watch_scripts
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_default();
        let items: Vec<Result<v1::WatchEventsResponse, Status>> = script
            .into_iter()
            .map(|scripted| match scripted {
                Scripted::Message(message) => Ok(message),
                Scripted::Fail(status) => Err(status()),
            })
            .collect();
        let stream = tokio_stream::iter(items).chain(tokio_stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }

    async fn list_participants(
        &self,
        _request: Request<v1::ListParticipantsRequest>,
    ) -> Result<Response<v1::ListParticipantsResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn update_contacts(
        &self,
        _request: Request<v1::UpdateContactsRequest>,
    ) -> Result<Response<v1::UpdateContactsResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn list_notices(
        &self,
        _request: Request<v1::ListNoticesRequest>,
    ) -> Result<Response<v1::ListNoticesResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
}

/// A running fake node: its URL, and the server task, stopped when dropped.
struct Node {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(fake: Fake) -> Node {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = Server::builder()
            .add_service(ParticipantServiceServer::new(fake))
            .serve_with_incoming(TcpIncoming::from(listener))
            .await;
    });
    Node { url, task }
}

/// A fake node serving TLS with the test server certificate, requiring a client certificate
/// signed by the test certificate authority.
async fn start_tls(fake: Fake) -> Node {
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(
            include_str!("fixtures/tls/server.pem"),
            include_str!("fixtures/tls/server.key"),
        ))
        .client_ca_root(Certificate::from_pem(include_str!("fixtures/tls/ca.pem")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = Server::builder()
            .tls_config(tls)
            .unwrap()
            .add_service(ParticipantServiceServer::new(fake))
            .serve_with_incoming(TcpIncoming::from(listener))
            .await;
    });
    Node { url, task }
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

struct Outcome {
    exit: Exit,
    stdout: String,
    stderr: String,
}

async fn swctl(arguments: &[&str]) -> Outcome {
    let mut all = vec!["swctl"];
    all.extend_from_slice(arguments);
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let exit = run(all, &mut stdout, &mut stderr).await;
    Outcome {
        exit,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn unavailable_with_leader() -> Status {
    let mut metadata = MetadataMap::new();
    metadata.insert("x-switchyard-leader", "osaka-1:7400".parse().unwrap());
    Status::with_metadata(Code::Unavailable, "not_leader: no leader yet", metadata)
}

fn event(revision: u64, index: u32) -> v1::Event {
    v1::Event {
        revision,
        index_in_revision: index,
        audience: Some(v1::EventAudience {
            everyone: true,
            party_ids: Vec::new(),
        }),
        kind: Some(v1::event::Kind::ParticipantChanged(
            v1::ParticipantChangedEvent {
                party_id: "A1001".to_owned(),
            },
        )),
    }
}

fn events(positions: &[(u64, u32)], applied_revision: u64) -> Scripted {
    Scripted::Message(v1::WatchEventsResponse {
        events: positions
            .iter()
            .map(|&(revision, index)| event(revision, index))
            .collect(),
        applied_revision,
    })
}

/// A write that the first node refuses with UNAVAILABLE goes to the next node with the same
/// request id and the bearer token; the answer prints as JSON with that request id, and the
/// failover is noted on stderr.
#[tokio::test]
async fn write_fails_over_to_the_next_node_with_the_same_request_id() {
    let down = Fake {
        refuse: Some(unavailable_with_leader),
        ..Fake::default()
    };
    let up = Fake::default();
    let down_node = start(down.clone()).await;
    let up_node = start(up.clone()).await;
    let endpoints = format!("{},{}", down_node.url, up_node.url);
    let outcome = swctl(&[
        "--endpoint",
        &endpoints,
        "--token",
        "dev-A1001",
        "--json",
        "--request-id",
        "retry-1",
        "app",
        "submit",
        "--supply-point",
        "0300111122223333444455",
        "--effective-date",
        "2026-12-01",
        "--procedure",
        "switch-out",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::Success, "{}", outcome.stderr);
    let answer: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(answer["request_id"], "retry-1");
    assert_eq!(answer["revision"], 1234);
    assert_eq!(answer["result"]["state"], "awaiting-match");
    assert!(
        outcome.stderr.contains("not_leader: no leader yet; trying"),
        "{}",
        outcome.stderr
    );
    let expected = Seen {
        method: "SubmitApplication",
        authorization: Some("Bearer dev-A1001".to_owned()),
        client_certificate: false,
        detail: "retry-1".to_owned(),
    };
    assert_eq!(down.seen(), std::slice::from_ref(&expected));
    assert_eq!(up.seen(), [expected]);
}

/// A generated request id is valid, sent, printed in the human answer, and repeated on stderr
/// with how to retry when the write fails.
#[tokio::test]
async fn generated_request_id_is_printed_also_on_failure() {
    let up = Fake::default();
    let node = start(up.clone()).await;
    let outcome = swctl(&[
        "--endpoint",
        &node.url,
        "app",
        "submit",
        "--supply-point",
        "0300111122223333444455",
        "--effective-date",
        "2026-12-01",
        "--procedure",
        "ampere-change",
        "--amperes",
        "40",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::Success, "{}", outcome.stderr);
    let sent = up.seen()[0].detail.clone();
    assert!(sent.starts_with("swctl-"), "{sent}");
    assert!(
        outcome
            .stdout
            .contains(&format!("request id            {sent}\n")),
        "{}",
        outcome.stdout
    );

    let outcome = swctl(&[
        "--endpoint",
        &node.url,
        "app",
        "cancel",
        "AP0000000042",
        "--revision",
        "1",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::Failure);
    let sent = up.seen()[1].detail.clone();
    assert!(
        outcome.stderr.contains(&format!(
            "request id: {sent} (retry with --request-id {sent})"
        )),
        "{}",
        outcome.stderr
    );
}

/// Makes the status a fake node answers with.
type StatusMaker = fn() -> Status;

fn lead_time_not_met() -> Status {
    Status::failed_precondition("lead_time_not_met: effective date 2026-12-01 is too soon")
}

fn missing_field() -> Status {
    let mut metadata = MetadataMap::new();
    metadata.insert("x-switchyard-field", "supply_point_number".parse().unwrap());
    Status::with_metadata(
        Code::InvalidArgument,
        "invalid_field: supply_point_number is missing",
        metadata,
    )
}

fn not_permitted() -> Status {
    Status::permission_denied("not_permitted: only retailers submit applications")
}

/// Server errors print `error: <CODE>: <message>` (with the field path when sent) and exit
/// with the documented code.
#[tokio::test]
async fn server_errors_exit_with_documented_codes() {
    let cases: [(StatusMaker, Exit, &str); 3] = [
        (
            lead_time_not_met,
            Exit::Refused,
            "error: FAILED_PRECONDITION: lead_time_not_met: effective date 2026-12-01 is too soon\n",
        ),
        (
            missing_field,
            Exit::BadArguments,
            "error: INVALID_ARGUMENT: invalid_field: supply_point_number is missing\n  field: \
             supply_point_number\n",
        ),
        (
            not_permitted,
            Exit::NotAllowed,
            "error: PERMISSION_DENIED: not_permitted: only retailers submit applications\n",
        ),
    ];
    for (refuse, exit, stderr) in cases {
        let node = start(Fake {
            refuse: Some(refuse),
            ..Fake::default()
        })
        .await;
        let outcome = swctl(&["--endpoint", &node.url, "lookup", "0300111122223333444455"]).await;
        assert_eq!(outcome.exit, exit, "{}", outcome.stderr);
        assert_eq!(outcome.stderr, stderr);
        assert!(outcome.stdout.is_empty());
    }
}

/// With every endpoint down the command exits 5 after trying each once.
#[tokio::test]
async fn every_node_down_exits_unavailable() {
    let fake = Fake {
        refuse: Some(unavailable_with_leader),
        ..Fake::default()
    };
    let first = start(fake.clone()).await;
    let second = start(fake.clone()).await;
    let endpoints = format!("{},{}", first.url, second.url);
    let outcome = swctl(&["--endpoint", &endpoints, "lookup", "0300111122223333444455"]).await;
    assert_eq!(outcome.exit, Exit::Unavailable);
    assert!(
        outcome
            .stderr
            .contains("error: UNAVAILABLE: not_leader: no leader yet\n  leader: osaka-1:7400\n"),
        "{}",
        outcome.stderr
    );
    assert_eq!(fake.seen().len(), 2);
}

/// A look-up is LOCAL unless --linearizable and prints its key fields.
#[tokio::test]
async fn lookup_prints_the_supply_point() {
    let fake = Fake::default();
    let node = start(fake.clone()).await;
    let outcome = swctl(&["--endpoint", &node.url, "lookup", "0300111122223333444455"]).await;
    assert_eq!(outcome.exit, Exit::Success, "{}", outcome.stderr);
    assert!(
        outcome
            .stdout
            .starts_with("supply point            0300111122223333444455\n"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("area                    tokyo\n"));
    let outcome = swctl(&[
        "--endpoint",
        &node.url,
        "lookup",
        "0300111122223333444455",
        "--linearizable",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::Success);
    let details: Vec<String> = fake.seen().into_iter().map(|seen| seen.detail).collect();
    assert_eq!(details, ["consistency=1", "consistency=2"]);
}

/// --all-pages follows the next-page token with the same filters and prints one list.
#[tokio::test]
async fn all_pages_follows_tokens() {
    let fake = Fake::default();
    let node = start(fake.clone()).await;
    let outcome = swctl(&[
        "--endpoint",
        &node.url,
        "--json",
        "app",
        "list",
        "--supply-point",
        "0300111122223333444455",
        "--page-size",
        "1",
        "--all-pages",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::Success, "{}", outcome.stderr);
    let list: Value = serde_json::from_str(&outcome.stdout).unwrap();
    let numbers: Vec<&str> = list["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|application| application["application_number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["AP0000000001", "AP0000000002"]);
    assert_eq!(list["next_page_token"], "");
    let details: Vec<String> = fake.seen().into_iter().map(|seen| seen.detail).collect();
    assert_eq!(
        details,
        [
            "token= size=1 point=0300111122223333444455",
            "token=page-2 size=1 point=0300111122223333444455"
        ]
    );

    // Without --all-pages: one page, and the human footer says how to get the next.
    let outcome = swctl(&["--endpoint", &node.url, "app", "list"]).await;
    assert_eq!(outcome.exit, Exit::Success);
    assert!(
        outcome
            .stdout
            .ends_with("more: --page-token page-2\nserved at revision 77\n"),
        "{}",
        outcome.stdout
    );
}

fn node_stopping() -> Status {
    Status::unavailable("node stopping")
}

/// The event stream dropped by one node resumes on the next from (last revision, index + 1):
/// the second node resends an event already printed, which is dropped, and every event prints
/// exactly once, in order.
#[tokio::test]
async fn watch_resumes_on_the_next_node_without_gap_or_duplicate() {
    let first = Fake::default();
    first.watch_scripts.lock().unwrap().push_back(vec![
        events(&[(100, 0), (100, 1)], 100),
        events(&[(101, 0)], 101),
        Scripted::Fail(node_stopping),
    ]);
    let second = Fake::default();
    second.watch_scripts.lock().unwrap().push_back(vec![
        events(&[(101, 0), (101, 1), (102, 0)], 102),
        events(&[(103, 0)], 103),
    ]);
    let first_node = start(first.clone()).await;
    let second_node = start(second.clone()).await;
    let endpoints = format!("{},{}", first_node.url, second_node.url);
    let outcome = swctl(&[
        "--endpoint",
        &endpoints,
        "--json",
        "--token",
        "dev-A1001",
        "watch",
        "--from-revision",
        "100",
        "--max-events",
        "5",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::Success, "{}", outcome.stderr);
    let positions: Vec<(u64, u64)> = outcome
        .stdout
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["kind"], "participant-changed");
            (
                value["revision"].as_u64().unwrap(),
                value["index_in_revision"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        positions,
        [(100, 0), (100, 1), (101, 0), (101, 1), (102, 0)]
    );
    assert_eq!(first.seen()[0].detail, "100:0");
    assert_eq!(second.seen()[0].detail, "101:1");
    assert_eq!(
        second.seen()[0].authorization.as_deref(),
        Some("Bearer dev-A1001")
    );
    assert!(
        outcome
            .stderr
            .contains("resuming at revision 101 index 1 on"),
        "{}",
        outcome.stderr
    );
}

/// A quiet stream's progress message moves the resume point: after a drop the stream resumes
/// after the applied revision, not live.
#[tokio::test]
async fn watch_resumes_after_progress_when_quiet() {
    let fake = Fake::default();
    fake.watch_scripts.lock().unwrap().extend([
        vec![events(&[], 300), Scripted::Fail(node_stopping)],
        vec![events(&[(301, 0)], 301)],
    ]);
    let node = start(fake.clone()).await;
    let outcome = swctl(&["--endpoint", &node.url, "watch", "--max-events", "1"]).await;
    assert_eq!(outcome.exit, Exit::Success, "{}", outcome.stderr);
    let details: Vec<String> = fake.seen().into_iter().map(|seen| seen.detail).collect();
    assert_eq!(details, ["0:0", "301:0"]);
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", outcome.stdout);
    assert!(lines[0].contains("REVISION"));
    assert!(
        lines[1].starts_with("       301     0  participant-changed"),
        "{}",
        outcome.stdout
    );
}

fn events_compacted() -> Status {
    let mut metadata = MetadataMap::new();
    metadata.insert("x-switchyard-oldest-revision", "5000".parse().unwrap());
    Status::with_metadata(
        Code::OutOfRange,
        "events_compacted: revision 10 is no longer retained; the oldest available revision is \
         5000",
        metadata,
    )
}

/// OUT_OF_RANGE ends `watch` with exit 1 and names the oldest available revision.
#[tokio::test]
async fn watch_reports_compacted_history() {
    let node = start(Fake {
        refuse: Some(events_compacted),
        ..Fake::default()
    })
    .await;
    let outcome = swctl(&["--endpoint", &node.url, "watch", "--from-revision", "10"]).await;
    assert_eq!(outcome.exit, Exit::Failure);
    assert!(
        outcome
            .stderr
            .starts_with("error: OUT_OF_RANGE: events_compacted: "),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("  oldest available revision: 5000 (re-read the state you need, then watch --from-revision 5000)\n"),
        "{}",
        outcome.stderr
    );
}

/// Bad arguments exit 2 before anything is sent; help exits 0 on stdout and documents the exit
/// codes; --request-id on a read is refused.
#[tokio::test]
async fn local_argument_errors() {
    let outcome = swctl(&[
        "--endpoint",
        "http://127.0.0.1:1",
        "sob",
        "register",
        "--supply-point",
        "0300111122223333444455",
        "--customer-contract-number",
        "C-1",
        "--customer-name",
        "Sato",
        "--customer-address",
        "Tokyo",
        "--wished-date",
        "2026-02-30",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::BadArguments);
    assert!(
        outcome.stderr.contains("--wished-date"),
        "{}",
        outcome.stderr
    );

    let outcome = swctl(&[
        "--endpoint",
        "http://127.0.0.1:1",
        "app",
        "submit",
        "--supply-point",
        "0300111122223333444455",
        "--effective-date",
        "2026-12-01",
        "--procedure",
        "switch-in",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::BadArguments);
    assert_eq!(
        outcome.stderr,
        "error: --procedure switch-in needs --stop-on-behalf\n"
    );

    let outcome = swctl(&["--request-id", "x", "lookup", "0300111122223333444455"]).await;
    assert_eq!(outcome.exit, Exit::BadArguments);
    assert_eq!(
        outcome.stderr,
        "error: --request-id applies to write commands only\n"
    );

    let outcome = swctl(&["--help"]).await;
    assert_eq!(outcome.exit, Exit::Success);
    assert!(
        outcome.stdout.contains("Exit status:"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stderr.is_empty());
}

/// With --ca-cert, --client-cert, --client-key and --tls-domain the client verifies the node's
/// certificate and presents its own; without a client certificate the node refuses it.
#[tokio::test]
async fn mutual_tls() {
    let fake = Fake::default();
    let node = start_tls(fake.clone()).await;
    let ca = fixture("ca.pem");
    let cert = fixture("client.pem");
    let key = fixture("client.key");
    let outcome = swctl(&[
        "--endpoint",
        &node.url,
        "--ca-cert",
        &ca,
        "--client-cert",
        &cert,
        "--client-key",
        &key,
        "--tls-domain",
        "switchyard.test",
        "lookup",
        "0300111122223333444455",
    ])
    .await;
    assert_eq!(outcome.exit, Exit::Success, "{}", outcome.stderr);
    assert!(fake.seen()[0].client_certificate);

    let outcome = swctl(&[
        "--endpoint",
        &node.url,
        "--ca-cert",
        &ca,
        "--timeout-ms",
        "3000",
        "lookup",
        "0300111122223333444455",
    ])
    .await;
    assert_ne!(outcome.exit, Exit::Success, "{}", outcome.stdout);
    // The cause behind tonic's bare "transport error" is shown.
    assert!(outcome.stderr.contains("alert"), "{}", outcome.stderr);
    assert_eq!(
        fake.seen().len(),
        1,
        "the node served a caller without a certificate"
    );
}
