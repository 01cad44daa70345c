//! The nemesis: faults drawn from a seed and applied to a [`ProcessCluster`] one at a time, each
//! for a bounded time and then healed.
//!
//! A [`Schedule`] is a list of faults with a quiet time before each and a duration; it depends on
//! the seed and the scenario's fault kinds only, so a seed replays the same schedule. The target
//! of a fault (the leader, a follower, a site) is chosen when the fault is applied, from the same
//! seed and what the cluster looks like then — timing on a shared machine is never exactly the
//! same, so a replay repeats the faults, not every interleaving.
//!
//! Every fault is undone by [`Nemesis::undo`] after its duration, and
//! [`Nemesis::heal_everything`] ends all of them at the end of a run: links pass again, delays go
//! back to the baseline, frozen processes continue, killed ones restart, disks and clocks inside
//! the processes are released.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use switchyard_domain::generator::SplitMix64;
use switchyard_proto::admin::v1 as admin;
use switchyard_raft::{NodeId, Site};
use tokio::time::Instant;

use crate::procs::{HarnessError, NodeFaults, ProcessCluster, ProcessState, request};
use crate::proxy::Delay;

/// What a node logs when a disk sync outlasts its stall bound (`switchyard-store`'s `disk.rs`).
const STALL_NOTICED: &str = "disk sync stalled; marking this node unhealthy";
/// How long the nemesis waits for a leader before it picks a target without one.
const LEADER_WAIT: Duration = Duration::from_secs(10);
/// Deadline of a planned leadership transfer (the clock-behind fault).
const TRANSFER_DEADLINE: Duration = Duration::from_secs(12);
/// The Tokyo–Osaka link: about 10 ms round trip, so 5 ms ± 2 ms each way (also to the witness).
pub const BASELINE_DELAY: Delay = Delay {
    base: Duration::from_millis(5),
    jitter: Duration::from_millis(2),
};
/// A congested wide-area link: 60 ms ± 50 ms each way.
const SLOW_DELAY: Delay = Delay {
    base: Duration::from_millis(60),
    jitter: Duration::from_millis(50),
};

/// The kinds of fault the nemesis knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FaultKind {
    /// Every link between one site and the others is cut, both ways.
    PartitionSite,
    /// The leader is cut off from every peer, both ways.
    IsolateLeader,
    /// One node's messages to every peer are lost (or every peer's to it), the other way passes.
    OneWayPartition,
    /// A random third of the directed links drop everything they carry.
    DropLinks,
    /// The links between sites slow to 60 ± 50 ms each way (from the ~10 ms round trip).
    SlowLinks,
    /// A node (the leader half the time) is SIGKILLed, then restarted from its directory.
    KillRestart,
    /// A node (the leader half the time) is frozen with SIGSTOP, then continued with SIGCONT.
    PauseResume,
    /// Every disk sync of a node (the leader half the time) is held through the store's fault
    /// point, then released.
    StorageStall,
    /// A follower's clock is set 10 to 180 minutes behind and leadership is handed to it; its
    /// clock is put right afterwards. Entry timestamps must not go back.
    ClockBehind,
}

impl FaultKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::PartitionSite,
        FaultKind::IsolateLeader,
        FaultKind::OneWayPartition,
        FaultKind::DropLinks,
        FaultKind::SlowLinks,
        FaultKind::KillRestart,
        FaultKind::PauseResume,
        FaultKind::StorageStall,
        FaultKind::ClockBehind,
    ];

    /// The kebab-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PartitionSite => "partition-site",
            FaultKind::IsolateLeader => "isolate-leader",
            FaultKind::OneWayPartition => "one-way-partition",
            FaultKind::DropLinks => "drop-links",
            FaultKind::SlowLinks => "slow-links",
            FaultKind::KillRestart => "kill-restart",
            FaultKind::PauseResume => "pause-resume",
            FaultKind::StorageStall => "storage-stall",
            FaultKind::ClockBehind => "clock-behind",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// One fault of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledFault {
    pub kind: FaultKind,
    /// How long the cluster runs without a fault first.
    pub quiet_before_ms: u64,
    /// How long the fault lasts before it is undone.
    pub duration_ms: u64,
    /// Seeds the choice of the fault's target.
    pub draw: u64,
}

/// The faults of one run, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub faults: Vec<ScheduledFault>,
}

/// Bounds of a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleBounds {
    /// The faults together with their quiet times fill about this long.
    pub total: Duration,
    pub quiet_ms_min: u64,
    pub quiet_ms_max: u64,
    pub fault_ms_min: u64,
    pub fault_ms_max: u64,
}

impl Schedule {
    /// Draws faults of `kinds` (cycling through them in a seeded order, so that every kind
    /// appears before one repeats) until `bounds.total` is filled.
    pub fn draw(seed: u64, kinds: &[FaultKind], bounds: ScheduleBounds) -> Schedule {
        let mut random = SplitMix64::new(seed ^ 0x6E65_6D65_7369_7321);
        let mut faults = Vec::new();
        let mut elapsed_ms = 0u64;
        let total_ms = u64::try_from(bounds.total.as_millis()).unwrap_or(u64::MAX);
        let mut order: Vec<FaultKind> = Vec::new();
        while !kinds.is_empty() {
            if order.is_empty() {
                order = kinds.to_vec();
                // Fisher–Yates with the run's generator.
                for index in (1..order.len()).rev() {
                    let other = random.below(index as u64 + 1) as usize;
                    order.swap(index, other);
                }
            }
            let quiet_before_ms = between(&mut random, bounds.quiet_ms_min, bounds.quiet_ms_max);
            let duration_ms = between(&mut random, bounds.fault_ms_min, bounds.fault_ms_max);
            if !faults.is_empty() && elapsed_ms + quiet_before_ms + duration_ms > total_ms {
                break;
            }
            elapsed_ms += quiet_before_ms + duration_ms;
            faults.push(ScheduledFault {
                kind: order.pop().expect("refilled above"),
                quiet_before_ms,
                duration_ms,
                draw: random.next_u64(),
            });
        }
        Schedule { faults }
    }
}

fn between(random: &mut SplitMix64, low: u64, high: u64) -> u64 {
    low + random.below(high.saturating_sub(low) + 1)
}

/// What the nemesis did, for the run's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    pub kind: FaultKind,
    /// What exactly was done, e.g. "SIGKILL osaka-1 (the leader)".
    pub description: String,
    /// On the run's clock (nanoseconds since the workload began).
    pub applied_at_ns: u64,
    pub healed_at_ns: u64,
}

/// How to undo an applied fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undo {
    /// Every link passes again.
    HealLinks,
    /// Delays between sites go back to the baseline.
    RestoreDelays,
    Restart(NodeId),
    Resume(NodeId),
    ClearFaults(NodeId),
}

/// Applies and undoes faults on one cluster.
#[derive(Debug)]
pub struct Nemesis {
    started: Instant,
    records: Vec<FaultRecord>,
    /// Stalls each node's log reported so far.
    stalls_noticed: std::collections::BTreeMap<NodeId, usize>,
}

impl Nemesis {
    /// A nemesis whose records use the clock that began at `started`.
    pub fn new(started: Instant) -> Nemesis {
        Nemesis {
            started,
            records: Vec::new(),
            stalls_noticed: std::collections::BTreeMap::new(),
        }
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// What was done so far.
    pub fn records(&self) -> &[FaultRecord] {
        &self.records
    }

    /// The baseline latency of a run: every link between two sites delayed by
    /// [`BASELINE_DELAY`] each way.
    pub fn set_baseline_delays(cluster: &ProcessCluster) {
        for (site_a, site_b) in [
            (Site::Tokyo, Site::Osaka),
            (Site::Tokyo, Site::Witness),
            (Site::Osaka, Site::Witness),
        ] {
            cluster.set_delay_between_sites(site_a, site_b, BASELINE_DELAY);
        }
    }

    /// Applies `fault`, records it, and returns how to undo it. A harness failure (a node that
    /// does not restart, a fault point that does not answer) is an error; a transfer that does
    /// not happen is only noted.
    pub async fn apply(
        &mut self,
        cluster: &mut ProcessCluster,
        fault: &ScheduledFault,
    ) -> Result<Undo, HarnessError> {
        let mut random = SplitMix64::new(fault.draw);
        let leader = cluster
            .wait_for_leader(LEADER_WAIT)
            .await
            .ok()
            .map(|leader| leader.node_id);
        let nodes = cluster.node_ids();
        let running = cluster.running();
        let describe = |cluster: &ProcessCluster, node: NodeId| {
            if Some(node) == leader {
                format!("{} (the leader)", cluster.name(node))
            } else {
                cluster.name(node).to_owned()
            }
        };
        // The leader half the time, otherwise any running node.
        let leader_or_any = |random: &mut SplitMix64| -> NodeId {
            match leader {
                Some(leader) if random.chance(500) => leader,
                _ => *random.pick(if running.is_empty() { &nodes } else { &running }),
            }
        };
        let applied_at_ns = self.now_ns();
        let (undo, description) = match fault.kind {
            FaultKind::PartitionSite => {
                let sites: Vec<Site> = [Site::Tokyo, Site::Osaka, Site::Witness]
                    .into_iter()
                    .filter(|site| !cluster.nodes_of_site(*site).is_empty())
                    .collect();
                let site = *random.pick(&sites);
                cluster.partition_site(site);
                (
                    Undo::HealLinks,
                    format!("site {site} cut off from the other sites"),
                )
            }
            FaultKind::IsolateLeader => {
                let target = leader.unwrap_or_else(|| *random.pick(&nodes));
                cluster.isolate(target);
                (
                    Undo::HealLinks,
                    format!("{} isolated from every peer", describe(cluster, target)),
                )
            }
            FaultKind::OneWayPartition => {
                let target = leader_or_any(&mut random);
                let outgoing = random.chance(500);
                for other in nodes.iter().copied().filter(|other| *other != target) {
                    if outgoing {
                        cluster.block(target, other);
                    } else {
                        cluster.block(other, target);
                    }
                }
                let direction = if outgoing {
                    "its messages to every peer are lost; theirs reach it"
                } else {
                    "every peer's messages to it are lost; its own reach them"
                };
                (
                    Undo::HealLinks,
                    format!(
                        "one-way partition of {}: {direction}",
                        describe(cluster, target)
                    ),
                )
            }
            FaultKind::DropLinks => {
                let mut dropped = Vec::new();
                for from in &nodes {
                    for to in nodes.iter().filter(|to| *to != from) {
                        if random.chance(333) {
                            cluster.block(*from, *to);
                            dropped.push(format!("{}->{}", cluster.name(*from), cluster.name(*to)));
                        }
                    }
                }
                if dropped.is_empty() {
                    let from = *random.pick(&nodes);
                    let to = *random.pick(
                        &nodes
                            .iter()
                            .copied()
                            .filter(|to| *to != from)
                            .collect::<Vec<_>>(),
                    );
                    cluster.block(from, to);
                    dropped.push(format!("{}->{}", cluster.name(from), cluster.name(to)));
                }
                (
                    Undo::HealLinks,
                    format!("links dropping everything: {}", dropped.join(", ")),
                )
            }
            FaultKind::SlowLinks => {
                for (site_a, site_b) in [
                    (Site::Tokyo, Site::Osaka),
                    (Site::Tokyo, Site::Witness),
                    (Site::Osaka, Site::Witness),
                ] {
                    cluster.set_delay_between_sites(site_a, site_b, SLOW_DELAY);
                }
                (
                    Undo::RestoreDelays,
                    "links between sites delayed 60 ± 50 ms each way".to_owned(),
                )
            }
            FaultKind::KillRestart => {
                let target = leader_or_any(&mut random);
                let description = format!("SIGKILL {}, restart later", describe(cluster, target));
                cluster.kill(target)?;
                (Undo::Restart(target), description)
            }
            FaultKind::PauseResume => {
                let target = leader_or_any(&mut random);
                let description = format!("SIGSTOP {}, SIGCONT later", describe(cluster, target));
                cluster.pause(target)?;
                (Undo::Resume(target), description)
            }
            FaultKind::StorageStall => {
                let target = leader_or_any(&mut random);
                let description = format!(
                    "every disk sync of {} held, released later",
                    describe(cluster, target)
                );
                cluster
                    .set_faults(
                        target,
                        NodeFaults {
                            disk_stall: true,
                            ..cluster.faults(target)
                        },
                    )
                    .await?;
                (Undo::ClearFaults(target), description)
            }
            FaultKind::ClockBehind => {
                let followers: Vec<NodeId> = running
                    .iter()
                    .copied()
                    .filter(|node| Some(*node) != leader)
                    .collect();
                let target = if followers.is_empty() {
                    leader_or_any(&mut random)
                } else {
                    *random.pick(&followers)
                };
                let behind_minutes = between(&mut random, 10, 180);
                let offset_ms = -i64::try_from(behind_minutes * 60_000).unwrap_or(i64::MAX);
                cluster
                    .set_faults(
                        target,
                        NodeFaults {
                            clock_offset_ms: offset_ms,
                            ..cluster.faults(target)
                        },
                    )
                    .await?;
                let transferred = transfer_to(cluster, leader, target, fault.draw).await;
                (
                    Undo::ClearFaults(target),
                    format!(
                        "clock of {} set {behind_minutes} min behind; leadership moved to it: {transferred}",
                        cluster.name(target)
                    ),
                )
            }
        };
        eprintln!(
            "chaos: [{}] {}: {description}",
            super::report::seconds(applied_at_ns),
            fault.kind
        );
        self.records.push(FaultRecord {
            kind: fault.kind,
            description,
            applied_at_ns,
            healed_at_ns: applied_at_ns,
        });
        Ok(undo)
    }

    /// Undoes what [`Nemesis::apply`] did.
    pub async fn undo(
        &mut self,
        cluster: &mut ProcessCluster,
        undo: Undo,
    ) -> Result<(), HarnessError> {
        match undo {
            Undo::HealLinks => cluster.heal(),
            Undo::RestoreDelays => Nemesis::set_baseline_delays(cluster),
            Undo::Restart(node) => {
                if cluster.state(node) == ProcessState::Down {
                    cluster.restart(node).await?;
                }
            }
            Undo::Resume(node) => {
                if cluster.state(node) == ProcessState::Paused {
                    cluster.resume(node)?;
                }
            }
            Undo::ClearFaults(node) => {
                if cluster.state(node) == ProcessState::Running {
                    cluster.set_faults(node, NodeFaults::NONE).await?;
                }
            }
        }
        let healed_at_ns = self.now_ns();
        if let Some(record) = self.records.last_mut() {
            record.healed_at_ns = healed_at_ns;
            if let (FaultKind::StorageStall, Undo::ClearFaults(node)) = (record.kind, undo) {
                // Evidence that the fault bit: the node's own log says it saw its disk stall.
                let log = std::fs::read_to_string(cluster.log_path(node)).unwrap_or_default();
                let reported = log.matches(STALL_NOTICED).count();
                let before = self.stalls_noticed.insert(node, reported).unwrap_or(0);
                let verdict = if reported > before {
                    "the node marked itself unhealthy"
                } else {
                    "not noticed within the fault"
                };
                eprintln!(
                    "chaos: [{}] storage-stall of {} released: {verdict}",
                    super::report::seconds(healed_at_ns),
                    cluster.name(node)
                );
                record.description.push_str(&format!(" ({verdict})"));
            }
        }
        Ok(())
    }

    /// Ends every fault: links heal, delays go back to the baseline, paused processes continue,
    /// killed ones restart, and every node's disk and clock are released.
    pub async fn heal_everything(cluster: &mut ProcessCluster) -> Result<(), HarnessError> {
        cluster.heal();
        Nemesis::set_baseline_delays(cluster);
        for node in cluster.node_ids() {
            match cluster.state(node) {
                ProcessState::Paused => cluster.resume(node)?,
                ProcessState::Down => cluster.restart(node).await?,
                ProcessState::Running => {}
            }
        }
        for node in cluster.node_ids() {
            if cluster.faults(node) != NodeFaults::NONE {
                cluster.set_faults(node, NodeFaults::NONE).await?;
            }
        }
        Ok(())
    }
}

/// Asks the leader to hand leadership to `target`; says what happened (a transfer that does not
/// happen is part of the chaos, not a failure of the run).
async fn transfer_to(
    cluster: &ProcessCluster,
    leader: Option<NodeId>,
    target: NodeId,
    draw: u64,
) -> String {
    let Some(leader) = leader else {
        return "no leader to transfer from".to_owned();
    };
    if leader == target {
        return "it already led".to_owned();
    }
    let answer = cluster
        .admin(leader)
        .transfer_leadership(request(
            admin::TransferLeadershipRequest {
                request_id: format!("chaos-transfer-{draw:016x}"),
                target: Some(admin::transfer_leadership_request::Target::NodeId(target)),
                timeout_ms: 10_000,
            },
            TRANSFER_DEADLINE,
        ))
        .await;
    match answer {
        Ok(response) => {
            let response = response.into_inner();
            format!(
                "{} leads at term {}",
                cluster.name(response.new_leader_node_id),
                response.term
            )
        }
        Err(status) => format!(
            "the transfer did not happen ({:?}: {})",
            status.code(),
            status.message()
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{FaultKind, Schedule, ScheduleBounds};

    fn bounds() -> ScheduleBounds {
        ScheduleBounds {
            total: Duration::from_secs(40),
            quiet_ms_min: 1_000,
            quiet_ms_max: 3_000,
            fault_ms_min: 3_000,
            fault_ms_max: 7_000,
        }
    }

    /// A schedule is a function of its seed: the same seed draws the same faults, another seed
    /// others; every kind appears before one repeats, and the whole fits the bound.
    #[test]
    fn schedules_replay_from_their_seed() {
        let kinds = FaultKind::ALL;
        let first = Schedule::draw(7, &kinds, bounds());
        assert_eq!(first, Schedule::draw(7, &kinds, bounds()));
        assert_ne!(first, Schedule::draw(8, &kinds, bounds()));
        let total_ms: u64 = first
            .faults
            .iter()
            .map(|fault| fault.quiet_before_ms + fault.duration_ms)
            .sum();
        assert!(total_ms <= 40_000, "{total_ms} ms");
        assert!(first.faults.len() >= 4, "{first:?}");
        let prefix: Vec<FaultKind> = first
            .faults
            .iter()
            .take(kinds.len())
            .map(|fault| fault.kind)
            .collect();
        let mut distinct = prefix.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), prefix.len(), "{prefix:?}");
    }
}
