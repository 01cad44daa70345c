//! Runs one node until it is told to stop.

use std::future::Future;
use std::sync::Arc;

use switchyard_api::ApiHandle;
use switchyard_raft::{Node, NodeHandle};

use crate::config::ServerConfig;
use crate::metrics_endpoint::MetricsEndpoint;

/// Why serving ended badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("the node did not start: {0}")]
    Start(String),
    #[error("the public API did not start: {0}")]
    Api(#[from] switchyard_api::ApiError),
    #[error("the metrics endpoint did not start: {0}")]
    Metrics(#[from] crate::metrics_endpoint::MetricsEndpointError),
    #[error("the node did not stop cleanly: {0}")]
    Stop(String),
}

/// A running node and, when configured, its public API and metrics endpoint.
#[derive(Debug)]
pub struct Running {
    pub node: Arc<NodeHandle>,
    pub api: Option<ApiHandle>,
    pub metrics: Option<MetricsEndpoint>,
}

impl Running {
    /// Stops the public API first (callers move to other nodes), then the node, then the
    /// metrics endpoint (scrapes see the node stop).
    pub async fn shutdown(self) -> Result<(), ServeError> {
        if let Some(api) = self.api {
            api.shutdown().await;
        }
        let stopped = self
            .node
            .shutdown()
            .await
            .map_err(|error| ServeError::Stop(error.to_string()));
        if let Some(metrics) = self.metrics {
            metrics.shutdown().await;
        }
        stopped
    }
}

/// Starts the node described by `config`, and its public API.
pub async fn start(config: &ServerConfig) -> Result<Running, ServeError> {
    let node_config = config.node_config()?;
    if !node_config.peer_dial_overrides.is_empty() {
        tracing::warn!(
            overrides = node_config.peer_dial_overrides.len(),
            "peers are dialled through network.peer-dial-overrides (testing or sidecar setups)"
        );
    }
    let api = config
        .api
        .as_ref()
        .map(|api| api.api_config())
        .transpose()?;
    let metrics_listen = config
        .metrics
        .as_ref()
        .map(|metrics| metrics.listen_address())
        .transpose()?;
    let handle = Arc::new(
        Node::start(node_config)
            .await
            .map_err(|error| ServeError::Start(error.to_string()))?,
    );
    tracing::info!(
        node_id = handle.node_id(),
        site = %handle.site(),
        raft_address = %handle.raft_address(),
        "node started"
    );
    let metrics = match metrics_listen {
        Some(listen) => {
            match MetricsEndpoint::start(Arc::clone(handle.metrics_registry()), listen).await {
                Ok(metrics) => Some(metrics),
                Err(error) => {
                    handle.shutdown().await.ok();
                    return Err(error.into());
                }
            }
        }
        None => None,
    };
    #[cfg(feature = "fault-injection")]
    crate::fault_control::start(&handle);
    let api = match api {
        Some((listen, api_config)) => {
            match switchyard_api::start(Arc::clone(&handle), api_config, listen).await {
                Ok(api) => Some(api),
                Err(error) => {
                    handle.shutdown().await.ok();
                    return Err(error.into());
                }
            }
        }
        None => {
            tracing::warn!(
                node_id = handle.node_id(),
                "no [api] section: this node serves Raft only"
            );
            None
        }
    };
    Ok(Running {
        node: handle,
        api,
        metrics,
    })
}

/// Serves until `stop` completes, then shuts the node down gracefully: the public API stops,
/// Raft stops, the store is flushed and closed.
pub async fn serve_until(
    config: &ServerConfig,
    stop: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let running = start(config).await?;
    stop.await;
    let node_id = running.node.node_id();
    tracing::info!(node_id, "stopping");
    running.shutdown().await?;
    tracing::info!(node_id, "stopped");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C (SIGINT). The handlers are installed when this is called, not
/// when the future is first polled: call it (inside the runtime) before starting anything, so
/// that a signal arriving during start-up stops the node gracefully instead of killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let terminate = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (terminate, interrupt) {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => tracing::info!("SIGTERM received"),
                        _ = interrupt.recv() => tracing::info!("Ctrl-C received"),
                    }
                }
                (terminate, interrupt) => {
                    tracing::warn!(
                        terminate = terminate.is_ok(),
                        interrupt = interrupt.is_ok(),
                        "cannot watch the signals; Ctrl-C only"
                    );
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
