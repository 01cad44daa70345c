//! The cluster benchmark: real nodes in one process, real sled directories with real
//! `fdatasync`, real gRPC between nodes on loopback.
//!
//! 1. Committed switching commands per second, with p50/p99 commit latency, for 3 and 5 voters
//!    and 1 and 64 concurrent proposers (each proposer runs whole switching flows on supply
//!    points of its own, writing through the leader).
//! 2. The cost of our extra `fdatasync`: the 3-voter, 64-proposer case again with sled's flush
//!    only, in the same run.
//! 3. Memory: one node loaded with 1,000,000 supply points through Raft; resident memory after
//!    the load.
//!
//! `cargo run --release -p switchyard-testkit --bin switchyard-bench`
//!
//! Environment: `SWITCHYARD_BENCH_DIR` (default `target/bench-cluster`, on the build's disk),
//! `SWITCHYARD_BENCH_MEMORY_POINTS` (default 1000000; 0 skips the memory run),
//! `SWITCHYARD_BENCH_QUICK=1` (small sizes, for a smoke run), `SWITCHYARD_BENCH_CASES` (which
//! clusters, comma-separated, default `3,5,3-flush-only`), `SWITCHYARD_BENCH_PROPOSERS` (default
//! `1,64`), `SWITCHYARD_BENCH_FLOWS` (flows per proposer of the many-proposer runs, default 16) —
//! e.g. `SWITCHYARD_BENCH_CASES=5 SWITCHYARD_BENCH_PROPOSERS=64 SWITCHYARD_BENCH_FLOWS=64` for a
//! long steady run to profile.
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_domain::generator::{GeneratorConfig, SampleData};
use switchyard_domain::{Date, OperatorId, Timestamp};
use switchyard_raft::{Durability, NodeHandle, RaftSettings};
use switchyard_testkit::cluster::{Cluster, ClusterOptions};
use switchyard_testkit::memory::resident_memory;
use switchyard_testkit::workload::run_switching;

/// The node binary's allocator: many small, short-lived allocations per command.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

fn today() -> Date {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis() as i64;
    Timestamp(now).jst_date()
}

async fn load(leader: &NodeHandle, data: &SampleData) -> Duration {
    let started = Instant::now();
    for envelope in data.commands(&OperatorId::parse("bench").expect("valid")) {
        let answer = leader
            .client_write(envelope)
            .await
            .expect("the load is written");
        assert!(
            answer.outcome.is_ok(),
            "the load was refused: {:?}",
            answer.outcome
        );
    }
    started.elapsed()
}

fn options(size: usize, durability: Durability, root: &std::path::Path) -> ClusterOptions {
    ClusterOptions {
        size,
        // Production timings: the benchmark should see what production sees on a LAN.
        settings: RaftSettings::default(),
        durability,
        cache_capacity_bytes: 256 * 1024 * 1024,
        root: root.to_path_buf(),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("SWITCHYARD_BENCH_QUICK").is_ok_and(|value| value == "1");
    let root = std::env::var("SWITCHYARD_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("target/bench-cluster"));
    let memory_points = setting(
        "SWITCHYARD_BENCH_MEMORY_POINTS",
        if quick { 20_000 } else { 1_000_000 },
    ) as usize;
    let points = if quick { 5_000 } else { 20_000 };
    let (flows_single, flows_each_of_many) = if quick {
        (25, 4)
    } else {
        (150, setting("SWITCHYARD_BENCH_FLOWS", 16) as usize)
    };
    let list = |name: &str, default: &str| -> Vec<String> {
        std::env::var(name)
            .unwrap_or_else(|_| default.to_owned())
            .split(',')
            .map(|item| item.trim().to_owned())
            .filter(|item| !item.is_empty())
            .collect()
    };
    let proposer_counts: Vec<usize> = list("SWITCHYARD_BENCH_PROPOSERS", "1,64")
        .iter()
        .map(|count| count.parse().expect("SWITCHYARD_BENCH_PROPOSERS: numbers"))
        .collect();
    let cases: Vec<(usize, Durability)> = list("SWITCHYARD_BENCH_CASES", "3,5,3-flush-only")
        .iter()
        .map(|case| match case.as_str() {
            "3" => (3, Durability::Fsync),
            "5" => (5, Durability::Fsync),
            "3-flush-only" => (3, Durability::FlushOnly),
            "5-flush-only" => (5, Durability::FlushOnly),
            other => panic!("SWITCHYARD_BENCH_CASES: unknown case {other:?}"),
        })
        .collect();
    let today = today();
    let data = SampleData::generate(&GeneratorConfig {
        seed: 2026,
        supply_points: points,
        retailers: 20,
        as_of: today,
    });
    println!("switching workload: {points} supply points loaded; flows of 4 commands each");
    println!(
        "| voters | durability | proposers | commands | commands/s | p50 ms | p99 ms | refused | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (run, (size, durability)) in cases.into_iter().enumerate() {
        let cluster = Cluster::start(&options(size, durability, &root), Duration::from_secs(30))
            .await
            .expect("the cluster starts");
        let leader = cluster
            .leader(Duration::from_secs(30))
            .await
            .expect("a leader");
        load(&leader, &data).await;
        // The flush-only case is only there to compare with the many-proposer Fsync run.
        let counts: Vec<usize> = if durability == Durability::Fsync {
            proposer_counts.clone()
        } else {
            proposer_counts
                .iter()
                .copied()
                .filter(|count| *count > 1)
                .collect()
        };
        let mut used_flows = 0;
        for proposers in counts {
            let flows = if proposers == 1 {
                flows_single
            } else {
                flows_each_of_many
            };
            let mut report = run_switching(
                Arc::clone(&leader),
                &data,
                proposers,
                flows,
                used_flows,
                today,
                &format!("bench-{run}-{proposers}"),
            )
            .await;
            used_flows += proposers * flows;
            println!(
                "| {size} | {durability:?} | {proposers} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
                report.committed,
                report.throughput(),
                report.latencies.percentile(0.50).as_secs_f64() * 1000.0,
                report.latencies.percentile(0.99).as_secs_f64() * 1000.0,
                report.refused,
                report.failed,
            );
        }
        cluster.shutdown().await;
    }

    if memory_points > 0 {
        let before = resident_memory();
        let cluster = Cluster::start(
            &options(1, Durability::Fsync, &root),
            Duration::from_secs(30),
        )
        .await
        .expect("the node starts");
        let leader = cluster
            .leader(Duration::from_secs(30))
            .await
            .expect("a leader");
        let big = SampleData::generate(&GeneratorConfig {
            seed: 2027,
            supply_points: memory_points,
            retailers: 20,
            as_of: today,
        });
        let generated = resident_memory();
        let took = load(&leader, &big).await;
        let commands = big
            .commands(&OperatorId::parse("bench").expect("valid"))
            .len();
        drop(big);
        let after = resident_memory();
        println!();
        println!(
            "memory: one node, {memory_points} supply points loaded through Raft in {commands} commands ({:.1} s)",
            took.as_secs_f64()
        );
        if let (Some(before), Some(generated), Some(after)) = (before, generated, after) {
            let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
            println!(
                "resident memory: {:.0} MiB before; {:.0} MiB with the generated data in memory; {:.0} MiB after loading and dropping it (peak {:.0} MiB)",
                mib(before.current_bytes),
                mib(generated.current_bytes),
                mib(after.current_bytes),
                mib(after.peak_bytes)
            );
        }
        cluster.shutdown().await;
    }
}
