//! A business day of switching on the embedded sample data, through the real rules.
//!
//! Generates the sample data (100,000 supply points, ten TSOs, 20 retailers), loads it with the
//! same commands a cluster would replicate, then runs one day's worth of switchings (15,000 by
//! default): stop-on-behalf requests, judgements (some NG), switch-outs and switch-ins that match,
//! deadline ticks over the following days and TSO completions on the effective dates. At the end
//! it checks every invariant on the whole state and prints what happened and how fast the pure
//! rules ran.
//!
//! Options by environment: `SWITCHYARD_SEED` (default 2026), `SWITCHYARD_SUPPLY_POINTS`
//! (100000), `SWITCHYARD_SWITCHINGS` (15000).
#![allow(
    clippy::print_stdout,
    reason = "a command-line example reports on stdout"
)]

use std::time::Instant;

use switchyard_domain::scenario::{Scenario, ScenarioConfig};
use switchyard_domain::{Date, MemoryState, invariants};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name} must be a number"))
        })
        .unwrap_or(default)
}

fn main() {
    let config = ScenarioConfig {
        seed: setting("SWITCHYARD_SEED", 2026),
        supply_points: setting("SWITCHYARD_SUPPLY_POINTS", 100_000) as usize,
        retailers: 20,
        switchings: setting("SWITCHYARD_SWITCHINGS", 15_000) as usize,
        start: Date::parse("2026-11-26").expect("a valid date"),
    };
    println!(
        "Switchyard sample day: seed {}, {} supply points, {} retailers, {} switchings",
        config.seed, config.supply_points, config.retailers, config.switchings
    );
    let started = Instant::now();
    let scenario = Scenario::build(&config);
    let built_seconds = started.elapsed().as_secs_f64();
    let stats = &scenario.stats;
    println!(
        "stop-on-behalf requests: {} ({} judged NG); matched pairs: {}; switches completed: {}",
        stats.stop_on_behalf_requests,
        stats.judged_ng,
        stats.matched_pairs,
        stats.completed_switches
    );
    println!(
        "{} commands generated, decided and applied in {:.2} s",
        scenario.log.len(),
        built_seconds
    );

    // Replay the recorded log into a fresh state: the pure rules' throughput, and a check that
    // replaying the same log gives the same state.
    let replay_started = Instant::now();
    let mut replayed = MemoryState::default();
    for (envelope, at) in &scenario.log {
        let _ = replayed.execute(envelope, *at);
    }
    let replay_seconds = replay_started.elapsed().as_secs_f64();
    println!(
        "replayed {} commands in {:.2} s: {:.0} commands/s (pure rules on one core, in memory)",
        scenario.log.len(),
        replay_seconds,
        scenario.log.len() as f64 / replay_seconds.max(1e-9)
    );
    println!("refused by rule: {:?}", stats.refusals);
    invariants::check_all(&scenario.state).expect("every invariant holds");
    println!(
        "every invariant holds on all {} supply points and {} applications",
        scenario.state.supply_points.len(),
        scenario.state.applications.len()
    );
    let hash = scenario.state.state_hash();
    assert_eq!(hash, replayed.state_hash(), "replay diverged");
    println!("state hash (identical after replay): {hash}");
    assert_eq!(
        stats.completed_switches, stats.matched_pairs,
        "every matched pair should complete on its date"
    );
    assert!(
        stats.refusals.is_empty(),
        "the sample day should refuse nothing"
    );
}
