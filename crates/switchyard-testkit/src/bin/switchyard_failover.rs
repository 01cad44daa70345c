//! `switchyard-failover`: how long writes pause when leadership moves, the leader dies or a whole
//! site is lost — real `switchyard serve` processes on loopback (tokyo-1, tokyo-2, osaka-1,
//! osaka-2, witness-1) with the production (WAN-tuned) Raft timings, every node-to-node link
//! through the test kit's proxy, continuous writes through the client library.
//!
//! ```sh
//! cargo build --release -p switchyard-server -p switchyard-testkit
//! target/release/switchyard-failover --trials 5
//! target/release/switchyard-failover --trials 5 --site-delay-ms 5   # ~10 ms Tokyo–Osaka RTT
//! ```
//!
//! Each trial runs while the load runs: a planned failover Tokyo → Osaka and back (the write
//! pause and the failed requests), a SIGKILLed leader and a SIGKILLed Tokyo site (the time from
//! the kill to the first acknowledged write sent after it), the killed nodes restarted and caught
//! up before the next trial. At the end every acknowledged write is read back at every node.
//! The exit code is 1 when a planned failover failed a request or a write was lost.
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use switchyard_raft::Site;
use switchyard_testkit::failover::{
    self, PlannedFailoverTrial, RecoveryTrial, WriteLoad, WriteLoadOptions, median,
};
use switchyard_testkit::procs::{ProcessCluster, ProcessClusterOptions};
use switchyard_testkit::proxy::Delay;

/// The issue's targets.
const PLANNED_PAUSE_TARGET: Duration = Duration::from_millis(50);
const LEADER_KILL_TARGET: Duration = Duration::from_millis(1_000);
const SITE_LOSS_TARGET: Duration = Duration::from_millis(1_500);
/// Load before the first trial, so that every worker's client knows the leader.
const WARM_UP: Duration = Duration::from_secs(2);

#[derive(Debug, Parser)]
#[command(
    name = "switchyard-failover",
    about = "Measure planned failover, leader loss and site loss on real node processes"
)]
struct Arguments {
    /// The `switchyard` binary. Default: next to this one.
    #[arg(long)]
    binary: Option<PathBuf>,
    /// Trials of each kind.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    trials: u32,
    /// Closed-loop writers (switch-out, then cancel, through the client library).
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Supply points of the sample data.
    #[arg(long, default_value_t = 8_000)]
    supply_points: usize,
    /// Retailers of the sample data.
    #[arg(long, default_value_t = 8)]
    retailers: usize,
    /// Delay each way on every link between two sites, in milliseconds (with a tenth as jitter).
    #[arg(long, default_value_t = 0)]
    site_delay_ms: u64,
    /// Seeds the sample data and the proxies.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The nodes' log filter (`RUST_LOG` syntax), e.g. `warn,switchyard_raft::write=debug` to
    /// see where a slow write waited. Their logs are in the run directory.
    #[arg(long, default_value = "warn")]
    node_log: String,
    /// Keep the run directory (configs, data, every node's log) and print where it is.
    #[arg(long)]
    keep: bool,
}

fn milliseconds(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

fn default_binary() -> Result<PathBuf, String> {
    let here =
        std::env::current_exe().map_err(|error| format!("no current executable: {error}"))?;
    let binary = here.with_file_name("switchyard");
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!(
            "{} does not exist: build it first (cargo build --release -p switchyard-server) or pass --binary",
            binary.display()
        ))
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let arguments = Arguments::parse();
    switchyard_server::logging::install("text", "warn");
    match run(arguments).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("switchyard-failover: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(arguments: Arguments) -> Result<bool, String> {
    let binary = match arguments.binary.clone() {
        Some(binary) => binary,
        None => default_binary()?,
    };
    let command_line: Vec<String> = std::env::args().collect();
    println!("switchyard-failover {}", command_line[1..].join(" "));
    let mut options = ProcessClusterOptions::new(binary, arguments.seed);
    options.supply_points = arguments.supply_points;
    options.retailers = arguments.retailers;
    options.log_level = arguments.node_log.clone();
    let raft = options.raft.clone();
    println!(
        "raft: heartbeat {} ms, election timeout {}..{} ms, pre-vote {}",
        raft.heartbeat_interval_ms,
        raft.election_timeout_min_ms,
        raft.election_timeout_max_ms,
        raft.pre_vote
    );
    eprintln!("starting five node processes ...");
    let mut cluster = ProcessCluster::start(options)
        .await
        .map_err(|error| error.to_string())?;
    if arguments.keep {
        let directory = cluster.keep_run_directory();
        eprintln!("keeping the run directory: {}", directory.display());
    }
    if arguments.site_delay_ms > 0 {
        let delay = Delay::milliseconds(arguments.site_delay_ms, arguments.site_delay_ms / 10);
        for (a, b) in [
            (Site::Tokyo, Site::Osaka),
            (Site::Tokyo, Site::Witness),
            (Site::Osaka, Site::Witness),
        ] {
            cluster.set_delay_between_sites(a, b, delay);
        }
    }
    // The first trials start with the leader in Tokyo.
    failover::transfer_leadership(
        &cluster,
        switchyard_proto::admin::v1::transfer_leadership_request::Target::Site(
            switchyard_proto::admin::v1::Site::Tokyo as i32,
        ),
        "bench-start",
    )
    .await
    .map_err(|error| error.to_string())?;
    let mut load = WriteLoad::start(
        &cluster,
        WriteLoadOptions {
            workers: arguments.workers,
            ..WriteLoadOptions::default()
        },
    )
    .await
    .map_err(|error| error.to_string())?;
    tokio::time::sleep(WARM_UP).await;

    let mut planned: Vec<PlannedFailoverTrial> = Vec::new();
    let mut kills: Vec<RecoveryTrial> = Vec::new();
    let mut site_losses: Vec<RecoveryTrial> = Vec::new();
    for trial in 1..=arguments.trials {
        for site in [Site::Osaka, Site::Tokyo] {
            let result = failover::planned_failover(
                &cluster,
                &load,
                site,
                &format!("bench-{}-{trial}-{site}", arguments.seed),
            )
            .await
            .map_err(|error| error.to_string())?;
            eprintln!(
                "planned to {site} #{trial}: {} -> {}, transfer {} ms, write pause {} ms (normal {} ms), slowest write {} ms, {} writes, {} failed",
                cluster.name(result.from),
                cluster.name(result.to),
                milliseconds(result.transfer),
                milliseconds(result.write_pause),
                milliseconds(result.normal_gap),
                milliseconds(result.slowest_write),
                result.writes,
                result.failed
            );
            planned.push(result);
        }
    }
    for trial in 1..=arguments.trials {
        let result = failover::kill_leader(&mut cluster, &mut load)
            .await
            .map_err(|error| error.to_string())?;
        eprintln!(
            "leader kill #{trial}: {} killed, {} leads, recovery {} ms, load paused {} ms, {} failed",
            cluster.name(result.killed[0]),
            cluster.name(result.new_leader),
            milliseconds(result.recovery),
            milliseconds(result.write_pause),
            result.failed
        );
        kills.push(result);
    }
    for trial in 1..=arguments.trials {
        let result = failover::lose_site(
            &mut cluster,
            &mut load,
            Site::Tokyo,
            &format!("bench-{}-site-{trial}", arguments.seed),
        )
        .await
        .map_err(|error| error.to_string())?;
        eprintln!(
            "Tokyo site loss #{trial}: {} leads, recovery {} ms, load paused {} ms, {} failed",
            cluster.name(result.new_leader),
            milliseconds(result.recovery),
            milliseconds(result.write_pause),
            result.failed
        );
        site_losses.push(result);
    }
    load.stop().await;
    let records = load.records();
    let verified = load.verify(&cluster).await;

    let planned_pauses: Vec<Duration> = planned.iter().map(|trial| trial.write_pause).collect();
    let planned_normal: Vec<Duration> = planned.iter().map(|trial| trial.normal_gap).collect();
    let planned_failed: usize = planned.iter().map(|trial| trial.failed).sum();
    let kill_recoveries: Vec<Duration> = kills.iter().map(|trial| trial.recovery).collect();
    let site_recoveries: Vec<Duration> = site_losses.iter().map(|trial| trial.recovery).collect();
    let range = |values: &[Duration]| {
        let mut sorted = values.to_vec();
        sorted.sort();
        format!(
            "{} – {}",
            milliseconds(sorted[0]),
            milliseconds(sorted[sorted.len() - 1])
        )
    };
    let verdict = |value: Duration, target: Duration| {
        if value <= target {
            "met"
        } else {
            "**not met**"
        }
    };
    println!();
    println!("| measure | trials | median ms | range ms | target | |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| planned failover, write pause (Tokyo → Osaka and back) | {} | {} | {} | ≤ {} ms, 0 failed | {} ({} failed) |",
        planned_pauses.len(),
        milliseconds(median(&planned_pauses)),
        range(&planned_pauses),
        PLANNED_PAUSE_TARGET.as_millis(),
        if planned_failed == 0 && median(&planned_pauses) <= PLANNED_PAUSE_TARGET {
            "met"
        } else {
            "**not met**"
        },
        planned_failed
    );
    println!(
        "| the longest gap between acknowledgements in normal running, same windows | {} | {} | {} | — | |",
        planned_normal.len(),
        milliseconds(median(&planned_normal)),
        range(&planned_normal)
    );
    println!(
        "| leader SIGKILLed: first acknowledged write sent after the kill | {} | {} | {} | ≤ {} ms | {} |",
        kill_recoveries.len(),
        milliseconds(median(&kill_recoveries)),
        range(&kill_recoveries),
        LEADER_KILL_TARGET.as_millis(),
        verdict(median(&kill_recoveries), LEADER_KILL_TARGET)
    );
    println!(
        "| Tokyo site (2 nodes, the leader among them) SIGKILLed: the same | {} | {} | {} | ≤ {} ms | {} |",
        site_recoveries.len(),
        milliseconds(median(&site_recoveries)),
        range(&site_recoveries),
        SITE_LOSS_TARGET.as_millis(),
        verdict(median(&site_recoveries), SITE_LOSS_TARGET)
    );
    let acknowledged = records
        .iter()
        .filter(|record| record.outcome.is_ok())
        .count();
    let failed = records.len() - acknowledged;
    println!();
    println!(
        "writes: {acknowledged} acknowledged, {failed} failed (planned failovers: {planned_failed})"
    );
    match verified {
        Ok(applications) => {
            println!(
                "read back: all {applications} acknowledged applications on every node, as acknowledged"
            );
            Ok(planned_failed == 0)
        }
        Err(error) => {
            println!("LOST OR WRONG: {error}");
            Ok(false)
        }
    }
}
