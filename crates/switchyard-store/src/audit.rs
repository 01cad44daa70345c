//! The audit log of facility look-ups: who looked at which supply point, when.
//!
//! Node-local by design: a look-up is a read served by any node, and recording it through Raft
//! would turn every read into a replicated write. Each node keeps the look-ups it served, keyed by
//! time; operators collect them from every node.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use switchyard_domain::{PartyId, SupplyPointNumber, Timestamp};

use crate::codec::{decode, encode, sled_error};
use crate::disk::Disk;

/// One facility look-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupAudit {
    pub party: PartyId,
    pub supply_point: SupplyPointNumber,
    pub at: Timestamp,
}

/// The node's look-up audit tree.
#[derive(Debug, Clone)]
pub struct LookupAuditLog {
    tree: sled::Tree,
    sequence: Arc<AtomicU32>,
}

impl LookupAuditLog {
    pub(crate) fn open(disk: &Arc<Disk>) -> io::Result<LookupAuditLog> {
        Ok(LookupAuditLog {
            tree: disk.db.open_tree("lookup_audit").map_err(sled_error)?,
            sequence: Arc::new(AtomicU32::new(0)),
        })
    }

    /// Records a look-up. Durable with the next disk sync.
    pub fn record(&self, audit: &LookupAudit) -> io::Result<()> {
        let mut key = audit.at.milliseconds().to_be_bytes().to_vec();
        key.extend_from_slice(&self.sequence.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        self.tree.insert(key, encode(audit)?).map_err(sled_error)?;
        Ok(())
    }

    /// Look-ups recorded at or after `since`, oldest first, at most `limit`.
    pub fn since(&self, since: Timestamp, limit: usize) -> io::Result<Vec<LookupAudit>> {
        self.tree
            .range(since.milliseconds().to_be_bytes()..)
            .take(limit)
            .map(|item| {
                let (_, value) = item.map_err(sled_error)?;
                decode(&value, "look-up audit")
            })
            .collect()
    }
}
