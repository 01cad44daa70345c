//! Per-RPC metrics of the public server, as a tower layer around every service it serves (the
//! three public services, gRPC health and reflection):
//!
//! - `switchyard_rpc_requests_total{service,method,code}` — finished calls by gRPC status code
//!   (`OK`, `NOT_FOUND`, `UNAVAILABLE`, ...): the code of the trailers, or of the headers for a
//!   trailers-only answer; `CANCELLED` when the client went away before the answer ended. The
//!   `OK` series of every method exists from the start; others appear with their first call.
//! - `switchyard_rpc_duration_seconds{service,method}` — from the request's arrival until its
//!   answer's last byte was handed to the connection; for streams, the stream's whole life.
//!
//! The methods are known when the server starts (from the services' descriptors), so a call
//! finds its series with one look-up in a map that never changes, and records with atomic adds:
//! no lock on the request path. A path no service has is counted under `unknown`, so a stranger
//! cannot create series.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use prost::Message as _;
use switchyard_metrics::{
    DurationHistogram, EncodeMetric, Labelled, MetricEncoder, MetricType, NoLabelSet, Registry,
    Unit,
};

/// gRPC status codes by number, as the `code` label spells them.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];
const CODE_OK: usize = 0;
const CODE_CANCELLED: usize = 1;
const CODE_UNKNOWN: usize = 2;

/// The label values of calls to a path no service has.
const UNKNOWN_METHOD: (&str, &str) = ("unknown", "unknown");

/// Descriptor sets of everything the public server serves.
fn served_descriptor_sets() -> [&'static [u8]; 4] {
    [
        switchyard_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ]
}

/// Every `(service, method)` in `descriptor_sets`, in order, without duplicates.
fn methods_of(descriptor_sets: &[&[u8]]) -> Vec<(String, String)> {
    let mut methods = Vec::new();
    for encoded in descriptor_sets {
        let set = prost_types::FileDescriptorSet::decode(*encoded)
            .expect("the compiled-in descriptor sets decode");
        for file in &set.file {
            let package = file.package();
            for service in &file.service {
                let service_name = if package.is_empty() {
                    service.name().to_owned()
                } else {
                    format!("{package}.{}", service.name())
                };
                for method in &service.method {
                    let entry = (service_name.clone(), method.name().to_owned());
                    if !methods.contains(&entry) {
                        methods.push(entry);
                    }
                }
            }
        }
    }
    methods
}

/// Finished calls per method and status code.
#[derive(Debug)]
struct RequestCounts {
    /// Label values per method index; the last is [`UNKNOWN_METHOD`].
    methods: Vec<(String, String)>,
    counts: Vec<[AtomicU64; CODE_NAMES.len()]>,
}

/// [`RequestCounts`] as registered: shared with the layer that counts.
#[derive(Debug)]
struct RegisteredCounts(Arc<RequestCounts>);

impl EncodeMetric for RegisteredCounts {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        for ((service, method), counts) in self.0.methods.iter().zip(&self.0.counts) {
            for (code, count) in counts.iter().enumerate() {
                let count = count.load(Ordering::Relaxed);
                if count == 0 && code != CODE_OK {
                    continue;
                }
                let labels = [
                    ("service", service.as_str()),
                    ("method", method.as_str()),
                    ("code", CODE_NAMES[code]),
                ];
                encoder
                    .encode_family(&labels)?
                    .encode_counter::<NoLabelSet, u64, u64>(&count, None)?;
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// The RPC instruments of one node, shared by every public server it runs.
#[derive(Debug)]
pub(crate) struct RpcMetrics {
    index_by_path: HashMap<String, usize>,
    counts: Arc<RequestCounts>,
    durations: Labelled<DurationHistogram>,
}

impl RpcMetrics {
    /// The node's RPC instruments, registered on `registry` by the first public server.
    pub(crate) fn of(registry: &Registry) -> Arc<RpcMetrics> {
        registry.shared(|registry| RpcMetrics::register(registry, &served_descriptor_sets()))
    }

    fn register(registry: &Registry, descriptor_sets: &[&[u8]]) -> RpcMetrics {
        let mut methods = methods_of(descriptor_sets);
        let index_by_path = methods
            .iter()
            .enumerate()
            .map(|(index, (service, method))| (format!("/{service}/{method}"), index))
            .collect();
        methods.push((UNKNOWN_METHOD.0.to_owned(), UNKNOWN_METHOD.1.to_owned()));
        let durations = Labelled::new(methods.iter().map(|(service, method)| {
            vec![
                ("service", Cow::Owned(service.clone())),
                ("method", Cow::Owned(method.clone())),
            ]
        }));
        let counts = Arc::new(RequestCounts {
            counts: methods.iter().map(|_| Default::default()).collect(),
            methods,
        });
        registry.register(
            "rpc_requests",
            "Finished calls of the public gRPC server, by service, method and status code",
            None,
            RegisteredCounts(Arc::clone(&counts)),
        );
        registry.register(
            "rpc_duration",
            "Public gRPC calls from arrival to the answer's end (streams: their whole life)",
            Some(Unit::Seconds),
            durations.clone(),
        );
        RpcMetrics {
            index_by_path,
            counts,
            durations,
        }
    }

    fn method_index(&self, path: &str) -> usize {
        self.index_by_path
            .get(path)
            .copied()
            .unwrap_or(self.counts.methods.len() - 1)
    }

    fn record(&self, method: usize, code: usize, started: Instant) {
        self.counts.counts[method][code].fetch_add(1, Ordering::Relaxed);
        self.durations.get(method).observe(started.elapsed());
    }
}

/// The code a `grpc-status` value names; anything else is `UNKNOWN`.
fn code_of(headers: &http::HeaderMap) -> Option<usize> {
    let value = headers.get("grpc-status")?;
    let code = value
        .to_str()
        .ok()
        .and_then(|text| text.parse::<usize>().ok())
        .filter(|code| *code < CODE_NAMES.len())
        .unwrap_or(CODE_UNKNOWN);
    Some(code)
}

/// The tower layer that measures every call.
#[derive(Debug, Clone)]
pub(crate) struct RpcMetricsLayer {
    metrics: Arc<RpcMetrics>,
}

impl RpcMetricsLayer {
    pub(crate) fn new(metrics: Arc<RpcMetrics>) -> RpcMetricsLayer {
        RpcMetricsLayer { metrics }
    }
}

impl<S> tower_layer::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetricsService<S>;

    fn layer(&self, inner: S) -> RpcMetricsService<S> {
        RpcMetricsService {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// A service measured by [`RpcMetricsLayer`].
#[derive(Debug, Clone)]
pub(crate) struct RpcMetricsService<S> {
    inner: S,
    metrics: Arc<RpcMetrics>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, RequestBody, ResponseBody> tower_service::Service<http::Request<RequestBody>>
    for RpcMetricsService<S>
where
    S: tower_service::Service<http::Request<RequestBody>, Response = http::Response<ResponseBody>>,
    S::Future: Send + 'static,
    ResponseBody: Body + Unpin,
{
    type Response = http::Response<MeasuredBody<ResponseBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        let started = Instant::now();
        let method = self.metrics.method_index(request.uri().path());
        let metrics = Arc::clone(&self.metrics);
        let answer = self.inner.call(request);
        Box::pin(async move {
            match answer.await {
                Ok(response) => {
                    let code = code_of(response.headers());
                    Ok(response.map(|body| MeasuredBody {
                        inner: body,
                        call: Some(Call {
                            metrics,
                            method,
                            started,
                            code,
                            ended: false,
                        }),
                    }))
                }
                Err(error) => {
                    // The connection fails the call; the client sees no status at all.
                    metrics.record(method, CODE_UNKNOWN, started);
                    Err(error)
                }
            }
        })
    }
}

/// One call being answered: recorded once, when its answer body is done with.
#[derive(Debug)]
struct Call {
    metrics: Arc<RpcMetrics>,
    method: usize,
    started: Instant,
    /// The status code seen so far (headers of a trailers-only answer, then the trailers).
    code: Option<usize>,
    /// Whether the body reached its end.
    ended: bool,
}

impl Drop for Call {
    fn drop(&mut self) {
        let code = match (self.code, self.ended) {
            (Some(code), _) => code,
            // Ended without a status: not a gRPC answer we understand.
            (None, true) => CODE_UNKNOWN,
            // Dropped before the end: the client went away (or the server is stopping).
            (None, false) => CODE_CANCELLED,
        };
        self.metrics.record(self.method, code, self.started);
    }
}

/// An answer body that records its call when it is dropped, with the code of its trailers.
#[derive(Debug)]
pub(crate) struct MeasuredBody<B> {
    inner: B,
    call: Option<Call>,
}

impl<B: Body<Data = Bytes> + Unpin> Body for MeasuredBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        if let Some(call) = self.call.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(code) = frame.trailers_ref().and_then(code_of) {
                        call.code = Some(code);
                    }
                }
                Poll::Ready(None) => call.ended = true,
                Poll::Ready(Some(Err(_))) | Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The method table holds every method of the public services, health and reflection,
    /// under their full service names.
    #[test]
    fn methods_come_from_the_served_descriptors() {
        let methods = methods_of(&served_descriptor_sets());
        for (service, method) in [
            ("switchyard.v1.ParticipantService", "LookUpSupplyPoint"),
            ("switchyard.v1.TsoService", "ImportSupplyPoints"),
            ("switchyard.admin.v1.AdminService", "PublishNotice"),
            ("grpc.health.v1.Health", "Check"),
            ("grpc.health.v1.Health", "Watch"),
            (
                "grpc.reflection.v1.ServerReflection",
                "ServerReflectionInfo",
            ),
            (
                "grpc.reflection.v1alpha.ServerReflection",
                "ServerReflectionInfo",
            ),
        ] {
            assert!(
                methods.contains(&(service.to_owned(), method.to_owned())),
                "{service}/{method} missing from {methods:?}"
            );
        }
        assert!(
            !methods
                .iter()
                .any(|(service, _)| service.starts_with("switchyard.raft")),
            "the internal Raft service is not served on the public port"
        );
    }

    /// A `grpc-status` header gives its code; a malformed or out-of-range one is UNKNOWN; none
    /// gives none.
    #[test]
    fn status_codes_are_read_from_headers() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(code_of(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("5"));
        assert_eq!(
            code_of(&headers).map(|code| CODE_NAMES[code]),
            Some("NOT_FOUND")
        );
        headers.insert("grpc-status", http::HeaderValue::from_static("99"));
        assert_eq!(code_of(&headers), Some(CODE_UNKNOWN));
        headers.insert("grpc-status", http::HeaderValue::from_static("x"));
        assert_eq!(code_of(&headers), Some(CODE_UNKNOWN));
    }
}
