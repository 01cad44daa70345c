//! Starting a node, and the handle to a running one.
//!
//! [`Node::start`] opens the store, builds the openraft configuration, binds the internal gRPC
//! server, starts Raft and the disk-stall watcher, and initializes the cluster when (and only
//! when) this node is the configured initializer and its store is completely fresh.
//! [`NodeHandle`] is what the rest of the server uses: writes (stamped and forwarded to the
//! leader), linearizable read barriers, leadership and membership control, metrics, shutdown.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::storage::{RaftLogReader, RaftLogStorage};
use switchyard_domain::{Envelope, Outcome};
use switchyard_proto::raft::v1::raft_service_server::RaftServiceServer;
use switchyard_store::{StateMachine, Store};
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::config::{Bootstrap, NodeConfig, RaftSettings};
use crate::error::{LeaderInfo, NodeError, NotServingReason, StartError};
use crate::leadership::MembershipChange;
use crate::limits::{
    RAFT_MESSAGE_BYTES_MAX, RAFT_STREAMS_PER_CONNECTION_MAX, SNAPSHOT_RECEIVES_CONCURRENT_MAX,
};
use crate::network::{NetworkFactory, Peers};
use crate::server::RaftServer;
use crate::{ClusterNode, NodeId, Site, TypeConfig};

/// The Raft instance of a node: Switchyard's types over the sled state machine.
pub type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// A snapshot of a node's Raft metrics.
pub type RaftMetrics = openraft::RaftMetrics<TypeConfig>;

/// How long a graceful shutdown lets in-flight internal RPCs finish before it drops them.
const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a graceful shutdown waits for the Raft core to stop. A core blocked on a stalled
/// disk stops only when the disk answers; the shutdown does not wait for that.
const RAFT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The answer to a client write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteAnswer {
    /// The log index of the entry that carried the write: the revision of its events.
    pub revision: u64,
    /// The domain's answer: accepted, or refused by a rule.
    pub outcome: Outcome,
    /// Whether the answer is the remembered first answer of a retried request id (nothing was
    /// applied again).
    pub replayed: bool,
    /// The node that led when the write was applied.
    pub leader: NodeId,
}

/// What every part of a running node shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) node_id: NodeId,
    pub(crate) site: Site,
    pub(crate) cluster_epoch: u64,
    pub(crate) settings: RaftSettings,
    pub(crate) raft: Raft,
    pub(crate) store: Store,
    pub(crate) peers: Peers,
    pub(crate) clock: Clock,
    pub(crate) shutting_down: AtomicBool,
    /// Permits for concurrent snapshot receptions.
    pub(crate) snapshot_receives: Semaphore,
    /// When the node started, the origin of `last_append_ms`.
    pub(crate) started: std::time::Instant,
    /// Milliseconds after `started` at which a leader last replicated to (or heartbeated) this
    /// node; 0 before the first time.
    pub(crate) last_append_ms: std::sync::atomic::AtomicU64,
    /// The node's metrics: everything the store, Raft and the public API measure.
    pub(crate) registry: Arc<switchyard_metrics::Registry>,
    pub(crate) instruments: crate::metrics::RaftInstruments,
}

impl Shared {
    /// Why this node does not serve right now, if it does not.
    pub(crate) fn not_serving_reason(&self) -> Option<NotServingReason> {
        if self.shutting_down.load(Ordering::SeqCst) {
            Some(NotServingReason::ShuttingDown)
        } else if self.peers.is_fenced() {
            Some(NotServingReason::StaleClusterEpoch)
        } else if !self.store.health().is_healthy() {
            Some(NotServingReason::DiskStalled)
        } else {
            None
        }
    }

    pub(crate) fn ensure_serving(&self) -> Result<(), NodeError> {
        match self.not_serving_reason() {
            Some(reason) => Err(NodeError::NotServing { reason }),
            None => Ok(()),
        }
    }

    /// The latest metrics of the Raft core.
    pub(crate) fn metrics(&self) -> RaftMetrics {
        self.raft.metrics().borrow_watched().clone()
    }

    /// The leader as the metrics know it, with its addresses from the membership.
    pub(crate) fn leader_info(&self, metrics: &RaftMetrics) -> Option<LeaderInfo> {
        let leader = metrics.current_leader?;
        let node = metrics.membership_config.membership().get_node(&leader);
        Some(LeaderInfo {
            node_id: leader,
            site: node.map(|node| node.site),
            raft_address: node
                .map(|node| node.raft_address.clone())
                .unwrap_or_default(),
            api_address: node
                .map(|node| node.api_address.clone())
                .unwrap_or_default(),
            term: metrics.vote.leader_id.term,
        })
    }

    /// Records that a leader just replicated to (or heartbeated) this node.
    pub(crate) fn heard_from_leader(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_append_ms.fetch_max(now.max(1), Ordering::Relaxed);
    }

    /// Whether this node leads, as far as its metrics say.
    pub(crate) fn leads(&self, metrics: &RaftMetrics) -> bool {
        leads(metrics, self.node_id)
    }

    /// See [`NodeHandle::leader_contact_age`]; `metrics` are the Raft core's latest.
    pub(crate) fn leader_contact_age_with(&self, metrics: &RaftMetrics) -> Option<Duration> {
        if self.leads(metrics) {
            use openraft::Instant as _;
            return metrics.last_quorum_acked.map(|acked| acked.elapsed());
        }
        match self.last_append_ms.load(Ordering::Relaxed) {
            0 => None,
            at => Some(
                self.started
                    .elapsed()
                    .saturating_sub(Duration::from_millis(at)),
            ),
        }
    }
}

/// Starts nodes.
#[derive(Debug)]
pub struct Node;

impl Node {
    /// Starts a node: opens its store, starts Raft and the internal gRPC server, and initializes
    /// the cluster if this node is the initializer and its store is fresh.
    pub async fn start(config: NodeConfig) -> Result<NodeHandle, StartError> {
        config.validate()?;
        let openraft_config = Arc::new(config.raft.openraft_config()?);
        let registry = Arc::new(switchyard_metrics::Registry::for_node(
            config.node_id,
            config.site.name(),
        ));
        let store = Store::open_measured(&config.store, &registry)?;
        let fresh = store_is_fresh(&store).await?;
        // A disaster cutover records the new epoch in the store: it wins over an older config.
        let cluster_epoch = config.cluster_epoch.max(
            store
                .log
                .cluster_epoch()
                .map_err(|error| StartError::Store(error.into()))?,
        );

        let listener = tokio::net::TcpListener::bind(config.raft_listen_address)
            .await
            .map_err(|source| StartError::Bind {
                address: config.raft_listen_address,
                source,
            })?;
        let raft_address = listener.local_addr().map_err(|source| StartError::Bind {
            address: config.raft_listen_address,
            source,
        })?;
        let advertised_address = if config.raft_advertise_address.is_empty() {
            raft_address.to_string()
        } else {
            config.raft_advertise_address.clone()
        };

        let peers = Peers::new(&config.raft, config.peer_dial_overrides.clone());
        let network = NetworkFactory {
            local_id: config.node_id,
            cluster_epoch,
            peers: peers.clone(),
        };
        let raft = Raft::new(
            config.node_id,
            openraft_config,
            network,
            store.log.clone(),
            store.state_machine.clone(),
        )
        .await?;
        let shared = Arc::new(Shared {
            node_id: config.node_id,
            site: config.site,
            cluster_epoch,
            settings: config.raft.clone(),
            raft,
            store,
            peers,
            clock: Clock::default(),
            shutting_down: AtomicBool::new(false),
            snapshot_receives: Semaphore::new(SNAPSHOT_RECEIVES_CONCURRENT_MAX),
            started: std::time::Instant::now(),
            last_append_ms: std::sync::atomic::AtomicU64::new(0),
            instruments: crate::metrics::RaftInstruments::register(&registry),
            registry,
        });
        shared
            .registry
            .register_collector(crate::metrics::RaftCollector {
                shared: Arc::downgrade(&shared),
            });
        let leader_changes_task = tokio::spawn(crate::metrics::count_leader_changes(
            shared.raft.clone(),
            shared.instruments.leader_changes(),
        ));

        let (stop_server, server_stopped) = oneshot::channel::<()>();
        let service = RaftServiceServer::new(RaftServer::new(Arc::clone(&shared)))
            .max_decoding_message_size(RAFT_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(RAFT_MESSAGE_BYTES_MAX);
        let settings = &config.raft;
        // With our own listener, tonic ignores the builder's TCP_NODELAY and keepalive: they
        // must be set on the incoming stream. Without TCP_NODELAY, Nagle's algorithm and delayed
        // ACKs hold small replies for ~40 ms.
        let incoming = tonic::transport::server::TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(Duration::from_millis(settings.tcp_keepalive_ms)));
        let server = tonic::transport::Server::builder()
            .max_concurrent_streams(Some(RAFT_STREAMS_PER_CONNECTION_MAX))
            .http2_keepalive_interval(Some(Duration::from_millis(
                settings.http2_keepalive_interval_ms,
            )))
            .http2_keepalive_timeout(Some(Duration::from_millis(
                settings.http2_keepalive_timeout_ms,
            )))
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async {
                server_stopped.await.ok();
            });
        let node_id = config.node_id;
        let server_task = tokio::spawn(async move {
            if let Err(error) = server.await {
                tracing::error!(node_id, error = %error, "the internal Raft server failed");
            }
        });
        tracing::info!(
            node_id,
            site = %config.site,
            raft_address = %raft_address,
            advertised_address = %advertised_address,
            fresh,
            "node started"
        );

        if let Bootstrap::Initialize { members } = &config.bootstrap {
            if fresh {
                initialize(&shared, &config, members, &advertised_address).await?;
            } else {
                tracing::info!(
                    node_id,
                    "the store holds Raft state already; the cluster is not initialized again"
                );
            }
        }

        let (stop_watcher, watcher_stopped) = oneshot::channel::<()>();
        let watcher_task = tokio::spawn(crate::stall::watch(Arc::clone(&shared), watcher_stopped));

        Ok(NodeHandle {
            shared,
            raft_address,
            advertised_address,
            background: std::sync::Mutex::new(Some(Background {
                stop_server,
                server_task,
                stop_watcher,
                watcher_task,
                leader_changes_task,
            })),
        })
    }
}

/// Whether the store has never voted, logged or applied anything.
async fn store_is_fresh(store: &Store) -> Result<bool, StartError> {
    let mut log = store.log.clone();
    let io = |error: std::io::Error| StartError::Store(error.into());
    let vote = log.read_vote().await.map_err(io)?;
    let state = log.get_log_state().await.map_err(io)?;
    let applied = store.state_machine.last_applied().map_err(io)?;
    Ok(vote.is_none()
        && state.last_log_id.is_none()
        && state.last_purged_log_id.is_none()
        && applied.is_none())
}

async fn initialize(
    shared: &Shared,
    config: &NodeConfig,
    members: &BTreeMap<NodeId, crate::config::InitialMember>,
    advertised_address: &str,
) -> Result<(), StartError> {
    let mut nodes = BTreeMap::new();
    for (node_id, member) in members {
        let own = *node_id == config.node_id;
        if own && !member.raft_address.is_empty() && member.raft_address != advertised_address {
            return Err(StartError::Initialize(format!(
                "this node's initial address {} is not the address it serves at, {advertised_address}",
                member.raft_address
            )));
        }
        nodes.insert(
            *node_id,
            ClusterNode {
                site: member.site,
                raft_address: if own {
                    advertised_address.to_owned()
                } else {
                    member.raft_address.clone()
                },
                api_address: if own && member.api_address.is_empty() {
                    config.api_address.clone()
                } else {
                    member.api_address.clone()
                },
            },
        );
    }
    tracing::info!(
        node_id = config.node_id,
        members = ?nodes.keys().collect::<Vec<_>>(),
        "initializing the cluster"
    );
    shared
        .raft
        .initialize(nodes)
        .await
        .map_err(|error| StartError::Initialize(error.to_string()))
}

/// The server and watcher tasks of a node, stopped by [`NodeHandle::shutdown`].
#[derive(Debug)]
struct Background {
    stop_server: oneshot::Sender<()>,
    server_task: JoinHandle<()>,
    stop_watcher: oneshot::Sender<()>,
    watcher_task: JoinHandle<()>,
    /// Counts leader changes for the metrics; ends by itself when Raft stops.
    leader_changes_task: JoinHandle<()>,
}

/// A running node.
#[derive(Debug)]
pub struct NodeHandle {
    pub(crate) shared: Arc<Shared>,
    raft_address: SocketAddr,
    advertised_address: String,
    background: std::sync::Mutex<Option<Background>>,
}

impl NodeHandle {
    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.shared.node_id
    }

    /// This node's site.
    pub fn site(&self) -> Site {
        self.shared.site
    }

    /// The cluster epoch this node belongs to (raised by a forced disaster cutover).
    pub fn cluster_epoch(&self) -> u64 {
        self.shared.cluster_epoch
    }

    /// The node's settings (timings, bounds).
    pub fn settings(&self) -> &crate::RaftSettings {
        &self.shared.settings
    }

    /// The address the internal Raft server is bound to (the real port when 0 was asked for).
    pub fn raft_address(&self) -> SocketAddr {
        self.raft_address
    }

    /// The `host:port` peers use to reach this node, as recorded in the membership.
    pub fn advertised_address(&self) -> &str {
        &self.advertised_address
    }

    /// This node's entry for the membership: its site and addresses.
    pub fn cluster_node(&self, api_address: &str) -> ClusterNode {
        ClusterNode {
            site: self.shared.site,
            raft_address: self.advertised_address.clone(),
            api_address: api_address.to_owned(),
        }
    }

    /// The Raft instance, for what this handle does not offer.
    pub fn raft(&self) -> &Raft {
        &self.shared.raft
    }

    /// The node's store: state reads, state hash, disk health.
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The latest Raft metrics.
    pub fn metrics(&self) -> RaftMetrics {
        self.shared.metrics()
    }

    /// The leader as this node knows it.
    pub fn leader(&self) -> Option<LeaderInfo> {
        self.shared.leader_info(&self.shared.metrics())
    }

    /// How long ago this node was last in touch with a working leader: for the leader, since a
    /// quorum last acknowledged it; for any other node, since a leader last replicated to it
    /// (heartbeats included). `None` when it never was. A follower cut off from its leader keeps
    /// naming it as leader (pre-vote stops it from starting a term it cannot win), so this, not
    /// [`NodeHandle::leader`], tells whether the cluster is reachable from here.
    pub fn leader_contact_age(&self) -> Option<Duration> {
        self.shared.leader_contact_age_with(&self.shared.metrics())
    }

    /// The node's metrics registry: what the store, Raft and (once started) the public API
    /// measure, for the metrics endpoint. The API registers its own instruments here.
    pub fn metrics_registry(&self) -> &Arc<switchyard_metrics::Registry> {
        &self.shared.registry
    }

    /// Whether this node serves reads and writes: its disk answers within the bound, it belongs
    /// to the current cluster epoch, and it is not shutting down.
    pub fn is_serving(&self) -> bool {
        self.shared.not_serving_reason().is_none()
    }

    /// Why this node does not serve, if it does not.
    pub fn not_serving_reason(&self) -> Option<NotServingReason> {
        self.shared.not_serving_reason()
    }

    /// Applies a client write: stamped with the leader's clock and proposed on the leader, here
    /// if this node leads or forwarded to it otherwise, retried (with the same request id) after
    /// a leader change, all within the configured write timeout.
    pub async fn client_write(&self, envelope: Envelope) -> Result<WriteAnswer, NodeError> {
        crate::write::client_write(&self.shared, envelope.into()).await
    }

    /// Makes reads that follow linearizable: confirms this node still leads (a quorum answers)
    /// and waits until the state machine has applied everything committed before the call.
    /// Returns the log index reads then reflect. Only the leader can do this; a follower gets
    /// [`NodeError::NotLeader`] with the leader to ask.
    pub async fn ensure_linearizable(&self) -> Result<u64, NodeError> {
        crate::leadership::ensure_linearizable(&self.shared).await
    }

    /// Makes reads that follow linearizable on this node, whether it leads or follows: the
    /// leader confirms its leadership with a quorum and names its commit index, and this node
    /// waits until it has applied that index. Returns the index local reads then reflect.
    pub async fn read_barrier(&self) -> Result<u64, NodeError> {
        crate::read::read_barrier(&self.shared).await
    }

    /// The log index of the last entry this node applied (0 before the first).
    pub fn applied_index(&self) -> u64 {
        self.shared
            .metrics()
            .last_applied
            .map_or(0, |log_id| log_id.index())
    }

    /// Waits at most `bound` until this node applies an entry after `index`; returns the applied
    /// index then (unchanged if the bound passed first). Event streams sleep on this.
    pub async fn wait_applied_beyond(&self, index: u64, bound: Duration) -> u64 {
        crate::read::wait_applied_beyond(&self.shared, index, bound).await
    }

    /// Moves the clock this node stamps entries with (when it leads) by `offset_ms` from the
    /// wall clock. For tests and drills — a business day moved forward to reach a deadline, a
    /// clock running behind — never needed in production. Stamps still never go back.
    pub fn set_clock_offset(&self, offset_ms: i64) {
        self.shared.clock.set_offset(offset_ms);
    }

    /// Waits until this node has applied at least what it had applied before it restarted (the
    /// cluster's commit covering its own log), so that reads served from it never go back.
    pub async fn wait_for_recovery(&self, timeout: Duration) -> Result<(), NodeError> {
        self.shared
            .raft
            .wait_for_recovery(Some(timeout))
            .await
            .map(|_| ())
            .map_err(|_| NodeError::Timeout {
                operation: "recovery",
                waited_ms: duration_ms(timeout),
            })
    }

    /// Hands leadership to `target`, a caught-up voter, and waits (bounded by the configured
    /// transfer timeout) until it leads.
    pub async fn transfer_leadership(&self, target: NodeId) -> Result<(), NodeError> {
        crate::leadership::transfer_leadership(&self.shared, target).await
    }

    /// Adds `node_id` (a never used id) as a learner and waits, bounded, until it has caught up
    /// with the leader.
    pub async fn add_learner(
        &self,
        node_id: NodeId,
        node: ClusterNode,
    ) -> Result<MembershipChange, NodeError> {
        crate::leadership::add_learner(&self.shared, node_id, node, true).await
    }

    /// Adds `node_id` (a never used id) as a learner without waiting for it to catch up.
    pub async fn start_learner(
        &self,
        node_id: NodeId,
        node: ClusterNode,
    ) -> Result<MembershipChange, NodeError> {
        crate::leadership::add_learner(&self.shared, node_id, node, false).await
    }

    /// Promotes a caught-up learner to voter.
    pub async fn promote_learner(&self, node_id: NodeId) -> Result<MembershipChange, NodeError> {
        crate::leadership::promote_learner(&self.shared, node_id).await
    }

    /// Removes a voter or learner from the cluster altogether; its id is never used again.
    pub async fn remove_node(&self, node_id: NodeId) -> Result<MembershipChange, NodeError> {
        crate::leadership::remove_node(&self.shared, node_id).await
    }

    /// Stops the node gracefully: refuses new work, stops the stall watcher, stops Raft, and
    /// lets in-flight internal RPCs finish; each step is bounded. A Raft core blocked on a
    /// stalled disk is left behind after ten seconds with a
    /// [`NodeError::Timeout`]. Calling it again does nothing.
    pub async fn shutdown(&self) -> Result<(), NodeError> {
        let background = self.background.lock().expect("background lock").take();
        let Some(background) = background else {
            return Ok(());
        };
        let node_id = self.shared.node_id;
        tracing::info!(node_id, "node shutting down");
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        background.stop_watcher.send(()).ok();
        if let Err(error) = background.watcher_task.await {
            tracing::warn!(node_id, error = %error, "the stall watcher ended badly");
        }
        let raft_stopped =
            tokio::time::timeout(RAFT_STOP_TIMEOUT, self.shared.raft.shutdown()).await;
        background.leader_changes_task.abort();
        background.stop_server.send(()).ok();
        let mut server_task = background.server_task;
        if tokio::time::timeout(SHUTDOWN_DRAIN_TIMEOUT, &mut server_task)
            .await
            .is_err()
        {
            tracing::warn!(
                node_id,
                "internal RPCs still running after the drain timeout; dropping them"
            );
            server_task.abort();
        }
        match raft_stopped {
            Ok(Ok(())) => {
                tracing::info!(node_id, "node stopped");
                Ok(())
            }
            Ok(Err(error)) => {
                tracing::warn!(node_id, error = %error, "the Raft core ended badly");
                Ok(())
            }
            Err(_elapsed) => {
                tracing::error!(node_id, "the Raft core did not stop (a stalled disk?)");
                Err(NodeError::Timeout {
                    operation: "raft shutdown",
                    waited_ms: duration_ms(RAFT_STOP_TIMEOUT),
                })
            }
        }
    }
}

/// Whether `metrics` say node `node_id` leads: named leader and in the leader state (a candidate
/// names itself before it wins).
pub(crate) fn leads(metrics: &RaftMetrics, node_id: NodeId) -> bool {
    metrics.current_leader == Some(node_id) && metrics.state.is_leader()
}

pub(crate) fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
