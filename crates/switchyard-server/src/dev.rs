//! `switchyard dev`: a complete local cluster in one process, for trying Switchyard and for
//! developing against it.
//!
//! Five nodes on loopback in the production layout — tokyo-1, tokyo-2, osaka-1, osaka-2 and
//! witness-1 — each with its own data directory, Raft port and public API port, real sled stores
//! with real fdatasync, real gRPC between them. Sample data from the domain generator is loaded
//! through Raft (the ten TSOs, the retailers, the supply points), and every participant gets a
//! development bearer token. Development mode only: plain-text HTTP/2 and tokens that never
//! expire. Every node also serves its metrics (`GET /metrics`), on the ports 200 above the API
//! ports.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use switchyard_api::{ApiConfig, ApiHandle, dev_token};
use switchyard_domain::generator::{GeneratorConfig, SampleData};
use switchyard_domain::{
    Command, Date, OperatorId, Participant, PartyId, SupplyPointImport, SupplyState,
};
use switchyard_raft::{
    Bootstrap, InitialMember, Node, NodeConfig, NodeHandle, NodeId, RaftSettings, Site, StoreConfig,
};
use tokio::net::TcpListener;

use crate::metrics_endpoint::MetricsEndpoint;

/// The five nodes: id, name, site.
pub const LAYOUT: [(NodeId, &str, Site); 5] = [
    (1, "tokyo-1", Site::Tokyo),
    (2, "tokyo-2", Site::Tokyo),
    (3, "osaka-1", Site::Osaka),
    (4, "osaka-2", Site::Osaka),
    (5, "witness-1", Site::Witness),
];

/// The operator account of the development cluster.
pub const DEV_OPERATOR: &str = "operator";

/// Offset of the Raft ports from the API ports with a fixed base port.
const RAFT_PORT_OFFSET: u16 = 100;
/// Offset of the metrics ports from the API ports with a fixed base port.
const METRICS_PORT_OFFSET: u16 = 200;
/// Page cache per node: five nodes share one machine.
const DEV_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// Import batches in flight while loading.
const LOAD_CONCURRENCY: usize = 4;
/// Longest wait for the first leader.
const LEADER_WAIT: Duration = Duration::from_secs(30);
/// How long the followers get to apply the sample data the leader has applied.
const CATCH_UP_WAIT: Duration = Duration::from_secs(60);

/// How to start the development cluster.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// Where the nodes keep their data; `None`: a temporary directory removed on exit.
    pub data_dir: Option<PathBuf>,
    /// The first public API port (tokyo-1); the others follow, the Raft ports are 100 higher and
    /// the metrics ports 200 higher. 0: every port chosen by the system.
    pub base_port: u16,
    pub supply_points: usize,
    pub retailers: usize,
    pub seed: u64,
    /// How many revisions of events the nodes keep for watches.
    pub event_revisions_retained: u64,
}

impl Default for DevOptions {
    fn default() -> DevOptions {
        DevOptions {
            data_dir: None,
            base_port: 7400,
            supply_points: 100_000,
            retailers: 20,
            seed: 1,
            event_revisions_retained: switchyard_store::EVENT_REVISIONS_RETAINED,
        }
    }
}

/// Why the development cluster did not come up.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("cannot prepare the data directory: {0}")]
    Directory(std::io::Error),
    #[error(
        "cannot listen on {address}: {source} (is another `switchyard dev` running? try --base-port)"
    )]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("node {name} did not start: {message}")]
    Start { name: &'static str, message: String },
    #[error("no leader within {0:?}")]
    NoLeader(Duration),
    #[error("loading the sample data failed: {0}")]
    Load(String),
}

/// One node of the development cluster.
#[derive(Debug)]
pub struct DevNode {
    pub name: &'static str,
    pub node: Arc<NodeHandle>,
    pub api: ApiHandle,
    /// `GET /metrics` of this node.
    pub metrics: MetricsEndpoint,
}

/// The running development cluster.
#[derive(Debug)]
pub struct DevCluster {
    pub nodes: Vec<DevNode>,
    /// Every participant's development token, by party.
    pub tokens: BTreeMap<PartyId, String>,
    pub data_dir: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

/// What loading put in.
#[derive(Debug, Clone)]
pub struct LoadSummary {
    pub participants: Vec<Participant>,
    pub supply_points: usize,
    /// A few supply points to try, with their current retailer.
    pub examples: Vec<SupplyPointImport>,
    pub already_loaded: bool,
}

/// The production timings; operators want the leader in Tokyo, as in the template.
fn dev_settings() -> RaftSettings {
    RaftSettings {
        preferred_leader_site: Some(Site::Tokyo),
        ..RaftSettings::default()
    }
}

/// The party ids that get development tokens: the operator, every TSO, every retailer.
fn token_parties(data: &SampleData) -> Vec<PartyId> {
    let mut parties = vec![PartyId::Operator(
        OperatorId::parse(DEV_OPERATOR).expect("a valid operator id"),
    )];
    parties.extend(
        data.tsos
            .iter()
            .chain(&data.retailers)
            .map(|participant| participant.party.clone()),
    );
    parties
}

/// The sample data of `options`.
pub fn sample_data(options: &DevOptions) -> SampleData {
    SampleData::generate(&GeneratorConfig {
        seed: options.seed,
        supply_points: options.supply_points,
        retailers: options.retailers,
        as_of: Date::from_ymd(2026, 11, 1).expect("a valid date"),
    })
}

async fn bind(port: u16) -> Result<TcpListener, DevError> {
    let address = format!("127.0.0.1:{port}");
    TcpListener::bind(&address)
        .await
        .map_err(|source| DevError::Bind { address, source })
}

impl DevCluster {
    /// Starts the five nodes and their public APIs and waits for a leader.
    pub async fn start(options: &DevOptions, data: &SampleData) -> Result<DevCluster, DevError> {
        let (data_dir, temporary) = match &options.data_dir {
            Some(directory) => {
                std::fs::create_dir_all(directory).map_err(DevError::Directory)?;
                (directory.clone(), None)
            }
            None => {
                let temporary = tempfile::Builder::new()
                    .prefix("switchyard-dev-")
                    .tempdir()
                    .map_err(DevError::Directory)?;
                (temporary.path().to_owned(), Some(temporary))
            }
        };
        let tokens: BTreeMap<PartyId, String> = token_parties(data)
            .into_iter()
            .map(|party| {
                let token = dev_token(&party);
                (party, token)
            })
            .collect();
        let api_config = ApiConfig::development(
            tokens
                .iter()
                .map(|(party, token)| (token.clone(), party.clone()))
                .collect(),
        );

        let port = |offset: u16, index: usize| {
            if options.base_port == 0 {
                0
            } else {
                options.base_port + offset + index as u16
            }
        };
        let mut listeners = Vec::new();
        let mut metrics_listeners = Vec::new();
        for (index, _) in LAYOUT.iter().enumerate() {
            listeners.push(bind(port(0, index)).await?);
            metrics_listeners.push(bind(port(METRICS_PORT_OFFSET, index)).await?);
        }
        let api_addresses: Vec<String> = listeners
            .iter()
            .map(|listener| {
                listener
                    .local_addr()
                    .map(|address| address.to_string())
                    .unwrap_or_default()
            })
            .collect();
        let config = |index: usize, bootstrap: Bootstrap| {
            let (node_id, name, site) = LAYOUT[index];
            let mut store = StoreConfig::new(data_dir.join(name));
            store.cache_capacity_bytes = DEV_CACHE_BYTES;
            store.event_revisions_retained = options.event_revisions_retained;
            let raft_port = port(RAFT_PORT_OFFSET, index);
            let mut config = NodeConfig::new(
                node_id,
                site,
                format!("127.0.0.1:{raft_port}")
                    .parse()
                    .expect("an address"),
                store,
            );
            config.api_address = api_addresses[index].clone();
            config.raft = dev_settings();
            config.bootstrap = bootstrap;
            config
        };
        // The followers first, so that tokyo-1 can initialize the cluster with their bound
        // addresses (a restart with existing data directories never initializes again).
        let mut handles: Vec<Option<Arc<NodeHandle>>> = vec![None; LAYOUT.len()];
        for index in 1..LAYOUT.len() {
            let handle = Node::start(config(index, Bootstrap::Join))
                .await
                .map_err(|error| DevError::Start {
                    name: LAYOUT[index].1,
                    message: error.to_string(),
                })?;
            handles[index] = Some(Arc::new(handle));
        }
        let mut members = BTreeMap::new();
        for (index, (node_id, _, site)) in LAYOUT.iter().enumerate() {
            members.insert(
                *node_id,
                InitialMember {
                    site: *site,
                    raft_address: handles[index]
                        .as_ref()
                        .map(|handle| handle.advertised_address().to_owned())
                        .unwrap_or_default(),
                    api_address: api_addresses[index].clone(),
                },
            );
        }
        let first = Node::start(config(0, Bootstrap::Initialize { members }))
            .await
            .map_err(|error| DevError::Start {
                name: LAYOUT[0].1,
                message: error.to_string(),
            })?;
        handles[0] = Some(Arc::new(first));

        let mut nodes = Vec::new();
        for (((index, handle), listener), metrics_listener) in handles
            .into_iter()
            .enumerate()
            .zip(listeners)
            .zip(metrics_listeners)
        {
            let handle = handle.expect("every node started");
            let metrics = MetricsEndpoint::start_with_listener(
                Arc::clone(handle.metrics_registry()),
                metrics_listener,
            )
            .map_err(|error| DevError::Start {
                name: LAYOUT[index].1,
                message: error.to_string(),
            })?;
            let api = switchyard_api::start_with_listener(
                Arc::clone(&handle),
                api_config.clone(),
                listener,
            )
            .await
            .map_err(|error| DevError::Start {
                name: LAYOUT[index].1,
                message: error.to_string(),
            })?;
            nodes.push(DevNode {
                name: LAYOUT[index].1,
                node: handle,
                api,
                metrics,
            });
        }
        let cluster = DevCluster {
            nodes,
            tokens,
            data_dir,
            _temporary: temporary,
        };
        cluster.leader(LEADER_WAIT).await?;
        Ok(cluster)
    }

    /// The node that leads, waiting up to `wait` for one.
    pub async fn leader(&self, wait: Duration) -> Result<&DevNode, DevError> {
        let started = Instant::now();
        loop {
            if let Some(node) = self.nodes.iter().find(|node| {
                node.node
                    .leader()
                    .is_some_and(|leader| leader.node_id == node.node.node_id())
            }) {
                return Ok(node);
            }
            if started.elapsed() > wait {
                return Err(DevError::NoLeader(wait));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Loads `data` through Raft, unless it is there already (a restart on the same data
    /// directory). `progress` is told the supply points loaded so far.
    pub async fn load(
        &self,
        data: &SampleData,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<LoadSummary, DevError> {
        let leader = self.leader(LEADER_WAIT).await?;
        let node = Arc::clone(&leader.node);
        let examples: Vec<SupplyPointImport> = data
            .supply_points
            .iter()
            .filter(|point| matches!(point.supply, SupplyState::Supplying { .. }))
            .take(3)
            .cloned()
            .collect();
        let participants: Vec<Participant> =
            data.tsos.iter().chain(&data.retailers).cloned().collect();
        let already_loaded = node
            .store()
            .state_machine
            .read(|view| {
                data.supply_points
                    .last()
                    .is_some_and(|point| view.supply_point(&point.number).is_some())
            })
            .map_err(|error| DevError::Load(error.to_string()))?;
        if already_loaded {
            return Ok(LoadSummary {
                participants,
                supply_points: data.supply_points.len(),
                examples,
                already_loaded: true,
            });
        }
        let operator = OperatorId::parse(DEV_OPERATOR).expect("a valid operator id");
        let envelopes = data.commands(&operator);
        let (setup, imports): (Vec<_>, Vec<_>) = envelopes
            .into_iter()
            .partition(|envelope| !matches!(envelope.command, Command::ImportSupplyPoints { .. }));
        for envelope in setup {
            let answer = node
                .client_write(envelope)
                .await
                .map_err(|error| DevError::Load(error.to_string()))?;
            answer
                .outcome
                .map_err(|rejection| DevError::Load(rejection.to_string()))?;
        }
        let total = data.supply_points.len();
        let mut loaded = 0;
        let mut writes = futures::stream::iter(imports.into_iter().map(|envelope| {
            let node = Arc::clone(&node);
            async move { node.client_write(envelope).await }
        }))
        .buffer_unordered(LOAD_CONCURRENCY);
        while let Some(answer) = writes.next().await {
            let answer = answer.map_err(|error| DevError::Load(error.to_string()))?;
            match answer.outcome {
                Ok(switchyard_domain::Accepted::SupplyPointsImported { created, updated }) => {
                    loaded += (created + updated) as usize;
                    progress(loaded, total);
                }
                Ok(other) => return Err(DevError::Load(format!("unexpected answer {other:?}"))),
                Err(rejection) => return Err(DevError::Load(rejection.to_string())),
            }
        }
        self.wait_until_all_applied(node.applied_index(), CATCH_UP_WAIT)
            .await?;
        Ok(LoadSummary {
            participants,
            supply_points: total,
            examples,
            already_loaded: false,
        })
    }

    /// Waits until every node has applied the log up to `index`, so that a local read on any
    /// node sees the sample data once the cluster says it is ready.
    async fn wait_until_all_applied(&self, index: u64, wait: Duration) -> Result<(), DevError> {
        let deadline = tokio::time::Instant::now() + wait;
        for node in &self.nodes {
            let mut applied = node.node.applied_index();
            while applied < index {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() {
                    return Err(DevError::Load(format!(
                        "{} applied the log only up to {applied} of {index} within {wait:?}",
                        node.name
                    )));
                }
                applied = node.node.wait_applied_beyond(applied, left).await;
            }
        }
        Ok(())
    }

    /// The public API endpoint of every node, as `http://host:port`.
    pub fn endpoints(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("http://{}", node.api.local_address()))
            .collect()
    }

    /// The metrics endpoint of every node, as `http://host:port/metrics`.
    pub fn metrics_urls(&self) -> Vec<String> {
        self.nodes.iter().map(|node| node.metrics.url()).collect()
    }

    /// Stops every node: public APIs first, then Raft, then the metrics endpoints.
    pub async fn shutdown(self) {
        for node in &self.nodes {
            node.node.shutdown().await.ok();
        }
        for node in self.nodes {
            node.api.shutdown().await;
            node.metrics.shutdown().await;
        }
    }

    /// The text printed once the cluster is ready: endpoints, tokens, examples.
    pub fn banner(&self, summary: &LoadSummary, options: &DevOptions) -> String {
        use std::fmt::Write as _;
        let mut text = String::new();
        let leader = self
            .nodes
            .iter()
            .find(|node| {
                node.node
                    .leader()
                    .is_some_and(|leader| leader.node_id == node.node.node_id())
            })
            .map_or("none yet", |node| node.name);
        let _ = writeln!(
            text,
            "Switchyard development cluster: five nodes on loopback, data in {}",
            self.data_dir.display()
        );
        let _ = writeln!(
            text,
            "DEVELOPMENT MODE: plain-text gRPC and bearer tokens. Never use this in production.\n"
        );
        let _ = writeln!(
            text,
            "  {:<4} {:<10} {:<8} {:<22} {:<22} {:<22}",
            "id", "node", "site", "public API", "raft", "metrics"
        );
        for node in &self.nodes {
            let _ = writeln!(
                text,
                "  {:<4} {:<10} {:<8} {:<22} {:<22} {:<22}",
                node.node.node_id(),
                node.name,
                node.node.site().to_string(),
                node.api.local_address().to_string(),
                node.node.raft_address().to_string(),
                node.metrics.local_address().to_string()
            );
        }
        let _ = writeln!(text, "\nleader: {leader}");
        let _ = writeln!(
            text,
            "sample data (seed {}): {} supply points, {} participants{}",
            options.seed,
            summary.supply_points,
            summary.participants.len(),
            if summary.already_loaded {
                " (already loaded)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            text,
            "\ndevelopment tokens (send `authorization: Bearer <token>`):"
        );
        for (party, token) in &self.tokens {
            let name = summary
                .participants
                .iter()
                .find(|participant| &participant.party == party)
                .map_or_else(
                    || "operator".to_owned(),
                    |participant| participant.name.to_string(),
                );
            let _ = writeln!(text, "  {:<12} {:<16} {}", party.to_string(), token, name);
        }
        if !summary.examples.is_empty() {
            let _ = writeln!(text, "\nsupply points to try:");
            for point in &summary.examples {
                let supplier = match &point.supply {
                    SupplyState::Supplying { retailer, .. } => retailer.to_string(),
                    SupplyState::Stopped => "-".to_owned(),
                };
                let _ = writeln!(text, "  {}  supplied by {}", point.number, supplier);
            }
        }
        let endpoint = self.nodes[0].api.local_address();
        let example = summary.examples.first().map_or_else(
            || "<supply point>".to_owned(),
            |point| point.number.to_string(),
        );
        let retailer = summary
            .participants
            .iter()
            .find_map(|participant| participant.party.retailer())
            .map_or_else(|| "A1001".to_owned(), |code| code.to_string());
        let _ = writeln!(text, "\ntry:");
        let _ = writeln!(
            text,
            "  swctl --endpoint {} --token dev-{retailer} lookup {example}",
            self.endpoints().join(",")
        );
        let _ = writeln!(
            text,
            "  grpcurl -plaintext -H 'authorization: Bearer dev-{retailer}' -d '{{\"supply_point_number\":\"{example}\"}}' {endpoint} switchyard.v1.ParticipantService/LookUpSupplyPoint"
        );
        let _ = writeln!(text, "  curl -s {}", self.nodes[0].metrics.url());
        text
    }
}
