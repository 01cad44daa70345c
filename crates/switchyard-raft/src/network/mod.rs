//! The client side of the Raft transport: openraft's `RaftNetworkFactory` and one
//! `RaftNetworkV2` client per target, over the tonic `RaftService`.
//!
//! Channels are shared per address in [`Peers`], connected lazily, with connect timeouts, TCP
//! keepalive and HTTP/2 keepalive, so that a dead peer is noticed within seconds and a restarted
//! one is found again without anyone rebuilding clients. Every call carries a deadline from
//! openraft's `RPCOption` (its soft limit), both as the `grpc-timeout` header (the peer stops
//! working on it) and as a local timer (this side stops waiting). Failures are mapped honestly
//! ([`crate::status::classify`]): cannot connect or will not serve → `Unreachable` (openraft
//! backs off), deadline → `Timeout`, other transport failures → `Network`.
//!
//! Every connection to a peer — replication, votes, snapshots, leadership transfer, forwarded
//! writes, read indexes — is made by [`Peers::client`], the one place where a configured dial
//! override (`NodeConfig::peer_dial_overrides`: a test's fault-injecting proxy, a sidecar)
//! replaces the peer's advertised address with the address actually dialled.
//!
//! `append.rs` cuts large AppendEntries batches to the contract's size; `snapshot.rs` streams
//! snapshot files in chunks.

mod append;
mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::RPCTypes;
use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Timeout};
use openraft::errors::Unreachable;
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderError,
    TransferLeaderRequest, TransferLeaderResponse, VoteRequest, VoteResponse,
};
use switchyard_proto::raft::v1 as wire;
use switchyard_proto::raft::v1::raft_service_client::RaftServiceClient;
use switchyard_store::SnapshotFile;
use tonic::transport::{Channel, Endpoint};

use crate::codec::{decode, encode};
use crate::config::RaftSettings;
use crate::limits::{PEER_CHANNELS_MAX, RAFT_MESSAGE_BYTES_MAX};
use crate::status::{Failure, classify, reason};
use crate::{ClusterNode, NodeId, TypeConfig};

/// The openraft error of a network call.
pub(crate) type RpcError = RPCError<TypeConfig>;

/// Lazily connected channels to peers, one per address, shared by every client of a node.
#[derive(Debug, Clone)]
pub(crate) struct Peers {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    settings: Arc<ChannelSettings>,
    /// Advertised address → address dialled instead (see the module documentation).
    dial_overrides: Arc<BTreeMap<String, String>>,
    /// Set when a peer of a newer cluster epoch called this node or refused its call: this node
    /// was left behind by a disaster cutover and must stop serving. The node's one fence.
    fenced: Arc<AtomicBool>,
}

#[derive(Debug)]
struct ChannelSettings {
    connect_timeout: Duration,
    tcp_keepalive: Duration,
    http2_keepalive_interval: Duration,
    http2_keepalive_timeout: Duration,
}

impl Peers {
    pub(crate) fn new(settings: &RaftSettings, dial_overrides: BTreeMap<String, String>) -> Peers {
        Peers {
            channels: Arc::new(Mutex::new(HashMap::new())),
            dial_overrides: Arc::new(dial_overrides),
            fenced: Arc::new(AtomicBool::new(false)),
            settings: Arc::new(ChannelSettings {
                connect_timeout: Duration::from_millis(settings.connect_timeout_ms),
                tcp_keepalive: Duration::from_millis(settings.tcp_keepalive_ms),
                http2_keepalive_interval: Duration::from_millis(
                    settings.http2_keepalive_interval_ms,
                ),
                http2_keepalive_timeout: Duration::from_millis(settings.http2_keepalive_timeout_ms),
            }),
        }
    }

    /// A client for the peer advertised at `address` (`host:port`), with the message limits
    /// set. The connection goes to the dial override of `address` when one is configured.
    pub(crate) fn client(&self, address: &str) -> Result<RaftServiceClient<Channel>, String> {
        let channel = {
            let mut channels = self.channels.lock().expect("peer channels lock");
            match channels.get(address) {
                Some(channel) => channel.clone(),
                None => {
                    let dialled = self.dial_address(address);
                    let channel = self.endpoint(dialled)?.connect_lazy();
                    if channels.len() >= PEER_CHANNELS_MAX {
                        // Peers come and go with membership changes; forget the old ones.
                        channels.clear();
                    }
                    channels.insert(address.to_owned(), channel.clone());
                    channel
                }
            }
        };
        Ok(RaftServiceClient::new(channel)
            .max_decoding_message_size(RAFT_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(RAFT_MESSAGE_BYTES_MAX))
    }

    /// Whether a peer of a newer cluster epoch refused this node.
    pub(crate) fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    /// Fences this node; returns whether it already was.
    pub(crate) fn fence(&self) -> bool {
        self.fenced.swap(true, Ordering::SeqCst)
    }

    /// The address dialled to reach the peer advertised at `address`.
    fn dial_address<'address>(&'address self, address: &'address str) -> &'address str {
        self.dial_overrides
            .get(address)
            .map_or(address, String::as_str)
    }

    fn endpoint(&self, address: &str) -> Result<Endpoint, String> {
        let settings = &self.settings;
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|error| format!("invalid peer address {address:?}: {error}"))?;
        Ok(endpoint
            .connect_timeout(settings.connect_timeout)
            .tcp_nodelay(true)
            .tcp_keepalive(Some(settings.tcp_keepalive))
            .http2_keep_alive_interval(settings.http2_keepalive_interval)
            .keep_alive_timeout(settings.http2_keepalive_timeout)
            .keep_alive_while_idle(true))
    }
}

/// openraft's network factory: makes one [`PeerClient`] per target.
#[derive(Debug, Clone)]
pub(crate) struct NetworkFactory {
    pub(crate) local_id: NodeId,
    pub(crate) cluster_epoch: u64,
    pub(crate) peers: Peers,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &ClusterNode) -> PeerClient {
        PeerClient {
            local_id: self.local_id,
            cluster_epoch: self.cluster_epoch,
            target,
            address: node.raft_address.clone(),
            client: self.peers.client(&node.raft_address),
            fenced: Arc::clone(&self.peers.fenced),
        }
    }
}

/// The connection to one target, as openraft uses it.
#[derive(Debug)]
pub(crate) struct PeerClient {
    local_id: NodeId,
    cluster_epoch: u64,
    target: NodeId,
    address: String,
    /// `Err` when the target's address cannot even be parsed: every call is then unreachable.
    client: Result<RaftServiceClient<Channel>, String>,
    /// The node's fence (see [`Peers`]).
    fenced: Arc<AtomicBool>,
}

/// The epoch a peer refusing with `stale_cluster_epoch` is in ("this node is in cluster epoch
/// N, the request in M"), if `status` is such a refusal.
fn peer_epoch(status: &tonic::Status) -> Option<u64> {
    let message = status.message();
    if status.code() != tonic::Code::FailedPrecondition
        || !message.starts_with(reason::STALE_CLUSTER_EPOCH)
    {
        return None;
    }
    let rest = message.split("cluster epoch ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The term and the node id of a vote.
pub(crate) fn term_and_node(vote: &openraft::alias::VoteOf<TypeConfig>) -> (u64, NodeId) {
    (vote.leader_id.term, vote.leader_id.node_id)
}

impl PeerClient {
    fn client(&self) -> Result<RaftServiceClient<Channel>, RpcError> {
        self.client
            .clone()
            .map_err(|error| RPCError::Unreachable(Unreachable::from_string(error)))
    }

    /// Notes a refusal by a peer of a newer cluster epoch: this node is fenced from then on.
    fn note_epoch(&self, status: &tonic::Status) {
        if let Some(theirs) = peer_epoch(status)
            && theirs > self.cluster_epoch
            && !self.fenced.swap(true, Ordering::SeqCst)
        {
            tracing::error!(
                node_id = self.local_id,
                ours = self.cluster_epoch,
                theirs,
                peer = self.target,
                "a peer of a newer cluster epoch refused this node: it stops serving"
            );
        }
    }

    /// The openraft error for a failed call.
    fn failure(&self, action: RPCTypes, deadline: Duration, status: &tonic::Status) -> RpcError {
        self.note_epoch(status);
        match classify(status) {
            Failure::Timeout => self.timeout(action, deadline),
            Failure::Unreachable => RPCError::Unreachable(Unreachable::from_string(format!(
                "node {} at {}: {}",
                self.target,
                self.address,
                status.message()
            ))),
            Failure::Network => RPCError::Network(NetworkError::from_string(format!(
                "node {} at {}: {:?}: {}",
                self.target,
                self.address,
                status.code(),
                status.message()
            ))),
        }
    }

    fn timeout(&self, action: RPCTypes, deadline: Duration) -> RpcError {
        RPCError::Timeout(Timeout {
            action,
            id: self.local_id,
            target: self.target,
            timeout: deadline,
        })
    }

    fn malformed(&self, error: impl std::fmt::Display) -> RpcError {
        RPCError::Network(NetworkError::from_string(format!(
            "node {} at {}: {error}",
            self.target, self.address
        )))
    }

    /// Runs one unary call with `deadline` as both the `grpc-timeout` header and a local timer.
    /// The outer error is a timeout or a target without a usable address; the inner one is the
    /// peer's (or the transport's) status, for callers that look at it before mapping it.
    async fn unary_status<Request, Response, Call, Answer>(
        &self,
        action: RPCTypes,
        deadline: Duration,
        message: Request,
        call: Call,
    ) -> Result<Result<Response, tonic::Status>, RpcError>
    where
        Call: FnOnce(RaftServiceClient<Channel>, tonic::Request<Request>) -> Answer,
        Answer: Future<Output = Result<tonic::Response<Response>, tonic::Status>>,
    {
        let client = self.client()?;
        let mut request = tonic::Request::new(message);
        request.set_timeout(deadline);
        match tokio::time::timeout(deadline, call(client, request)).await {
            Err(_elapsed) => Err(self.timeout(action, deadline)),
            Ok(answer) => Ok(answer.map(tonic::Response::into_inner)),
        }
    }

    /// Runs one unary call (see [`PeerClient::unary_status`]) and maps a failure for openraft.
    async fn unary<Request, Response, Call, Answer>(
        &self,
        action: RPCTypes,
        deadline: Duration,
        message: Request,
        call: Call,
    ) -> Result<Response, RpcError>
    where
        Call: FnOnce(RaftServiceClient<Channel>, tonic::Request<Request>) -> Answer,
        Answer: Future<Output = Result<tonic::Response<Response>, tonic::Status>>,
    {
        self.unary_status(action, deadline, message, call)
            .await?
            .map_err(|status| self.failure(action, deadline, &status))
    }

    async fn send_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
        pre_vote: bool,
    ) -> Result<VoteResponse<TypeConfig>, RpcError> {
        let deadline = option.soft_ttl();
        let (term, candidate) = term_and_node(&rpc.vote);
        let request_bytes = encode(&rpc, "vote request").map_err(|error| self.malformed(error))?;
        let response_bytes = if pre_vote {
            let message = wire::PreVoteRequest {
                cluster_epoch: self.cluster_epoch,
                term,
                candidate_node_id: candidate,
                request_bytes: request_bytes.into(),
            };
            self.unary(
                RPCTypes::Vote,
                deadline,
                message,
                |mut client, request| async move { client.pre_vote(request).await },
            )
            .await?
            .response_bytes
        } else {
            let message = wire::VoteRequest {
                cluster_epoch: self.cluster_epoch,
                term,
                candidate_node_id: candidate,
                request_bytes: request_bytes.into(),
            };
            self.unary(
                RPCTypes::Vote,
                deadline,
                message,
                |mut client, request| async move { client.vote(request).await },
            )
            .await?
            .response_bytes
        };
        decode(&response_bytes, "vote response").map_err(|error| self.malformed(error))
    }
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = SnapshotFile;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RpcError> {
        append::append_entries(self, rpc, option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RpcError> {
        self.send_vote(rpc, option, false).await
    }

    /// Asks the target whether it would vote for us, through the PreVote RPC; the target answers
    /// with `Raft::pre_vote`, which changes nothing on its side. (openraft's default grants
    /// every pre-vote without asking, which would make pre-vote a no-op.)
    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RpcError> {
        self.send_vote(rpc, option, true).await
    }

    async fn full_snapshot(
        &mut self,
        vote: openraft::alias::VoteOf<TypeConfig>,
        snapshot: openraft::alias::SnapshotOf<TypeConfig, SnapshotFile>,
        cancel: impl Future<Output = ReplicationClosed> + openraft::OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        snapshot::send_snapshot(self, vote, snapshot, cancel, option).await
    }

    /// Tells the target that the leader hands over to the node named in `request`, through the
    /// TransferLeader RPC; the target answers with `Raft::handle_transfer_leader`. (openraft's
    /// default fails, which would make planned failover wait for a lease to expire.)
    async fn transfer_leader(
        &mut self,
        request: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RpcError> {
        let deadline = option.soft_ttl();
        let message = transfer_leader_message(self.cluster_epoch, &request)
            .map_err(|error| self.malformed(error))?;
        let answer = self
            .unary_status(
                RPCTypes::TransferLeader,
                deadline,
                message,
                |mut client, request| async move { client.transfer_leader(request).await },
            )
            .await?;
        match answer {
            Ok(_) => Ok(Ok(())),
            // The target refused (another vote by now, or its log is behind): the contract's
            // empty response cannot say so, the status details carry openraft's refusal.
            Err(status) if status.message().starts_with(reason::TRANSFER_REFUSED) => {
                match decode::<TransferLeaderError<TypeConfig>>(status.details(), "refusal") {
                    Ok(refusal) => Ok(Err(refusal)),
                    Err(error) => Err(self.malformed(error)),
                }
            }
            Err(status) => Err(self.failure(RPCTypes::TransferLeader, deadline, &status)),
        }
    }
}

/// The wire message of a leadership transfer.
pub(crate) fn transfer_leader_message(
    cluster_epoch: u64,
    request: &TransferLeaderRequest<TypeConfig>,
) -> Result<wire::TransferLeaderRequest, crate::error::NodeError> {
    let (term, from) = term_and_node(request.from_leader());
    Ok(wire::TransferLeaderRequest {
        cluster_epoch,
        term,
        from_node_id: from,
        to_node_id: *request.to_node_id(),
        request_bytes: encode(request, "transfer leader request")?.into(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use openraft::Vote;
    use openraft::error::RPCError;
    use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
    use openraft::raft::VoteRequest;

    use super::{NetworkFactory, Peers};
    use crate::config::RaftSettings;
    use crate::{ClusterNode, Site};

    async fn client_to(address: String) -> super::PeerClient {
        client_through(address, BTreeMap::new()).await
    }

    async fn client_through(
        address: String,
        dial_overrides: BTreeMap<String, String>,
    ) -> super::PeerClient {
        let mut factory = NetworkFactory {
            local_id: 1,
            cluster_epoch: 0,
            peers: Peers::new(&RaftSettings::for_tests(), dial_overrides),
        };
        let node = ClusterNode {
            site: Site::Osaka,
            raft_address: address,
            api_address: String::new(),
        };
        factory.new_client(2, &node).await
    }

    /// A peer that does not listen is `Unreachable` to openraft (it backs off), not a generic
    /// network error.
    #[tokio::test]
    async fn refused_connection_is_unreachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let mut client = client_to(address).await;
        let request = VoteRequest::new(Vote::new(1, 1), None);
        let answer = client
            .vote(request, RPCOption::new(Duration::from_secs(2)))
            .await;
        assert!(
            matches!(answer, Err(RPCError::Unreachable(_))),
            "{answer:?}"
        );
    }

    /// A peer that accepts the connection but never answers makes the call time out with
    /// openraft's `Timeout`, within the option's soft limit.
    #[tokio::test]
    async fn silent_peer_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        // Accept and hold connections without ever speaking HTTP/2.
        let holder = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        let mut client = client_to(address).await;
        let request = VoteRequest::new(Vote::new(1, 1), None);
        let started = std::time::Instant::now();
        let answer = client
            .vote(request, RPCOption::new(Duration::from_millis(400)))
            .await;
        assert!(matches!(answer, Err(RPCError::Timeout(_))), "{answer:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        holder.abort();
    }

    /// An address that is not `host:port` makes every call unreachable instead of panicking.
    #[tokio::test]
    async fn unusable_address_is_unreachable() {
        let mut client = client_to("not an address".to_owned()).await;
        let request = VoteRequest::new(Vote::new(1, 1), None);
        let answer = client
            .vote(request, RPCOption::new(Duration::from_millis(200)))
            .await;
        assert!(
            matches!(answer, Err(RPCError::Unreachable(_))),
            "{answer:?}"
        );
    }

    /// A dial override sends the connection to the overriding address, not to the advertised
    /// one: a peer advertised at an address nobody can resolve is reached through the listener
    /// named by the override, which sees the connection arrive.
    #[tokio::test]
    async fn dial_override_replaces_the_advertised_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dialled = listener.local_addr().unwrap().to_string();
        let (accepted_sender, accepted) = tokio::sync::oneshot::channel();
        let holder = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            accepted_sender.send(()).unwrap();
            // Hold the connection without speaking HTTP/2: the call times out.
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(stream);
        });
        let advertised = "tokyo-9.switchyard.invalid:7401".to_owned();
        let overrides = BTreeMap::from([(advertised.clone(), dialled)]);
        let mut client = client_through(advertised, overrides).await;
        let request = VoteRequest::new(Vote::new(1, 1), None);
        let answer = client
            .vote(request, RPCOption::new(Duration::from_millis(400)))
            .await;
        assert!(matches!(answer, Err(RPCError::Timeout(_))), "{answer:?}");
        tokio::time::timeout(Duration::from_secs(2), accepted)
            .await
            .expect("the override's listener saw the connection")
            .unwrap();
        holder.abort();
    }
}
