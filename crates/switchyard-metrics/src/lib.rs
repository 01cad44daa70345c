//! Switchyard's metrics: one registry per node, the instruments the other crates record into,
//! and the Prometheus text exposition of all of it.
//!
//! Every crate measures what happens inside it — the store its disk syncs and applies, the Raft
//! crate its commits, forwarded writes and the Raft core's state, the API every RPC — into
//! instruments it registers on the node's [`Registry`]. This crate knows nothing of the network
//! or the storage (the store may depend on it); the HTTP endpoint that serves the text lives in
//! the server crate.
//!
//! Why `prometheus-client`: it is the Prometheus project's own Rust client, has no global
//! registry (five nodes in one process each keep their own), encodes the Prometheus text format
//! (0.0.4) and OpenMetrics correctly (names, escaping, `HELP`/`TYPE`), and lets us plug in our
//! own instrument types. Its counters are single atomics; its histogram takes a lock on every
//! observation, so the histograms here are our own ([`DurationHistogram`]: one atomic add per
//! bucket and sum), and labelled series are fixed up front ([`Labelled`]) instead of looked up
//! in a locked map per request. The registry itself is locked only to register and to scrape.
//!
//! How the files divide the work:
//!
//! - `lib.rs`: [`Registry`] (prefix `switchyard`, labels `node` and `site` on every series),
//!   components shared per node, the text exposition;
//! - `histogram.rs`: [`DurationHistogram`] and its buckets for a ~10 ms WAN cluster;
//! - `family.rs`: [`Labelled`] (a fixed set of labelled series of one instrument) and the gauge
//!   helpers for collectors that read their values at scrape time.

mod family;
mod histogram;

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

pub use family::{LabelPairs, Labelled, encode_gauge, encode_gauge_series};
pub use histogram::{DurationHistogram, LATENCY_BUCKETS_SECONDS};
pub use prometheus_client::collector::Collector;
pub use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
pub use prometheus_client::metrics::MetricType;
pub use prometheus_client::metrics::counter::Counter;
pub use prometheus_client::registry::Unit;

/// Every metric name starts with this (and an underscore).
pub const METRIC_PREFIX: &str = "switchyard";

/// The `Content-Type` of [`Registry::encode_text`]'s output: the Prometheus text format 0.0.4.
pub const TEXT_CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A component registered once per registry, whoever asks first (see [`Registry::shared`]).
type SharedComponent = (TypeId, Arc<dyn Any + Send + Sync>);

/// The metrics of one node. Instruments are registered once, when the part of the node that
/// records them starts; recording never touches the registry (the instruments are shared
/// atomics), so the lock here is taken only to register and to encode a scrape.
#[derive(Debug)]
pub struct Registry {
    inner: Mutex<prometheus_client::registry::Registry>,
    shared: Mutex<Vec<SharedComponent>>,
}

impl Registry {
    /// A registry whose every series carries `node` (the node id) and `site`.
    pub fn for_node(node_id: u64, site: &str) -> Registry {
        Registry::with_labels(vec![
            (Cow::Borrowed("node"), Cow::Owned(node_id.to_string())),
            (Cow::Borrowed("site"), Cow::Owned(site.to_owned())),
        ])
    }

    /// A registry for instruments nobody exposes (a store opened by an offline tool): recording
    /// into it costs the same and shows nowhere.
    pub fn unexposed() -> Registry {
        Registry::with_labels(Vec::new())
    }

    fn with_labels(labels: Vec<(Cow<'static, str>, Cow<'static, str>)>) -> Registry {
        Registry {
            inner: Mutex::new(
                prometheus_client::registry::Registry::with_prefix_and_labels(
                    METRIC_PREFIX,
                    labels.into_iter(),
                ),
            ),
            shared: Mutex::new(Vec::new()),
        }
    }

    /// Registers `metric` as `switchyard_<name>[_<unit>]` (counters get `_total` added).
    pub fn register(
        &self,
        name: &str,
        help: &str,
        unit: Option<Unit>,
        metric: impl prometheus_client::registry::Metric,
    ) {
        let mut registry = self.inner.lock().expect("metrics registry lock");
        match unit {
            Some(unit) => registry.register_with_unit(name, help, unit, metric),
            None => registry.register(name, help, metric),
        }
    }

    /// Registers a collector: metrics read at every scrape (gauges of the Raft core's state, the
    /// disk's health). A collector's names get the same prefix and labels.
    pub fn register_collector(&self, collector: impl Collector) {
        self.inner
            .lock()
            .expect("metrics registry lock")
            .register_collector(Box::new(collector));
    }

    /// The component of type `T` of this registry: made (and registered) by `make` the first
    /// time any caller asks, the same one for every later caller. For instruments that several
    /// users of one node share — two public API servers on one node count their RPCs together
    /// instead of exporting the same names twice.
    pub fn shared<T: Send + Sync + 'static>(&self, make: impl FnOnce(&Registry) -> T) -> Arc<T> {
        let mut shared = self.shared.lock().expect("shared components lock");
        let wanted = TypeId::of::<T>();
        if let Some((_, component)) = shared.iter().find(|(kind, _)| *kind == wanted) {
            return Arc::clone(component)
                .downcast::<T>()
                .expect("the component registered under its own type");
        }
        let component = Arc::new(make(self));
        shared.push((wanted, Arc::clone(&component) as Arc<dyn Any + Send + Sync>));
        component
    }

    /// Every metric in the Prometheus text exposition format (0.0.4), for a scrape.
    pub fn encode_text(&self) -> String {
        let mut text = String::new();
        let registry = self.inner.lock().expect("metrics registry lock");
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
            .expect("writing into a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Names get the prefix, the unit and (counters) `_total`; every series carries the node's
    /// labels, collectors' series included.
    #[test]
    fn names_and_labels_follow_prometheus_conventions() {
        let registry = Registry::for_node(3, "osaka");
        let counter = Counter::<u64>::default();
        registry.register(
            "forwarded_writes",
            "Writes forwarded",
            None,
            counter.clone(),
        );
        let histogram = DurationHistogram::new();
        registry.register(
            "commit_latency",
            "Commit latency",
            Some(Unit::Seconds),
            histogram.clone(),
        );
        #[derive(Debug)]
        struct Term;
        impl Collector for Term {
            fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
                encode_gauge(&mut encoder, "raft_term", "The term", None, 7)
            }
        }
        registry.register_collector(Term);
        counter.inc();
        counter.inc();
        histogram.observe(Duration::from_millis(3));
        let text = registry.encode_text();
        assert!(
            text.contains("# TYPE switchyard_forwarded_writes_total counter"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_forwarded_writes_total{node=\"3\",site=\"osaka\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_commit_latency_seconds_count{node=\"3\",site=\"osaka\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "switchyard_commit_latency_seconds_bucket{node=\"3\",site=\"osaka\",le=\"0.005\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("switchyard_raft_term{node=\"3\",site=\"osaka\"} 7\n"),
            "{text}"
        );
    }

    /// A shared component is made once per registry, whoever asks, and is not shared between
    /// registries.
    #[test]
    fn shared_components_are_made_once_per_registry() {
        let registry = Registry::for_node(1, "tokyo");
        let made = std::sync::atomic::AtomicU32::new(0);
        let make = |registry: &Registry| {
            made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let counter = Counter::<u64>::default();
            registry.register("requests", "Requests", None, counter.clone());
            counter
        };
        let first = registry.shared(make);
        let second = registry.shared(make);
        first.inc();
        assert_eq!(second.get(), 1, "the same counter");
        assert_eq!(made.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(
            registry
                .encode_text()
                .matches("# TYPE switchyard_requests_total")
                .count(),
            1
        );
        let other = Registry::for_node(2, "tokyo");
        assert_eq!(
            other.shared(make).get(),
            0,
            "another registry, another counter"
        );
    }
}
