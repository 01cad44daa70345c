//! The scenarios of the chaos suite: a layout and the fault kinds its nemesis draws from.

use std::fmt;

use super::nemesis::FaultKind;
use crate::procs::Layout;

/// Which cluster a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioLayout {
    /// tokyo-1, tokyo-2, osaka-1, osaka-2, witness-1.
    FiveNodes,
    /// Two sites without a witness: three nodes in Tokyo, two in Osaka.
    TwoSites,
}

impl ScenarioLayout {
    pub fn layout(self) -> Layout {
        match self {
            ScenarioLayout::FiveNodes => Layout::five_nodes(),
            ScenarioLayout::TwoSites => Layout::two_sites_three_two(),
        }
    }
}

impl fmt::Display for ScenarioLayout {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            ScenarioLayout::FiveNodes => "five nodes (Tokyo 2, Osaka 2, witness)",
            ScenarioLayout::TwoSites => "two sites (Tokyo 3, Osaka 2)",
        })
    }
}

/// One scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// The name `CHAOS_SCENARIOS` uses.
    pub name: &'static str,
    pub layout: ScenarioLayout,
    /// The nemesis cycles through these (in a seeded order).
    pub faults: &'static [FaultKind],
    pub summary: &'static str,
}

/// Every scenario of the suite.
pub const SCENARIOS: [Scenario; 5] = [
    Scenario {
        name: "partitions",
        layout: ScenarioLayout::FiveNodes,
        faults: &[
            FaultKind::PartitionSite,
            FaultKind::IsolateLeader,
            FaultKind::OneWayPartition,
            FaultKind::DropLinks,
        ],
        summary: "network faults: a site cut off, the leader isolated, one-way partitions, links dropping everything",
    },
    Scenario {
        name: "crashes",
        layout: ScenarioLayout::FiveNodes,
        faults: &[
            FaultKind::KillRestart,
            FaultKind::PauseResume,
            FaultKind::IsolateLeader,
        ],
        summary: "processes: SIGKILL and restart, SIGSTOP and SIGCONT (the leader half the time), the leader isolated",
    },
    Scenario {
        name: "disk-and-clock",
        layout: ScenarioLayout::FiveNodes,
        faults: &[
            FaultKind::StorageStall,
            FaultKind::ClockBehind,
            FaultKind::SlowLinks,
        ],
        summary: "a stalled disk (the 2022 failure), a leader whose clock runs behind, slow links between sites",
    },
    Scenario {
        name: "mixed",
        layout: ScenarioLayout::FiveNodes,
        faults: &FaultKind::ALL,
        summary: "every fault kind in turn",
    },
    Scenario {
        name: "two-sites",
        layout: ScenarioLayout::TwoSites,
        faults: &[
            FaultKind::PartitionSite,
            FaultKind::KillRestart,
            FaultKind::IsolateLeader,
            FaultKind::PauseResume,
            FaultKind::OneWayPartition,
            FaultKind::StorageStall,
        ],
        summary: "the two-site 3 + 2 layout: either site cut off, kills, pauses, isolation, one-way partitions, a stalled disk",
    },
];

/// The scenario called `name`.
pub fn scenario(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|scenario| scenario.name == name)
}
