//! The public gRPC server of one node: binds its own port (apart from the Raft port) and
//! serves the participant, TSO and admin APIs, gRPC health and reflection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_proto::admin::v1::admin_service_server::AdminServiceServer;
use switchyard_proto::limits::MESSAGE_BYTES_MAX;
use switchyard_proto::v1::participant_service_server::ParticipantServiceServer;
use switchyard_proto::v1::tso_service_server::TsoServiceServer;
use switchyard_raft::NodeHandle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::admin::Admin;
use crate::config::{ApiConfig, AuthMode};
use crate::context::Context;
use crate::participant::Participant;
use crate::tso::Tso;

/// Concurrent HTTP/2 streams per client connection (a gateway multiplexes many calls).
const STREAMS_PER_CONNECTION_MAX: u32 = 1024;
/// How often the health reporter looks at the node.
const HEALTH_POLL: Duration = Duration::from_millis(200);
/// How long a graceful stop lets in-flight calls finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// TCP keepalive on client connections.
const TCP_KEEPALIVE: Duration = Duration::from_secs(30);

/// The public services' full names, as gRPC health knows them.
pub const SERVICE_NAMES: [&str; 3] = [
    "switchyard.v1.ParticipantService",
    "switchyard.v1.TsoService",
    "switchyard.admin.v1.AdminService",
];

/// The public server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot read {what} {path}: {source}")]
    TlsFile {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("invalid TLS configuration: {0}")]
    Tls(String),
    #[error("cannot build gRPC reflection: {0}")]
    Reflection(String),
}

/// A running public server.
#[derive(Debug)]
pub struct ApiHandle {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    health: JoinHandle<()>,
}

impl ApiHandle {
    /// The address the server is bound to (the real port when port 0 was asked for).
    pub fn local_address(&self) -> SocketAddr {
        self.address
    }

    /// Stops accepting calls and lets in-flight calls finish (bounded). Event streams end.
    pub async fn shutdown(mut self) {
        self.health.abort();
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(DRAIN_TIMEOUT, &mut server)
                .await
                .is_err()
        {
            tracing::warn!("public API calls still running after the drain timeout; dropping them");
            server.abort();
        }
    }
}

impl Drop for ApiHandle {
    fn drop(&mut self) {
        self.health.abort();
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

/// Starts the public server of `node` on `listen`.
pub async fn start(
    node: Arc<NodeHandle>,
    config: ApiConfig,
    listen: SocketAddr,
) -> Result<ApiHandle, ApiError> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ApiError::Bind {
            address: listen,
            source,
        })?;
    start_with_listener(node, config, listener).await
}

/// Starts the public server of `node` on a listener bound beforehand (so that its address can
/// go into the node's membership entry before the node starts).
pub async fn start_with_listener(
    node: Arc<NodeHandle>,
    config: ApiConfig,
    listener: tokio::net::TcpListener,
) -> Result<ApiHandle, ApiError> {
    let address = listener.local_addr().map_err(|source| ApiError::Bind {
        address: "0.0.0.0:0".parse().expect("an address"),
        source,
    })?;
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(TCP_KEEPALIVE));

    let mut builder = Server::builder().max_concurrent_streams(Some(STREAMS_PER_CONNECTION_MAX));
    if let AuthMode::MutualTls(files) = &config.auth {
        let read = |what: &'static str, path: &std::path::Path| {
            std::fs::read(path).map_err(|source| ApiError::TlsFile {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(
                read("certificate", &files.certificate)?,
                read("private key", &files.private_key)?,
            ))
            .client_ca_root(Certificate::from_pem(read("client CA", &files.client_ca)?));
        builder = builder
            .tls_config(tls)
            .map_err(|error| ApiError::Tls(error.to_string()))?;
    } else {
        tracing::warn!(
            %address,
            "public API in DEVELOPMENT mode: plain-text HTTP/2 and bearer tokens; never use this in production"
        );
    }

    // Every call, whatever the service, is counted and timed (see `metrics.rs`).
    let mut builder = builder.layer(crate::metrics::RpcMetricsLayer::new(
        crate::metrics::RpcMetrics::of(node.metrics_registry()),
    ));
    let leaderless_bound = config.leaderless_unhealthy_after;
    let context = Arc::new(Context::new(Arc::clone(&node), config));
    let (reporter, health_service) = tonic_health::server::health_reporter();
    // Both reflection versions: grpcurl and other tools still ask v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(switchyard_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .map_err(|error| ApiError::Reflection(error.to_string()))?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|error| ApiError::Reflection(error.to_string()))?;

    let participant = ParticipantServiceServer::new(Participant::new(Arc::clone(&context)))
        .max_decoding_message_size(MESSAGE_BYTES_MAX)
        .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let tso = TsoServiceServer::new(Tso::new(Arc::clone(&context)))
        .max_decoding_message_size(MESSAGE_BYTES_MAX)
        .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let admin = AdminServiceServer::new(Admin::new(Arc::clone(&context)))
        .max_decoding_message_size(MESSAGE_BYTES_MAX)
        .max_encoding_message_size(MESSAGE_BYTES_MAX);

    let health = tokio::spawn(report_health(node, reporter, leaderless_bound));
    let (stop, stopped) = oneshot::channel::<()>();
    let router = builder
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(participant)
        .add_service(tso)
        .add_service(admin);
    let server = tokio::spawn(async move {
        let served = router
            .serve_with_incoming_shutdown(incoming, async {
                stopped.await.ok();
            })
            .await;
        if let Err(error) = served {
            tracing::error!(error = %error, "the public API server failed");
        }
    });
    tracing::info!(%address, "public API listening");
    Ok(ApiHandle {
        address,
        stop: Some(stop),
        server: Some(server),
        health,
    })
}

/// Keeps gRPC health in step with the node: NOT_SERVING while the node does not serve (stalled
/// disk, fenced, shutting down) or has been out of touch with a working leader for longer than
/// `leaderless_bound` (a follower not replicated to, a leader without a quorum).
async fn report_health(
    node: Arc<NodeHandle>,
    reporter: HealthReporter,
    leaderless_bound: Duration,
) {
    let started = Instant::now();
    let mut last: Option<ServingStatus> = None;
    loop {
        // A node that never met a leader gets the bound from its start.
        let contact_age = node
            .leader_contact_age()
            .unwrap_or_else(|| started.elapsed());
        let serving = node.is_serving() && contact_age <= leaderless_bound;
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(status) {
            tracing::info!(node_id = node.node_id(), ?status, "public API health");
            reporter.set_service_status("", status).await;
            for name in SERVICE_NAMES {
                reporter.set_service_status(name, status).await;
            }
            last = Some(status);
        }
        tokio::time::sleep(HEALTH_POLL).await;
    }
}
