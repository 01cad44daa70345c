//! The harness of the client suites: a five-node development cluster with its public APIs in
//! this process (ephemeral ports on 127.0.0.1), clients of it for any party, node stops, and a
//! TCP proxy that loses answers.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "a harness module shared by suites that each use a part of it"
)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use switchyard_client::{Client, ClientConfig, EndpointConfig, RetryBudget};
use switchyard_domain::generator::SampleData;
use switchyard_domain::{SupplyPointImport, SupplyState, Timestamp};
use switchyard_server::dev::{DevCluster, DevNode, DevOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, MutexGuard};
use tokio::task::JoinHandle;

/// One cluster at a time per test binary: five nodes with fsyncing stores already fill a
/// two-core machine, and elections under starvation would make the suites flaky.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// The seed of the sample data, printed so that a failure can be replayed.
pub fn seed() -> u64 {
    let seed = std::env::var("SWITCHYARD_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(11);
    eprintln!("sample data seed: {seed} (set SWITCHYARD_SEED to change)");
    seed
}

/// The running cluster and the data it was loaded with.
pub struct Cluster {
    pub cluster: DevCluster,
    pub data: SampleData,
    _turn: MutexGuard<'static, ()>,
}

impl Cluster {
    /// Five nodes on ephemeral ports with `supply_points` sample supply points and six
    /// retailers.
    pub async fn start(supply_points: usize) -> Cluster {
        Cluster::start_with(supply_points, |_| {}).await
    }

    pub async fn start_with(supply_points: usize, adjust: impl FnOnce(&mut DevOptions)) -> Cluster {
        let turn = ONE_CLUSTER_AT_A_TIME.lock().await;
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
        Cluster {
            cluster,
            data,
            _turn: turn,
        }
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> &DevNode {
        self.cluster
            .nodes
            .iter()
            .find(|node| node.name == name)
            .unwrap_or_else(|| panic!("no running node {name}"))
    }

    /// The endpoint URL of node `name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}", self.node(name).api.local_address())
    }

    /// The name of the node serving `url`.
    pub fn name_of(&self, url: &str) -> &'static str {
        self.cluster
            .nodes
            .iter()
            .find(|node| format!("http://{}", node.api.local_address()) == url)
            .unwrap_or_else(|| panic!("no running node serves {url}"))
            .name
    }

    /// The name of the leader, waiting up to 30 s for one.
    pub async fn leader(&self) -> &'static str {
        self.cluster
            .leader(Duration::from_secs(30))
            .await
            .expect("a leader within 30 s")
            .name
    }

    /// Every running node's endpoint, labelled with its site, leader first when `leader_first`.
    pub fn endpoints(&self) -> Vec<EndpointConfig> {
        self.cluster
            .nodes
            .iter()
            .map(|node| {
                EndpointConfig::new(format!("http://{}", node.api.local_address()))
                    .at_site(node.node.site().to_string())
            })
            .collect()
    }

    /// The configuration of a client of every node as `party`, with bounds generous enough for
    /// an election on a loaded two-core machine.
    pub fn config(&self, party: &str) -> ClientConfig {
        let mut config = ClientConfig::new(Vec::<String>::new()).with_dev_token(party);
        config.endpoints = self.endpoints();
        config.attempt_timeout = Duration::from_secs(5);
        config.connect_timeout = Duration::from_secs(1);
        config.retry = RetryBudget {
            attempts_max: 60,
            total_time_max: Duration::from_secs(60),
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(500),
        };
        config.request_id_prefix = format!("test-{}", party.replace(':', "."));
        config
    }

    /// A client of every node as `party`.
    pub async fn client(&self, party: &str) -> Client {
        Client::connect(self.config(party))
            .await
            .expect("a valid configuration")
    }

    /// Stops node `name` the way an operator would (public API, then Raft) and takes it out
    /// of the cluster.
    pub async fn stop(&mut self, name: &str) {
        let index = self
            .cluster
            .nodes
            .iter()
            .position(|node| node.name == name)
            .unwrap_or_else(|| panic!("no running node {name}"));
        let node = self.cluster.nodes.remove(index);
        eprintln!("stopping {name}");
        node.api.shutdown().await;
        node.node.shutdown().await.expect("the node stops");
    }

    /// A supply point supplied by a retailer, and that retailer's code.
    pub fn supplied_point(&self, skip: usize) -> (SupplyPointImport, String) {
        self.supplied_points()
            .nth(skip)
            .expect("enough supplied points")
    }

    /// Every supply point supplied by a retailer, with that retailer's code.
    pub fn supplied_points(&self) -> impl Iterator<Item = (SupplyPointImport, String)> + '_ {
        self.data
            .supply_points
            .iter()
            .filter_map(|point| match &point.supply {
                SupplyState::Supplying { retailer, .. } => {
                    Some((point.clone(), retailer.to_string()))
                }
                SupplyState::Stopped => None,
            })
    }

    /// The points not supplied by `retailer` (so that it may ask for a stop on behalf).
    pub fn points_supplied_by_others(&self, retailer: &str) -> Vec<String> {
        self.supplied_points()
            .filter(|(_, supplier)| supplier != retailer)
            .map(|(point, _)| point.number.to_string())
            .collect()
    }

    /// The first retailer of the sample data.
    pub fn retailer(&self) -> String {
        self.data
            .retailers
            .first()
            .expect("a retailer")
            .party
            .to_string()
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
}

/// A write that produces an event (the first retailer replaces its contacts), made after
/// everything before it: its revision bounds the events a suite waits for.
pub async fn sentinel_write(cluster: &Cluster) -> u64 {
    let retailer = cluster.retailer();
    let written = cluster
        .client(&retailer)
        .await
        .update_contacts(switchyard_client::v1::UpdateContactsRequest {
            contacts: vec![switchyard_client::v1::Contact {
                name: "Operations desk".into(),
                role: "operations desk".into(),
                email: "desk@retailer.example".into(),
                phone: "03-0000-0000".into(),
            }],
            ..Default::default()
        })
        .await
        .expect("the sentinel write");
    written.revision
}

/// A date `days` after today (JST), as the wire writes it.
pub fn days_ahead(days: i32) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    Timestamp(now).jst_date().add_days(days).to_string()
}

/// Waits for `future` at most `bound`, failing the test with `what` otherwise.
pub async fn within<T>(bound: Duration, what: &str, future: impl Future<Output = T>) -> T {
    let started = Instant::now();
    match tokio::time::timeout(bound, future).await {
        Ok(value) => value,
        Err(_) => panic!(
            "{what}: not done within {} ms (waited {} ms)",
            bound.as_millis(),
            started.elapsed().as_millis()
        ),
    }
}

/// Polls `condition` every 20 ms until it holds, failing the test with `what` after `bound`.
pub async fn wait_until(bound: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < bound,
            "{what}: not true within {} ms",
            bound.as_millis()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The HTTP/2 frame type of HEADERS.
const HEADERS_FRAME: u8 = 0x1;

/// A TCP proxy in front of one node that loses answers: the first `answers_to_lose` responses
/// the node sends (an HTTP/2 HEADERS frame on a request stream, which a unary gRPC server
/// sends only once its handler has finished) never reach the client — the proxy cuts the
/// connection instead of forwarding them. Everything else passes through unchanged.
pub struct AnswerLosingProxy {
    pub address: SocketAddr,
    lost: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl AnswerLosingProxy {
    pub async fn start(upstream: SocketAddr, answers_to_lose: usize) -> AnswerLosingProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy binds");
        let address = listener.local_addr().expect("a bound address");
        let to_lose = Arc::new(AtomicUsize::new(answers_to_lose));
        let lost = Arc::new(AtomicUsize::new(0));
        let task = {
            let lost = Arc::clone(&lost);
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let to_lose = Arc::clone(&to_lose);
                    let lost = Arc::clone(&lost);
                    tokio::spawn(async move {
                        if let Ok(server) = TcpStream::connect(upstream).await {
                            relay(client, server, &to_lose, &lost).await;
                        }
                    });
                }
            })
        };
        AnswerLosingProxy {
            address,
            lost,
            task,
        }
    }

    /// How many answers were lost so far.
    pub fn lost(&self) -> usize {
        self.lost.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for AnswerLosingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Relays one connection: bytes from the client as they come; frames from the server one by
/// one, until a response's HEADERS frame is to be lost, which ends the connection both ways.
async fn relay(client: TcpStream, server: TcpStream, to_lose: &AtomicUsize, lost: &AtomicUsize) {
    client.set_nodelay(true).ok();
    server.set_nodelay(true).ok();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::spawn(async move {
        tokio::io::copy(&mut client_read, &mut server_write)
            .await
            .ok();
        server_write.shutdown().await.ok();
    });
    let mut header = [0_u8; 9];
    loop {
        if server_read.read_exact(&mut header).await.is_err() {
            break;
        }
        let length =
            (usize::from(header[0]) << 16) | (usize::from(header[1]) << 8) | usize::from(header[2]);
        let frame_type = header[3];
        let stream_id =
            u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
        let mut payload = vec![0_u8; length];
        if server_read.read_exact(&mut payload).await.is_err() {
            break;
        }
        if frame_type == HEADERS_FRAME
            && stream_id != 0
            && to_lose
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok()
        {
            lost.fetch_add(1, Ordering::SeqCst);
            eprintln!("proxy: the answer on stream {stream_id} is lost; cutting the connection");
            break;
        }
        if client_write.write_all(&header).await.is_err()
            || client_write.write_all(&payload).await.is_err()
        {
            break;
        }
    }
    upstream.abort();
}
