//! What the Raft node measures, on the node's metrics registry.
//!
//! Recorded where it happens:
//!
//! - `switchyard_commit_latency_seconds` — on the leader, a client write from proposal to the
//!   applied answer (replication to a quorum, the quorum's fsyncs, the apply), for writes
//!   proposed here and writes forwarded here;
//! - `switchyard_forwarded_writes_total{result}` — on a follower, writes it forwarded to the
//!   leader: `ok`, `not_leader` (the leader had moved on), `failed` (unreachable, timed out,
//!   refused);
//! - `switchyard_raft_leader_changes_total` — leaders this node has seen take over (a new leader
//!   or a new term), counted from openraft's server-state watch.
//!
//! Read from openraft's `RaftMetrics` watch at every scrape: the term, the role, the leader, the
//! log, commit, applied and snapshot indexes, the apply lag, the contact age with a working
//! leader, on the leader each peer's replication lag, and whether the node serves.

use std::borrow::Cow;
use std::sync::Weak;

use openraft::ServerState;
use openraft::async_runtime::WatchReceiver;
use switchyard_metrics::{
    Collector, Counter, DescriptorEncoder, DurationHistogram, LabelPairs, Labelled, Registry, Unit,
    encode_gauge, encode_gauge_series,
};

use crate::error::NodeError;
use crate::node::{Raft, Shared};
use crate::{NodeId, WriteAnswer};

/// The results of a forwarded write, in the order of their series.
const FORWARD_RESULTS: [&str; 3] = ["ok", "not_leader", "failed"];
const FORWARD_OK: usize = 0;
const FORWARD_NOT_LEADER: usize = 1;
const FORWARD_FAILED: usize = 2;

/// The roles of `switchyard_raft_role`, one series each.
const ROLES: [(ServerState, &str); 5] = [
    (ServerState::Leader, "leader"),
    (ServerState::Follower, "follower"),
    (ServerState::Candidate, "candidate"),
    (ServerState::Learner, "learner"),
    (ServerState::Shutdown, "shutdown"),
];

/// The Raft node's recorded instruments.
#[derive(Debug, Clone)]
pub(crate) struct RaftInstruments {
    pub(crate) commit_latency: DurationHistogram,
    forwarded_writes: Labelled<Counter>,
    leader_changes: Counter,
}

impl RaftInstruments {
    pub(crate) fn register(registry: &Registry) -> RaftInstruments {
        let instruments = RaftInstruments {
            commit_latency: DurationHistogram::new(),
            forwarded_writes: Labelled::new(
                FORWARD_RESULTS
                    .iter()
                    .map(|result| vec![("result", Cow::Borrowed(*result))]),
            ),
            leader_changes: Counter::default(),
        };
        registry.register(
            "commit_latency",
            "On the leader: a client write from proposal to its applied answer",
            Some(Unit::Seconds),
            instruments.commit_latency.clone(),
        );
        registry.register(
            "forwarded_writes",
            "Client writes this node forwarded to the leader, by result",
            None,
            instruments.forwarded_writes.clone(),
        );
        registry.register(
            "raft_leader_changes",
            "Leaders this node has seen take over (a new leader or a new term)",
            None,
            instruments.leader_changes.clone(),
        );
        instruments
    }

    /// Counts the outcome of one forwarded write.
    pub(crate) fn count_forwarded(&self, outcome: &Result<WriteAnswer, NodeError>) {
        let result = match outcome {
            Ok(_) => FORWARD_OK,
            Err(NodeError::NotLeader { .. }) => FORWARD_NOT_LEADER,
            Err(_) => FORWARD_FAILED,
        };
        self.forwarded_writes.get(result).inc();
    }

    pub(crate) fn leader_changes(&self) -> Counter {
        self.leader_changes.clone()
    }
}

/// Counts leader changes until the Raft core stops (its watch closes).
pub(crate) async fn count_leader_changes(raft: Raft, leader_changes: Counter) {
    let mut server = raft.server_metrics();
    let mut last: Option<(NodeId, u64)> = None;
    loop {
        let seen = {
            let metrics = server.borrow_watched();
            metrics
                .current_leader
                .map(|leader| (leader, metrics.vote.leader_id.term))
        };
        if let Some(seen) = seen
            && last != Some(seen)
        {
            leader_changes.inc();
            last = Some(seen);
        }
        if server.changed().await.is_err() {
            return;
        }
    }
}

/// The gauges read from the Raft core at every scrape. Holds the node weakly: the registry that
/// holds this collector belongs to the node.
#[derive(Debug)]
pub(crate) struct RaftCollector {
    pub(crate) shared: Weak<Shared>,
}

impl Collector for RaftCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        let metrics = shared.metrics();
        let leads = shared.leads(&metrics);
        let index =
            |log_id: Option<&crate::alias::LogId>| log_id.map_or(0, |log_id| log_id.index());
        let committed = index(metrics.local_committed.as_ref());
        let applied = index(metrics.last_applied.as_ref());
        let last_log = metrics.last_log_index.unwrap_or(0);
        let encoder = &mut encoder;
        encode_gauge(
            encoder,
            "raft_term",
            "The current Raft term",
            None,
            metrics.current_term,
        )?;
        encode_gauge(
            encoder,
            "raft_is_leader",
            "1 while this node leads, else 0",
            None,
            u32::from(leads),
        )?;
        let roles: Vec<(LabelPairs, u32)> = ROLES
            .iter()
            .map(|(state, name)| {
                (
                    vec![("role", Cow::Borrowed(*name))],
                    u32::from(metrics.state == *state),
                )
            })
            .collect();
        encode_gauge_series(
            encoder,
            "raft_role",
            "1 for this node's Raft role, 0 for the others",
            None,
            &roles,
        )?;
        let leader = metrics
            .current_leader
            .map_or(-1, |leader| i64::try_from(leader).unwrap_or(i64::MAX));
        encode_gauge(
            encoder,
            "raft_leader_id",
            "The node this node takes for the leader; -1 when it knows none",
            None,
            leader,
        )?;
        encode_gauge(
            encoder,
            "raft_last_log_index",
            "Index of the last entry in this node's log",
            None,
            last_log,
        )?;
        encode_gauge(
            encoder,
            "raft_committed_index",
            "Index of the last entry this node knows committed",
            None,
            committed,
        )?;
        encode_gauge(
            encoder,
            "raft_applied_index",
            "Index of the last entry this node applied",
            None,
            applied,
        )?;
        encode_gauge(
            encoder,
            "raft_apply_lag_entries",
            "Committed entries this node has not applied yet",
            None,
            committed.saturating_sub(applied),
        )?;
        encode_gauge(
            encoder,
            "raft_snapshot_index",
            "Index of the last entry in this node's current snapshot",
            None,
            index(metrics.snapshot.as_ref()),
        )?;
        encode_gauge(
            encoder,
            "raft_leader_contact_age",
            "Time since this node was last in touch with a working leader (the leader: since a quorum acknowledged it); since the node started when never",
            Some(&Unit::Seconds),
            shared
                .leader_contact_age_with(&metrics)
                .unwrap_or_else(|| shared.started.elapsed())
                .as_secs_f64(),
        )?;
        let lags: Vec<(LabelPairs, u64)> = if leads {
            metrics
                .replication
                .iter()
                .flatten()
                .filter(|(peer, _)| **peer != shared.node_id)
                .map(|(peer, matched)| {
                    let matched = matched.as_ref().map_or(0, |log_id| log_id.index());
                    (
                        vec![("peer", Cow::Owned(peer.to_string()))],
                        last_log.saturating_sub(matched),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        encode_gauge_series(
            encoder,
            "raft_replication_lag_entries",
            "On the leader: entries of its log each peer has not matched yet",
            None,
            &lags,
        )?;
        encode_gauge(
            encoder,
            "node_serving",
            "1 while this node serves reads and writes (disk answers, current cluster epoch, not shutting down), else 0",
            None,
            u32::from(shared.not_serving_reason().is_none()),
        )?;
        Ok(())
    }
}
