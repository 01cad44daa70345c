//! Runs one node until it is told to stop.

use std::future::Future;

use switchyard_raft::{Node, NodeHandle};

use crate::config::ServerConfig;

/// Why serving ended badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("the node did not start: {0}")]
    Start(String),
    #[error("the node did not stop cleanly: {0}")]
    Stop(String),
}

/// Starts the node described by `config` and returns its handle.
pub async fn start(config: &ServerConfig) -> Result<NodeHandle, ServeError> {
    let node_config = config.node_config()?;
    let handle = Node::start(node_config)
        .await
        .map_err(|error| ServeError::Start(error.to_string()))?;
    tracing::info!(
        node_id = handle.node_id(),
        site = %handle.site(),
        raft_address = %handle.raft_address(),
        "node started"
    );
    Ok(handle)
}

/// Serves until `stop` completes, then shuts the node down gracefully: Raft stops, the store is
/// flushed and closed.
pub async fn serve_until(
    config: &ServerConfig,
    stop: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let handle = start(config).await?;
    stop.await;
    tracing::info!(node_id = handle.node_id(), "stopping");
    handle
        .shutdown()
        .await
        .map_err(|error| ServeError::Stop(error.to_string()))?;
    tracing::info!(node_id = handle.node_id(), "stopped");
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received"),
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot watch SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
