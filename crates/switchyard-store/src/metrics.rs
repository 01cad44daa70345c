//! What the store measures: every durable sync (per database) and every stall, every applied
//! entry, and the disks' health at scrape time.
//!
//! - `switchyard_flush_duration_seconds{disk}` — one durable sync (sled's flush and our
//!   `fdatasync`s) of the `log` or `state` database, stalled ones included once they finish;
//! - `switchyard_disk_stalls_total{disk}` — syncs that ran past the stall bound;
//! - `switchyard_disk_stalled` — 1 while the store reports a stalled disk (the node then does
//!   not serve), else 0;
//! - `switchyard_apply_duration_seconds` — applying one entry, observed once per entry: entries
//!   are applied in batches (decided one after the other, written together through the
//!   journal), and each entry counts the time its whole batch took.

use std::borrow::Cow;

use switchyard_metrics::{
    Collector, Counter, DescriptorEncoder, DurationHistogram, Labelled, Registry, Unit,
    encode_gauge,
};

use crate::disk::Health;

/// The store's two databases, in the order of their series.
const DISK_NAMES: [&str; 2] = ["log", "state"];
pub(crate) const LOG_DISK: usize = 0;
pub(crate) const STATE_DISK: usize = 1;

/// The store's instruments, registered on the node's registry when the store opens.
#[derive(Debug, Clone)]
pub(crate) struct StoreMetrics {
    flush_duration: Labelled<DurationHistogram>,
    stalls: Labelled<Counter>,
    pub(crate) apply_duration: DurationHistogram,
}

/// One database's share of the store's instruments.
#[derive(Debug, Clone)]
pub(crate) struct DiskMetrics {
    pub(crate) flush_duration: DurationHistogram,
    pub(crate) stalls: Counter,
}

fn disk_labels() -> impl Iterator<Item = Vec<(&'static str, Cow<'static, str>)>> {
    DISK_NAMES
        .iter()
        .map(|name| vec![("disk", Cow::Borrowed(*name))])
}

impl StoreMetrics {
    /// Makes the instruments and registers them, with the disks' health read at every scrape.
    pub(crate) fn register(registry: &Registry, health: Health) -> StoreMetrics {
        let metrics = StoreMetrics {
            flush_duration: Labelled::new(disk_labels()),
            stalls: Labelled::new(disk_labels()),
            apply_duration: DurationHistogram::new(),
        };
        registry.register(
            "flush_duration",
            "Durable syncs of a store database (sled flush and fdatasync), stalled ones included once they finish",
            Some(Unit::Seconds),
            metrics.flush_duration.clone(),
        );
        registry.register(
            "disk_stalls",
            "Syncs of a store database that ran past the stall bound",
            None,
            metrics.stalls.clone(),
        );
        registry.register(
            "apply_duration",
            "Applying one log entry to the state machine, as long as its batch took: decisions, encoding, the journalled writes",
            Some(Unit::Seconds),
            metrics.apply_duration.clone(),
        );
        registry.register_collector(DiskStalled { health });
        metrics
    }

    /// The instruments of the database `disk` ([`LOG_DISK`] or [`STATE_DISK`]).
    pub(crate) fn disk(&self, disk: usize) -> DiskMetrics {
        DiskMetrics {
            flush_duration: self.flush_duration.get(disk).clone(),
            stalls: self.stalls.get(disk).clone(),
        }
    }
}

/// `switchyard_disk_stalled`, read from the store's health at scrape time.
#[derive(Debug)]
struct DiskStalled {
    health: Health,
}

impl Collector for DiskStalled {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let stalled = u32::from(!self.health.is_healthy());
        encode_gauge(
            &mut encoder,
            "disk_stalled",
            "1 while a disk sync has been running past the stall bound (the node does not serve), else 0",
            None,
            stalled,
        )
    }
}
