//! What a node needs to start: its identity, its store, where it listens, how the cluster begins,
//! and the Raft timings, validated, and turned into `openraft::Config` field by field.
//!
//! The defaults are for the production topology: Tokyo and Osaka about 10 ms apart (round trip),
//! a witness at a third place. They are never openraft's defaults, which are tuned for a LAN.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchyard_store::{Site, StoreConfig};

use crate::{NodeId, limits};

/// The tunable Raft settings of a node, as they appear in the node's TOML config (kebab-case
/// keys, unknown keys refused). Every field has a default; [`RaftSettings::validate`] checks
/// them against each other.
///
/// Why the default timings: a replication round between Tokyo and Osaka is about a 10 ms round
/// trip plus a remote fsync, a few milliseconds on the servers' SSDs. A 50 ms heartbeat is five
/// such rounds, so a slow fsync or a short network hiccup does not make followers doubt the
/// leader.
///
/// How long a follower waits before it stands is *not* the election timeout alone. openraft
/// grants the leader a lease of `election-timeout-max-ms` from the last message a follower
/// accepted, refuses every vote inside it, and starts the election timer only when the lease is
/// over: a follower stands after `election-timeout-max-ms` + a random draw between the minimum
/// and the maximum of silence. With 250–400 ms that is 650–800 ms, thirteen to sixteen lost
/// heartbeats in a row — no single dropped packet, GC-like pause or slow disk causes an
/// election — while a killed leader (or a lost site) is replaced in about 0.7–0.8 s: the
/// earliest of the surviving voters' draws, then one pre-vote and one vote round of ~10 ms each
/// (measured by `switchyard-failover`, docs/BENCHMARKS.md). The 150 ms spread between minimum and
/// maximum is fifteen round trips, so two followers rarely stand at the same moment and split
/// the vote. The previous defaults (100 ms, 500–1000 ms) waited 1.5–2.0 s before standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RaftSettings {
    /// The name of the cluster, shown in openraft's logs and spans.
    pub cluster_name: String,
    /// How often the leader sends heartbeats; also the base deadline of a replication message.
    pub heartbeat_interval_ms: u64,
    /// A follower that hears nothing from the leader for a random time between the minimum and
    /// the maximum stands for election. This is the minimum.
    pub election_timeout_min_ms: u64,
    /// The maximum of the election timeout; also how long a leader's lease lasts.
    pub election_timeout_max_ms: u64,
    /// Whether a would-be candidate first asks whether it could win (pre-vote), so that a node
    /// that was cut off cannot raise the term and depose a healthy leader when it returns.
    pub pre_vote: bool,
    /// Build a snapshot after this many entries applied since the last one; 0 builds snapshots
    /// only when asked (`raft.trigger().snapshot()`).
    pub snapshot_logs_since_last: u64,
    /// Entries already inside the snapshot that are kept in the log, so that a follower briefly
    /// behind catches up from the log instead of a whole snapshot (the purge lag).
    pub purge_lag_entries: u64,
    /// Most log entries in one replication batch (openraft's `max_payload_entries`). A batch is
    /// also cut to [`crate::limits::APPEND_ENTRIES_PAYLOAD_BYTES_MAX`] bytes on the wire.
    pub append_entries_max: u64,
    /// A learner within this many entries of the leader counts as caught up: adding it returns,
    /// and it may be promoted or receive leadership.
    pub caught_up_lag_entries_max: u64,
    /// Time for the leader to send a whole snapshot and for the follower to install it, after
    /// the last chunk was sent.
    pub snapshot_install_timeout_ms: u64,
    /// Longest time a client write waits for its answer, forwarding and retries included.
    pub write_timeout_ms: u64,
    /// Longest wait for a leadership transfer to produce the new leader.
    pub leader_transfer_timeout_ms: u64,
    /// Longest wait for a new learner to catch up before adding it fails.
    pub learner_catch_up_timeout_ms: u64,
    /// Peer channels: time to establish a TCP connection.
    pub connect_timeout_ms: u64,
    /// Peer channels: TCP keepalive probes after this much idle time.
    pub tcp_keepalive_ms: u64,
    /// Peer channels and the internal server: the HTTP/2 ping interval.
    pub http2_keepalive_interval_ms: u64,
    /// How long an HTTP/2 ping may stay unanswered before the connection is dropped.
    pub http2_keepalive_timeout_ms: u64,
    /// The site where operators want the leader (`tokyo`, `osaka`, `witness`), the same on every
    /// node; absent: no preference. It moves nothing by itself: an automatic election may put
    /// the leader elsewhere, and it stays there — no flapping back while a site recovers — until
    /// an operator runs `swctl failover --to-preferred`. `swctl status` shows the preference and
    /// says when the leader is away from it.
    #[serde(with = "optional_site", skip_serializing_if = "Option::is_none")]
    pub preferred_leader_site: Option<Site>,
}

/// `Option<Site>` as the lowercase site name in config files.
mod optional_site {
    use serde::{Deserialize, Deserializer, Serializer};
    use switchyard_store::Site;

    pub(super) fn serialize<S: Serializer>(
        site: &Option<Site>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match site {
            Some(site) => serializer.serialize_str(site.name()),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Site>, D::Error> {
        let name = String::deserialize(deserializer)?;
        Site::parse(&name).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{name:?} is not a site: expected tokyo, osaka or witness"
            ))
        })
    }
}

impl Default for RaftSettings {
    fn default() -> RaftSettings {
        RaftSettings {
            cluster_name: "switchyard".to_owned(),
            heartbeat_interval_ms: 50,
            election_timeout_min_ms: 250,
            election_timeout_max_ms: 400,
            pre_vote: true,
            snapshot_logs_since_last: 50_000,
            purge_lag_entries: 5_000,
            append_entries_max: 64,
            caught_up_lag_entries_max: 64,
            snapshot_install_timeout_ms: 120_000,
            write_timeout_ms: 10_000,
            leader_transfer_timeout_ms: 10_000,
            learner_catch_up_timeout_ms: 600_000,
            connect_timeout_ms: 1_000,
            tcp_keepalive_ms: 10_000,
            http2_keepalive_interval_ms: 1_000,
            http2_keepalive_timeout_ms: 3_000,
            preferred_leader_site: None,
        }
    }
}

/// A setting that does not make sense, alone or with the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("`{name}` must be at least {minimum}, is {value}")]
    TooSmall {
        name: &'static str,
        value: u64,
        minimum: u64,
    },
    #[error(
        "`election-timeout-min-ms` ({election_timeout_min_ms}) must be more than 3 x `heartbeat-interval-ms` ({heartbeat_interval_ms}): several heartbeats must be lost before anyone stands"
    )]
    ElectionTimeoutTooShort {
        election_timeout_min_ms: u64,
        heartbeat_interval_ms: u64,
    },
    #[error(
        "`election-timeout-max-ms` ({max}) must exceed `election-timeout-min-ms` ({min}) so that candidates spread out"
    )]
    ElectionTimeoutRange { min: u64, max: u64 },
    #[error("`http2-keepalive-timeout-ms` ({timeout}) must be at least the interval ({interval})")]
    KeepaliveTimeout { interval: u64, timeout: u64 },
    #[error("the initial members do not include this node ({node_id})")]
    InitializerNotMember { node_id: NodeId },
    #[error("initial member {node_id} has no Raft address")]
    MemberWithoutAddress { node_id: NodeId },
    #[error(
        "initial member {node_id} is this node, but its site ({configured}) is not this node's ({actual})"
    )]
    OwnSiteMismatch {
        node_id: NodeId,
        configured: Site,
        actual: Site,
    },
    #[error("openraft refused the configuration: {0}")]
    Openraft(String),
}

impl RaftSettings {
    /// Settings for tests on one machine: 50 ms heartbeats, elections after 300–600 ms, and
    /// short waits everywhere, so that a whole cluster test runs in seconds.
    pub fn for_tests() -> RaftSettings {
        RaftSettings {
            cluster_name: "switchyard-test".to_owned(),
            heartbeat_interval_ms: 50,
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            snapshot_logs_since_last: 0,
            purge_lag_entries: 100,
            write_timeout_ms: 15_000,
            leader_transfer_timeout_ms: 5_000,
            learner_catch_up_timeout_ms: 60_000,
            connect_timeout_ms: 500,
            http2_keepalive_interval_ms: 500,
            http2_keepalive_timeout_ms: 1_500,
            ..RaftSettings::default()
        }
    }

    /// Checks the settings against each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("heartbeat-interval-ms", self.heartbeat_interval_ms),
            ("append-entries-max", self.append_entries_max),
            (
                "snapshot-install-timeout-ms",
                self.snapshot_install_timeout_ms,
            ),
            ("write-timeout-ms", self.write_timeout_ms),
            (
                "leader-transfer-timeout-ms",
                self.leader_transfer_timeout_ms,
            ),
            (
                "learner-catch-up-timeout-ms",
                self.learner_catch_up_timeout_ms,
            ),
            ("connect-timeout-ms", self.connect_timeout_ms),
            ("tcp-keepalive-ms", self.tcp_keepalive_ms),
            (
                "http2-keepalive-interval-ms",
                self.http2_keepalive_interval_ms,
            ),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(ConfigError::TooSmall {
                    name,
                    value,
                    minimum: 1,
                });
            }
        }
        if self.election_timeout_min_ms <= 3 * self.heartbeat_interval_ms {
            return Err(ConfigError::ElectionTimeoutTooShort {
                election_timeout_min_ms: self.election_timeout_min_ms,
                heartbeat_interval_ms: self.heartbeat_interval_ms,
            });
        }
        if self.election_timeout_max_ms <= self.election_timeout_min_ms {
            return Err(ConfigError::ElectionTimeoutRange {
                min: self.election_timeout_min_ms,
                max: self.election_timeout_max_ms,
            });
        }
        if self.http2_keepalive_timeout_ms < self.http2_keepalive_interval_ms {
            return Err(ConfigError::KeepaliveTimeout {
                interval: self.http2_keepalive_interval_ms,
                timeout: self.http2_keepalive_timeout_ms,
            });
        }
        Ok(())
    }

    /// The openraft configuration, built field by field from these settings; every field that
    /// matters is set here rather than left at openraft's LAN-tuned default.
    pub fn openraft_config(&self) -> Result<openraft::Config, ConfigError> {
        self.validate()?;
        let snapshot_policy = if self.snapshot_logs_since_last == 0 {
            openraft::SnapshotPolicy::Never
        } else {
            openraft::SnapshotPolicy::LogsSinceLast(self.snapshot_logs_since_last)
        };
        let config = openraft::Config {
            cluster_name: self.cluster_name.clone(),
            heartbeat_interval: self.heartbeat_interval_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            enable_pre_vote: Some(self.pre_vote),
            // Heartbeats go out on every tick (openraft's default); suppressing them under load
            // saves little in a five-node cluster.
            heartbeat_min_interval: Some(0),
            install_snapshot_timeout: self.snapshot_install_timeout_ms,
            max_payload_entries: self.append_entries_max,
            replication_lag_threshold: self.caught_up_lag_entries_max,
            snapshot_policy,
            snapshot_max_chunk_size: limits::SNAPSHOT_CHUNK_BYTES_MAX as u64,
            max_in_snapshot_log_to_keep: self.purge_lag_entries,
            purge_batch_size: 256,
            api_channel_size: Some(limits::RAFT_API_QUEUE_MAX),
            notification_channel_size: Some(limits::RAFT_NOTIFICATION_QUEUE_MAX),
            state_machine_channel_size: Some(limits::STATE_MACHINE_QUEUE_MAX),
            api_batch_capacity: limits::PROPOSAL_BATCH_ENTRIES_MAX,
            max_append_entries: Some(limits::PROPOSAL_BATCH_ENTRIES_MAX),
            // The store's append returns once the entries are written and syncs them in the
            // background (group commit): replicate at once, so the followers' syncs run while
            // the leader's own does, instead of after it.
            broadcast_submitted_on_append: Some(true),
            // A restarted node never resumes leadership on its own: it may have missed a whole
            // term, and an election costs one round trip.
            enable_leader_restore: Some(false),
            // A node whose log went backwards lost acknowledged data; never paper over that.
            allow_log_reversion: Some(false),
            // Retry an unreachable peer soon, then back off to at most two seconds.
            backoff: "100ms 200ms ...2s".to_owned(),
            ..openraft::Config::default()
        };
        config
            .validate()
            .map_err(|error| ConfigError::Openraft(error.to_string()))
    }

    pub(crate) fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms)
    }

    pub(crate) fn election_timeout_max(&self) -> Duration {
        Duration::from_millis(self.election_timeout_max_ms)
    }

    pub(crate) fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }

    pub(crate) fn leader_transfer_timeout(&self) -> Duration {
        Duration::from_millis(self.leader_transfer_timeout_ms)
    }

    pub(crate) fn learner_catch_up_timeout(&self) -> Duration {
        Duration::from_millis(self.learner_catch_up_timeout_ms)
    }
}

/// A member of the cluster's first membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialMember {
    pub site: Site,
    /// `host:port` of the member's internal Raft service. For the initializing node itself it may
    /// be left empty: the address the node bound is used.
    pub raft_address: String,
    /// `host:port` of the member's public API, empty if it serves none yet.
    pub api_address: String,
}

/// How a node joins its cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Bootstrap {
    /// The node waits to be added by the leader of an existing cluster (or restarts into the
    /// cluster it already belongs to).
    #[default]
    Join,
    /// The node creates the cluster with these voters, once: only if its store is completely
    /// fresh. A store that has ever voted or logged anything is never initialized again.
    Initialize {
        members: BTreeMap<NodeId, InitialMember>,
    },
}

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's id. Never reused, and never given to a wiped node.
    pub node_id: NodeId,
    pub site: Site,
    /// Where the internal Raft service listens; port 0 picks a free port (tests).
    pub raft_listen_address: SocketAddr,
    /// The `host:port` peers use to reach this node; empty means the bound address.
    pub raft_advertise_address: String,
    /// The `host:port` of this node's public API, recorded in the membership; may be empty.
    pub api_address: String,
    /// The data directory, cache size and disk-stall bound of the store.
    pub store: StoreConfig,
    /// The cluster epoch this node belongs to; raised by a forced disaster-recovery cutover so
    /// that nodes of the old cluster are fenced off.
    pub cluster_epoch: u64,
    pub raft: RaftSettings,
    pub bootstrap: Bootstrap,
    /// Peers reached through another address: a peer's advertised Raft address (`host:port`,
    /// as the membership records it) → the `host:port` actually dialled. For tests that put a
    /// fault-injecting proxy on every link, and for sidecars; empty in a plain deployment.
    pub peer_dial_overrides: BTreeMap<String, String>,
}

impl NodeConfig {
    /// A joining node with default settings.
    pub fn new(
        node_id: NodeId,
        site: Site,
        raft_listen_address: SocketAddr,
        store: StoreConfig,
    ) -> NodeConfig {
        NodeConfig {
            node_id,
            site,
            raft_listen_address,
            raft_advertise_address: String::new(),
            api_address: String::new(),
            store,
            cluster_epoch: 0,
            raft: RaftSettings::default(),
            bootstrap: Bootstrap::Join,
            peer_dial_overrides: BTreeMap::new(),
        }
    }

    /// Checks the settings and the bootstrap membership.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.raft.validate()?;
        if let Bootstrap::Initialize { members } = &self.bootstrap {
            let Some(own) = members.get(&self.node_id) else {
                return Err(ConfigError::InitializerNotMember {
                    node_id: self.node_id,
                });
            };
            if own.site != self.site {
                return Err(ConfigError::OwnSiteMismatch {
                    node_id: self.node_id,
                    configured: own.site,
                    actual: self.site,
                });
            }
            for (node_id, member) in members {
                if *node_id != self.node_id && member.raft_address.is_empty() {
                    return Err(ConfigError::MemberWithoutAddress { node_id: *node_id });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The production defaults pass validation and reach openraft unchanged.
    #[test]
    fn defaults_are_valid_and_applied() {
        let settings = RaftSettings::default();
        let config = settings.openraft_config().unwrap();
        assert_eq!(config.heartbeat_interval, 50);
        assert_eq!(config.election_timeout_min, 250);
        assert_eq!(config.election_timeout_max, 400);
        assert_eq!(config.enable_pre_vote, Some(true));
        assert_eq!(config.max_payload_entries, 64);
        RaftSettings::for_tests().openraft_config().unwrap();
    }

    /// An election timeout within three heartbeats is refused with a typed error.
    #[test]
    fn election_timeout_must_cover_several_heartbeats() {
        let settings = RaftSettings {
            election_timeout_min_ms: 150,
            ..RaftSettings::default()
        };
        assert!(matches!(
            settings.validate(),
            Err(ConfigError::ElectionTimeoutTooShort { .. })
        ));
        let settings = RaftSettings {
            election_timeout_max_ms: 250,
            ..RaftSettings::default()
        };
        assert!(matches!(
            settings.validate(),
            Err(ConfigError::ElectionTimeoutRange { .. })
        ));
    }

    /// Kebab-case keys parse and an unknown key is refused.
    #[test]
    fn settings_parse_strictly() {
        let parsed: RaftSettings =
            serde_json::from_str(r#"{"heartbeat-interval-ms": 120, "pre-vote": false}"#).unwrap();
        assert_eq!(parsed.heartbeat_interval_ms, 120);
        assert!(!parsed.pre_vote);
        assert_eq!(parsed.election_timeout_min_ms, 250);
        assert_eq!(parsed.preferred_leader_site, None);
        assert!(serde_json::from_str::<RaftSettings>(r#"{"heartbeat": 1}"#).is_err());
        let preferred: RaftSettings =
            serde_json::from_str(r#"{"preferred-leader-site": "osaka"}"#).unwrap();
        assert_eq!(preferred.preferred_leader_site, Some(Site::Osaka));
    }
}
