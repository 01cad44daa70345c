//! The metrics endpoint: `GET /metrics` on its own port, the node's registry in the Prometheus
//! text format, over plain HTTP/1.1 (what Prometheus scrapes).
//!
//! Scrapes are rare (every 15 s or so) and small, so the server is deliberately plain: one task
//! per connection, a bounded number of connections, a bound on reading a request's head, and
//! nothing but `GET /metrics` (other paths 404, other methods 405). It shares nothing with the
//! request path of the public API except the registry's atomics.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use switchyard_metrics::{Registry, TEXT_CONTENT_TYPE};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::{JoinHandle, JoinSet};

/// The one path served.
pub const METRICS_PATH: &str = "/metrics";
/// Connections served at once; more wait in the listen backlog.
const CONNECTIONS_MAX: usize = 16;
/// Longest time to receive a request's head on a connection.
const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen for metrics on {address}: {source}")]
pub struct MetricsEndpointError {
    pub address: SocketAddr,
    pub source: std::io::Error,
}

/// A running metrics endpoint; stops when [`MetricsEndpoint::shutdown`] is called or it is
/// dropped.
#[derive(Debug)]
pub struct MetricsEndpoint {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl MetricsEndpoint {
    /// Binds `listen` and serves `registry` there.
    pub async fn start(
        registry: Arc<Registry>,
        listen: SocketAddr,
    ) -> Result<MetricsEndpoint, MetricsEndpointError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| MetricsEndpointError {
                address: listen,
                source,
            })?;
        MetricsEndpoint::start_with_listener(registry, listener)
    }

    /// Serves `registry` on a listener bound beforehand.
    pub fn start_with_listener(
        registry: Arc<Registry>,
        listener: TcpListener,
    ) -> Result<MetricsEndpoint, MetricsEndpointError> {
        let address = listener
            .local_addr()
            .map_err(|source| MetricsEndpointError {
                address: SocketAddr::from(([0, 0, 0, 0], 0)),
                source,
            })?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(registry, listener, stopped));
        tracing::info!(%address, path = METRICS_PATH, "metrics endpoint listening");
        Ok(MetricsEndpoint {
            address,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address (the real port when port 0 was asked for).
    pub fn local_address(&self) -> SocketAddr {
        self.address
    }

    /// The URL to scrape.
    pub fn url(&self) -> String {
        format!("http://{}{METRICS_PATH}", self.address)
    }

    /// Stops listening and drops open connections.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            task.await.ok();
        }
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn serve(registry: Arc<Registry>, listener: TcpListener, mut stopped: oneshot::Receiver<()>) {
    let permits = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    // Dropping the set (when the endpoint stops) aborts the connections still open.
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = &mut stopped => return,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => return,
            },
        };
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(error = %error, "metrics endpoint: accept failed");
                continue;
            }
        };
        let registry = Arc::clone(&registry);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let registry = Arc::clone(&registry);
                async move { Ok::<_, Infallible>(answer(&registry, &request)) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(REQUEST_HEAD_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = served {
                tracing::debug!(%peer, error = %error, "metrics endpoint: connection ended badly");
            }
            drop(permit);
        });
    }
}

fn answer(registry: &Registry, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        Response::builder()
            .status(status)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("a valid response")
    };
    if request.uri().path() != METRICS_PATH {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!("not found: metrics are at {METRICS_PATH}\n"),
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "only GET\n".to_owned(),
        );
    }
    reply(StatusCode::OK, TEXT_CONTENT_TYPE, registry.encode_text())
}
