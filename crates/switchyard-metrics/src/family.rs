//! Labelled series fixed up front, and gauges written by collectors at scrape time.

use std::borrow::Cow;

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeMetric, MetricEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

/// The labels of one series, beyond the registry's own (`node`, `site`).
pub type LabelPairs = Vec<(&'static str, Cow<'static, str>)>;

/// One instrument with a fixed set of labelled series, chosen when it is made: recording picks a
/// series by index (no map, no lock), and every series is exported from the start (at zero), so
/// rates and alerts work before the first event.
#[derive(Debug, Clone)]
pub struct Labelled<M> {
    series: Vec<(LabelPairs, M)>,
}

impl<M: Default> Labelled<M> {
    /// One series per label set, each a fresh instrument.
    pub fn new(label_sets: impl IntoIterator<Item = LabelPairs>) -> Labelled<M> {
        Labelled {
            series: label_sets
                .into_iter()
                .map(|labels| (labels, M::default()))
                .collect(),
        }
    }
}

impl<M> Labelled<M> {
    /// The instrument of the series at `index` (in the order given to [`Labelled::new`]).
    pub fn get(&self, index: usize) -> &M {
        &self.series[index].1
    }

    /// The series: their labels and instruments.
    pub fn series(&self) -> impl Iterator<Item = (&LabelPairs, &M)> {
        self.series.iter().map(|(labels, metric)| (labels, metric))
    }
}

impl<M: EncodeMetric> EncodeMetric for Labelled<M> {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        for (labels, metric) in &self.series {
            metric.encode(encoder.encode_family(labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        self.series
            .first()
            .map_or(MetricType::Unknown, |(_, metric)| metric.metric_type())
    }
}

/// Writes one gauge (one series) from a collector. A full stop ends `help`, as the registry does
/// for registered metrics.
pub fn encode_gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: impl EncodeGaugeValue,
) -> Result<(), std::fmt::Error> {
    encoder
        .encode_descriptor(name, &format!("{help}."), unit, MetricType::Gauge)?
        .encode_gauge(&value)
}

/// Writes one gauge with several labelled series from a collector.
pub fn encode_gauge_series<V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: &[(LabelPairs, V)],
) -> Result<(), std::fmt::Error> {
    let mut metric =
        encoder.encode_descriptor(name, &format!("{help}."), unit, MetricType::Gauge)?;
    for (labels, value) in series {
        metric.encode_family(labels)?.encode_gauge(value)?;
    }
    Ok(())
}
