//! A five-node cluster with its public APIs, in this process, and authenticated clients of any
//! node: the harness of the service suites.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "a harness module shared by suites that each use a part of it"
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use switchyard_api::{ApiConfig, ApiHandle};
use switchyard_domain::generator::SampleData;
use switchyard_domain::{SupplyPointImport, SupplyState, Timestamp};
use switchyard_proto::admin::v1::admin_service_client::AdminServiceClient;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_proto::v1::tso_service_client::TsoServiceClient;
use switchyard_server::dev::{DevCluster, DevOptions};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

/// Adds a bearer token to every call (or nothing, to test the refusal).
#[derive(Debug, Clone)]
pub struct Bearer(pub Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

pub type Participant = ParticipantServiceClient<InterceptedService<Channel, Bearer>>;
pub type Tso = TsoServiceClient<InterceptedService<Channel, Bearer>>;
pub type Admin = AdminServiceClient<InterceptedService<Channel, Bearer>>;

/// The running cluster and the data it was loaded with.
pub struct Services {
    pub cluster: DevCluster,
    pub data: SampleData,
}

/// The seed of the sample data, printed so that a failure can be replayed.
pub fn seed() -> u64 {
    let seed = std::env::var("SWITCHYARD_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(7);
    eprintln!("sample data seed: {seed} (set SWITCHYARD_SEED to change)");
    seed
}

impl Services {
    /// Five nodes on ephemeral ports with `supply_points` sample supply points and six
    /// retailers.
    pub async fn start(supply_points: usize) -> Services {
        Services::start_with(supply_points, |_| {}).await
    }

    pub async fn start_with(
        supply_points: usize,
        adjust: impl FnOnce(&mut DevOptions),
    ) -> Services {
        let mut options = DevOptions {
            data_dir: None,
            base_port: 0,
            supply_points,
            retailers: 6,
            seed: seed(),
            ..DevOptions::default()
        };
        adjust(&mut options);
        let data = switchyard_server::dev::sample_data(&options);
        let cluster = DevCluster::start(&options, &data)
            .await
            .expect("the development cluster starts");
        cluster
            .load(&data, |_, _| {})
            .await
            .expect("the sample data loads");
        Services { cluster, data }
    }

    /// The index of the node called `name` (tokyo-1, tokyo-2, osaka-1, osaka-2, witness-1).
    pub fn index(&self, name: &str) -> usize {
        self.cluster
            .nodes
            .iter()
            .position(|node| node.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    pub async fn channel(&self, name: &str) -> Channel {
        let address = self.cluster.nodes[self.index(name)].api.local_address();
        Endpoint::from_shared(format!("http://{address}"))
            .expect("an endpoint")
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .connect()
            .await
            .unwrap_or_else(|error| panic!("cannot connect to {name} at {address}: {error}"))
    }

    fn bearer(party: Option<&str>) -> Bearer {
        Bearer(party.map(|party| {
            format!("Bearer dev-{party}")
                .parse()
                .expect("a valid header")
        }))
    }

    /// The participant API of node `name`, as `party` (`None`: no credentials).
    pub async fn participant(&self, name: &str, party: Option<&str>) -> Participant {
        ParticipantServiceClient::with_interceptor(self.channel(name).await, Self::bearer(party))
    }

    pub async fn tso(&self, name: &str, party: Option<&str>) -> Tso {
        TsoServiceClient::with_interceptor(self.channel(name).await, Self::bearer(party))
    }

    pub async fn admin(&self, name: &str, party: Option<&str>) -> Admin {
        AdminServiceClient::with_interceptor(self.channel(name).await, Self::bearer(party))
    }

    /// A supply point supplied by a retailer, and that retailer's code.
    pub fn supplied_point(&self, skip: usize) -> (SupplyPointImport, String) {
        self.data
            .supply_points
            .iter()
            .filter_map(|point| match &point.supply {
                SupplyState::Supplying { retailer, .. } => {
                    Some((point.clone(), retailer.to_string()))
                }
                SupplyState::Stopped => None,
            })
            .nth(skip)
            .expect("enough supplied points")
    }

    /// A retailer of the sample data other than `not`.
    pub fn other_retailer(&self, not: &str) -> String {
        self.data
            .retailers
            .iter()
            .map(|participant| participant.party.to_string())
            .find(|party| party != not)
            .expect("two retailers")
    }

    pub async fn shutdown(self) {
        self.cluster.shutdown().await;
    }

    /// A second public API server on node `name`, with the cluster's development tokens and the
    /// settings `adjust` makes (a low rate limit, say): the same node and state behind its own
    /// port, authenticator and rate limiter. Stop it with [`ApiHandle::shutdown`].
    pub async fn extra_api(&self, name: &str, adjust: impl FnOnce(&mut ApiConfig)) -> ApiHandle {
        let mut config = ApiConfig::development(
            self.cluster
                .tokens
                .iter()
                .map(|(party, token)| (token.clone(), party.clone()))
                .collect(),
        );
        adjust(&mut config);
        let node = Arc::clone(&self.cluster.nodes[self.index(name)].node);
        switchyard_api::start(node, config, "127.0.0.1:0".parse().expect("an address"))
            .await
            .unwrap_or_else(|error| panic!("a second public API on {name} starts: {error}"))
    }
}

/// A plain-text channel to the public API server at `address`.
pub async fn channel_at(address: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{address}"))
        .expect("an endpoint")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {address}: {error}"))
}

/// The participant API of the server at `address`, as `party` (`None`: no credentials).
pub async fn participant_at(address: SocketAddr, party: Option<&str>) -> Participant {
    ParticipantServiceClient::with_interceptor(channel_at(address).await, Services::bearer(party))
}

/// A date `days` after today (JST), as the wire writes it.
pub fn days_ahead(days: i32) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    Timestamp(now).jst_date().add_days(days).to_string()
}

/// Asserts that `result` failed with `code` and a message starting with `rule`.
#[track_caller]
pub fn assert_status<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    rule: &str,
) -> Status {
    let status = result.expect_err(&format!("expected {code:?} ({rule}), the call succeeded"));
    assert_eq!(
        status.code(),
        code,
        "expected {code:?} ({rule}), got {:?}: {}",
        status.code(),
        status.message()
    );
    assert!(
        status.message().starts_with(rule),
        "expected the message to start with {rule:?}: {}",
        status.message()
    );
    status
}
