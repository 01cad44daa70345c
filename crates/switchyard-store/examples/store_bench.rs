//! Store benchmark: what a durable append costs, with and without our `fdatasync`.
//!
//! Appends a recorded switching scenario to the log in batches (1 entry per append, like a lone
//! proposer, and 64, like a busy leader batching), applies each batch to the state machine, and
//! reports entries per second and append latency percentiles — once with full durability
//! (`Durability::Fsync`) and once with sled's flush alone (`Durability::FlushOnly`), in the same
//! run so that the ratio is meaningful on a noisy machine.
//!
//! `cargo run --release -p switchyard-store --example store_bench`
//! Options: `SWITCHYARD_BENCH_ENTRIES` (default 4000 per case), `SWITCHYARD_BENCH_DIR` (default: a
//! temporary directory under `target/`, on the same disk as the build).
#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::time::Instant;

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage, RaftStateMachine};
use switchyard_domain::scenario::{Scenario, ScenarioConfig};
use switchyard_domain::{Date, VersionedEnvelope};
use switchyard_store::alias::Entry;
use switchyard_store::{Durability, Store, StoreConfig, StoreRequest, TypeConfig};

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let position = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[position]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let entries_per_case: usize = std::env::var("SWITCHYARD_BENCH_ENTRIES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(4000);
    let base = std::env::var("SWITCHYARD_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::PathBuf::from("target/bench-store"));
    std::fs::create_dir_all(&base).expect("bench directory");

    // The scenario's switching commands (after the sample data) are the workload.
    let scenario = Scenario::build(&ScenarioConfig {
        seed: 2026,
        supply_points: 20_000,
        retailers: 20,
        switchings: 3_000,
        start: Date::parse("2026-11-26").expect("valid"),
    });
    println!(
        "workload: the switching commands of a recorded scenario ({} commands with the load), {} per case, after loading the sample data",
        scenario.log.len(),
        entries_per_case
    );
    println!("| durability | entries per append | entries/s | append p50 ms | append p99 ms |");
    println!("|---|---|---|---|---|");
    for durability in [Durability::Fsync, Durability::FlushOnly] {
        for batch in [1usize, 64] {
            let directory = tempfile::tempdir_in(&base).expect("temporary directory");
            let mut config = StoreConfig::new(directory.path());
            config.durability = durability;
            let mut store = Store::open(&config).expect("store opens");
            let mut index = 0u64;
            let mut entry = |envelope: &switchyard_domain::Envelope, at| {
                index += 1;
                Entry::new_normal(
                    openraft::testing::log_id::<TypeConfig>(1, 1, index),
                    StoreRequest {
                        envelope: VersionedEnvelope::from(envelope.clone()),
                        timestamp: at,
                    },
                )
            };
            let (seed, work): (Vec<_>, Vec<_>) = scenario
                .log
                .iter()
                .partition(|(envelope, _)| envelope.request_id.as_str().starts_with("seed-"));
            // Set-up, not measured: the sample data.
            let seed_entries: Vec<Entry> = seed
                .iter()
                .map(|(envelope, at)| entry(envelope, *at))
                .collect();
            for chunk in seed_entries.chunks(64) {
                store
                    .log
                    .append(chunk.to_vec(), IOFlushed::Noop)
                    .await
                    .expect("append");
                let stream =
                    futures::stream::iter(chunk.iter().cloned().map(|entry| Ok((entry, None))));
                store.state_machine.apply(stream).await.expect("apply");
            }
            // Measured: the switching work, in log order.
            let entries: Vec<Entry> = work
                .iter()
                .take(entries_per_case.max(1))
                .map(|(envelope, at)| entry(envelope, *at))
                .collect();
            let mut latencies = Vec::new();
            let started = Instant::now();
            for chunk in entries.chunks(batch) {
                let append_started = Instant::now();
                store
                    .log
                    .append(chunk.to_vec(), IOFlushed::Noop)
                    .await
                    .expect("append");
                // Durable, as openraft's callback would report it.
                store.log.flush_barrier().await.expect("durable");
                latencies.push(append_started.elapsed().as_secs_f64() * 1000.0);
                let stream =
                    futures::stream::iter(chunk.iter().cloned().map(|entry| Ok((entry, None))));
                store.state_machine.apply(stream).await.expect("apply");
            }
            let seconds = started.elapsed().as_secs_f64();
            latencies.sort_by(f64::total_cmp);
            println!(
                "| {:?} | {} | {:.0} | {:.2} | {:.2} |",
                durability,
                batch,
                entries.len() as f64 / seconds,
                percentile(&latencies, 0.50),
                percentile(&latencies, 0.99)
            );
        }
    }
}
