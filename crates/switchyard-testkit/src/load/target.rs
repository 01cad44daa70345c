//! What a load run calls: the five-node development cluster started in this process, or the
//! public endpoints of a cluster already running (`switchyard dev`); one gRPC channel per node,
//! HTTP/2-multiplexed, shared by every worker; development bearer tokens per party.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use switchyard_api::{ApiConfig, ApiHandle, RateLimit, dev_token};
use switchyard_domain::PartyId;
use switchyard_domain::generator::SampleData;
use switchyard_proto::v1::participant_service_client::ParticipantServiceClient;
use switchyard_proto::v1::tso_service_client::TsoServiceClient;
use switchyard_server::dev::{DevCluster, DevError, DevOptions};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

/// How long connecting to a node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the target could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the development cluster: {0}")]
    Dev(#[from] DevError),
    #[error("a public API with raised rate limits on {node}: {message}")]
    Api { node: &'static str, message: String },
    #[error("{endpoint} is not an endpoint: {message}")]
    Endpoint { endpoint: String, message: String },
    #[error("cannot connect to {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
}

/// Which rate limits the in-process cluster's callers meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimits {
    /// A second public API on every node, the same services with a limit no load run reaches:
    /// measures the nodes, not the limiter.
    Raised,
    /// The development cluster's own public APIs, with `ApiConfig::development`'s limit (200/s
    /// per party and node, bursts of 400).
    Development,
}

/// The limit of the raised public APIs: far beyond what two cores serve.
const RAISED_LIMIT: RateLimit = RateLimit {
    per_second: 1.0e9,
    burst: 1.0e9,
};

/// Adds a party's bearer token to every call.
#[derive(Debug, Clone)]
pub struct Bearer(pub MetadataValue<Ascii>);

impl Bearer {
    /// The development token of `party` (`dev-<party>`), as `switchyard dev` hands it out.
    pub fn development(party: &PartyId) -> Bearer {
        Bearer(
            format!("Bearer {}", dev_token(party))
                .parse()
                .expect("a party id is a valid header value"),
        )
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub type ParticipantClient = ParticipantServiceClient<InterceptedService<Channel, Bearer>>;
pub type TsoClient = TsoServiceClient<InterceptedService<Channel, Bearer>>;

/// One node's public endpoint and the channel every worker shares.
#[derive(Debug, Clone)]
pub struct TargetNode {
    pub name: String,
    pub endpoint: String,
    pub channel: Channel,
}

/// The cluster under load.
#[derive(Debug)]
pub struct Target {
    pub nodes: Vec<TargetNode>,
    /// Present when this process runs the cluster.
    pub in_process: Option<InProcess>,
}

/// The in-process cluster and the public APIs started for the load.
#[derive(Debug)]
pub struct InProcess {
    pub cluster: DevCluster,
    pub limits: RateLimits,
    raised: Vec<ApiHandle>,
}

/// Connects one channel to `endpoint`.
async fn connect(endpoint: &str) -> Result<Channel, TargetError> {
    Endpoint::from_shared(endpoint.to_owned())
        .map_err(|error| TargetError::Endpoint {
            endpoint: endpoint.to_owned(),
            message: error.to_string(),
        })?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|error| TargetError::Connect {
            endpoint: endpoint.to_owned(),
            message: error.to_string(),
        })
}

impl Target {
    /// Starts the five-node development cluster in this process and loads `data` through Raft;
    /// `progress` hears the supply points loaded so far. With [`RateLimits::Raised`], every node
    /// also serves the public API on a second port with the raised limit, and the load goes
    /// there.
    pub async fn start_in_process(
        options: &DevOptions,
        data: &SampleData,
        limits: RateLimits,
        progress: impl FnMut(usize, usize),
    ) -> Result<Target, TargetError> {
        let cluster = DevCluster::start(options, data).await?;
        cluster.load(data, progress).await?;
        let mut raised = Vec::new();
        let endpoints = match limits {
            RateLimits::Development => cluster.endpoints(),
            RateLimits::Raised => {
                let mut config = ApiConfig::development(
                    cluster
                        .tokens
                        .iter()
                        .map(|(party, token)| (token.clone(), party.clone()))
                        .collect(),
                );
                config.rate_limit = RAISED_LIMIT;
                let mut endpoints = Vec::new();
                for node in &cluster.nodes {
                    let failed = |message: String| TargetError::Api {
                        node: node.name,
                        message,
                    };
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .map_err(|error| failed(error.to_string()))?;
                    let api = switchyard_api::start_with_listener(
                        Arc::clone(&node.node),
                        config.clone(),
                        listener,
                    )
                    .await
                    .map_err(|error| failed(error.to_string()))?;
                    endpoints.push(format!("http://{}", api.local_address()));
                    raised.push(api);
                }
                endpoints
            }
        };
        let mut nodes = Vec::new();
        for (node, endpoint) in cluster.nodes.iter().zip(endpoints) {
            nodes.push(TargetNode {
                name: node.name.to_owned(),
                channel: connect(&endpoint).await?,
                endpoint,
            });
        }
        Ok(Target {
            nodes,
            in_process: Some(InProcess {
                cluster,
                limits,
                raised,
            }),
        })
    }

    /// Connects to the public endpoints of a running cluster (`http://host:port` each).
    pub async fn connect(endpoints: &[String]) -> Result<Target, TargetError> {
        let mut nodes = Vec::new();
        for endpoint in endpoints {
            nodes.push(TargetNode {
                name: endpoint
                    .trim_start_matches("http://")
                    .trim_start_matches("https://")
                    .to_owned(),
                channel: connect(endpoint).await?,
                endpoint: endpoint.clone(),
            });
        }
        Ok(Target {
            nodes,
            in_process: None,
        })
    }

    /// Moves every in-process node's clock `offset_ms` ahead; false for a remote cluster.
    pub fn set_clock_offset(&self, offset_ms: i64) -> bool {
        match &self.in_process {
            Some(in_process) => {
                for node in &in_process.cluster.nodes {
                    node.node.set_clock_offset(offset_ms);
                }
                true
            }
            None => false,
        }
    }

    /// The position in [`Target::nodes`] of the node that leads, when this process runs the
    /// cluster.
    pub fn leader_index(&self) -> Option<usize> {
        let cluster = &self.in_process.as_ref()?.cluster;
        cluster.nodes.iter().position(|node| {
            node.node
                .leader()
                .is_some_and(|leader| leader.node_id == node.node.node_id())
        })
    }

    /// The name of the node that leads, when this process runs the cluster.
    pub fn leader_name(&self) -> Option<&str> {
        self.leader_index()
            .map(|index| self.nodes[index].name.as_str())
    }

    /// Stops the in-process cluster (nothing for a remote one).
    pub async fn shutdown(self) {
        drop(self.nodes);
        if let Some(in_process) = self.in_process {
            for api in in_process.raised {
                api.shutdown().await;
            }
            in_process.cluster.shutdown().await;
        }
    }
}

/// The participant service of `node` as the party `bearer` names.
pub fn participant(node: &TargetNode, bearer: &Bearer) -> ParticipantClient {
    ParticipantServiceClient::with_interceptor(node.channel.clone(), bearer.clone())
}

/// The TSO service of `node` as the party `bearer` names.
pub fn tso(node: &TargetNode, bearer: &Bearer) -> TsoClient {
    TsoServiceClient::with_interceptor(node.channel.clone(), bearer.clone())
        .max_encoding_message_size(switchyard_proto::limits::MESSAGE_BYTES_MAX)
}

/// The bearer of every participant in `data` (the ten TSOs and the retailers).
pub fn bearers(data: &SampleData) -> BTreeMap<PartyId, Bearer> {
    data.tsos
        .iter()
        .chain(&data.retailers)
        .map(|participant| {
            (
                participant.party.clone(),
                Bearer::development(&participant.party),
            )
        })
        .collect()
}
