//! The public API of the node processes, as the harness uses it: authenticated clients, the
//! cluster status, and the sample data loaded through the same calls a TSO and an operator make.

use std::net::SocketAddr;
use std::time::Duration;

use switchyard_domain::generator::SampleData;
use switchyard_domain::{Area, Command, PartyId, SupplyPointImport};
use switchyard_proto::admin::v1 as admin;
use switchyard_proto::admin::v1::admin_service_client::AdminServiceClient;
use switchyard_proto::v1;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_proto::v1::tso_service_client::TsoServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use super::layout::process_token;
use crate::load::target::Bearer;

pub type ParticipantClient = ParticipantServiceClient<InterceptedService<Channel, Bearer>>;
pub type TsoClient = TsoServiceClient<InterceptedService<Channel, Bearer>>;
pub type AdminClient = AdminServiceClient<InterceptedService<Channel, Bearer>>;

/// Connecting to a node's public port; a killed node refuses at once, a paused one times out.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The longest any one call of the harness waits (each call may set a shorter deadline).
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A lazily connected channel to the public API at `address`: it reconnects by itself when the
/// node comes back on the same port.
pub(crate) fn lazy_channel(address: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{address}"))
        .expect("a socket address is a valid endpoint")
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .tcp_nodelay(true)
        .connect_lazy()
}

/// The bearer of `party`'s development token.
pub fn bearer(party: &PartyId) -> Bearer {
    Bearer(
        format!("Bearer {}", process_token(party))
            .parse()
            .expect("a party id is a valid header value"),
    )
}

/// A request with a deadline, sent as `grpc-timeout` and enforced by the channel.
pub fn request<T>(message: T, deadline: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(deadline);
    request
}

pub(crate) fn participant_client(channel: Channel, party: &PartyId) -> ParticipantClient {
    ParticipantServiceClient::with_interceptor(channel, bearer(party))
}

pub(crate) fn tso_client(channel: Channel, party: &PartyId) -> TsoClient {
    TsoServiceClient::with_interceptor(channel, bearer(party))
}

pub(crate) fn admin_client(channel: Channel, party: &PartyId) -> AdminClient {
    AdminServiceClient::with_interceptor(channel, bearer(party))
}

/// One node's answer to `GetClusterStatus`, reduced to what the harness decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView {
    pub answering_node_id: u64,
    pub leader_node_id: Option<u64>,
    pub term: u64,
    /// The answering node's own log positions.
    pub last_log_index: u64,
    pub last_applied_index: u64,
    pub committed_index: u64,
}

impl StatusView {
    pub(crate) fn from_response(response: &admin::GetClusterStatusResponse) -> StatusView {
        let own = response
            .nodes
            .iter()
            .find(|node| node.node_id == response.answering_node_id);
        StatusView {
            answering_node_id: response.answering_node_id,
            leader_node_id: response.leader_node_id,
            term: response.term,
            last_log_index: own.map_or(0, |node| node.last_log_index),
            last_applied_index: own.map_or(0, |node| node.last_applied_index),
            committed_index: own.map_or(0, |node| node.committed_index),
        }
    }

    /// Whether the answering node says it leads.
    pub fn claims_leadership(&self) -> bool {
        self.leader_node_id == Some(self.answering_node_id)
    }
}

/// Saves the participants and imports the supply points of `data` through the public API as
/// the operator, with the request ids `switchyard dev` uses (so a repeated load applies
/// nothing twice). Calls go to `channel`, any node: writes are forwarded to the leader.
pub(crate) async fn load_sample_data(
    channel: &Channel,
    operator: &PartyId,
    data: &SampleData,
) -> Result<(), String> {
    let mut operator_admin = admin_client(channel.clone(), operator);
    for participant in data.tsos.iter().chain(&data.retailers) {
        operator_admin
            .save_participant(request(
                admin::SaveParticipantRequest {
                    request_id: format!("seed-participant-{}", participant.party),
                    participant: Some(participant.clone().into()),
                },
                CALL_TIMEOUT,
            ))
            .await
            .map_err(|status| {
                format!(
                    "saving participant {}: {:?}: {}",
                    participant.party,
                    status.code(),
                    status.message()
                )
            })?;
    }
    let mut operator_tso = tso_client(channel.clone(), operator);
    for area in Area::ALL {
        let points: Vec<SupplyPointImport> = data
            .supply_points
            .iter()
            .filter(|point| point.number.area() == area)
            .cloned()
            .collect();
        if points.is_empty() {
            continue;
        }
        let batches: Vec<v1::ImportSupplyPointsRequest> = points
            .chunks(Command::IMPORT_BATCH_MAX)
            .enumerate()
            .map(|(batch, chunk)| v1::ImportSupplyPointsRequest {
                request_id: format!("seed-import-{area}-{batch:06}"),
                points: chunk.iter().cloned().map(Into::into).collect(),
            })
            .collect();
        operator_tso
            .import_supply_points(request(futures::stream::iter(batches), CALL_TIMEOUT))
            .await
            .map_err(|status| {
                format!(
                    "importing area {area}: {:?}: {}",
                    status.code(),
                    status.message()
                )
            })?;
    }
    Ok(())
}
