//! A cluster of real `switchyard serve` processes on loopback, every node-to-node link through
//! its own fault-injecting proxy: the harness of multi-process failover tests and of the chaos
//! suite.
//!
//! [`ProcessCluster::start`] picks free ports (binding `127.0.0.1:0` first), starts one
//! [`LinkProxy`] per directed pair of nodes, writes each node's TOML file — development tokens
//! on the public API, `network.peer-dial-overrides` pointing every peer at the node's own proxy
//! to it — into the node's directory of a fresh run directory, launches the processes with
//! stdout and stderr captured to files there, waits for a leader, and loads the sample data
//! through the public API. Tests then kill (SIGKILL), stop (SIGTERM), pause (SIGSTOP/SIGCONT)
//! and restart nodes from their directories, find the leader with the operator's
//! `GetClusterStatus`, wait for leaders and convergence with bounded waits, and partition,
//! delay and heal links.
//!
//! Every process is killed when the cluster is dropped, also when a test panics; a panicking
//! test keeps the run directory and prints where the logs are.
//!
//! How the files divide the work:
//!
//! - `layout.rs`: the five-node and the two-site 3+2 layouts, the node TOML files, the tokens;
//! - `api.rs`: authenticated clients of the public API, the status view, the sample data load;
//! - `mod.rs`: processes, proxies, waits, partitions.

mod api;
mod layout;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchyard_domain::generator::{GeneratorConfig, SampleData};
use switchyard_domain::{Date, OperatorId, PartyId};
use switchyard_proto::admin::v1 as admin;
use switchyard_raft::{NodeId, RaftSettings, Site};
use tonic::transport::Channel;

pub use self::api::{AdminClient, ParticipantClient, StatusView, TsoClient, bearer, request};
use self::layout::{ClusterFile, NodeAddresses};
pub use self::layout::{Layout, NodeSpec, process_token};
use crate::proxy::{Delay, Direction, LinkCounters, LinkProxy};

/// The operator account of a process cluster (token `dev-token-op:operator`).
pub const OPERATOR: &str = "operator";

/// How often waits poll the cluster.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Deadline of one status call while polling.
const STATUS_DEADLINE: Duration = Duration::from_millis(1500);
/// How long a started process may take to answer on its public port.
const PROCESS_READY_WAIT: Duration = Duration::from_secs(30);
/// How long SIGTERM may take before the harness kills the process.
const TERMINATE_WAIT: Duration = Duration::from_secs(15);
/// Longest wait for the first leader and for loading the sample data.
const FIRST_LEADER_WAIT: Duration = Duration::from_secs(60);
/// Attempts at starting a cluster when a port was taken before its node bound it.
const START_ATTEMPTS: u32 = 3;
/// How a node's log says that its address was taken.
const ADDRESS_IN_USE: &str = "Address already in use";
/// Lines of each node's stderr shown when something fails.
const LOG_TAIL_LINES: usize = 12;
/// The environment variable naming a node's fault control file; read only by a binary built
/// with `switchyard-server`'s `fault-injection` feature (its `src/fault_control.rs`).
pub const FAULT_CONTROL_VARIABLE: &str = "SWITCHYARD_FAULT_CONTROL";
/// The fault control file, in each node's directory.
const FAULT_CONTROL_FILE: &str = "fault-control.toml";
/// How long a running node may take to acknowledge a change of its faults.
const FAULT_ACKNOWLEDGE_WAIT: Duration = Duration::from_secs(15);

/// Why the harness could not do what it was asked; the message says what and where the logs
/// are.
#[derive(thiserror::Error)]
#[error("{0}")]
pub struct HarnessError(pub String);

impl std::fmt::Debug for HarnessError {
    /// The message as it is, lines and all: `expect` and `unwrap` print it readably.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// How to start a process cluster.
#[derive(Debug, Clone)]
pub struct ProcessClusterOptions {
    /// The `switchyard` binary (integration tests of the server package:
    /// `env!("CARGO_BIN_EXE_switchyard")`).
    pub binary: PathBuf,
    pub layout: Layout,
    /// Seeds the proxies' delay draws and the sample data; printed at start.
    pub seed: u64,
    /// The `[raft]` section of every node. Default: the production timings.
    pub raft: RaftSettings,
    pub supply_points: usize,
    pub retailers: usize,
    /// The nodes' `[log] level`.
    pub log_level: String,
    /// The nodes' `node.flush-stall-bound-ms`: generous, so that a busy test machine is not
    /// taken for a stalled disk.
    pub flush_stall_bound_ms: u64,
    /// A backup (`DownloadBackup`, `swctl snapshot save`) to seed the cluster with instead of
    /// initializing it: every node's file then lists all members with `initialize = false`, and
    /// `switchyard restore` seeds every data directory before the first start, as the runbook
    /// says. No sample data is loaded (the backup holds the state).
    pub restore_from: Option<PathBuf>,
}

impl ProcessClusterOptions {
    /// The five-node layout with production timings, 400 supply points, 4 retailers, and
    /// `info` logs (openraft's at `warn`).
    pub fn new(binary: impl Into<PathBuf>, seed: u64) -> ProcessClusterOptions {
        ProcessClusterOptions {
            binary: binary.into(),
            layout: Layout::five_nodes(),
            seed,
            raft: RaftSettings::default(),
            supply_points: 400,
            retailers: 4,
            // Switchyard's lifecycle, elections and failover; openraft's own chatter only when
            // something is wrong.
            log_level: "info,openraft=warn".to_owned(),
            flush_stall_bound_ms: 10_000,
            restore_from: None,
        }
    }
}

/// Whether a node's process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessState {
    Running,
    /// SIGSTOPped: alive, holding its ports, answering nothing.
    Paused,
    /// Killed or stopped; [`ProcessCluster::restart`] starts it again from its directory.
    Down,
}

/// The faults set inside one node's process through its fault control file (test builds only):
/// see [`ProcessCluster::set_faults`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeFaults {
    /// Every disk sync of the node is held (the store's stall point) until cleared.
    pub disk_stall: bool,
    /// Added to the wall clock the node stamps log entries with while it leads.
    pub clock_offset_ms: i64,
}

impl NodeFaults {
    /// No fault.
    pub const NONE: NodeFaults = NodeFaults {
        disk_stall: false,
        clock_offset_ms: 0,
    };
}

/// One node: its directory, addresses and process.
#[derive(Debug)]
struct NodeProcess {
    spec: NodeSpec,
    directory: PathBuf,
    config_path: PathBuf,
    addresses: NodeAddresses,
    channel: Channel,
    child: Option<Child>,
    state: ProcessState,
    starts: u32,
    /// The listeners holding the node's ports until its first start.
    reservations: Vec<TcpListener>,
    /// The faults its control file asks for, and the file's generation.
    faults: NodeFaults,
    fault_generation: u64,
}

impl NodeProcess {
    fn stdout_path(&self) -> PathBuf {
        self.directory.join("stdout.log")
    }

    fn fault_control_path(&self) -> PathBuf {
        self.directory.join(FAULT_CONTROL_FILE)
    }

    fn stderr_path(&self) -> PathBuf {
        self.directory.join("stderr.log")
    }
}

/// The leader as a majority of the nodes sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderView {
    pub node_id: NodeId,
    pub term: u64,
}

/// A running cluster of node processes. Dropping it kills every process and stops every proxy.
#[derive(Debug)]
pub struct ProcessCluster {
    options: ProcessClusterOptions,
    run_directory: Option<tempfile::TempDir>,
    nodes: BTreeMap<NodeId, NodeProcess>,
    /// (from, to) → the proxy `from` dials to reach `to`.
    links: BTreeMap<(NodeId, NodeId), LinkProxy>,
    data: SampleData,
    operator: PartyId,
    /// The voters as far as the harness knows (all nodes of the layout until
    /// [`ProcessCluster::set_voters`]): a leader needs a majority of them.
    voters: Vec<NodeId>,
}

/// A free port on loopback, found by binding port 0. The listener is kept as a reservation
/// until the node's process is about to start, so that nothing the harness binds meanwhile
/// (the proxies) is given the same port.
fn reserve_address() -> Result<(SocketAddr, TcpListener), HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|error| HarnessError(format!("cannot bind 127.0.0.1:0: {error}")))?;
    let address = listener
        .local_addr()
        .map_err(|error| HarnessError(format!("no local address: {error}")))?;
    Ok((address, listener))
}

fn signal(pid: u32, name: &str) -> Result<(), HarnessError> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .map_err(|error| HarnessError(format!("cannot run kill -{name} {pid}: {error}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(HarnessError(format!("kill -{name} {pid} failed: {status}")))
    }
}

/// The last `lines` lines of a file, or why there are none.
fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

impl ProcessCluster {
    /// Starts the cluster described by `options`, waits for a leader and loads the sample data.
    ///
    /// A port found free can still be taken by someone else before the node binds it (another
    /// process's outgoing connection, say): when a node fails to start because its address is
    /// in use, the whole start is tried again with new ports, up to [`START_ATTEMPTS`] times.
    pub async fn start(options: ProcessClusterOptions) -> Result<ProcessCluster, HarnessError> {
        let mut attempt = 1;
        loop {
            match ProcessCluster::start_once(options.clone()).await {
                Err(error) if attempt < START_ATTEMPTS && error.0.contains(ADDRESS_IN_USE) => {
                    eprintln!(
                        "process cluster: a port was taken before its node bound it; starting again with new ports (attempt {attempt} of {START_ATTEMPTS})"
                    );
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn start_once(options: ProcessClusterOptions) -> Result<ProcessCluster, HarnessError> {
        let run_directory = tempfile::Builder::new()
            .prefix("switchyard-procs-")
            .tempdir()
            .map_err(|error| HarnessError(format!("cannot create the run directory: {error}")))?;
        eprintln!(
            "process cluster: {} nodes, seed {}, run directory {}",
            options.layout.nodes.len(),
            options.seed,
            run_directory.path().display()
        );
        let data = SampleData::generate(&GeneratorConfig {
            seed: options.seed,
            supply_points: options.supply_points,
            retailers: options.retailers,
            as_of: Date::from_ymd(2026, 11, 1).expect("a valid date"),
        });
        let operator = PartyId::Operator(OperatorId::parse(OPERATOR).expect("a valid operator"));

        let mut real = BTreeMap::new();
        let mut reservations = BTreeMap::new();
        for node in &options.layout.nodes {
            let (raft, raft_reservation) = reserve_address()?;
            let (api, api_reservation) = reserve_address()?;
            real.insert(node.id, (raft, api));
            reservations.insert(node.id, vec![raft_reservation, api_reservation]);
        }
        let mut links = BTreeMap::new();
        for (index, from) in options.layout.nodes.iter().enumerate() {
            for (peer_index, to) in options.layout.nodes.iter().enumerate() {
                if from.id == to.id {
                    continue;
                }
                let seed = options
                    .seed
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .wrapping_add((index * 64 + peer_index) as u64);
                let proxy =
                    LinkProxy::start(format!("{}->{}", from.name, to.name), real[&to.id].0, seed)
                        .await
                        .map_err(|error| HarnessError(format!("cannot start a proxy: {error}")))?;
                links.insert((from.id, to.id), proxy);
            }
        }
        let mut addresses = BTreeMap::new();
        for node in &options.layout.nodes {
            let (raft, api) = real[&node.id];
            let dial_overrides = options
                .layout
                .nodes
                .iter()
                .filter(|peer| peer.id != node.id)
                .map(|peer| {
                    (
                        real[&peer.id].0,
                        links[&(node.id, peer.id)].listen_address(),
                    )
                })
                .collect();
            addresses.insert(
                node.id,
                NodeAddresses {
                    raft,
                    api,
                    dial_overrides,
                },
            );
        }
        let mut parties = vec![operator.clone()];
        parties.extend(
            data.tsos
                .iter()
                .chain(&data.retailers)
                .map(|participant| participant.party.clone()),
        );
        let file = ClusterFile {
            layout: &options.layout,
            addresses: &addresses,
            raft: &options.raft,
            parties: &parties,
            log_level: &options.log_level,
            flush_stall_bound_ms: options.flush_stall_bound_ms,
            restored: options.restore_from.is_some(),
        };
        let mut nodes = BTreeMap::new();
        for node in &options.layout.nodes {
            let directory = run_directory.path().join(node.name);
            std::fs::create_dir_all(&directory).map_err(|error| {
                HarnessError(format!("cannot create {}: {error}", directory.display()))
            })?;
            let text = file
                .render(node, &directory.join("data"))
                .map_err(|error| HarnessError(format!("the [raft] section: {error}")))?;
            let config_path = directory.join("node.toml");
            std::fs::write(&config_path, text).map_err(|error| {
                HarnessError(format!("cannot write {}: {error}", config_path.display()))
            })?;
            let node_addresses = addresses[&node.id].clone();
            nodes.insert(
                node.id,
                NodeProcess {
                    spec: node.clone(),
                    directory,
                    config_path,
                    channel: api::lazy_channel(node_addresses.api),
                    addresses: node_addresses,
                    child: None,
                    state: ProcessState::Down,
                    starts: 0,
                    reservations: reservations.remove(&node.id).unwrap_or_default(),
                    faults: NodeFaults::NONE,
                    fault_generation: 0,
                },
            );
        }
        let voters = options.layout.nodes.iter().map(|node| node.id).collect();
        let mut cluster = ProcessCluster {
            options,
            run_directory: Some(run_directory),
            nodes,
            links,
            data,
            operator,
            voters,
        };
        if let Some(backup) = cluster.options.restore_from.clone() {
            let backup = backup.display().to_string();
            for node_id in cluster.node_ids() {
                let report = cluster.run_offline(node_id, "restore", &["--backup", &backup])?;
                eprintln!(
                    "process cluster: {} restored: {}",
                    cluster.name(node_id),
                    report.split_whitespace().collect::<Vec<_>>().join(" ")
                );
            }
        }
        // The joining nodes first, then the initializer (the first node of the layout).
        let order: Vec<NodeId> = cluster
            .nodes
            .keys()
            .copied()
            .skip(1)
            .chain(cluster.nodes.keys().copied().take(1))
            .collect();
        for node_id in &order {
            cluster.spawn(*node_id)?;
        }
        for node_id in &order {
            cluster.wait_until_answering(*node_id).await?;
        }
        let leader = cluster.wait_for_leader(FIRST_LEADER_WAIT).await?;
        eprintln!(
            "process cluster: leader {} (term {})",
            cluster.name(leader.node_id),
            leader.term
        );
        if cluster.options.restore_from.is_none() {
            let channel = cluster.nodes[&leader.node_id].channel.clone();
            api::load_sample_data(&channel, &cluster.operator, &cluster.data)
                .await
                .map_err(|error| cluster.failure(format!("loading the sample data: {error}")))?;
        }
        Ok(cluster)
    }

    // ---------------------------------------------------------------------------------------
    // What the cluster is.
    // ---------------------------------------------------------------------------------------

    pub fn layout(&self) -> &Layout {
        &self.options.layout
    }

    /// The sample data loaded at start.
    pub fn data(&self) -> &SampleData {
        &self.data
    }

    pub fn seed(&self) -> u64 {
        self.options.seed
    }

    pub fn node_ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// The name of `node_id` (tokyo-1 ...).
    pub fn name(&self, node_id: NodeId) -> &'static str {
        self.node(node_id).spec.name
    }

    /// The id of the node called `name`.
    pub fn id_of(&self, name: &str) -> NodeId {
        self.nodes
            .values()
            .find(|node| node.spec.name == name)
            .map(|node| node.spec.id)
            .unwrap_or_else(|| panic!("no node called {name}"))
    }

    pub fn site_of(&self, node_id: NodeId) -> Site {
        self.node(node_id).spec.site
    }

    /// The nodes of `site`.
    pub fn nodes_of_site(&self, site: Site) -> Vec<NodeId> {
        self.nodes
            .values()
            .filter(|node| node.spec.site == site)
            .map(|node| node.spec.id)
            .collect()
    }

    pub fn state(&self, node_id: NodeId) -> ProcessState {
        self.node(node_id).state
    }

    /// The nodes whose processes run (not paused, not down).
    pub fn running(&self) -> Vec<NodeId> {
        self.nodes
            .values()
            .filter(|node| node.state == ProcessState::Running)
            .map(|node| node.spec.id)
            .collect()
    }

    /// The public API address of `node_id`.
    pub fn api_address(&self, node_id: NodeId) -> SocketAddr {
        self.node(node_id).addresses.api
    }

    /// The real Raft address of `node_id` (what its peers' proxies forward to).
    pub fn raft_address(&self, node_id: NodeId) -> SocketAddr {
        self.node(node_id).addresses.raft
    }

    /// Where the harness keeps the run (configs, data, logs).
    pub fn run_directory(&self) -> &Path {
        self.run_directory
            .as_ref()
            .map_or_else(|| Path::new(""), |directory| directory.path())
    }

    /// The TOML file `node_id` runs from.
    pub fn config_path(&self, node_id: NodeId) -> &Path {
        &self.node(node_id).config_path
    }

    fn node(&self, node_id: NodeId) -> &NodeProcess {
        self.nodes
            .get(&node_id)
            .unwrap_or_else(|| panic!("no node {node_id}"))
    }

    fn node_mut(&mut self, node_id: NodeId) -> &mut NodeProcess {
        self.nodes
            .get_mut(&node_id)
            .unwrap_or_else(|| panic!("no node {node_id}"))
    }

    /// Where every node's logs are, with the last lines of each stderr: for failure messages.
    pub fn diagnostics(&self) -> String {
        let mut text = format!(
            "run directory {} (seed {})",
            self.run_directory().display(),
            self.options.seed
        );
        for node in self.nodes.values() {
            let _ = write!(
                text,
                "\n--- {} ({:?}, started {} times): stdout {} stderr {}\n{}",
                node.spec.name,
                node.state,
                node.starts,
                node.stdout_path().display(),
                node.stderr_path().display(),
                tail(&node.stderr_path(), LOG_TAIL_LINES)
            );
        }
        text
    }

    fn failure(&self, message: impl Into<String>) -> HarnessError {
        HarnessError(format!("{}\n{}", message.into(), self.diagnostics()))
    }

    // ---------------------------------------------------------------------------------------
    // Processes.
    // ---------------------------------------------------------------------------------------

    fn spawn(&mut self, node_id: NodeId) -> Result<(), HarnessError> {
        let binary = self.options.binary.clone();
        let node = self.node_mut(node_id);
        if node.state != ProcessState::Down {
            return Err(HarnessError(format!(
                "{} is {:?}, not down: cannot start it",
                node.spec.name, node.state
            )));
        }
        node.starts += 1;
        let open = |path: PathBuf| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|error| HarnessError(format!("cannot open {}: {error}", path.display())))
        };
        let mut stdout = open(node.stdout_path())?;
        let mut stderr = open(node.stderr_path())?;
        let marker = format!(
            "=== harness: start #{} of {} ===",
            node.starts, node.spec.name
        );
        let _ = writeln!(stdout, "{marker}");
        let _ = writeln!(stderr, "{marker}");
        // Let the node have its ports.
        node.reservations.clear();
        let child = Command::new(&binary)
            .arg("serve")
            .arg("--config")
            .arg(&node.config_path)
            .env_remove("RUST_LOG")
            // Plain log files, without terminal colours.
            .env("NO_COLOR", "1")
            // Read only by a test build of the binary (the `fault-injection` feature).
            .env(FAULT_CONTROL_VARIABLE, node.fault_control_path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|error| {
                HarnessError(format!(
                    "cannot run {} for {}: {error}",
                    binary.display(),
                    node.spec.name
                ))
            })?;
        node.child = Some(child);
        node.state = ProcessState::Running;
        Ok(())
    }

    /// `node_id`'s data directory (its store; open it only while the node is down).
    pub fn data_directory(&self, node_id: NodeId) -> PathBuf {
        self.node(node_id).directory.join("data")
    }

    /// Runs an offline command of the `switchyard` binary (`restore`, `dr-inspect`,
    /// `dr-promote`) on `node_id`'s file, which must be down; returns what it printed on stdout,
    /// or fails with its stderr.
    pub fn run_offline(
        &self,
        node_id: NodeId,
        subcommand: &str,
        arguments: &[&str],
    ) -> Result<String, HarnessError> {
        let node = self.node(node_id);
        if node.state != ProcessState::Down {
            return Err(HarnessError(format!(
                "{} is {:?}: offline commands need it down",
                node.spec.name, node.state
            )));
        }
        let output = Command::new(&self.options.binary)
            .arg(subcommand)
            .arg("--config")
            .arg(&node.config_path)
            .args(arguments)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .map_err(|error| {
                HarnessError(format!(
                    "cannot run {} {subcommand}: {error}",
                    self.options.binary.display()
                ))
            })?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(HarnessError(format!(
                "switchyard {subcommand} {} on {} failed with {}: {}{}",
                arguments.join(" "),
                node.spec.name,
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            )))
        }
    }

    /// Tells the harness that the voters are now `voters` (after a disaster cutover or a
    /// membership change): a leader then needs a majority of them.
    pub fn set_voters(&mut self, voters: &[NodeId]) {
        self.voters = voters.to_vec();
    }

    fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// Waits until `node_id` answers `GetClusterStatus` on its public port; fails at once if its
    /// process exited.
    async fn wait_until_answering(&mut self, node_id: NodeId) -> Result<(), HarnessError> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.node_mut(node_id).child.as_mut()
                && let Ok(Some(exit)) = child.try_wait()
            {
                let node = self.node_mut(node_id);
                node.child = None;
                node.state = ProcessState::Down;
                return Err(self.failure(format!(
                    "{} exited with {exit} during start-up",
                    self.name(node_id)
                )));
            }
            if self.cluster_status(node_id).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > PROCESS_READY_WAIT {
                return Err(self.failure(format!(
                    "{} did not answer on its public port {} within {PROCESS_READY_WAIT:?}",
                    self.name(node_id),
                    self.api_address(node_id)
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Starts a node that is down again, from its directory and file, and waits until it
    /// answers on its public port.
    pub async fn restart(&mut self, node_id: NodeId) -> Result<(), HarnessError> {
        self.spawn(node_id)?;
        self.wait_until_answering(node_id).await
    }

    /// SIGKILL: the process dies at once, nothing flushed beyond what it synced.
    pub fn kill(&mut self, node_id: NodeId) -> Result<(), HarnessError> {
        let node = self.node_mut(node_id);
        let Some(mut child) = node.child.take() else {
            return Err(HarnessError(format!("{} is not running", node.spec.name)));
        };
        node.state = ProcessState::Down;
        child
            .kill()
            .map_err(|error| HarnessError(format!("cannot kill {}: {error}", node.spec.name)))?;
        child
            .wait()
            .map_err(|error| HarnessError(format!("cannot reap {}: {error}", node.spec.name)))?;
        Ok(())
    }

    /// SIGTERM, then waits for the graceful exit (SIGKILL after a bound); returns whether the
    /// process exited successfully by itself.
    pub async fn terminate(&mut self, node_id: NodeId) -> Result<bool, HarnessError> {
        let name = self.name(node_id);
        let node = self.node_mut(node_id);
        let Some(mut child) = node.child.take() else {
            return Err(HarnessError(format!("{name} is not running")));
        };
        node.state = ProcessState::Down;
        signal(child.id(), "TERM")?;
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(exit)) => return Ok(exit.success()),
                Ok(None) if started.elapsed() < TERMINATE_WAIT => {
                    tokio::time::sleep(POLL_INTERVAL).await;
                }
                Ok(None) | Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.failure(format!(
                        "{name} did not exit within {TERMINATE_WAIT:?} of SIGTERM; killed"
                    )));
                }
            }
        }
    }

    /// SIGKILLs every process still alive (paused ones too): at the end of a run, to give the
    /// CPU to whatever comes next. The run directory stays until the cluster is dropped.
    pub fn kill_all(&mut self) {
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
            node.state = ProcessState::Down;
        }
    }

    /// Keeps the run directory when the cluster is dropped (a failing run's evidence); returns
    /// where it is.
    pub fn keep_run_directory(&mut self) -> PathBuf {
        match self.run_directory.take() {
            Some(directory) => directory.keep(),
            None => PathBuf::new(),
        }
    }

    /// SIGSTOP: the process freezes, keeping its sockets.
    pub fn pause(&mut self, node_id: NodeId) -> Result<(), HarnessError> {
        let node = self.node_mut(node_id);
        let Some(child) = node.child.as_ref() else {
            return Err(HarnessError(format!("{} is not running", node.spec.name)));
        };
        signal(child.id(), "STOP")?;
        node.state = ProcessState::Paused;
        Ok(())
    }

    /// SIGCONT after [`ProcessCluster::pause`].
    pub fn resume(&mut self, node_id: NodeId) -> Result<(), HarnessError> {
        let node = self.node_mut(node_id);
        let Some(child) = node.child.as_ref() else {
            return Err(HarnessError(format!("{} is not running", node.spec.name)));
        };
        signal(child.id(), "CONT")?;
        node.state = ProcessState::Running;
        Ok(())
    }

    /// The file `node_id`'s process writes its logs (stderr) to, every start appended.
    pub fn log_path(&self, node_id: NodeId) -> PathBuf {
        self.node(node_id).stderr_path()
    }

    /// The faults `node_id`'s control file asks for.
    pub fn faults(&self, node_id: NodeId) -> NodeFaults {
        self.node(node_id).faults
    }

    /// Sets the faults inside `node_id`'s process — a stalled disk, a clock offset — through its
    /// fault control file, and waits until the running process acknowledges them. The file
    /// stays: a node restarted later applies it again. Needs a binary built with
    /// `switchyard-server`'s `fault-injection` feature (the server package's own tests have it).
    pub async fn set_faults(
        &mut self,
        node_id: NodeId,
        faults: NodeFaults,
    ) -> Result<(), HarnessError> {
        let name = self.name(node_id);
        let node = self.node_mut(node_id);
        if node.state != ProcessState::Running {
            return Err(HarnessError(format!(
                "{name} is {:?}: its faults can only be changed while it runs",
                node.state
            )));
        }
        node.fault_generation += 1;
        node.faults = faults;
        let generation = node.fault_generation;
        let path = node.fault_control_path();
        let text = format!(
            "generation = {generation}\ndisk-stall = {}\nclock-offset-ms = {}\n",
            faults.disk_stall, faults.clock_offset_ms
        );
        let temporary = path.with_extension("toml.tmp");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &path))
            .map_err(|error| HarnessError(format!("cannot write {}: {error}", path.display())))?;
        let mut acknowledgement = path.as_os_str().to_owned();
        acknowledgement.push(".applied");
        let acknowledgement = PathBuf::from(acknowledgement);
        let expected = format!("generation = {generation}");
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&acknowledgement)
                && text.trim() == expected
            {
                return Ok(());
            }
            if let Some(child) = self.node_mut(node_id).child.as_mut()
                && let Ok(Some(exit)) = child.try_wait()
            {
                return Err(self.failure(format!(
                    "{name} exited with {exit} while its faults were being set"
                )));
            }
            if started.elapsed() > FAULT_ACKNOWLEDGE_WAIT {
                return Err(self.failure(format!(
                    "{name} did not acknowledge fault generation {generation} ({faults:?}) within {FAULT_ACKNOWLEDGE_WAIT:?}: is the binary built with switchyard-server's fault-injection feature?"
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Clients and status.
    // ---------------------------------------------------------------------------------------

    /// The channel to `node_id`'s public API (lazily connected, reconnecting).
    pub fn channel(&self, node_id: NodeId) -> Channel {
        self.node(node_id).channel.clone()
    }

    /// The operator's party id.
    pub fn operator(&self) -> &PartyId {
        &self.operator
    }

    /// The participant API of `node_id`, as `party`.
    pub fn participant(&self, node_id: NodeId, party: &PartyId) -> ParticipantClient {
        api::participant_client(self.channel(node_id), party)
    }

    /// The TSO API of `node_id`, as `party`.
    pub fn tso(&self, node_id: NodeId, party: &PartyId) -> TsoClient {
        api::tso_client(self.channel(node_id), party)
    }

    /// The admin API of `node_id`, as the operator.
    pub fn admin(&self, node_id: NodeId) -> AdminClient {
        api::admin_client(self.channel(node_id), &self.operator)
    }

    /// `GetClusterStatus` at `node_id`, with a short deadline.
    pub async fn cluster_status(
        &self,
        node_id: NodeId,
    ) -> Result<admin::GetClusterStatusResponse, tonic::Status> {
        self.admin(node_id)
            .get_cluster_status(request(admin::GetClusterStatusRequest {}, STATUS_DEADLINE))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Every running node's status view, asked concurrently; nodes that do not answer are left
    /// out.
    pub async fn status_views(&self) -> BTreeMap<NodeId, StatusView> {
        let asks = self.running().into_iter().map(|node_id| async move {
            let answer = self.cluster_status(node_id).await;
            (node_id, answer)
        });
        futures::future::join_all(asks)
            .await
            .into_iter()
            .filter_map(|(node_id, answer)| {
                answer
                    .ok()
                    .map(|response| (node_id, StatusView::from_response(&response)))
            })
            .collect()
    }

    /// The leader, if a node claims leadership and a majority of the whole membership (itself
    /// included) names it at its term. An isolated old leader that still believes it leads is
    /// not taken: the majority follows the new one.
    pub async fn leader(&self) -> Option<LeaderView> {
        let views = self.status_views().await;
        leader_of(&views, self.majority())
    }

    /// Waits up to `wait` for a leader (see [`ProcessCluster::leader`]).
    pub async fn wait_for_leader(&self, wait: Duration) -> Result<LeaderView, HarnessError> {
        self.wait_for_leader_where(wait, "a leader", |_| true).await
    }

    /// Waits up to `wait` for a leader other than `old`.
    pub async fn wait_for_new_leader(
        &self,
        old: NodeId,
        wait: Duration,
    ) -> Result<LeaderView, HarnessError> {
        let what = format!("a leader other than {}", self.name(old));
        self.wait_for_leader_where(wait, &what, |leader| leader.node_id != old)
            .await
    }

    async fn wait_for_leader_where(
        &self,
        wait: Duration,
        what: &str,
        accept: impl Fn(&LeaderView) -> bool,
    ) -> Result<LeaderView, HarnessError> {
        let started = Instant::now();
        loop {
            let views = self.status_views().await;
            if let Some(leader) = leader_of(&views, self.majority())
                && accept(&leader)
            {
                return Ok(leader);
            }
            if started.elapsed() > wait {
                return Err(self.failure(format!(
                    "no {what} within {wait:?}; last answers: {}",
                    self.describe(&views)
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits up to `wait` until every running node names the same leader at the same term and
    /// has applied everything the leader had logged when they first agreed. Returns the leader
    /// and that log index.
    pub async fn wait_for_convergence(
        &self,
        wait: Duration,
    ) -> Result<(LeaderView, u64), HarnessError> {
        let started = Instant::now();
        let mut target: Option<(LeaderView, u64)> = None;
        loop {
            let running = self.running();
            let views = self.status_views().await;
            let everyone_answered = running.iter().all(|node_id| views.contains_key(node_id));
            let agreed = everyone_answered
                .then(|| leader_of(&views, self.majority()))
                .flatten()
                .filter(|leader| {
                    views.values().all(|view| {
                        view.leader_node_id == Some(leader.node_id) && view.term == leader.term
                    })
                });
            match (agreed, target) {
                (Some(leader), Some((goal, index))) if goal == leader => {
                    if views.values().all(|view| view.last_applied_index >= index) {
                        return Ok((leader, index));
                    }
                }
                (Some(leader), _) => {
                    let index = views
                        .get(&leader.node_id)
                        .map_or(0, |view| view.last_log_index);
                    target = Some((leader, index));
                }
                (None, _) => {}
            }
            if started.elapsed() > wait {
                return Err(self.failure(format!(
                    "the running nodes {:?} did not converge within {wait:?}; last answers: {}",
                    running
                        .iter()
                        .map(|node_id| self.name(*node_id))
                        .collect::<Vec<_>>(),
                    self.describe(&views)
                )));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    fn describe(&self, views: &BTreeMap<NodeId, StatusView>) -> String {
        if views.is_empty() {
            return "none".to_owned();
        }
        views
            .iter()
            .map(|(node_id, view)| {
                format!(
                    "{}: leader {:?} term {} log {} applied {} committed {}",
                    self.name(*node_id),
                    view.leader_node_id,
                    view.term,
                    view.last_log_index,
                    view.last_applied_index,
                    view.committed_index
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    // ---------------------------------------------------------------------------------------
    // Links.
    // ---------------------------------------------------------------------------------------

    /// The proxy `from` dials to reach `to`.
    pub fn link(&self, from: NodeId, to: NodeId) -> &LinkProxy {
        self.links
            .get(&(from, to))
            .unwrap_or_else(|| panic!("no link {from}->{to}"))
    }

    /// Every link's counters, by (from, to).
    pub fn link_counters(&self) -> BTreeMap<(NodeId, NodeId), LinkCounters> {
        self.links
            .iter()
            .map(|(pair, proxy)| (*pair, proxy.counters()))
            .collect()
    }

    /// One-way partition: nothing `from` sends reaches `to` — neither its requests on its own
    /// connections to `to` nor its replies on `to`'s connections to it. `to` still reaches
    /// `from`'s port, but hears nothing back.
    pub fn block(&self, from: NodeId, to: NodeId) {
        self.link(from, to).blackhole(Direction::Forward);
        self.link(to, from).blackhole(Direction::Reverse);
    }

    /// Cuts every link between `side` and the other nodes, both ways; inside each side the
    /// nodes still talk.
    pub fn partition(&self, side: &[NodeId]) {
        for inside in side {
            for outside in self.nodes.keys().filter(|node| !side.contains(node)) {
                self.block(*inside, *outside);
                self.block(*outside, *inside);
            }
        }
    }

    /// Cuts `node_id` off from every other node, both ways.
    pub fn isolate(&self, node_id: NodeId) {
        self.partition(&[node_id]);
    }

    /// Cuts a whole site off from the other sites, both ways.
    pub fn partition_site(&self, site: Site) {
        self.partition(&self.nodes_of_site(site));
    }

    /// Severs the link `from` → `to`: its connections close, new ones are refused.
    pub fn sever(&self, from: NodeId, to: NodeId) {
        self.link(from, to).sever();
    }

    /// Ends every partition and severed link; delays stay.
    pub fn heal(&self) {
        for proxy in self.links.values() {
            proxy.heal();
        }
    }

    /// Sets `delay` on both directions of every link between a node of `site_a` and a node of
    /// `site_b` (so a round trip between the sites costs about twice the delay each way).
    pub fn set_delay_between_sites(&self, site_a: Site, site_b: Site, delay: Delay) {
        for ((from, to), proxy) in &self.links {
            let (from_site, to_site) = (self.site_of(*from), self.site_of(*to));
            if (from_site == site_a && to_site == site_b)
                || (from_site == site_b && to_site == site_a)
            {
                for direction in Direction::BOTH {
                    proxy.set_delay(direction, delay);
                }
            }
        }
    }
}

/// The claimant that a majority of the whole membership names at its term, the highest term
/// first.
fn leader_of(views: &BTreeMap<NodeId, StatusView>, majority: usize) -> Option<LeaderView> {
    let mut claimants: Vec<&StatusView> = views
        .values()
        .filter(|view| view.claims_leadership())
        .collect();
    claimants.sort_by_key(|view| std::cmp::Reverse(view.term));
    claimants.into_iter().find_map(|claimant| {
        let supporters = views
            .values()
            .filter(|view| {
                view.leader_node_id == Some(claimant.answering_node_id)
                    && view.term == claimant.term
            })
            .count();
        (supporters >= majority).then_some(LeaderView {
            node_id: claimant.answering_node_id,
            term: claimant.term,
        })
    })
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                // SIGKILL ends a paused process too.
                let _ = child.kill();
                let _ = child.wait();
            }
            node.state = ProcessState::Down;
        }
        if std::thread::panicking() {
            eprintln!(
                "process cluster: the test failed; keeping the logs.\n{}",
                self.diagnostics()
            );
            if let Some(directory) = self.run_directory.take() {
                let _ = directory.keep();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{LeaderView, StatusView, leader_of};

    fn view(node: u64, leader: Option<u64>, term: u64) -> StatusView {
        StatusView {
            answering_node_id: node,
            leader_node_id: leader,
            term,
            last_log_index: 0,
            last_applied_index: 0,
            committed_index: 0,
        }
    }

    /// An isolated old leader still claiming its old term is not the leader; the claimant the
    /// majority follows is.
    #[test]
    fn the_leader_is_the_one_a_majority_follows() {
        let views: BTreeMap<u64, StatusView> = [
            view(1, Some(1), 3),
            view(2, Some(4), 4),
            view(3, Some(4), 4),
            view(4, Some(4), 4),
            view(5, None, 4),
        ]
        .into_iter()
        .map(|view| (view.answering_node_id, view))
        .collect();
        assert_eq!(
            leader_of(&views, 3),
            Some(LeaderView {
                node_id: 4,
                term: 4
            })
        );
        let minority: BTreeMap<u64, StatusView> = [view(1, Some(1), 3), view(2, Some(1), 3)]
            .into_iter()
            .map(|view| (view.answering_node_id, view))
            .collect();
        assert_eq!(leader_of(&minority, 3), None);
    }
}
