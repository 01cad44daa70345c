//! The transport around the public services: gRPC health kept in step with the node (a stalled
//! disk makes a node NOT_SERVING and refuse reads, and it comes back), reflection that shows the
//! public services and hides the internal Raft service, message size limits, the client-streaming
//! bulk import, and mutual TLS with the party id taken from the client certificate.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Services, assert_status, seed};
use futures::StreamExt;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use switchyard_api::{ApiConfig, AuthMode, RateLimit, SERVICE_NAMES, TlsFiles};
use switchyard_domain::generator::{GeneratorConfig, SampleData};
use switchyard_domain::{Area, Date, EventKind, OperatorId, SupplyPointImport};
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::admin::v1::admin_service_client::AdminServiceClient;
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_raft::{
    Bootstrap, InitialMember, Node, NodeConfig, RaftSettings, Site, StoreConfig,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const OPERATOR: &str = "op:operator";
const RULE_KEY: &str = "x-switchyard-rule";
const FIELD_KEY: &str = "x-switchyard-field";
const RETRY_AFTER_KEY: &str = "x-switchyard-retry-after-ms";
/// How long a condition that depends on timers (stall bound, health poll, elections) may take.
const WAIT: Duration = Duration::from_secs(30);

fn metadata(status: &Status, key: &str) -> Option<String> {
    status
        .metadata()
        .get(key)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Polls `check` every 100 ms until it holds, failing after `within` with `what`.
async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What gRPC health says of `service` at the other end of `channel`.
async fn health(channel: &Channel, service: &str) -> Result<ServingStatus, Status> {
    let answer = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await?
        .into_inner();
    Ok(ServingStatus::try_from(answer.status).expect("a known serving status"))
}

fn look_up(number: &str, consistency: v1::ReadConsistency) -> v1::LookUpSupplyPointRequest {
    v1::LookUpSupplyPointRequest {
        supply_point_number: number.into(),
        consistency: consistency as i32,
    }
}

fn notice(request_id: &str) -> admin::PublishNoticeRequest {
    admin::PublishNoticeRequest {
        request_id: request_id.into(),
        severity: v1::Severity::Warning as i32,
        title: "Disk maintenance".into(),
        body: "A node's disk is being replaced.".into(),
    }
}

/// Releases a store's injected stall when dropped, so that a failed assertion does not leave
/// blocking threads hanging for ever.
struct ReleaseStall(switchyard_raft::Store);

impl Drop for ReleaseStall {
    fn drop(&mut self) {
        self.0.release_stall();
    }
}

/// Every node reports SERVING in gRPC health for the whole server ("") and for each public
/// service, and NOT_FOUND for a service it does not have. When a follower's disk stalls (a
/// write makes it sync), that node reports NOT_SERVING within a bounded wait and refuses a
/// look-up and a linearizable read with UNAVAILABLE `not_serving` and
/// `x-switchyard-retry-after-ms: 0` (retry elsewhere, at once), while another node goes on
/// serving reads and writes; once the disk answers again it reports SERVING and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_the_node_through_a_disk_stall() {
    let services = Services::start(300).await;
    let (point, retailer) = services.supplied_point(0);
    let number = point.number.to_string();
    for node in &services.cluster.nodes {
        let channel = services.channel(node.name).await;
        for service in std::iter::once("").chain(SERVICE_NAMES) {
            assert_eq!(
                health(&channel, service).await.expect("a health answer"),
                ServingStatus::Serving,
                "{} reports {service:?} serving",
                node.name
            );
        }
        assert_status(
            health(&channel, "switchyard.v1.NoSuchService").await,
            Code::NotFound,
            "",
        );
    }

    let leader = services
        .cluster
        .leader(WAIT)
        .await
        .expect("a leader")
        .node
        .node_id();
    let stalled = services
        .cluster
        .nodes
        .iter()
        .find(|node| node.node.node_id() != leader)
        .expect("a follower")
        .name;
    let healthy = services
        .cluster
        .nodes
        .iter()
        .find(|node| node.name != stalled && node.node.node_id() != leader)
        .expect("another follower")
        .name;
    let stalled_channel = services.channel(stalled).await;
    let store = services.cluster.nodes[services.index(stalled)]
        .node
        .store()
        .clone();
    store.inject_stall();
    let _release = ReleaseStall(store.clone());
    // A write makes the follower append and sync; that sync hangs.
    services
        .admin(healthy, Some(OPERATOR))
        .await
        .publish_notice(notice("during-stall-1"))
        .await
        .expect("the cluster writes without the stalled follower");
    eventually(&format!("{stalled} reports NOT_SERVING"), WAIT, || {
        let channel = stalled_channel.clone();
        async move { health(&channel, "").await.ok() == Some(ServingStatus::NotServing) }
    })
    .await;
    for service in SERVICE_NAMES {
        assert_eq!(
            health(&stalled_channel, service)
                .await
                .expect("a health answer"),
            ServingStatus::NotServing,
            "{stalled} reports {service} not serving"
        );
    }

    let mut at_stalled = services.participant(stalled, Some(&retailer)).await;
    for consistency in [
        v1::ReadConsistency::Local,
        v1::ReadConsistency::Linearizable,
    ] {
        let status = assert_status(
            at_stalled
                .look_up_supply_point(look_up(&number, consistency))
                .await,
            Code::Unavailable,
            "not_serving: ",
        );
        assert_eq!(metadata(&status, RULE_KEY).as_deref(), Some("not_serving"));
        assert_eq!(
            metadata(&status, RETRY_AFTER_KEY).as_deref(),
            Some("0"),
            "retry at once, at another node"
        );
    }
    assert_status(
        at_stalled
            .list_participants(v1::ListParticipantsRequest::default())
            .await,
        Code::Unavailable,
        "not_serving: ",
    );
    let mut at_healthy = services.participant(healthy, Some(&retailer)).await;
    at_healthy
        .look_up_supply_point(look_up(&number, v1::ReadConsistency::Linearizable))
        .await
        .expect("another node serves look-ups");
    services
        .admin(healthy, Some(OPERATOR))
        .await
        .publish_notice(notice("during-stall-2"))
        .await
        .expect("another node serves writes");
    assert_eq!(
        health(&services.channel(healthy).await, "")
            .await
            .expect("a health answer"),
        ServingStatus::Serving
    );

    store.release_stall();
    eventually(&format!("{stalled} reports SERVING again"), WAIT, || {
        let channel = stalled_channel.clone();
        async move { health(&channel, "").await.ok() == Some(ServingStatus::Serving) }
    })
    .await;
    let notices = at_stalled
        .list_notices(v1::ListNoticesRequest::default())
        .await
        .expect("the recovered node serves linearizable reads")
        .into_inner();
    assert_eq!(notices.notices.len(), 2, "it caught up: {notices:?}");
    at_stalled
        .look_up_supply_point(look_up(&number, v1::ReadConsistency::Local))
        .await
        .expect("the recovered node serves look-ups");
    services.shutdown().await;
}

/// The service names gRPC reflection (v1 and v1alpha, which grpcurl still asks) lists on a
/// public port.
async fn reflected_services(channel: &Channel) -> (BTreeSet<String>, BTreeSet<String>) {
    use tonic_reflection::pb::{v1 as reflection, v1alpha as reflection_alpha};
    let mut stream =
        reflection::server_reflection_client::ServerReflectionClient::new(channel.clone())
            .server_reflection_info(futures::stream::iter(vec![
                reflection::ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(
                        reflection::server_reflection_request::MessageRequest::ListServices(
                            String::new(),
                        ),
                    ),
                },
            ]))
            .await
            .expect("reflection v1 answers")
            .into_inner();
    let answer = stream
        .next()
        .await
        .expect("a reflection answer")
        .expect("no error");
    let v1_names = match answer.message_response {
        Some(reflection::server_reflection_response::MessageResponse::ListServicesResponse(
            list,
        )) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("not a service list: {other:?}"),
    };
    let mut stream =
        reflection_alpha::server_reflection_client::ServerReflectionClient::new(channel.clone())
            .server_reflection_info(futures::stream::iter(vec![
                reflection_alpha::ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(
                        reflection_alpha::server_reflection_request::MessageRequest::ListServices(
                            String::new(),
                        ),
                    ),
                },
            ]))
            .await
            .expect("reflection v1alpha answers")
            .into_inner();
    let answer = stream
        .next()
        .await
        .expect("a reflection answer")
        .expect("no error");
    let alpha_names = match answer.message_response {
        Some(
            reflection_alpha::server_reflection_response::MessageResponse::ListServicesResponse(
                list,
            ),
        ) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("not a service list: {other:?}"),
    };
    (v1_names, alpha_names)
}

/// gRPC reflection on the public port (v1 and v1alpha, at every node) lists the three
/// Switchyard services and grpc.health.v1.Health, and neither lists nor serves the internal Raft
/// service: a Raft call on the public port is UNIMPLEMENTED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_only_the_public_services() {
    let services = Services::start(100).await;
    for node in &services.cluster.nodes {
        let channel = services.channel(node.name).await;
        let (v1_names, alpha_names) = reflected_services(&channel).await;
        for names in [&v1_names, &alpha_names] {
            for service in SERVICE_NAMES.iter().chain(&["grpc.health.v1.Health"]) {
                assert!(
                    names.contains(*service),
                    "reflection at {} lists {service}: {names:?}",
                    node.name
                );
            }
            assert!(
                !names.contains("switchyard.raft.v1.RaftService")
                    && !names.iter().any(|name| name.contains("raft")),
                "reflection at {} must not list the Raft service: {names:?}",
                node.name
            );
        }
        assert_status(
            switchyard_proto::raft::v1::raft_service_client::RaftServiceClient::new(channel)
                .read_index(switchyard_proto::raft::v1::ReadIndexRequest::default())
                .await,
            Code::Unimplemented,
            "",
        );
    }
    services.shutdown().await;
}

/// A request under 4 MiB with an over-long field is refused as `invalid_field` naming it; one
/// over 4 MiB — a unary UpdateContacts and a batch of a client-streaming import — is refused by
/// the server's message size limit without harm: the node keeps serving on new connections and
/// on the same one, and nothing was applied. The refusal's code is the one docs/ERRORS.md
/// documents for a message larger than 4 MiB, RESOURCE_EXHAUSTED (checked last).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_refused_and_the_node_keeps_serving() {
    let services = Services::start(100).await;
    let (point, retailer) = services.supplied_point(0);

    // Under the limit, the field's own bound refuses it.
    let contact = |name: String| v1::Contact {
        name,
        role: "operations desk".into(),
        email: "ops@example.jp".into(),
        phone: "03-1234-5678".into(),
    };
    let mut client = services.participant("tokyo-2", Some(&retailer)).await;
    let status = assert_status(
        client
            .update_contacts(v1::UpdateContactsRequest {
                request_id: "contacts-3mib".into(),
                contacts: vec![contact("x".repeat(3 * 1024 * 1024))],
            })
            .await,
        Code::InvalidArgument,
        "invalid_field: contacts[0].name",
    );
    assert_eq!(
        metadata(&status, FIELD_KEY).as_deref(),
        Some("contacts[0].name")
    );

    // Over the limit, the transport refuses it.
    let oversized = client
        .update_contacts(v1::UpdateContactsRequest {
            request_id: "contacts-5mib".into(),
            contacts: vec![contact("x".repeat(5 * 1024 * 1024))],
        })
        .await
        .expect_err("a 5 MiB request is refused");
    let tso = format!("T{}", point.number.area());
    let mut record = v1::SupplyPointRecord::from(point.clone());
    if let Some(facility) = record.facility.as_mut() {
        facility.meters[0].meter_number = "9".repeat(5 * 1024 * 1024);
    }
    let oversized_batch = services
        .tso("tokyo-2", Some(&tso))
        .await
        .import_supply_points(futures::stream::iter(vec![v1::ImportSupplyPointsRequest {
            request_id: "import-5mib".into(),
            points: vec![record],
        }]))
        .await
        .expect_err("a 5 MiB batch is refused");

    // The node keeps serving, on new connections and on the old one.
    assert_eq!(
        health(&services.channel("tokyo-2").await, "")
            .await
            .expect("a health answer"),
        ServingStatus::Serving
    );
    let seen = services
        .participant("tokyo-2", Some(&retailer))
        .await
        .look_up_supply_point(look_up(
            &point.number.to_string(),
            v1::ReadConsistency::Linearizable,
        ))
        .await
        .expect("the node still serves")
        .into_inner()
        .supply_point
        .expect("a supply point");
    assert_eq!(
        seen.facility,
        Some(point.facility.clone().into()),
        "the oversized import changed nothing"
    );
    client
        .list_notices(v1::ListNoticesRequest::default())
        .await
        .expect("the first connection still serves");

    for (what, status) in [
        ("UpdateContacts", oversized),
        ("an import batch", oversized_batch),
    ] {
        // tonic refuses a message over the decode limit with OUT_OF_RANGE (documented in
        // docs/ERRORS.md), before any Switchyard code runs.
        assert_eq!(
            status.code(),
            Code::OutOfRange,
            "{what} over 4 MiB: {status:?}"
        );
    }
    services.shutdown().await;
}

/// Supply points of `area` from sample data of another seed that the loaded data does not have.
fn new_points(services: &Services, area: Area, count: usize) -> Vec<SupplyPointImport> {
    let loaded: BTreeSet<_> = services
        .data
        .supply_points
        .iter()
        .map(|point| point.number)
        .collect();
    let other = SampleData::generate(&GeneratorConfig {
        seed: seed().wrapping_add(1_000_003),
        supply_points: (count * 4).max(2_000),
        retailers: services.data.retailers.len(),
        as_of: Date::from_ymd(2026, 11, 1).expect("a valid date"),
    });
    let points: Vec<SupplyPointImport> = other
        .supply_points
        .into_iter()
        .filter(|point| point.number.area() == area && !loaded.contains(&point.number))
        .take(count)
        .collect();
    assert_eq!(points.len(), count, "enough new points in area {area}");
    points
}

fn batch(request_id: &str, points: &[SupplyPointImport]) -> v1::ImportSupplyPointsRequest {
    v1::ImportSupplyPointsRequest {
        request_id: request_id.into(),
        points: points
            .iter()
            .cloned()
            .map(v1::SupplyPointRecord::from)
            .collect(),
    }
}

/// How many SupplyPointsImported events of `area` the node `name` holds, once it has applied
/// every write acknowledged so far (a linearizable read there first).
async fn imports_recorded(services: &Services, name: &str, area: Area) -> usize {
    services
        .participant(name, Some(OPERATOR))
        .await
        .list_notices(v1::ListNoticesRequest::default())
        .await
        .expect("a linearizable read");
    services.cluster.nodes[services.index(name)]
        .node
        .store()
        .state_machine
        .events_from(1, 1_000_000)
        .expect("the event history")
        .iter()
        .filter(|event| {
            matches!(event.event.kind, EventKind::SupplyPointsImported { area: imported, .. }
                if imported == area)
        })
        .count()
}

/// Whether `number` can be looked up at `node` (linearizably, by the operator).
async fn exists(services: &Services, node: &str, number: &str) -> Option<v1::SupplyPoint> {
    match services
        .participant(node, Some(OPERATOR))
        .await
        .look_up_supply_point(look_up(number, v1::ReadConsistency::Linearizable))
        .await
    {
        Ok(answer) => Some(answer.into_inner().supply_point.expect("a supply point")),
        Err(status) if status.code() == Code::NotFound => None,
        Err(status) => panic!("looking up {number}: {status:?}"),
    }
}

/// A TSO streams 20 batches of 1,000 new supply points of its area through a follower: the
/// answer counts 20 batches and 20,000 created, and another node finds them with the facility
/// and supply state imported. The same stream again (same request ids) answers the same counts
/// and applies nothing (no new import event). A stream whose second batch holds a point of
/// another area ends with that batch's rule (PERMISSION_DENIED `outside_area`) and a message
/// starting `batch <request_id>: `; the first batch stays applied, the later ones never are.
/// A batch of 1,001 records is INVALID_ARGUMENT naming `points`, and creates nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tso_imports_in_batches_exactly_once() {
    let services = Services::start(300).await;
    let area = Area::ALL[2];
    let other_area = Area::ALL[5];
    let tso = format!("T{area}");
    let points = new_points(&services, area, 20_000 + 30 + 1_001);
    let (bulk, rest) = points.split_at(20_000);
    let (mixed, big) = rest.split_at(30);
    let foreign = new_points(&services, other_area, 1).remove(0);

    let leader = services
        .cluster
        .leader(WAIT)
        .await
        .expect("a leader")
        .node
        .node_id();
    let follower = services
        .cluster
        .nodes
        .iter()
        .find(|node| node.node.node_id() != leader)
        .expect("a follower")
        .name;
    let elsewhere = services
        .cluster
        .nodes
        .iter()
        .find(|node| node.name != follower)
        .expect("another node")
        .name;
    let batches: Vec<_> = bulk
        .chunks(1_000)
        .enumerate()
        .map(|(index, chunk)| batch(&format!("bulk-{index:02}"), chunk))
        .collect();
    assert_eq!(batches.len(), 20);

    let imports_before = imports_recorded(&services, elsewhere, area).await;
    let started = Instant::now();
    let summary = services
        .tso(follower, Some(&tso))
        .await
        .import_supply_points(futures::stream::iter(batches.clone()))
        .await
        .expect("the import is applied")
        .into_inner();
    eprintln!("20,000 supply points imported in {:?}", started.elapsed());
    assert_eq!(
        (summary.batches_applied, summary.created, summary.updated),
        (20, 20_000, 0),
        "{summary:?}"
    );
    for index in [0, 9_999, 19_999] {
        let point = &bulk[index];
        let seen = exists(&services, elsewhere, &point.number.to_string())
            .await
            .unwrap_or_else(|| panic!("{} was imported", point.number));
        assert_eq!(seen.facility, Some(point.facility.clone().into()));
        assert_eq!(seen.supply, Some(point.supply.clone().into()));
    }
    let imports_after = imports_recorded(&services, elsewhere, area).await;
    assert_eq!(imports_after, imports_before + 20, "one import per batch");

    // Again, the same stream: the first answers, nothing applied.
    let again = services
        .tso(elsewhere, Some(&tso))
        .await
        .import_supply_points(futures::stream::iter(batches))
        .await
        .expect("the repeated import is answered")
        .into_inner();
    assert_eq!(
        (again.batches_applied, again.created, again.updated),
        (20, 20_000, 0),
        "the repeated stream reports the first counts: {again:?}"
    );
    assert!(again.last_revision >= summary.last_revision);
    assert_eq!(
        imports_recorded(&services, elsewhere, area).await,
        imports_after,
        "the repeated stream applied a batch again"
    );

    // A batch with a point outside the TSO's area ends the stream.
    let mut second = batch("mixed-2", &mixed[10..20]);
    second.points[9] = v1::SupplyPointRecord::from(foreign.clone());
    let refused = services
        .tso(follower, Some(&tso))
        .await
        .import_supply_points(futures::stream::iter(vec![
            batch("mixed-1", &mixed[..10]),
            second,
            batch("mixed-3", &mixed[20..30]),
        ]))
        .await;
    let status = assert_status(
        refused,
        Code::PermissionDenied,
        "batch mixed-2: outside_area: ",
    );
    assert_eq!(metadata(&status, RULE_KEY).as_deref(), Some("outside_area"));
    for (index, point) in mixed.iter().enumerate() {
        let found = exists(&services, elsewhere, &point.number.to_string()).await;
        assert_eq!(
            found.is_some(),
            index < 10,
            "point {index} of the mixed stream: only the first batch is applied"
        );
    }
    assert!(
        exists(&services, elsewhere, &foreign.number.to_string())
            .await
            .is_none()
    );

    // 1,001 records in one batch.
    let status = assert_status(
        services
            .tso(follower, Some(&tso))
            .await
            .import_supply_points(futures::stream::iter(vec![batch("big-1", big)]))
            .await,
        Code::InvalidArgument,
        "batch big-1: invalid_field: points",
    );
    assert_eq!(metadata(&status, FIELD_KEY).as_deref(), Some("points"));
    assert!(
        exists(&services, elsewhere, &big[0].number.to_string())
            .await
            .is_none()
    );
    services.shutdown().await;
}

/// A certificate authority that signs certificates.
fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a key")).expect("a CA")
}

/// A certificate for `common_name` (and `names` as subject alternative names) signed by
/// `issuer`, as PEM certificate and key.
fn certificate(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    common_name: &str,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params = CertificateParams::new(names).expect("certificate parameters");
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().expect("a key");
    let signed = params.signed_by(&key, &**issuer).expect("signed");
    (signed.pem(), key.serialize_pem())
}

fn write(directory: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, text).expect("a PEM file");
    path
}

/// A TLS channel to `port` trusting `ca_pem`, presenting `identity` if any; the error when the
/// connection cannot be made.
async fn tls_channel(
    port: u16,
    ca_pem: &str,
    identity: Option<&(String, String)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some((certificate, key)) = identity {
        tls = tls.identity(Identity::from_pem(certificate, key));
    }
    Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
        .expect("an endpoint")
        .tls_config(tls)
        .expect("a TLS configuration")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .connect()
        .await
}

/// ListParticipants through a TLS channel made with `identity`, or why not: the connection
/// failed (the error's text), or the call did (its status).
async fn list_participants_over_tls(
    port: u16,
    ca_pem: &str,
    identity: Option<&(String, String)>,
) -> Result<v1::ListParticipantsResponse, Result<String, Status>> {
    let channel = tls_channel(port, ca_pem, identity)
        .await
        .map_err(|error| Ok(format!("{error:?}")))?;
    ParticipantServiceClient::new(channel)
        .list_participants(v1::ListParticipantsRequest::default())
        .await
        .map(tonic::Response::into_inner)
        .map_err(Err)
}

/// Mutual TLS: one node serves its public API with a server certificate for localhost and
/// client certificates signed by its CA, the party id being the certificate's common name. A
/// retailer's certificate lists participants; a client without a certificate and one with a
/// certificate of another CA are refused (in the handshake or the call); a certificate whose
/// common name is no party id is UNAUTHENTICATED `unauthenticated`; an operator's certificate
/// reads the policy while the retailer's is PERMISSION_DENIED; plain text is not served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_takes_the_party_from_the_client_certificate() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let pki = directory.path().join("pki");
    std::fs::create_dir_all(&pki).expect("a PKI directory");
    let data = SampleData::generate(&GeneratorConfig {
        seed: seed(),
        supply_points: 50,
        retailers: 3,
        as_of: Date::from_ymd(2026, 11, 1).expect("a valid date"),
    });
    let retailer = data.retailers[0].party.to_string();

    let ca = authority("Switchyard test participants CA");
    let rogue = authority("Someone else's CA");
    let server = certificate(
        &ca,
        "localhost",
        vec!["localhost".into(), "127.0.0.1".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let client = |issuer, name: &str| {
        certificate(
            issuer,
            name,
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    };
    let retailer_identity = client(&ca, &retailer);
    let operator_identity = client(&ca, "op:tanaka");
    let nameless_identity = client(&ca, "retail gateway 7");
    let rogue_identity = client(&rogue, &retailer);
    let ca_pem = ca.pem();
    let files = TlsFiles {
        certificate: write(&pki, "server.pem", &server.0),
        private_key: write(&pki, "server.key", &server.1),
        client_ca: write(&pki, "ca.pem", &ca_pem),
    };

    // One node that initializes a cluster of itself, with the sample participants.
    let mut config = NodeConfig::new(
        1,
        Site::Tokyo,
        "127.0.0.1:0".parse().expect("an address"),
        StoreConfig::new(directory.path().join("node")),
    );
    config.raft = RaftSettings::for_tests();
    config.bootstrap = Bootstrap::Initialize {
        members: BTreeMap::from([(
            1,
            InitialMember {
                site: Site::Tokyo,
                raft_address: String::new(),
                api_address: String::new(),
            },
        )]),
    };
    let node = Arc::new(Node::start(config).await.expect("the node starts"));
    eventually("the single node leads", WAIT, || {
        let leads = node.leader().is_some_and(|leader| leader.node_id == 1);
        async move { leads }
    })
    .await;
    let operator = OperatorId::parse("operator").expect("an operator id");
    for envelope in data.commands(&operator) {
        node.client_write(envelope)
            .await
            .expect("a write")
            .outcome
            .expect("the sample data loads");
    }
    let api = switchyard_api::start(
        Arc::clone(&node),
        ApiConfig {
            auth: AuthMode::MutualTls(files),
            rate_limit: RateLimit::default(),
            rate_limit_overrides: BTreeMap::new(),
            leaderless_unhealthy_after: Duration::from_secs(3),
        },
        "127.0.0.1:0".parse().expect("an address"),
    )
    .await
    .expect("the public API starts with mutual TLS");
    let port = api.local_address().port();

    // The retailer's certificate is its identity.
    let listed = list_participants_over_tls(port, &ca_pem, Some(&retailer_identity))
        .await
        .expect("the retailer lists participants");
    let parties: Vec<_> = listed
        .participants
        .iter()
        .map(|participant| participant.party_id.as_str())
        .collect();
    assert!(parties.contains(&retailer.as_str()), "{parties:?}");
    assert_eq!(
        parties.len(),
        13,
        "ten TSOs and three retailers: {parties:?}"
    );

    // No certificate, or one of another CA: the handshake fails. The server's TLS alert, or
    // the connection it closes, reaches the client as a failed connection or as a status made
    // by the client's own transport (it has a source), never as an answer of the server.
    for (what, identity) in [
        ("no client certificate", None),
        ("a certificate of another CA", Some(&rogue_identity)),
    ] {
        match list_participants_over_tls(port, &ca_pem, identity).await {
            Ok(answer) => panic!("{what} is served: {answer:?}"),
            Err(Ok(connect_error)) => eprintln!("{what}: no connection: {connect_error}"),
            Err(Err(status)) => assert!(
                std::error::Error::source(&status).is_some()
                    && matches!(
                        status.code(),
                        Code::Unknown | Code::Unavailable | Code::Cancelled
                    ),
                "{what} is refused by the TLS handshake, not by a server answer: {status:?}"
            ),
        }
    }

    // A certificate of the CA whose common name is no party id.
    let channel = tls_channel(port, &ca_pem, Some(&nameless_identity))
        .await
        .expect("the handshake succeeds: the CA signed it");
    let status = assert_status(
        ParticipantServiceClient::new(channel)
            .list_participants(v1::ListParticipantsRequest::default())
            .await,
        Code::Unauthenticated,
        "unauthenticated: ",
    );
    assert_eq!(
        metadata(&status, RULE_KEY).as_deref(),
        Some("unauthenticated")
    );

    // The operator's certificate may read the policy; the retailer's may not.
    let operator_channel = tls_channel(port, &ca_pem, Some(&operator_identity))
        .await
        .expect("the operator connects");
    let policy = AdminServiceClient::new(operator_channel)
        .get_policy(admin::GetPolicyRequest::default())
        .await
        .expect("the operator reads the policy")
        .into_inner();
    assert!(policy.policy.is_some());
    let retailer_channel = tls_channel(port, &ca_pem, Some(&retailer_identity))
        .await
        .expect("the retailer connects");
    let status = assert_status(
        AdminServiceClient::new(retailer_channel)
            .get_policy(admin::GetPolicyRequest::default())
            .await,
        Code::PermissionDenied,
        "permission_denied: ",
    );
    assert!(status.message().contains(&retailer), "{}", status.message());

    // Plain text is not served on the TLS port.
    let plain = async {
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("an endpoint")
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|error| error.to_string())?;
        ParticipantServiceClient::new(channel)
            .list_participants(v1::ListParticipantsRequest::default())
            .await
            .map_err(|status| status.to_string())
    };
    assert!(plain.await.is_err(), "plain text is served on the TLS port");

    api.shutdown().await;
    node.shutdown().await.expect("the node stops");
}
